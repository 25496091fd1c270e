// Key placement schemes side by side, for 100 nodes and 1,000,000 keys: how
// even the load is, how many keys move when a node joins or leaves (ideal:
// 1/n), and what a lookup costs.
//
//   build/bench/placement [nodes, default 100] [keys, default 1000000]

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "synod/base/hash64.h"
#include "synod/hash/jump.h"
#include "synod/hash/rendezvous.h"
#include "synod/hash/ring.h"

namespace {

using synod::NodeId;

struct Scheme {
  std::string name;
  // lookup(key hash) -> node, on `nodes` nodes numbered 0..nodes-1.
  std::function<std::function<NodeId(uint64_t)>(int nodes)> build;
};

struct Load {
  double max_over_mean;
  double stddev_percent;
};

Load load_of(const std::vector<NodeId>& owner, int nodes) {
  std::vector<double> load(static_cast<size_t>(nodes));
  for (NodeId n : owner)
    ++load[n];
  double mean = static_cast<double>(owner.size()) / nodes, max = 0, squares = 0;
  for (double l : load) {
    max = std::max(max, l);
    squares += (l - mean) * (l - mean);
  }
  return {max / mean, 100 * std::sqrt(squares / nodes) / mean};
}

}  // namespace

int main(int argc, char** argv) {
  int nodes = argc > 1 ? std::atoi(argv[1]) : 100;
  size_t keys = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1'000'000;
  std::vector<uint64_t> hashes(keys);
  for (size_t i = 0; i < keys; ++i)
    hashes[i] = synod::hash64("key-" + std::to_string(i));

  std::vector<Scheme> schemes;
  for (int vnodes : {1, 16, 100, 1000}) {
    schemes.push_back({"ring, " + std::to_string(vnodes) + " vnodes", [vnodes](int n) {
                         auto ring = std::make_shared<synod::HashRing>(vnodes);
                         for (int i = 0; i < n; ++i)
                           ring->add(static_cast<NodeId>(i));
                         return std::function<NodeId(uint64_t)>(
                             [ring](uint64_t h) { return ring->lookup_hash(h); });
                       }});
  }
  schemes.push_back({"rendezvous", [](int n) {
                       auto r = std::make_shared<synod::Rendezvous>();
                       for (int i = 0; i < n; ++i)
                         r->add(static_cast<NodeId>(i));
                       return std::function<NodeId(uint64_t)>(
                           [r](uint64_t h) { return r->lookup_hash(h); });
                     }});
  schemes.push_back({"jump", [](int n) {
                       return std::function<NodeId(uint64_t)>(
                           [n](uint64_t h) { return static_cast<NodeId>(synod::jump_hash(h, n)); });
                     }});

  std::printf("%d nodes, %zu keys\n\n", nodes, keys);
  std::printf(
      "| scheme | max/mean load | std dev of load | moved on join (ideal %.2f%%) | moved on "
      "leave (ideal %.2f%%) | lookup |\n|---|---|---|---|---|---|\n",
      100.0 / (nodes + 1), 100.0 / nodes);
  for (const Scheme& s : schemes) {
    auto lookup = s.build(nodes);
    std::vector<NodeId> owner(keys);
    auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < keys; ++i)
      owner[i] = lookup(hashes[i]);
    double ns =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() /
        static_cast<double>(keys);
    Load load = load_of(owner, nodes);

    // Join: one more node. Leave: the last node goes (the only removal jump
    // supports; for the others any node is alike).
    auto joined = s.build(nodes + 1);
    auto left = s.build(nodes - 1);
    size_t moved_join = 0, moved_leave = 0;
    for (size_t i = 0; i < keys; ++i) {
      moved_join += joined(hashes[i]) != owner[i];
      moved_leave += left(hashes[i]) != owner[i];
    }
    std::printf("| %s | %.3f | %.1f%% | %.2f%% | %.2f%% | %.0f ns |\n", s.name.c_str(),
                load.max_over_mean, load.stddev_percent, 100.0 * moved_join / keys,
                100.0 * moved_leave / keys, ns);
  }
  return 0;
}
