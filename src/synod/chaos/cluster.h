#pragma once

// An N-member cluster of any server that takes etcd's flags (synod serve, or
// etcd itself), each member in its own network namespace (network.h) with its
// own data directory and log. Members are started, killed (SIGKILL),
// restarted, paused (SIGSTOP) and resumed, removed from the cluster and added
// back, their clocks moved and their disks stalled, all by the run's main
// thread. The destructor kills every member and removes the data directories;
// the logs stay in the run's directory.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "synod/chaos/network.h"
#include "synod/chaos/process.h"

namespace synod::chaos {

enum class System { kSynod, kEtcd };

struct ClusterOptions {
  System system = System::kSynod;
  std::string binary;  // the synod binary, or etcd
  int heartbeat_ms = 100;
  int election_ms = 1000;
  std::string dir;  // the run's directory: data directories and member logs
  // LD_PRELOAD-based faults, set up only when the nemesis mix uses them.
  std::string faketime_library;    // empty: no clock faults
  std::string disk_stall_library;  // empty: no disk stalls
};

class Cluster {
 public:
  static constexpr int kClientPort = 2379;
  static constexpr int kPeerPort = 2380;

  Cluster(ClusterOptions options, const Network& network);
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;
  ~Cluster();

  int size() const { return network_.members(); }
  std::string name(int i) const { return "n" + std::to_string(i + 1); }
  std::string endpoint(int i) const;
  std::string log_path(int i) const;
  const ClusterOptions& options() const { return options_; }

  // Starts every member and waits (up to `timeout`) until each answers.
  absl::Status start(Millis timeout);

  bool running(int i);
  bool paused(int i) const { return members_.at(i).paused; }
  bool in_cluster(int i) const { return members_.at(i).in_cluster; }
  void kill(int i);
  absl::Status restart(int i, Millis timeout);
  void pause(int i);
  void resume(int i);
  void stop_all();  // SIGKILL every member

  // The member that says it leads (the highest term's), asking every running,
  // unpaused member; nullopt when none answers as leader.
  std::optional<int> leader();

  // Membership: removes member i through another member (retried until
  // `timeout`), then stops it and deletes its data; add() asks the cluster to
  // add it back under its old name and address and starts it with an empty
  // data directory.
  absl::Status remove_member(int i, Millis timeout);
  absl::Status add_member(int i, Millis timeout);

  // Clock faults (libfaketime): member i's clocks read `seconds` ahead from
  // the next read of its offset file (within a second). Offsets only grow, so
  // the monotonic clock never runs backwards.
  void set_clock_offset(int i, double seconds);
  double clock_offset(int i) const { return members_.at(i).clock_offset; }
  // Disk stalls: while on, member i's fsync and fdatasync calls block.
  void stall_disk(int i, bool on);

 private:
  struct Member {
    Process process;
    bool paused = false;
    bool in_cluster = true;
    bool fresh_join = false;  // started with --initial-cluster-state existing
    uint64_t member_id = 0;   // the etcd member id, once learned
    double clock_offset = 0;
  };

  std::vector<std::string> argv(int i) const;
  std::vector<std::string> env(int i) const;
  std::string data_dir(int i) const;
  std::string peer_url(int i) const;
  std::string initial_cluster() const;
  absl::Status spawn(int i);
  absl::Status wait_serving(int i, Millis timeout);
  std::optional<uint64_t> status_member_id(int i, Millis timeout, uint64_t* leader = nullptr,
                                           uint64_t* term = nullptr);

  ClusterOptions options_;
  const Network& network_;
  std::vector<Member> members_;
};

}  // namespace synod::chaos
