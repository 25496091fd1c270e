#include "synod/base/record.h"

#include <gtest/gtest.h>

#include "synod/base/crc32c.h"

namespace synod {
namespace {

TEST(Crc32c, MatchesKnownVectors) {
  // RFC 3720 (iSCSI), appendix B.4.
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8a9136aau);
  EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62a8ab43u);
  EXPECT_EQ(crc32c("123456789"), 0xe3069283u);
}

TEST(Crc32c, ExtendsIncrementally) {
  std::string text = "the quick brown fox jumps over the lazy dog";
  uint32_t whole = crc32c(text);
  uint32_t parts = crc32c(text.substr(11), crc32c(text.substr(0, 11)));
  EXPECT_EQ(whole, parts);
}

std::string two_records() {
  std::string file;
  append_record(file, "first");
  append_record(file, "second record");
  return file;
}

TEST(RecordReader, ReadsEveryRecord) {
  std::string file = two_records();
  RecordReader reader(file);
  EXPECT_EQ(reader.next(), "first");
  EXPECT_EQ(reader.next(), "second record");
  EXPECT_EQ(reader.next(), std::nullopt);
  EXPECT_EQ(reader.stop(), RecordReader::Stop::kEnd);
  EXPECT_EQ(reader.valid_bytes(), file.size());
}

TEST(RecordReader, EveryTruncationIsATornTail) {
  std::string file = two_records();
  size_t first_end = kRecordHeaderBytes + 5;
  for (size_t cut = first_end + 1; cut < file.size(); ++cut) {
    RecordReader reader(std::string_view(file).substr(0, cut));
    EXPECT_EQ(reader.next(), "first");
    EXPECT_EQ(reader.next(), std::nullopt) << cut;
    EXPECT_EQ(reader.stop(), RecordReader::Stop::kTornTail) << cut;
    EXPECT_EQ(reader.valid_bytes(), first_end);
  }
}

TEST(RecordReader, DamageBeforeTheTailIsCorruption) {
  std::string file = two_records();
  file[kRecordHeaderBytes + 1] ^= 0x40;  // inside "first"
  RecordReader reader(file);
  EXPECT_EQ(reader.next(), std::nullopt);
  EXPECT_EQ(reader.stop(), RecordReader::Stop::kCorrupt);
  EXPECT_EQ(reader.valid_bytes(), 0u);
}

TEST(RecordReader, ADamagedLengthBeforeTheTailIsCorruption) {
  // A length grown past the end of the file once read as a torn tail, and
  // the log was cut there, dropping the durable records after it.
  std::string file = two_records();
  file[2] ^= 0x01;  // the first record's length + 64 KiB: past the end, under the cap
  RecordReader reader(file);
  EXPECT_EQ(reader.next(), std::nullopt);
  EXPECT_EQ(reader.stop(), RecordReader::Stop::kCorrupt);
  EXPECT_EQ(reader.valid_bytes(), 0u);
}

TEST(RecordReader, AZeroFilledTailIsATornTail) {
  // A file extended by a crash before its new bytes were written.
  std::string file = two_records() + std::string(4096, '\0');
  RecordReader reader(file);
  EXPECT_EQ(reader.next(), "first");
  EXPECT_EQ(reader.next(), "second record");
  EXPECT_EQ(reader.next(), std::nullopt);
  EXPECT_EQ(reader.stop(), RecordReader::Stop::kTornTail);
  EXPECT_EQ(reader.valid_bytes(), two_records().size());
}

TEST(RecordReader, AGarbageTailIsATornTail) {
  std::string file = two_records();
  for (int i = 0; i < 1000; ++i)
    file.push_back(static_cast<char>((i * 131 + 7) % 251));
  RecordReader reader(file);
  EXPECT_EQ(reader.next(), "first");
  EXPECT_EQ(reader.next(), "second record");
  EXPECT_EQ(reader.next(), std::nullopt);
  EXPECT_EQ(reader.stop(), RecordReader::Stop::kTornTail);
}

TEST(RecordReader, ATornRecordWhosePayloadLooksLikeARecordIsStillATornTail) {
  // A client may write anything, including bytes that frame as a record: a
  // crash while appending it must not make the log look damaged.
  std::string inner;
  append_record(inner, "a value shaped like a record");
  std::string file;
  append_record(file, "first");
  append_record(file, inner + "more");
  file.pop_back();  // torn
  RecordReader reader(file);
  EXPECT_EQ(reader.next(), "first");
  EXPECT_EQ(reader.next(), std::nullopt);
  EXPECT_EQ(reader.stop(), RecordReader::Stop::kTornTail);
}

TEST(RecordReader, DamageInTheLastRecordIsATornTail) {
  std::string file = two_records();
  file.back() ^= 0x01;
  RecordReader reader(file);
  EXPECT_EQ(reader.next(), "first");
  EXPECT_EQ(reader.next(), std::nullopt);
  EXPECT_EQ(reader.stop(), RecordReader::Stop::kTornTail);
}

}  // namespace
}  // namespace synod
