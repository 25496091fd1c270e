#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "synod/base/hash64.h"
#include "synod/base/types.h"
#include "synod/clock/vector_clock.h"

namespace synod::sim {

class Diagram;

// One thing that happened in a run.
struct TraceEvent {
  enum class Type : uint8_t {
    kSend,
    kDeliver,
    kDrop,
    kTimer,
    kSynced,
    kCallFailed,
    kCrash,
    kStop,
    kRestart,
    kPause,
    kResume,
    kPartition,
    kHeal,
    kSkew,
    kByzantine,
    kNote,
    kClientCall,
    kClientReturn,
  };
  Type type;
  int64_t at = 0;         // virtual ns
  ProcessId process = 0;  // where it happened (the sender, for a send)
  ProcessId peer = 0;     // the other end of a message
  uint64_t message = 0;   // message number, for sends, deliveries and drops
  uint64_t lamport = 0;
  const VectorClock* clock = nullptr;
  std::string_view payload;  // hashed, never written out
  std::string_view text;     // label or detail
};
std::string_view trace_type_name(TraceEvent::Type type);

// Records a run: a hash of every event (always), and optionally JSON lines
// and a space-time diagram. Two runs have the same hash exactly when they
// produced the same events with the same contents in the same order.
class Trace {
 public:
  Trace();
  ~Trace();
  // Both empty: hash only.
  void open(const std::string& jsonl_path, Diagram* diagram);
  bool detailed() const { return jsonl_ != nullptr || diagram_ != nullptr; }

  void record(const TraceEvent& event);
  uint64_t hash() const { return hasher_.digest(); }

 private:
  Hasher hasher_;
  std::unique_ptr<std::ofstream> jsonl_;
  Diagram* diagram_ = nullptr;
};

}  // namespace synod::sim
