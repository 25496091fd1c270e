#include "synod/check/history.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "check/random_histories.h"

namespace synod::check {
namespace {

TEST(History, ParsesEveryKind) {
  auto h = parse_history(
      R"({"client":0,"kind":"put","key":"k","value":"v","call":10,"return":20,"ok":true}
{"client":1,"kind":"get","key":"k","value":"v","call":30,"return":40,"ok":true}
{"client":1,"kind":"get","key":"k","value":null,"call":50,"return":60,"ok":true}
{"client":2,"kind":"get","key":"k","call":70,"return":80,"ok":true}
{"client":2,"kind":"cas","key":"k","expected":"v","value":"w","swapped":true,"call":90,"return":95,"ok":true}
{"client":3,"kind":"delete","key":"k","call":100,"return":-1,"ok":false}
{"client":4,"kind":"put","key":"k","value":"x","call":110,"return":120,"ok":false}
{"client":5,"kind":"cas","key":"k","expected":"v","value":"w","call":130,"return":-1,"ok":false}
)");
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(h->size(), 8u);
  const History& ops = *h;
  EXPECT_EQ(ops[0], (Operation{.client = 0,
                               .kind = OpKind::kPut,
                               .key = "k",
                               .value = "v",
                               .call = 10,
                               .ret = 20,
                               .outcome = Outcome::kOk}));
  EXPECT_EQ(ops[1].value, "v");
  EXPECT_EQ(ops[2].value, std::nullopt);
  EXPECT_EQ(ops[3].value, std::nullopt);
  EXPECT_EQ(ops[4].kind, OpKind::kCas);
  EXPECT_EQ(ops[4].expected, "v");
  EXPECT_EQ(ops[4].value, "w");
  EXPECT_TRUE(ops[4].swapped);
  EXPECT_EQ(ops[5].kind, OpKind::kDelete);
  EXPECT_EQ(ops[5].outcome, Outcome::kUnknown);
  EXPECT_EQ(ops[5].ret, -1);
  EXPECT_EQ(ops[6].outcome, Outcome::kFailed);
  EXPECT_EQ(ops[6].ret, 120);
  EXPECT_EQ(ops[7].outcome, Outcome::kUnknown);
}

TEST(History, SkipsBlankLinesAndCarriageReturns) {
  auto h = parse_history(
      "\n{\"client\":0,\"kind\":\"delete\",\"key\":\"k\",\"call\":1,\"return\":2,\"ok\":true}\r\n"
      "   \n\n");
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->size(), 1u);
  EXPECT_TRUE(parse_history("").ok());
}

TEST(History, WritesTheDocumentedFormat) {
  Operation op{.client = 3,
               .kind = OpKind::kCas,
               .key = "k",
               .value = "w",
               .expected = "v",
               .swapped = true,
               .call = 5,
               .ret = 9};
  EXPECT_EQ(to_json_line(op),
            R"({"client":3,"kind":"cas","key":"k","expected":"v","value":"w","swapped":true,)"
            R"("call":5,"return":9,"ok":true})");
  Operation get{.client = 1,
                .kind = OpKind::kGet,
                .key = "k",
                .call = 1,
                .ret = -1,
                .outcome = Outcome::kUnknown};
  EXPECT_EQ(to_json_line(get),
            R"({"client":1,"kind":"get","key":"k","value":null,"call":1,"return":-1,"ok":false})");
  Operation del{
      .kind = OpKind::kDelete, .key = "k\"\n", .call = 1, .ret = 2, .outcome = Outcome::kFailed};
  EXPECT_EQ(to_json_line(del),
            R"({"client":0,"kind":"delete","key":"k\"\n","call":1,"return":2,"ok":false})");
}

