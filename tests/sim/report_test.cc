#include "synod/sim/report.h"

#include <gtest/gtest.h>

namespace synod::sim {
namespace {

TEST(RunReport, SaysEachVerdictAsWhatItIs) {
  RunReport r;
  r.seed = 5;
  r.linearizability = check::Verdict{};
  EXPECT_TRUE(r.passed());
  EXPECT_NE(r.summary_line().find("linearizable=yes"), std::string::npos);
  EXPECT_NE(r.summary_line().find("result=PASS"), std::string::npos);

  r.linearizability->linearizable = false;
  r.linearizability->key = "k1";
  EXPECT_FALSE(r.passed());
  EXPECT_NE(r.summary_line().find("linearizable=NO"), std::string::npos);
  EXPECT_NE(r.failure_details().find("not linearizable: key k1"), std::string::npos);

  // The search limit was hit: neither shown nor refuted, so not a pass, and said so.
  r.linearizability->undecided = true;
  EXPECT_FALSE(r.passed());
  EXPECT_NE(r.summary_line().find("linearizable=UNDECIDED"), std::string::npos);
  EXPECT_NE(r.failure_details().find("undecided"), std::string::npos);
}

TEST(RunReport, AnyBrokenCheckFailsTheRun) {
  RunReport r;
  EXPECT_TRUE(r.passed());
  r.liveness = false;
  EXPECT_FALSE(r.passed());
  EXPECT_NE(r.summary_line().find("liveness=NO"), std::string::npos);
  r.liveness = true;
  r.invariant_failure_count = 1;
  r.invariant_failures.push_back({1'000'000, "election safety", "two leaders in term 3"});
  EXPECT_FALSE(r.passed());
  EXPECT_NE(r.summary_line().find("invariants=BROKEN"), std::string::npos);
  EXPECT_NE(r.failure_details().find("two leaders in term 3"), std::string::npos);
}

}  // namespace
}  // namespace synod::sim
