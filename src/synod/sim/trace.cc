#include "synod/sim/trace.h"

#include "synod/base/assert.h"
#include "synod/sim/diagram.h"

namespace synod::sim {
namespace {

void write_json_string(std::ostream& out, std::string_view text) {
  out << '"';
  for (char c : text) {
    switch (c) {
      case '"':
        out << "\\\"";
        break;
      case '\\':
        out << "\\\\";
        break;
      case '\n':
        out << "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
          out << buffer;
        } else {
          out << c;
        }
    }
  }
  out << '"';
}

bool is_message(TraceEvent::Type t) {
  return t == TraceEvent::Type::kSend || t == TraceEvent::Type::kDeliver ||
         t == TraceEvent::Type::kDrop;
}

}  // namespace

std::string_view trace_type_name(TraceEvent::Type type) {
  using T = TraceEvent::Type;
  switch (type) {
    case T::kSend:
      return "send";
    case T::kDeliver:
      return "deliver";
    case T::kDrop:
      return "drop";
    case T::kTimer:
      return "timer";
    case T::kSynced:
      return "synced";
    case T::kCallFailed:
      return "call-failed";
    case T::kCrash:
      return "crash";
    case T::kStop:
      return "stop";
    case T::kRestart:
      return "restart";
    case T::kPause:
      return "pause";
    case T::kResume:
      return "resume";
    case T::kPartition:
      return "partition";
    case T::kHeal:
      return "heal";
    case T::kSkew:
      return "skew";
    case T::kByzantine:
      return "byzantine";
    case T::kNote:
      return "note";
    case T::kClientCall:
      return "client-call";
    case T::kClientReturn:
      return "client-return";
  }
  SYNOD_UNREACHABLE();
}

Trace::Trace() = default;
Trace::~Trace() = default;

void Trace::open(const std::string& jsonl_path, Diagram* diagram) {
  if (!jsonl_path.empty()) {
    jsonl_ = std::make_unique<std::ofstream>(jsonl_path);
    if (!*jsonl_) jsonl_.reset();
  }
  diagram_ = diagram;
}

void Trace::record(const TraceEvent& e) {
  // Notes are a protocol's commentary, written only when a trace or diagram
  // is asked for: they stay out of the hash, so a replay with --diagram has
  // the same hash as the run it replays.
  if (e.type != TraceEvent::Type::kNote) {
    hasher_.add(static_cast<uint64_t>(e.type))
        .add(static_cast<uint64_t>(e.at))
        .add((static_cast<uint64_t>(e.process) << 32) | e.peer)
        .add(e.message)
        .add(e.lamport);
    if (!e.payload.empty()) hasher_.add(e.payload);
    if (e.type != TraceEvent::Type::kSend && e.type != TraceEvent::Type::kDeliver)
      hasher_.add(e.text);
  }

  if (jsonl_) {
    std::ostream& out = *jsonl_;
    out << "{\"t\":" << e.at << ",\"ev\":\"" << trace_type_name(e.type) << "\",\"p\":" << e.process;
    if (is_message(e.type)) out << ",\"peer\":" << e.peer << ",\"msg\":" << e.message;
    if (e.type == TraceEvent::Type::kSend) out << ",\"bytes\":" << e.payload.size();
    if (e.type == TraceEvent::Type::kSend || e.type == TraceEvent::Type::kDeliver) {
      out << ",\"lamport\":" << e.lamport;
      if (e.clock) out << ",\"vc\":" << e.clock->to_string();
    }
    if (!e.text.empty()) {
      out << ",\"text\":";
      write_json_string(out, e.text);
    }
    out << "}\n";
  }
  if (diagram_) diagram_->add(e);
}

}  // namespace synod::sim
