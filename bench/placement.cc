// Key placement schemes side by side: how even the load is, how many keys
// move when a node joins or leaves (ideal: the share the node gains or had),
// and what a lookup costs. Prints a markdown table.
//
//   placement [nodes, default 100] [keys, default 1000000]
//
// Keys are "key-0".."key-<keys-1>", hashed once with synod::hash64; lookups
// are timed on those hashes (hashing the key string is the same for every
// scheme and not counted), as the median of kTimingPasses passes.
// The join adds node `nodes`; the leave removes node `nodes - 1`, the only
// removal jump hash supports without moving other keys. Every run checks that
// a join moves keys only to the joiner and a leave only the leaver's keys.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "synod/base/assert.h"
#include "synod/base/hash64.h"
#include "synod/hash/jump.h"
#include "synod/hash/rendezvous.h"
#include "synod/hash/ring.h"

namespace {

using synod::NodeId;

// Passes over all keys per timing; the median is reported (shared, noisy machine).
constexpr int kTimingPasses = 5;

struct Row {
  std::string scheme;
  double max_over_mean = 0;
  double stddev_percent = 0;
  double moved_join_percent = 0;
  double moved_leave_percent = 0;
  double lookup_ns = 0;
};

// Runs lookup over every key kTimingPasses times; fills owner, returns the
// median time per key in nanoseconds.
template <typename Lookup>
double timed_lookups(const std::vector<uint64_t>& hashes, Lookup lookup,
                     std::vector<NodeId>& owner) {
  owner.assign(hashes.size(), 0);
  std::vector<double> per_key;
  for (int pass = 0; pass < kTimingPasses; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < hashes.size(); ++i)
      owner[i] = lookup(hashes[i]);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    per_key.push_back(std::chrono::duration<double, std::nano>(elapsed).count() /
                      static_cast<double>(hashes.size()));
  }
  std::sort(per_key.begin(), per_key.end());
  return per_key[per_key.size() / 2];
}

void fill_load(Row& row, const std::vector<NodeId>& owner, int nodes) {
  std::vector<double> load(static_cast<size_t>(nodes), 0);
  for (NodeId n : owner) {
    SYNOD_ASSERT(n < static_cast<NodeId>(nodes));
    ++load[n];
  }
  const double mean = static_cast<double>(owner.size()) / nodes;
  double max = 0, squares = 0;
  for (double l : load) {
    max = std::max(max, l);
    squares += (l - mean) * (l - mean);
  }
  row.max_over_mean = max / mean;
  row.stddev_percent = 100 * std::sqrt(squares / nodes) / mean;
}

// Percent of keys whose owner changed from `before`; asserts that every move
// went to `joiner` (a join) or came from `leaver` (a leave).
template <typename Lookup>
double moved_percent(const std::vector<uint64_t>& hashes, const std::vector<NodeId>& before,
                     Lookup lookup, NodeId joiner, NodeId leaver) {
  size_t moved = 0;
  for (size_t i = 0; i < hashes.size(); ++i) {
    const NodeId now = lookup(hashes[i]);
    if (now == before[i]) continue;
    SYNOD_ASSERT_MSG(now == joiner || before[i] == leaver, "a key moved that did not have to");
    ++moved;
  }
  return 100.0 * static_cast<double>(moved) / static_cast<double>(hashes.size());
}

// A node id no scheme here uses.
constexpr NodeId kNobody = 0xffffffff;

Row ring_row(const std::vector<uint64_t>& hashes, int nodes, uint32_t vnodes) {
  Row row{.scheme = "ring, " + std::to_string(vnodes) + " vnodes"};
  synod::HashRing ring(vnodes);
  for (int n = 0; n < nodes; ++n)
    ring.add(static_cast<NodeId>(n));
  auto lookup = [&ring](uint64_t h) { return ring.lookup_hash(h); };
  std::vector<NodeId> owner;
  row.lookup_ns = timed_lookups(hashes, lookup, owner);
  fill_load(row, owner, nodes);

  const auto joiner = static_cast<NodeId>(nodes), leaver = static_cast<NodeId>(nodes - 1);
  ring.add(joiner);
  row.moved_join_percent = moved_percent(hashes, owner, lookup, joiner, kNobody);
  ring.remove(joiner);
  ring.remove(leaver);
  row.moved_leave_percent = moved_percent(hashes, owner, lookup, kNobody, leaver);
  return row;
}

