#pragma once

// Random message-passing executions for checking logical clocks. Each process
// runs all three clocks; happened-before is computed from the execution's
// structure alone (program order and send -> receive edges, transitively
// closed), never from a clock, so the clocks are checked against the truth.

#include <rapidcheck.h>

#include <bitset>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "synod/clock/hybrid_clock.h"
#include "synod/clock/lamport.h"
#include "synod/clock/vector_clock.h"

namespace synod {
std::ostream& operator<<(std::ostream& out, const HlcTimestamp& t);  // "wall.logical"
}  // namespace synod

namespace synod::clock_testing {

// An execution stops after this many events: the causal past of an event is a
// bitset of this size.
inline constexpr size_t kMaxEvents = 256;

enum class StepKind { kLocal, kSend, kDeliver };

// One step of a scenario: some true time passes, one clock may drift, then
// one event happens.
struct Step {
  StepKind kind = StepKind::kLocal;
  size_t process = 0;   // who acts (kLocal, kSend)
  size_t peer = 0;      // kSend: the recipient (may be the sender itself)
  size_t message = 0;   // kDeliver: which in-flight message, modulo their number;
                        // with none in flight the step is a local event instead
  int64_t advance = 1;  // true time passing before the step; 0: the same instant
  bool drift = false;   // whether `drifting`'s clock offset moves to `offset`,
  size_t drifting = 0;  // as far as its clock does not go back
  int64_t offset = 0;
};

// Physical clocks read true time + a per-process offset in [0, max_offset],
// so no two are more than max_offset apart. They never go back, but a process
// may see several events at one reading (a coarse clock, or events faster
// than its ticks), which is what HLC's counter is for.
struct Scenario {
  size_t processes = 2;
  int64_t max_offset = 0;
  std::vector<int64_t> offsets;  // at the start, per process
  std::vector<Step> steps;
};

enum class EventKind { kLocal, kSend, kReceive };

struct Event {
  size_t process = 0;
  EventKind kind = EventKind::kLocal;
  size_t send = 0;       // kReceive: the event that sent the message
  int64_t physical = 0;  // its process's physical clock reading at the event
  uint64_t lamport = 0;
  VectorClock vector;
  HlcTimestamp hlc;
};

struct Execution {
  size_t processes = 0;
  // In the order they happened, which is a linear extension of happened-before.
  std::vector<Event> events;
  // past[b][a]: a happened before b.
  std::vector<std::bitset<kMaxEvents>> past;
  // The largest difference between two processes' physical clocks at one
  // instant over the run: the paper's epsilon, as tight as this run allows.
  int64_t epsilon = 0;
  // The most events one process had at one physical reading: 1 when clocks
  // advance between any two events of a process, the paper's assumption.
  size_t events_per_reading = 0;

  bool happened_before(size_t a, size_t b) const { return a < b && past[b][a]; }
  bool concurrent(size_t a, size_t b) const {
    return a != b && !happened_before(a, b) && !happened_before(b, a);
  }
  std::string describe(size_t event) const;  // "e4 p1 receive(e2) pt=9 L=3 V=[..] H=9.1"
  std::string to_string() const;             // every event, one per line
};

// Runs a scenario, driving every process's clocks as a node would.
Execution run(const Scenario& scenario);

// 2..6 processes, a handful to ~100 steps; time scales chosen so that clocks
// are sometimes far apart relative to the time between events (which makes
// HLC's wall come from another process and its counter climb) and sometimes
// close. Shrinks towards fewer steps, processes and offsets.
rc::Gen<Scenario> scenarios();

void showValue(const Step& step, std::ostream& out);
void showValue(const Scenario& scenario, std::ostream& out);

}  // namespace synod::clock_testing
