#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "synod/protocol/protocol.h"

// The replication interface: how a replicated service (ReplicaNode) and a
// consensus protocol (Raft now; Multi-Paxos, primary-backup, chain
// replication and PBFT later) talk. The service submits commands and reads;
// the protocol tells it what to apply and when a read may be served.
namespace synod::replication {

// Why a command or read was not taken. Nothing was appended.
struct Refused {
  enum class Reason {
    kNotLeader,   // go to `leader`, when known
    kRetryLater,  // overloaded, or the leader is changing
  };
  Reason reason = Reason::kNotLeader;
  std::optional<NodeId> leader;
  std::string detail;
};

// What a consensus protocol tells the service above it.
class Applier {
 public:
  virtual ~Applier() = default;
  // `command` is committed at `index`: apply it. Every replica sees every
  // command, in index order (after a restart, again from the last snapshot).
  virtual void apply(Env& env, uint64_t index, std::string_view command) = 0;
  // The read barrier `read` passed and everything committed before it was
  // asked is applied here: serve it now.
  virtual void read_ready(Env& env, uint64_t read) = 0;
  virtual void read_refused(Env& env, uint64_t read, const Refused& why) = 0;
  // The service's state as of the last command applied, and back.
  virtual std::string take_snapshot() = 0;
  virtual void restore_snapshot(Env& env, uint64_t index, std::string_view snapshot) = 0;
};

// What a service sees of the protocol that replicates it. The service is the
// Protocol the runtime drives; it hands the runtime's inputs through.
class Replicator {
 public:
  virtual ~Replicator() = default;

  virtual void start(Env& env, Applier& applier) = 0;
  virtual void on_message(Env& env, const Incoming& message) = 0;
  virtual void on_timer(Env& env, uint64_t tag) = 0;
  virtual void on_synced(Env& env, SyncId id) = 0;

  // Submits a command. If it commits, every replica's applier sees it, this
  // one's too; a refusal means it was not appended; acceptance promises
  // nothing (a leader change may drop it).
  virtual std::optional<Refused> propose(Env& env, std::string command) = 0;
  // Asks for a linearizable read barrier: read_ready or read_refused follows.
  virtual std::optional<Refused> read(Env& env, uint64_t read) = 0;
  virtual std::optional<NodeId> leader() const = 0;
  // The protocol's own invariants (Protocol::check_invariants).
  virtual std::optional<BrokenInvariant> check_invariants() const { return std::nullopt; }
};

}  // namespace synod::replication
