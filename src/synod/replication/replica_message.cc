#include "synod/replication/replica_message.h"

namespace synod::replication {

std::string describe_replica_message(std::string_view payload) {
  auto m = parse_replica_message(payload);
  if (!m) return "malformed replica message";
  if (m->has_forward()) {
    const wire::ForwardedRequest& f = m->forward();
    if (f.read() != 0) return "pass on read " + std::to_string(f.read());
    return "pass on write " + std::to_string(f.request().seq());
  }
  const wire::ForwardedAnswer& a = m->answer();
  std::string what =
      a.read() != 0 ? "read " + std::to_string(a.read()) : "write " + std::to_string(a.seq());
  return "answer " + what + (a.try_again() ? ": try again" : "");
}

}  // namespace synod::replication
