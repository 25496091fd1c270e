#pragma once

#include <map>
#include <string>
#include <vector>

#include "synod/sim/trace.h"

namespace synod::sim {

// A space-time diagram of a run: one lane per process, messages as arrows
// from send to delivery (lost ones end in a cross), crashes, pauses and
// partitions shaded, protocol notes as marks. Written as one self-contained
// HTML file (inline data and script, nothing fetched) that pans and zooms.
class Diagram {
 public:
  Diagram(int nodes, int clients) : nodes_(nodes), clients_(clients) {}

  void add(const TraceEvent& event);
  // False when the file could not be written.
  bool write(const std::string& path, const std::string& title, int64_t end_ns) const;

 private:
  struct Message {
    ProcessId from = 0, to = 0;
    int64_t sent = 0, arrived = -1;  // arrived < 0: never delivered
    bool dropped = false;
    std::string label;
  };
  struct Mark {
    int64_t at;
    ProcessId process;
    std::string kind;
    std::string text;
  };

  int lane(ProcessId p) const;
  int64_t first_view(int64_t end_ns) const;

  int nodes_, clients_;
  std::map<uint64_t, Message> messages_;
  std::vector<Mark> marks_;
  uint64_t messages_left_out_ = 0;
};

// A diagram keeps at most this many messages: a bound on memory and on what a
// browser can draw. Later messages are counted, not drawn.
inline constexpr size_t kMaxDiagramMessages = 200'000;

}  // namespace synod::sim
