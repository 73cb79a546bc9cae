#include "util/json_parse.hpp"

#include <string>

#include <gtest/gtest.h>

namespace osbd::util {
namespace {

std::string nested_arrays(std::size_t n) {
  return std::string(n, '[') + std::string(n, ']');
}

TEST(JsonDepth, CountsArraysAndObjectsOutsideStrings) {
  EXPECT_EQ(json_depth("1", 64), 0u);
  EXPECT_EQ(json_depth("{}", 64), 1u);
  EXPECT_EQ(json_depth(R"({"a":[{"b":[]}],"c":{}})", 64), 4u);
  // Brackets inside strings, escaped quotes included, do not count.
  EXPECT_EQ(json_depth(R"({"a":"[[[{{{\"[[["})", 64), 1u);
  EXPECT_EQ(json_depth(R"(["\\", [1]])", 64), 2u);
}

TEST(JsonDepth, StopsPastTheLimit) {
  EXPECT_EQ(json_depth(nested_arrays(1000000), 64), 65u);
  EXPECT_EQ(json_depth(nested_arrays(64), 64), 64u);
}

TEST(ParseJson, RefusesDocumentsDeeperThanTheLimitNamingIt) {
  std::string why;
  EXPECT_FALSE(parse_json(nested_arrays(65000), &why));
  EXPECT_EQ(why, "nested deeper than 64 levels");
  EXPECT_FALSE(parse_json(nested_arrays(65), &why));
  EXPECT_TRUE(parse_json(nested_arrays(64), &why));
  EXPECT_FALSE(parse_json(nested_arrays(6), &why, 5));
  EXPECT_EQ(why, "nested deeper than 5 levels");
}

TEST(ParseJson, RefusesInvalidJsonWithoutQuotingIt) {
  std::string why;
  EXPECT_FALSE(parse_json(R"({"password": "s3cret")", &why));
  EXPECT_EQ(why, "not valid JSON");
  EXPECT_FALSE(parse_json("\"\xed\xa0\x80\"", &why));  // a surrogate encoded as UTF-8
  EXPECT_FALSE(parse_json(R"("\ud800")", &why));       // an unpaired surrogate escape
  EXPECT_FALSE(parse_json("", &why));
  // Found by fuzz_json: the parser stops at a NUL byte, which hid what followed it.
  EXPECT_FALSE(parse_json(std::string_view("{\"a\":1}\0 garbage", 17), &why));
  EXPECT_EQ(why, "not valid JSON");
  EXPECT_FALSE(parse_json(std::string_view("false\0", 6), &why));
}

TEST(ParseJson, ParsesValidDocuments) {
  const auto v = parse_json(R"({"a":[1,2,{"b":"caf\u00e9"}]})");
  ASSERT_TRUE(v);
  EXPECT_EQ((*v)["a"][2]["b"], "caf\xc3\xa9");
}

}  // namespace
}  // namespace osbd::util
