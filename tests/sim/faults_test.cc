// Each fault of the simulator, applied by a script to a probe protocol that
// records what it saw: pauses hold messages and timers, partitions cut links,
// crashes lose volatile state, skew changes a clock's rate, byzantine nodes
// misbehave, and calls to a dead node time out.

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "synod/protocol/message.h"
#include "synod/sim/protocol_spec.h"
#include "synod/sim/simulation.h"
#include "synod/wire/detect.pb.h"

namespace synod::sim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
constexpr int64_t kMs = 1'000'000;

struct Received {
  int64_t at;
  NodeId from, to;
  std::optional<uint64_t> seq;  // nullopt: did not parse
};

struct Record {
  std::vector<Received> received;
  std::map<NodeId, std::vector<int64_t>> ticks;
  std::map<NodeId, int> starts;
  std::vector<std::pair<int64_t, bool>> calls;  // (when it ended, answered)
};

// Every 10ms (local time) each node sends its next sequence number to every
// other node; node 0 also calls node 1 every 100ms with a 50ms timeout.
class Probe final : public Protocol {
 public:
  Probe(Record& record, SimContext& context) : record_(record), context_(context) {}
  void start(Env& env) override {
    ++record_.starts[env.self()];
    env.set_timer(milliseconds(10), 0);
  }
  void on_timer(Env& env, uint64_t) override {
    record_.ticks[env.self()].push_back(context_.now_ns());
    wire::DetectorMessage m;
    m.mutable_heartbeat()->set_seq(++seq_);
    for (NodeId n : env.nodes())
      if (n != env.self()) send_message(env, n, m);
    if (env.self() == 0 && seq_ % 10 == 0) {
      wire::DetectorMessage ping;
      ping.mutable_ping();
      call_message(env, 1, ping, milliseconds(50));
    }
    env.set_timer(milliseconds(10), 0);
  }
  void on_message(Env& env, const Incoming& in) override {
    auto m = parse_message<wire::DetectorMessage>(in.payload);
    if (m && m->has_ping() && in.call) {
      wire::DetectorMessage pong;
      pong.mutable_pong();
      respond_message(env, in, pong);
      return;
    }
    std::optional<uint64_t> seq;
    if (m && m->has_heartbeat()) seq = m->heartbeat().seq();
    record_.received.push_back({context_.now_ns(), in.from, env.self(), seq});
  }
  void on_response(Env&, CallId, std::string_view) override {
    record_.calls.emplace_back(context_.now_ns(), true);
  }
  void on_call_failed(Env&, CallId) override {
    record_.calls.emplace_back(context_.now_ns(), false);
  }

 private:
  Record& record_;
  SimContext& context_;
  uint64_t seq_ = 0;
};

class ProbeSpec final : public ProtocolSpec {
 public:
  ProbeSpec(Record& record, SimContext& context) : record_(record), context_(context) {}
  std::unique_ptr<Protocol> make_node(NodeId) override {
    return std::make_unique<Probe>(record_, context_);
  }

 private:
  Record& record_;
  SimContext& context_;
};

Record run_script(std::vector<ScriptedFault> script, int nodes = 4) {
  Record record;
  ProtocolInfo info{
      .name = "probe",
      .serves_clients = false,
      .make = [&record](
                  const SimConfig&,
                  SimContext& context) { return std::make_unique<ProbeSpec>(record, context); },
  };
  SimConfig c;
  c.protocol = "probe";
  c.nodes = nodes;
  c.duration = seconds(3);
  c.network.delay = *DelayModel::parse("fixed:1ms");
  c.nemesis.script = std::move(script);
  auto report = run_simulation(c, info);
  EXPECT_TRUE(report.ok());
  return record;
}

ScriptedFault step(int64_t at_ms, ScriptedFault::Action action, NodeId node = 0) {
  ScriptedFault s;
  s.at = milliseconds(at_ms);
  s.action = action;
  s.node = node;
  return s;
}

bool in(int64_t t, int64_t from_ms, int64_t to_ms) {
  return t > from_ms * kMs && t < to_ms * kMs;
}

TEST(Faults, APausedNodeHandlesNothingUntilItResumesThenEverythingInOrder) {
  using A = ScriptedFault::Action;
  Record r = run_script({step(1000, A::kPause, 0), step(2000, A::kResume, 0)});
  int during = 0, at_resume = 0;
  std::map<NodeId, uint64_t> last_seq;
  for (const auto& m : r.received) {
    if (m.to != 0) continue;
    during += in(m.at, 1000, 2000);
    at_resume += m.at == 2000 * kMs;
    ASSERT_TRUE(m.seq);
    EXPECT_GT(*m.seq, last_seq[m.from]) << "held messages keep their order";
    last_seq[m.from] = *m.seq;
  }
  EXPECT_EQ(during, 0);
  EXPECT_GT(at_resume, 200);  // ~100 per peer waited for the resume
  for (int64_t t : r.ticks[0])
    EXPECT_FALSE(in(t, 1000, 2000));
  EXPECT_EQ(r.starts[0], 1);  // a pause is not a restart
}

