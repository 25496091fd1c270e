#include "synod/kv/kv_map.h"

#include <gtest/gtest.h>

namespace synod {
namespace {

wire::KvOp op(wire::KvOp::Kind kind, std::string key, std::string value = "",
              std::string expected = "") {
  wire::KvOp o;
  o.set_kind(kind);
  o.set_key(std::move(key));
  o.set_value(std::move(value));
  o.set_expected(std::move(expected));
  return o;
}

TEST(KvMap, PutGetDelete) {
  KvMap map;
  EXPECT_FALSE(map.apply(op(wire::KvOp::GET, "a")).found());
  map.apply(op(wire::KvOp::PUT, "a", "1"));
  auto got = map.apply(op(wire::KvOp::GET, "a"));
  EXPECT_TRUE(got.found());
  EXPECT_EQ(got.value(), "1");
  EXPECT_TRUE(map.apply(op(wire::KvOp::DELETE, "a")).found());
  EXPECT_FALSE(map.apply(op(wire::KvOp::DELETE, "a")).found());
  EXPECT_FALSE(map.apply(op(wire::KvOp::GET, "a")).found());
}

TEST(KvMap, CompareAndSetNeedsTheKeyAndTheValue) {
  KvMap map;
  EXPECT_FALSE(map.apply(op(wire::KvOp::CAS, "a", "2", "")).swapped());  // absent key
  map.apply(op(wire::KvOp::PUT, "a", "1"));
  EXPECT_FALSE(map.apply(op(wire::KvOp::CAS, "a", "2", "0")).swapped());
  EXPECT_EQ(map.entries().at("a"), "1");
  EXPECT_TRUE(map.apply(op(wire::KvOp::CAS, "a", "2", "1")).swapped());
  EXPECT_EQ(map.entries().at("a"), "2");
}

TEST(KvMap, OnlyGetIsARead) {
  EXPECT_FALSE(KvMap::is_write(op(wire::KvOp::GET, "a")));
  EXPECT_TRUE(KvMap::is_write(op(wire::KvOp::PUT, "a")));
  EXPECT_TRUE(KvMap::is_write(op(wire::KvOp::DELETE, "a")));
  EXPECT_TRUE(KvMap::is_write(op(wire::KvOp::CAS, "a")));
}

}  // namespace
}  // namespace synod
