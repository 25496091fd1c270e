#pragma once

// The chaos run's own network: one Linux network namespace per member and
// one for the controller (this process's clients), joined by veth pairs to a
// bridge inside the controller's namespace. Every address is assigned here,
// inside namespaces created here, so no packet of a run leaves them: the
// machine's own namespace never sees the traffic, and each member has a whole
// port space (and its own packet filter) to itself.
//
//   controller ns  <prefix>-c : bridge "chaos-br" 10.213.0.254/24, veth "chaos-nI" per member
//   member ns      <prefix>-nI: "eth0" 10.213.0.I/24 (I = 1..N), lo
//
// Everything is removed by the destructor (deleting a namespace deletes its
// interfaces, rules and queues). Namespaces left by a run that was killed
// (SIGKILL leaves no chance to clean up) are found by name and removed by the
// next run: the prefix carries the creator's pid.
//
// Faults (iptables inside the member namespaces; the filter table for
// partitions, loss and the delay queue, mangle for duplication):
//   block(from, to)   packets from member `from` never reach member `to`
//   loss(p)           each member drops a fraction p of what it sends
//   duplicate(p)      each member sends a copy of a fraction p of its packets
//   queue_output(q)   each member's outgoing packets go to NFQUEUE q (see delayer.h)
//   heal()            every rule of every member removed
// Clients in the controller namespace are never cut off (as in Jepsen, a
// partition is between members), but loss, duplication and delay apply to
// everything a member sends, replies to clients included.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace synod::chaos {

// The subnet every run uses inside its own namespaces (each run has its own
// controller namespace, so two runs never meet).
inline constexpr const char* kSubnet = "10.213.0";
inline constexpr const char* kControllerIp = "10.213.0.254";

class Network {
 public:
  // Creates the namespaces, bridge and links for `members` members.
  static absl::StatusOr<std::unique_ptr<Network>> create(int members);
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;
  ~Network();  // removes everything

  // Removes namespaces left by chaos runs whose process no longer exists.
  // Returns how many.
  static int remove_stale();

  int members() const { return members_; }
  std::string member_ns(int i) const { return prefix_ + "-n" + std::to_string(i + 1); }
  std::string controller_ns() const { return prefix_ + "-c"; }
  static std::string member_ip(int i) { return std::string(kSubnet) + "." + std::to_string(i + 1); }

  // Moves the calling thread into the controller's namespace. Threads it
  // creates afterwards (gRPC's included) start there too: call it before any.
  absl::Status enter_controller() const;

  absl::Status block(int from, int to);
  absl::Status loss(double probability);
  absl::Status duplicate(double probability);
  absl::Status queue_output(int queue_number);
  absl::Status heal();

  // Runs iptables (or any command) inside member i's namespace.
  absl::Status run_in(int i, const std::vector<std::string>& argv) const;

 private:
  Network(std::string prefix, int members) : prefix_(std::move(prefix)), members_(members) {}
  absl::Status build();
  absl::Status ip(const std::vector<std::string>& args) const;

  std::string prefix_;
  int members_;
  bool built_ = false;
};

}  // namespace synod::chaos