TEST(Faults, APartitionCutsBothWaysUntilHealed) {
  using A = ScriptedFault::Action;
  ScriptedFault cut = step(1000, A::kPartition);
  cut.side = {0, 1};
  Record r = run_script({cut, step(2000, A::kHeal)});
  int across_during = 0, across_after = 0, within_during = 0;
  for (const auto& m : r.received) {
    bool across = (m.from <= 1) != (m.to <= 1);
    if (in(m.at, 1000, 2000)) (across ? across_during : within_during)++;
    if (across && in(m.at, 2002, 3000)) ++across_after;
  }
  EXPECT_EQ(across_during, 0);
  EXPECT_GT(within_during, 0);
  EXPECT_GT(across_after, 0);
}

TEST(Faults, ACrashLosesTheProcessAndARestartStartsAFreshOne) {
  using A = ScriptedFault::Action;
  Record r = run_script({step(1000, A::kCrash, 2), step(2000, A::kRestart, 2)});
  EXPECT_EQ(r.starts[2], 2);
  for (int64_t t : r.ticks[2])
    EXPECT_FALSE(in(t, 1000, 2000));
  bool restarted_from_one = false;
  for (const auto& m : r.received) {
    if (m.to == 2) {
      EXPECT_FALSE(in(m.at, 1000, 2000));
    }
    if (m.from == 2 && m.at > 2000 * kMs && m.seq == 1u) restarted_from_one = true;
  }
  EXPECT_TRUE(restarted_from_one) << "volatile state (the sequence number) was lost";
}

TEST(Faults, AStoppedNodeNeverComesBack) {
  using A = ScriptedFault::Action;
  Record r = run_script({step(1000, A::kStop, 3), step(2000, A::kRestart, 3)});
  EXPECT_EQ(r.starts[3], 1);
  for (int64_t t : r.ticks[3])
    EXPECT_LT(t, 1000 * kMs);
}

TEST(Faults, SkewChangesTheRateOfANodesClock) {
  using A = ScriptedFault::Action;
  ScriptedFault fast = step(0, A::kSkew, 1);
  fast.drift = 0.5;  // its clock runs 1.5 times as fast
  Record r = run_script({fast});
  double ratio = static_cast<double>(r.ticks[1].size()) / static_cast<double>(r.ticks[0].size());
  EXPECT_NEAR(ratio, 1.5, 0.02);
}

TEST(Faults, ASilentByzantineNodeSendsNothing) {
  using A = ScriptedFault::Action;
  ScriptedFault silent = step(1000, A::kByzantine, 3);
  silent.mode = ByzantineMode::kSilent;
  Record r = run_script({silent, step(2000, A::kHonest, 3)});
  int from_silent = 0, after = 0;
  for (const auto& m : r.received) {
    if (m.from != 3) continue;
    from_silent += in(m.at, 1002, 2000);
    after += in(m.at, 2002, 3000);
  }
  EXPECT_EQ(from_silent, 0);
  EXPECT_GT(after, 0);
}

TEST(Faults, AnAlteringByzantineNodeSendsWhatItNeverMeant) {
  using A = ScriptedFault::Action;
  ScriptedFault alter = step(1000, A::kByzantine, 3);
  alter.mode = ByzantineMode::kAlter;
  Record r = run_script({alter, step(2000, A::kHonest, 3)});
  // Node 3 sends number k at k * 10ms and it arrives 1ms later; an altered
  // message does not parse or carries another number.
  int damaged = 0, honest_damage = 0;
  for (const auto& m : r.received) {
    if (m.from != 3) continue;
    bool ok = m.seq && static_cast<int64_t>(*m.seq) == (m.at - kMs) / (10 * kMs);
    if (in(m.at, 1000, 2000))
      damaged += !ok;  // sent at 1000ms to 1990ms
    else
      honest_damage += !ok;
  }
  EXPECT_GT(damaged, 10);
  EXPECT_EQ(honest_damage, 0);
}

TEST(Faults, ACallToADeadNodeTimesOutAsASuspicion) {
  using A = ScriptedFault::Action;
  Record r = run_script({step(1000, A::kCrash, 1), step(2000, A::kRestart, 1)});
  int answered = 0, failed = 0;
  for (const auto& [at, ok] : r.calls) {
    if (ok) {
      ++answered;
      EXPECT_FALSE(in(at, 1000, 2000));
    } else {
      ++failed;
      EXPECT_TRUE(in(at, 1000, 2060)) << at;  // sent while 1 was down, failed 50ms later
    }
  }
  EXPECT_GT(answered, 15);
  EXPECT_GE(failed, 9);
}

}  // namespace
}  // namespace synod::sim
