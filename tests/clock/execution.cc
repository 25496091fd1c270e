#include "execution.h"

#include <algorithm>
#include <deque>
#include <sstream>

namespace synod {

std::ostream& operator<<(std::ostream& out, const HlcTimestamp& t) {
  return out << t.wall << '.' << t.logical;
}

}  // namespace synod

namespace synod::clock_testing {
namespace {

// A uniform integer in [low, high): rapidcheck's inRange scales with the test
// size and would make most scenarios tiny. Shrinks towards low.
template <typename T>
T uniform(T low, T high) {
  return *rc::gen::resize(100, rc::gen::inRange<T>(low, high));
}

struct InFlight {
  size_t to;
  size_t send_event;
  uint64_t lamport;
  VectorClock vector;
  HlcTimestamp hlc;
};

}  // namespace

Execution run(const Scenario& s) {
  const size_t n = s.processes;
  Execution x;
  x.processes = n;
  std::vector<int64_t> offsets = s.offsets;
  std::vector<LamportClock> lamport(n);
  std::vector<VectorClock> vector(n, VectorClock(n));
  std::vector<HybridClock> hlc(n);
  std::vector<int64_t> last_event(n, -1);
  std::vector<size_t> at_reading(n, 0);  // events at the process's current reading
  std::deque<InFlight> in_flight;
  int64_t true_time = 0;

  // Happened-before: the direct predecessors are the process's previous event
  // and, for a receive, the send; the causal past is theirs plus them.
  auto record = [&](Event e, int64_t send_event) {
    std::bitset<kMaxEvents> past;
    for (int64_t d : {last_event[e.process], send_event}) {
      if (d < 0) continue;
      past |= x.past[static_cast<size_t>(d)];
      past.set(static_cast<size_t>(d));
    }
    e.vector = vector[e.process];
    size_t& same = at_reading[e.process];
    bool repeat = last_event[e.process] >= 0 &&
                  x.events[static_cast<size_t>(last_event[e.process])].physical == e.physical;
    same = repeat ? same + 1 : 1;
    x.events_per_reading = std::max(x.events_per_reading, same);
    last_event[e.process] = static_cast<int64_t>(x.events.size());
    x.events.push_back(std::move(e));
    x.past.push_back(past);
  };

  for (const Step& step : s.steps) {
    if (x.events.size() >= kMaxEvents) break;
    true_time += step.advance;
    if (step.drift) {
      // Within the bound, and never behind this clock's previous reading.
      int64_t& o = offsets[step.drifting];
      o = std::clamp(step.offset, std::max<int64_t>(0, o - step.advance), s.max_offset);
    }
    auto physical = [&](size_t p) { return true_time + offsets[p]; };
    auto [lo, hi] = std::minmax_element(offsets.begin(), offsets.end());
    x.epsilon = std::max(x.epsilon, *hi - *lo);

    if (step.kind == StepKind::kDeliver && !in_flight.empty()) {
      size_t which = step.message % in_flight.size();
      InFlight m = in_flight[which];
      in_flight.erase(in_flight.begin() + static_cast<std::ptrdiff_t>(which));
      size_t q = m.to;
      Event e{
          .process = q, .kind = EventKind::kReceive, .send = m.send_event, .physical = physical(q)};
      e.lamport = lamport[q].receive(m.lamport);
      vector[q].merge(m.vector);
      vector[q].tick(q);
      e.hlc = hlc[q].update(e.physical, m.hlc);
      record(std::move(e), static_cast<int64_t>(m.send_event));
      continue;
    }
    size_t p = step.process;
    bool send = step.kind == StepKind::kSend;
    Event e{
        .process = p, .kind = send ? EventKind::kSend : EventKind::kLocal, .physical = physical(p)};
    e.lamport = lamport[p].tick();
    vector[p].tick(p);
    e.hlc = hlc[p].now(e.physical);
    if (send) in_flight.push_back({step.peer, x.events.size(), e.lamport, vector[p], e.hlc});
    record(std::move(e), -1);
  }
  return x;
}

namespace {

rc::Gen<Step> steps(const Scenario& s, int64_t min_advance, int64_t max_advance) {
  return rc::gen::exec([n = s.processes, max_offset = s.max_offset, min_advance, max_advance] {
    Step step;
    step.kind = *rc::gen::element(StepKind::kLocal, StepKind::kSend, StepKind::kSend,
                                  StepKind::kDeliver, StepKind::kDeliver, StepKind::kDeliver);
    step.process = uniform<size_t>(0, n);
    step.peer = uniform<size_t>(0, n);
    step.message = uniform<size_t>(0, 64);
    step.advance = uniform<int64_t>(min_advance, max_advance + 1);
    step.drift = uniform(0, 8) == 7;  // rarely; shrinks to no drift
    step.drifting = uniform<size_t>(0, n);
    step.offset = uniform<int64_t>(0, max_offset + 1);
    return step;
  });
}

Scenario random_scenario() {
  Scenario s;
  s.processes = uniform<size_t>(2, 7);
  s.max_offset = uniform<int64_t>(0, 41);
  // Time between events: mostly well under the offset bound, so that walls
  // come from faster clocks and counters climb; sometimes up to twice it, so
  // that physical time takes over.
  // Half the scenarios have events within one clock reading.
  int64_t min_advance = uniform(0, 2);
  int64_t max_advance = uniform(0, 3) == 0 ? uniform<int64_t>(1, 2 * s.max_offset + 2)
                                           : uniform<int64_t>(1, s.max_offset / 8 + 2);
  // Clocks at the two ends of the bound are the ones that stress it.
  for (size_t p = 0; p < s.processes; ++p)
    s.offsets.push_back(uniform(0, 3) == 0 ? uniform<int64_t>(0, s.max_offset + 1)
                                           : *rc::gen::element<int64_t>(0, s.max_offset));
  s.steps = *rc::gen::resize(
      120, rc::gen::container<std::vector<Step>>(steps(s, min_advance, max_advance)));
  return s;
}

}  // namespace

rc::Gen<Scenario> scenarios() {
  return rc::gen::exec(random_scenario);
}

std::string Execution::describe(size_t i) const {
  const Event& e = events[i];
  std::ostringstream out;
  out << 'e' << i << " p" << e.process << ' ';
  switch (e.kind) {
    case EventKind::kLocal:
      out << "local";
      break;
    case EventKind::kSend:
      out << "send";
      break;
    case EventKind::kReceive:
      out << "receive(e" << e.send << ')';
      break;
  }
  out << " pt=" << e.physical << " L=" << e.lamport << " V=" << e.vector.to_string()
      << " H=" << e.hlc;
  return out.str();
}

std::string Execution::to_string() const {
  std::string text = "epsilon=" + std::to_string(epsilon) +
                     " events_per_reading=" + std::to_string(events_per_reading) + "\n";
  for (size_t i = 0; i < events.size(); ++i)
    text += "  " + describe(i) + "\n";
  return text;
}

void showValue(const Step& step, std::ostream& out) {
  if (step.drift) out << "drift p" << step.drifting << " to " << step.offset << ", ";
  out << "+" << step.advance << " ";
  switch (step.kind) {
    case StepKind::kLocal:
      out << "local p" << step.process;
      break;
    case StepKind::kSend:
      out << "send p" << step.process << "->p" << step.peer;
      break;
    case StepKind::kDeliver:
      out << "deliver #" << step.message;
      break;
  }
}

void showValue(const Scenario& s, std::ostream& out) {
  out << s.processes << " processes, max offset " << s.max_offset << ", offsets";
  for (int64_t o : s.offsets)
    out << ' ' << o;
  out << '\n';
  for (const Step& step : s.steps) {
    out << "  ";
    showValue(step, out);
    out << '\n';
  }
}

}  // namespace synod::clock_testing
