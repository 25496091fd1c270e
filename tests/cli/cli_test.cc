// The synod binary as a user meets it: exit codes, messages, replay.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

struct Result {
  int code;
  std::string out;
};

Result synod(const std::string& args) {
  const char* bin = std::getenv("SYNOD_BIN");
  std::string command = std::string(bin ? bin : "synod") + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  std::array<char, 4096> buffer;
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe))
    out.append(buffer.data(), n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string summary(const std::string& out) {
  auto at = out.find("seed=");
  return out.substr(at, out.find('\n', at) - at);
}

TEST(Cli, RunPrintsOneSummaryLineAndReplays) {
  Result a = synod("sim run --protocol register --seed 9 --duration 10s --nemesis crash,partition");
  ASSERT_EQ(a.code, 0) << a.out;
  EXPECT_NE(a.out.find("linearizable=yes"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("hash="), std::string::npos);
  Result b = synod("sim run --protocol register --seed 9 --duration 10s --nemesis crash,partition");
  EXPECT_EQ(summary(a.out), summary(b.out));
}

TEST(Cli, AFailedCheckExitsOneWithAReplayCommand) {
  Result r = synod(
      "sim explore --protocol naive-primary-backup --seeds 20 --duration 10s "
      "--nemesis partition,crash --jobs 2");
  EXPECT_EQ(r.code, 1) << r.out;
  auto replay = r.out.find("replay: synod sim run ");
  ASSERT_NE(replay, std::string::npos) << r.out;
  EXPECT_NE(r.out.find("20 seeds, "), std::string::npos);
  // The printed command reproduces the failure.
  std::string flags = r.out.substr(replay + 22, r.out.find('\n', replay) - replay - 22);
  Result again = synod("sim run " + flags);
  EXPECT_EQ(again.code, 1) << again.out;
  EXPECT_NE(again.out.find("linearizable=NO"), std::string::npos) << again.out;
}

TEST(Cli, BadArgumentsExitTwoWithAClearMessage) {
  Result unknown = synod("sim run --protocol zab --seed 1");
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.out.find("unknown protocol 'zab'"), std::string::npos) << unknown.out;
  Result duration = synod("sim run --protocol register --duration soon");
  EXPECT_EQ(duration.code, 2);
  EXPECT_NE(duration.out.find("--duration"), std::string::npos) << duration.out;
  Result nemesis = synod("sim run --protocol register --nemesis meteor");
  EXPECT_EQ(nemesis.code, 2);
  EXPECT_NE(nemesis.out.find("meteor"), std::string::npos);
  Result no_protocol = synod("sim run --seed 1");
  EXPECT_EQ(no_protocol.code, 2);
  Result loss = synod("sim run --protocol register --network reliable --loss 0.1");
  EXPECT_EQ(loss.code, 2);
}

TEST(Cli, ComparePrintsATableAndRefusesBadInput) {
  Result r = synod("sim compare --protocols raft,multipaxos --seeds 2 --nodes 3 --duration 10s");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("failover p50"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nmultipaxos "), std::string::npos) << r.out;
  Result unknown = synod("sim compare --protocols raft,zab --seeds 1");
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.out.find("zab"), std::string::npos) << unknown.out;
  Result none = synod("sim compare --protocols , --seeds 1");
  EXPECT_EQ(none.code, 2) << none.out;
}

TEST(Cli, BugListPrintsNamesSeparatedByCommas) {
  Result r = synod("sim run --protocol register --bug list");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "ack-before-sync\n");
}

TEST(Cli, CheckHistoryJudgesAFile) {
  std::string dir = ::testing::TempDir();
  std::string good = dir + "/good.jsonl", bad = dir + "/bad.jsonl", broken = dir + "/broken.jsonl";
  std::ofstream(good)
      << R"({"client":0,"kind":"put","key":"k","value":"1","call":0,"return":10,"ok":true})"
      << "\n"
      << R"({"client":1,"kind":"get","key":"k","value":"1","call":20,"return":30,"ok":true})"
      << "\n";
  std::ofstream(bad)
      << R"({"client":0,"kind":"put","key":"k","value":"1","call":0,"return":10,"ok":true})"
      << "\n"
      << R"({"client":1,"kind":"get","key":"k","value":null,"call":20,"return":30,"ok":true})"
      << "\n";
  std::ofstream(broken) << "{\"client\":0,\"kind\":\"teleport\"}\n";
  EXPECT_EQ(synod("check history " + good).code, 0);
  Result r = synod("check history " + bad);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("key k"), std::string::npos) << r.out;
  EXPECT_EQ(synod("check history " + broken).code, 2);
  EXPECT_EQ(synod("check history " + dir + "/missing.jsonl").code, 2);
}

TEST(Cli, SimulatedHistoriesRoundTripThroughCheckHistory) {
  std::string file = ::testing::TempDir() + "/history.jsonl";
  Result run = synod("sim run --protocol register --seed 3 --duration 5s --history " + file);
  ASSERT_EQ(run.code, 0) << run.out;
  Result check = synod("check history " + file);
  EXPECT_EQ(check.code, 0) << check.out;
  EXPECT_NE(check.out.find("linearizable"), std::string::npos);
}

TEST(Cli, HelpExplainsAndExitsZero) {
  Result r = synod("sim run --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--nemesis"), std::string::npos);
}

}  // namespace
