#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "synod/base/rng.h"
#include "synod/base/types.h"
#include "synod/protocol/invariant.h"
#include "synod/protocol/storage.h"
#include "synod/wire/client.pb.h"

// The protocol contract. A protocol is a deterministic state machine: the
// runtime calls it with one input at a time and it acts only through the Env
// it is handed for that call. It never reads a clock, touches a socket or a
// file, starts a thread or uses global randomness, so the same object runs
// under the simulator (sim/) and on real TCP and disks (net/, storage/).

namespace synod {

using CallId = uint64_t;
using TimerId = uint64_t;

// A message from a peer (or a request from a peer's call()).
struct Incoming {
  ProcessId from = 0;
  std::string_view payload;  // valid only during the call
  CallId call = 0;           // nonzero: the sender waits for Env::respond
};

// What the runtime gives a protocol for the duration of one input.
class Env {
 public:
  virtual ~Env() = default;

  virtual NodeId self() const = 0;
  virtual std::span<const NodeId> nodes() const = 0;  // the cluster, self included, sorted
  virtual Time now() const = 0;                       // this node's local, monotonic clock
  virtual Rng& rng() = 0;                             // this node's own seeded generator
  virtual Storage& storage() = 0;

  // Asynchronous one-way send: may be lost, delayed, duplicated or reordered,
  // as the network model allows.
  virtual void send(ProcessId to, Bytes payload) = 0;

  // Request/response. The answer arrives as Protocol::on_response(call); when
  // none arrives within `timeout` the runtime reports Protocol::on_call_failed
  // (a suspected failure of `to`, not proof of one) and drops any later answer.
  virtual CallId call(ProcessId to, Bytes payload, Duration timeout) = 0;
  virtual void respond(const Incoming& request, Bytes payload) = 0;

  // Answers a client request received through Protocol::on_client_request.
  virtual void reply(ProcessId client, const wire::ClientReply& reply) = 0;

  // Fires Protocol::on_timer(tag) once the local clock has advanced by `after`.
  virtual TimerId set_timer(Duration after, uint64_t tag) = 0;
  virtual void cancel_timer(TimerId timer) = 0;

  // A human-readable event for traces and diagrams ("elected, term 4").
  // Check tracing() first when the text is costly to build.
  virtual bool tracing() const = 0;
  virtual void note(std::string_view text) = 0;
};

class Protocol {
 public:
  virtual ~Protocol() = default;

  // Called once per incarnation: on first start with empty storage, and after
  // each restart with what survived in env.storage().
  virtual void start(Env& env) = 0;

  virtual void on_message(Env& env, const Incoming& message) = 0;

  virtual void on_client_request(Env& env, ProcessId client, const wire::ClientRequest& request);
  virtual void on_timer(Env& env, uint64_t tag);
  virtual void on_response(Env& env, CallId call, std::string_view payload);
  virtual void on_call_failed(Env& env, CallId call);
  // Every write issued before sync `id` is now durable.
  virtual void on_synced(Env& env, SyncId id);

  // Checks what must hold of this node's own state between inputs (for Raft:
  // commit never past the last index, match never past next) and names the
  // first thing that does not. The simulator calls it after every input of
  // every run; the real runtime after every input in builds with
  // SYNOD_CHECK_INVARIANTS (debug and sanitizer builds), where a broken one
  // stops the node. Cheap: no walk over the log or the store.
  virtual std::optional<BrokenInvariant> check_invariants() const { return std::nullopt; }
};

}  // namespace synod
