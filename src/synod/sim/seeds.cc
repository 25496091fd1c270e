#include "synod/sim/seeds.h"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "synod/sim/simulation.h"

namespace synod::sim {

void run_seeds(const SimConfig& config, uint64_t first, uint64_t count, unsigned jobs,
               const SeedDone& done) {
  std::atomic<uint64_t> next{0};
  std::mutex one_at_a_time;
  auto worker = [&] {
    while (true) {
      uint64_t i = next.fetch_add(1);
      if (i >= count) return;
      SimConfig c = config;
      c.seed = first + i;
      auto report = run_simulation(c);
      std::lock_guard lock(one_at_a_time);
      done(c, report);
    }
  };
  std::vector<std::thread> threads;
  for (unsigned j = 1; j < std::max(jobs, 1u); ++j)
    threads.emplace_back(worker);
  worker();
  for (auto& t : threads)
    t.join();
}

}  // namespace synod::sim