TEST(History, RoundTrips) {
  testing::check_property(500, [] {
    History h = testing::arbitrary_history(20, 4);
    for (Operation& op : h) {
      // What the format does not carry: the swap of a cas of unknown outcome
      // and of a kind other than cas.
      if (op.kind != OpKind::kCas || op.outcome == Outcome::kUnknown) op.swapped = false;
      if (*rc::gen::arbitrary<bool>()) {
        op.key = *rc::gen::string<std::string>();
        for (char& c : op.key)
          c = static_cast<char>(c & 0x7f);  // JSON text is UTF-8
      }
    }
    std::string text;
    for (const Operation& op : h)
      text += to_json_line(op) + "\n";
    auto back = parse_history(text);
    RC_ASSERT(back.ok());
    RC_ASSERT(*back == h);
  });
}

std::string error_of(std::string_view text) {
  auto h = parse_history(text);
  return h.ok() ? "(parsed)" : std::string(h.status().message());
}

TEST(History, EveryBadLineIsNamed) {
  const std::string good =
      R"({"client":0,"kind":"put","key":"k","value":"v","call":1,"return":2,"ok":true})";
  struct Case {
    std::string line;
    std::string error;
  };
  const Case cases[] = {
      {"{not json", "not valid JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"client":0,"kind":"put","key":"k","value":"v","call":1,"return":2,"ok":true} x)",
       "not valid JSON"},
      {R"({"kind":"put","key":"k","value":"v","call":1,"return":2,"ok":true})",
       "missing \"client\""},
      {R"({"client":"0","kind":"put","key":"k","value":"v","call":1,"return":2,"ok":true})",
       "\"client\" must be an integer"},
      {R"({"client":-1,"kind":"put","key":"k","value":"v","call":1,"return":2,"ok":true})",
       "\"client\" must not be negative"},
      {R"({"client":0,"key":"k","value":"v","call":1,"return":2,"ok":true})", "missing \"kind\""},
      {R"({"client":0,"kind":7,"key":"k","value":"v","call":1,"return":2,"ok":true})",
       "\"kind\" must be a string"},
      {R"({"client":0,"kind":"append","key":"k","value":"v","call":1,"return":2,"ok":true})",
       "unknown kind \"append\""},
      {R"({"client":0,"kind":"put","value":"v","call":1,"return":2,"ok":true})", "missing \"key\""},
      {R"({"client":0,"kind":"put","key":1,"value":"v","call":1,"return":2,"ok":true})",
       "\"key\" must be a string"},
      {R"({"client":0,"kind":"put","key":"k","value":"v","return":2,"ok":true})",
       "missing \"call\""},
      {R"({"client":0,"kind":"put","key":"k","value":"v","call":1.5,"return":2,"ok":true})",
       "\"call\" must be an integer"},
      {R"({"client":0,"kind":"put","key":"k","value":"v","call":-3,"return":2,"ok":true})",
       "\"call\" must not be negative"},
      {R"({"client":0,"kind":"put","key":"k","value":"v","call":1,"ok":true})",
       "missing \"return\""},
      {R"({"client":0,"kind":"put","key":"k","value":"v","call":1,"return":2})", "missing \"ok\""},
      {R"({"client":0,"kind":"put","key":"k","value":"v","call":1,"return":2,"ok":1})",
       "\"ok\" must be true or false"},
      {R"({"client":0,"kind":"put","key":"k","value":"v","call":5,"return":2,"ok":true})",
       "\"return\" is before \"call\""},
      {R"({"client":0,"kind":"put","key":"k","value":"v","call":5,"return":-1,"ok":true})",
       "\"ok\":true with \"return\":-1"},
      {R"({"client":0,"kind":"put","key":"k","value":"v","call":1,"return":99999999999999999999,"ok":true})",
       "\"return\" must be an integer"},
      {R"({"client":0,"kind":"put","key":"k","call":1,"return":2,"ok":true})", "missing \"value\""},
      {R"({"client":0,"kind":"put","key":"k","value":null,"call":1,"return":2,"ok":true})",
       "\"value\" must be a string"},
      {R"({"client":0,"kind":"put","key":"k","value":"v","expected":"v","call":1,"return":2,"ok":true})",
       "\"expected\" is not allowed for put"},
      {R"({"client":0,"kind":"put","key":"k","value":"v","swapped":true,"call":1,"return":2,"ok":true})",
       "\"swapped\" is not allowed for put"},
      {R"({"client":0,"kind":"get","key":"k","value":3,"call":1,"return":2,"ok":true})",
       "\"value\" must be a string or null"},
      {R"({"client":0,"kind":"get","key":"k","expected":"v","call":1,"return":2,"ok":true})",
       "\"expected\" is not allowed for get"},
      {R"({"client":0,"kind":"get","key":"k","swapped":false,"call":1,"return":2,"ok":true})",
       "\"swapped\" is not allowed for get"},
      {R"({"client":0,"kind":"delete","key":"k","value":"v","call":1,"return":2,"ok":true})",
       "\"value\" is not allowed for delete"},
      {R"({"client":0,"kind":"delete","key":"k","expected":"v","call":1,"return":2,"ok":true})",
       "\"expected\" is not allowed for delete"},
      {R"({"client":0,"kind":"delete","key":"k","swapped":true,"call":1,"return":2,"ok":true})",
       "\"swapped\" is not allowed for delete"},
      {R"({"client":0,"kind":"cas","key":"k","value":"w","swapped":true,"call":1,"return":2,"ok":true})",
       "missing \"expected\""},
      {R"({"client":0,"kind":"cas","key":"k","expected":null,"value":"w","swapped":true,"call":1,"return":2,"ok":true})",
       "\"expected\" must be a string"},
      {R"({"client":0,"kind":"cas","key":"k","expected":"v","swapped":true,"call":1,"return":2,"ok":true})",
       "missing \"value\""},
      {R"({"client":0,"kind":"cas","key":"k","expected":"v","value":"w","call":1,"return":2,"ok":true})",
       "missing \"swapped\""},
      {R"({"client":0,"kind":"cas","key":"k","expected":"v","value":"w","swapped":"yes","call":1,"return":2,"ok":true})",
       "\"swapped\" must be true or false"},
      {R"({"client":0,"kind":"put","key":"k","value":"v","call":1,"return":2,"ok":true,"node":3})",
       "unknown field \"node\""},
  };
  for (const Case& c : cases) {
    // On its own it is line 1; after two good lines and a blank one, line 4.
    std::string alone = error_of(c.line);
    EXPECT_NE(alone.find("history line 1: "), std::string::npos) << c.line << " -> " << alone;
    EXPECT_NE(alone.find(c.error), std::string::npos) << c.line << " -> " << alone;
    std::string later = error_of(good + "\n" + good + "\n\n" + c.line + "\n" + good + "\n");
    EXPECT_NE(later.find("history line 4: " + alone.substr(std::string("history line 1: ").size())),
              std::string::npos)
        << c.line << " -> " << later;
  }
}

TEST(History, RefusesAnOverlongLine) {
  std::string line(kMaxHistoryLineBytes + 1, ' ');
  EXPECT_NE(error_of(line).find("history line 1: longer than"), std::string::npos);
}

TEST(History, ReadsFiles) {
  EXPECT_FALSE(read_history_file("/nonexistent/history.jsonl").ok());
  std::string path = ::testing::TempDir() + "/synod_history_test.jsonl";
  {
    std::ofstream out(path);
    out << R"({"client":0,"kind":"put","key":"k","value":"v","call":1,"return":2,"ok":true})"
        << "\n"
        << R"({"client":0,"kind":"get","key":"k","value":"v","call":3,"return":"4","ok":true})"
        << "\n";
  }
  auto h = read_history_file(path);
  ASSERT_FALSE(h.ok());
  std::string message(h.status().message());
  EXPECT_NE(message.find(path + ": history line 2: \"return\" must be an integer"),
            std::string::npos)
      << message;
  {
    std::ofstream out(path);
    out << R"({"client":0,"kind":"put","key":"k","value":"v","call":1,"return":2,"ok":true})"
        << "\n";
  }
  h = read_history_file(path);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->size(), 1u);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace synod::check
