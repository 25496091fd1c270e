#include "synod/sim/simulation.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "synod/sim/protocol_spec.h"
#include "synod/sim/specs.h"

namespace synod::sim {
namespace {

using std::chrono::seconds;

SimConfig config(std::string protocol, uint64_t seed, std::string nemesis = "none") {
  SimConfig c;
  c.protocol = std::move(protocol);
  c.seed = seed;
  c.duration = seconds(20);
  c.nemesis = *NemesisConfig::parse(nemesis);
  c.nemesis.quiet = seconds(5);
  return c;
}

RunReport run(const SimConfig& c) {
  auto report = run_simulation(c);
  EXPECT_TRUE(report.ok()) << report.status();
  return *report;
}

TEST(Simulation, ASeedReplaysToTheSameTraceHash) {
  for (std::string protocol : {"register", "naive-primary-backup", "detector-phi"}) {
    SimConfig c = config(protocol, 42, "swarm");
    RunReport a = run(c), b = run(c);
    EXPECT_EQ(a.trace_hash, b.trace_hash) << protocol;
    EXPECT_EQ(a.summary_line(), b.summary_line()) << protocol;
    EXPECT_GT(a.messages_delivered, 100u) << protocol;
    c.seed = 43;
    EXPECT_NE(run(c).trace_hash, a.trace_hash) << protocol;
  }
}

TEST(Simulation, TracingDoesNotChangeTheRun) {
  SimConfig c = config("naive-primary-backup", 7, "partition,crash");
  RunReport plain = run(c);
  std::string dir = ::testing::TempDir();
  c.trace_path = dir + "/sim_trace.jsonl";
  c.diagram_path = dir + "/sim_diagram.html";
  RunReport traced = run(c);
  EXPECT_EQ(plain.trace_hash, traced.trace_hash);

  std::ifstream trace(c.trace_path);
  std::string line;
  int sends = 0, delivers = 0;
  while (std::getline(trace, line)) {
    sends += line.find("\"ev\":\"send\"") != std::string::npos;
    if (line.find("\"ev\":\"deliver\"") != std::string::npos) {
      ++delivers;
      EXPECT_NE(line.find("\"lamport\":"), std::string::npos);
      EXPECT_NE(line.find("\"vc\":["), std::string::npos);
    }
  }
  EXPECT_EQ(static_cast<uint64_t>(sends), traced.messages_sent);
  EXPECT_EQ(static_cast<uint64_t>(delivers), traced.messages_delivered);

  std::ifstream diagram(c.diagram_path);
  std::stringstream html;
  html << diagram.rdbuf();
  EXPECT_NE(html.str().find("<svg"), std::string::npos);
  EXPECT_NE(html.str().find("\"crash"), std::string::npos);
  EXPECT_EQ(html.str().find("http://"), html.str().find("http://www.w3.org"));  // nothing fetched
}

// Raft writes notes (elections, snapshots) only when traced; they must not
// change the hash, or a replay with --diagram would not match its run.
TEST(Simulation, NotesWrittenOnlyWhenTracedDoNotChangeTheHash) {
  SimConfig c = config("raft", 5, "crash,partition");
  RunReport plain = run(c);
  c.diagram_path = ::testing::TempDir() + "/sim_raft_diagram.html";
  RunReport traced = run(c);
  EXPECT_EQ(plain.trace_hash, traced.trace_hash);
  std::ifstream diagram(c.diagram_path);
  std::stringstream html;
  html << diagram.rdbuf();
  EXPECT_NE(html.str().find("elected"), std::string::npos) << "the notes are in the diagram";
}

// A protocol whose own state breaks after its 200th input: the simulator
// asks every protocol for its invariants after every input, and fails the run
// on the first broken one.
class BreaksAfter final : public Protocol {
 public:
  explicit BreaksAfter(std::unique_ptr<Protocol> inner) : inner_(std::move(inner)) {}
  void start(Env& env) override {
    step([&] { inner_->start(env); });
  }
  void on_message(Env& env, const Incoming& m) override {
    step([&] { inner_->on_message(env, m); });
  }
  void on_client_request(Env& env, ProcessId c, const wire::ClientRequest& r) override {
    step([&] { inner_->on_client_request(env, c, r); });
  }
  void on_timer(Env& env, uint64_t tag) override {
    step([&] { inner_->on_timer(env, tag); });
  }
  void on_synced(Env& env, SyncId id) override {
    step([&] { inner_->on_synced(env, id); });
  }
  std::optional<BrokenInvariant> check_invariants() const override {
    if (inputs_ < 200) return inner_->check_invariants();
    return BrokenInvariant{"injected-corruption", "after input " + std::to_string(inputs_)};
  }