Row rendezvous_row(const std::vector<uint64_t>& hashes, int nodes) {
  Row row{.scheme = "rendezvous"};
  synod::Rendezvous r;
  for (int n = 0; n < nodes; ++n)
    r.add(static_cast<NodeId>(n));
  auto lookup = [&r](uint64_t h) { return r.lookup_hash(h); };
  std::vector<NodeId> owner;
  row.lookup_ns = timed_lookups(hashes, lookup, owner);
  fill_load(row, owner, nodes);

  const auto joiner = static_cast<NodeId>(nodes), leaver = static_cast<NodeId>(nodes - 1);
  r.add(joiner);
  row.moved_join_percent = moved_percent(hashes, owner, lookup, joiner, kNobody);
  r.remove(joiner);
  r.remove(leaver);
  row.moved_leave_percent = moved_percent(hashes, owner, lookup, kNobody, leaver);
  return row;
}

Row jump_row(const std::vector<uint64_t>& hashes, int nodes) {
  Row row{.scheme = "jump"};
  int32_t buckets = nodes;
  auto lookup = [&buckets](uint64_t h) {
    return static_cast<NodeId>(synod::jump_hash(h, buckets));
  };
  std::vector<NodeId> owner;
  row.lookup_ns = timed_lookups(hashes, lookup, owner);
  fill_load(row, owner, nodes);

  buckets = nodes + 1;
  row.moved_join_percent =
      moved_percent(hashes, owner, lookup, static_cast<NodeId>(nodes), kNobody);
  buckets = nodes - 1;
  row.moved_leave_percent =
      moved_percent(hashes, owner, lookup, kNobody, static_cast<NodeId>(nodes - 1));
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  const int nodes = argc > 1 ? std::atoi(argv[1]) : 100;
  const size_t keys = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1'000'000;
  SYNOD_ASSERT_MSG(nodes >= 2 && nodes < 100'000, "nodes: 2..99999");
  SYNOD_ASSERT_MSG(keys >= 1 && keys <= 100'000'000, "keys: 1..100000000");

  std::vector<uint64_t> hashes(keys);
  for (size_t i = 0; i < keys; ++i)
    hashes[i] = synod::hash64("key-" + std::to_string(i));

  std::vector<Row> rows;
  for (uint32_t vnodes : {1u, 16u, 100u, 1000u})
    rows.push_back(ring_row(hashes, nodes, vnodes));
  rows.push_back(rendezvous_row(hashes, nodes));
  rows.push_back(jump_row(hashes, nodes));

  const double mean = static_cast<double>(keys) / nodes;
  std::printf("%d nodes, %zu keys; lookup: median of %d passes over all keys\n", nodes, keys,
              kTimingPasses);
  std::printf("(perfectly random placement has a std dev of %.1f%%: binomial noise)\n\n",
              100 * std::sqrt(mean * (1 - 1.0 / nodes)) / mean);
  std::printf(
      "| scheme | max/mean load | std dev of load | moved on join (ideal %.2f%%) | moved on "
      "leave (ideal %.2f%%) | lookup |\n|---|---|---|---|---|---|\n",
      100.0 / (nodes + 1), 100.0 / nodes);
  for (const Row& r : rows)
    std::printf("| %s | %.3f | %.1f%% | %.2f%% | %.2f%% | %.0f ns |\n", r.scheme.c_str(),
                r.max_over_mean, r.stddev_percent, r.moved_join_percent, r.moved_leave_percent,
                r.lookup_ns);
  return 0;
}
