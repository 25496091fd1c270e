#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "synod/wire/client.pb.h"

namespace synod::replication {

// A service that consensus replicates. Every replica applies the same writes
// in the same order and must reach the same state: no clocks, no randomness,
// no iteration over unordered containers.
class StateMachine {
 public:
  virtual ~StateMachine() = default;

  // A read changes nothing: it is served after a read barrier, never logged.
  virtual bool is_read(const wire::ClientRequest& request) const = 0;
  // Applies a write, in log order; returns the outcome for its client (the
  // caller sets the reply's seq).
  virtual wire::ClientReply apply(const wire::ClientRequest& request) = 0;
  virtual wire::ClientReply read(const wire::ClientRequest& request) const = 0;
  // Asked of the member about to propose a write: a reply refuses it and
  // nothing is logged (a store over its space quota). Never asked as a
  // write applies, so members need not agree on it.
  virtual std::optional<wire::ClientReply> admit(const wire::ClientRequest&) const {
    return std::nullopt;
  }

  virtual std::string snapshot() const = 0;
  // The same bytes, appended to `out`: a machine with a large state writes
  // them in place rather than through a string of its own.
  virtual void append_snapshot(std::string* out) const { *out += snapshot(); }
  // false: these bytes are not a snapshot of this machine (state unchanged).
  virtual bool restore(std::string_view snapshot) = 0;
};

}  // namespace synod::replication
