#pragma once

// Packet delay without tc netem (which this kernel, like many container
// kernels, does not have): every member's outgoing packets go to an NFQUEUE
// (Network::queue_output), and this process holds each one for a delay plus
// a random jitter before it lets it go. Packets whose jitters differ overtake
// each other, which is reordering. One thread serves every member's queue;
// each queue's netlink socket is opened inside that member's namespace.
//
// While no delay is set, packets are let go at once. The iptables rule
// carries --queue-bypass, so once this is destroyed (its queues unbound)
// packets pass untouched; packets still held then are let go first.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "synod/chaos/network.h"

namespace synod::chaos {

class Delayer {
 public:
  static absl::StatusOr<std::unique_ptr<Delayer>> create(const Network& network, int queue,
                                                         uint64_t seed);
  Delayer(const Delayer&) = delete;
  Delayer& operator=(const Delayer&) = delete;
  ~Delayer();

  // Each packet is held for delay + a uniform jitter in [0, jitter).
  void set(std::chrono::microseconds delay, std::chrono::microseconds jitter);
  uint64_t packets() const { return packets_.load(); }

 private:
  Delayer(int queue, uint64_t seed) : queue_(queue), seed_(seed) {}
  void loop();

  int queue_;
  uint64_t seed_;
  std::vector<int> sockets_;
  std::atomic<int64_t> delay_us_{0}, jitter_us_{0};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> packets_{0};
  std::thread thread_;
};

}  // namespace synod::chaos
