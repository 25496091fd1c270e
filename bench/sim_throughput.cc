// How many messages per second the simulator delivers on one core, for a
// small protocol, with serialization on (every message is a protobuf that is
// serialized on send and parsed on delivery) and tracing off (only the trace
// hash). The protocol: tokens bouncing between random nodes.
//
//   build/bench/sim_throughput [virtual seconds, default 20]

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "synod/protocol/message.h"
#include "synod/sim/protocol_spec.h"
#include "synod/sim/simulation.h"
#include "synod/wire/detect.pb.h"
#include "timed_run.h"

namespace synod {
namespace {

constexpr int kTokensPerNode = 100;

class Bouncer final : public Protocol {
 public:
  void start(Env& env) override {
    for (int i = 0; i < kTokensPerNode; ++i)
      forward(env, 0);
  }
  void on_message(Env& env, const Incoming& message) override {
    auto token = parse_message<wire::DetectorMessage>(message.payload);
    if (token) forward(env, token->heartbeat().seq() + 1);
  }

 private:
  void forward(Env& env, uint64_t hops) {
    auto nodes = env.nodes();
    NodeId to = nodes[env.rng().uniform(nodes.size())];
    if (to == env.self()) to = nodes[(to + 1) % nodes.size()];
    wire::DetectorMessage token;
    token.mutable_heartbeat()->set_seq(hops);
    send_message(env, to, token);
  }
};

class BouncerSpec final : public sim::ProtocolSpec {
 public:
  std::unique_ptr<Protocol> make_node(NodeId) override { return std::make_unique<Bouncer>(); }
};

}  // namespace
}  // namespace synod

int main(int argc, char** argv) {
  using namespace synod;
  int seconds = argc > 1 ? std::atoi(argv[1]) : 20;
  sim::ProtocolInfo info{
      .name = "bouncer",
      .summary = "tokens bouncing between random nodes",
      .serves_clients = false,
      .make = [](const sim::SimConfig&,
                 sim::SimContext&) { return std::make_unique<BouncerSpec>(); },
  };
  sim::SimConfig config;
  config.protocol = "bouncer";
  config.nodes = 5;
  config.duration = std::chrono::seconds(seconds);

  std::printf("| run | delivered | wall seconds | delivered/s |\n|---|---|---|---|\n");
  for (int run = 1; run <= 3; ++run) {
    config.seed = static_cast<uint64_t>(run);
    auto timed = bench::timed_run(config, info);
    if (!timed) return 1;
    uint64_t delivered = timed->report.messages_delivered;
    std::printf("| %d | %llu | %.2f | %.0f |\n", run, static_cast<unsigned long long>(delivered),
                timed->wall_seconds, static_cast<double>(delivered) / timed->wall_seconds);
  }
  return 0;
}