 private:
  template <typename F>
  void step(F f) {
    ++inputs_;
    f();
  }
  std::unique_ptr<Protocol> inner_;
  int inputs_ = 0;
};

class BreakingSpec final : public ProtocolSpec {
 public:
  explicit BreakingSpec(std::unique_ptr<ProtocolSpec> inner) : inner_(std::move(inner)) {}
  std::unique_ptr<Protocol> make_node(NodeId node) override {
    return std::make_unique<BreaksAfter>(inner_->make_node(node));
  }

 private:
  std::unique_ptr<ProtocolSpec> inner_;
};

TEST(Simulation, ABrokenProtocolInvariantFailsTheRun) {
  ProtocolInfo info = register_protocol();
  auto make_inner = info.make;
  info.make = [make_inner](const SimConfig& c, SimContext& context) {
    return std::make_unique<BreakingSpec>(make_inner(c, context));
  };
  SimConfig c = config("register", 3);
  auto clean = run_simulation(c);
  ASSERT_TRUE(clean.ok());
  EXPECT_TRUE(clean->passed()) << clean->summary_line();

  auto broken = run_simulation(c, info);
  ASSERT_TRUE(broken.ok()) << broken.status();
  EXPECT_FALSE(broken->passed());
  ASSERT_FALSE(broken->invariant_failures.empty());
  EXPECT_EQ(broken->invariant_failures[0].invariant, "injected-corruption");
  EXPECT_NE(broken->invariant_failures[0].detail.find("node 0: after input 200"), std::string::npos)
      << broken->invariant_failures[0].detail;
}

TEST(Simulation, TheRegisterIsLinearizableUnderEveryFault) {
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    RunReport r = run(config("register", seed, "swarm"));
    EXPECT_TRUE(r.passed()) << r.summary_line() << "\n" << r.failure_details();
    // Progress, unless the nemesis stopped node 0 (the only server) for good.
    if (r.liveness) {
      EXPECT_GT(r.ops_ok, 50u) << r.summary_line();
    }
  }
}

TEST(Simulation, TheRegisterSurvivesCrashesWithTornWrites) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SimConfig c = config("register", seed, "crash");
    c.nemesis.mean_interval = std::chrono::milliseconds(500);
    c.disk.torn_tail = 1.0;
    RunReport r = run(c);
    EXPECT_TRUE(r.passed()) << r.summary_line() << "\n" << r.failure_details();
  }
}

TEST(Simulation, AckingBeforeSyncLosesWritesOnCrash) {
  int failures = 0;
  for (uint64_t seed = 1; seed <= 20 && failures == 0; ++seed) {
    SimConfig c = config("register", seed, "crash");
    c.nemesis.mean_interval = std::chrono::milliseconds(500);
    c.bug = "ack-before-sync";
    failures += !run(c).passed();
  }
  EXPECT_GT(failures, 0);
}

TEST(Simulation, TheNaivePrimaryBackupIsCaught) {
  int failures = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed)
    failures += !run(config("naive-primary-backup", seed, "partition,crash")).passed();
  EXPECT_GT(failures, 0);
}

TEST(Simulation, DetectorsSeeCrashes) {
  SimConfig c = config("detector-heartbeat", 3, "crash-stop");
  c.nemesis.mean_interval = seconds(1);
  RunReport r = run(c);
  EXPECT_TRUE(r.passed()) << r.failure_details();
  std::map<std::string, std::string> fields(r.fields.begin(), r.fields.end());
  EXPECT_NE(fields["crashes"], "0");
  EXPECT_NE(fields["detections"], "0");
  EXPECT_FALSE(r.linearizability.has_value());  // no clients
}

TEST(Simulation, RejectsBadConfigurations) {
  SimConfig c = config("register", 1);
  c.protocol = "zab";
  EXPECT_FALSE(run_simulation(c).ok());
  c = config("register", 1);
  c.bug = "no-such-bug";
  auto bad_bug = run_simulation(c);
  ASSERT_FALSE(bad_bug.ok());
  EXPECT_NE(bad_bug.status().message().find("ack-before-sync"), std::string::npos);
  c = config("register", 1);
  c.nodes = 0;
  EXPECT_FALSE(run_simulation(c).ok());
}

}  // namespace
}  // namespace synod::sim
