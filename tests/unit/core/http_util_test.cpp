#include "api/http_util.hpp"

#include <gtest/gtest.h>

namespace osbd::api {
namespace {

TEST(PercentDecode, DecodesEscapesAndRejectsMalformedOnes) {
  EXPECT_EQ(percent_decode("a%2Fb%20c", false), "a/b c");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  EXPECT_FALSE(percent_decode("%zz", false));
  EXPECT_FALSE(percent_decode("abc%2", false));
  EXPECT_FALSE(percent_decode("%", false));
}

TEST(ParseTarget, SplitsDecodedSegmentsAndQuery) {
  auto t = parse_target("/v2/service_instances/a%2Fb/last_operation?operation=op%201&x=&y");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->segments,
            (std::vector<std::string>{"v2", "service_instances", "a/b", "last_operation"}));
  EXPECT_EQ(t->query.at("operation"), "op 1");
  EXPECT_EQ(t->query.at("x"), "");
  EXPECT_EQ(t->query.at("y"), "");
  EXPECT_FALSE(parse_target("v2/catalog"));
  EXPECT_FALSE(parse_target("/v2/%GG"));
}

TEST(Base64, DecodesStandardAndRejectsGarbage) {
  EXPECT_EQ(base64_decode("dXNlcjpwYXNz"), "user:pass");
  EXPECT_EQ(base64_decode("YQ=="), "a");
  EXPECT_FALSE(base64_decode("a$b="));
}

TEST(Base64, EncodesWithPaddingAndRoundTrips) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("a"), "YQ==");
  EXPECT_EQ(base64_encode("ab"), "YWI=");
  EXPECT_EQ(base64_encode("abc"), "YWJj");
  EXPECT_EQ(base64_encode("user:pass"), "dXNlcjpwYXNz");
  const std::string binary("\x00\xff\x10\x80", 4);
  EXPECT_EQ(base64_decode(base64_encode(binary)), binary);
}

TEST(BasicAuth, ParsesCaseInsensitiveScheme) {
  auto c = parse_basic_auth("basic dXNlcjpwOmFzcw==");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->first, "user");
  EXPECT_EQ(c->second, "p:ass");  // the password may contain ':'
  EXPECT_FALSE(parse_basic_auth("Bearer abc"));
  EXPECT_FALSE(parse_basic_auth("Basic bm9jb2xvbg=="));  // "nocolon"
}

TEST(ConstantTimeEqual, ComparesContent) {
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_FALSE(constant_time_equal("secret", "secreT"));
  EXPECT_FALSE(constant_time_equal("secret", "secret-longer"));
  EXPECT_FALSE(constant_time_equal("secretsecret", "secret"));  // repeats of the secret
  EXPECT_FALSE(constant_time_equal("", "secret"));
  EXPECT_FALSE(constant_time_equal("x", ""));
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("", ""));
}

TEST(ValidId, RejectsEmptyLongControlAndInvalidUtf8) {
  EXPECT_TRUE(is_valid_id("6f1c3a2e-1d4b-4f7a-9c1e-2b3d4e5f6a7b"));
  EXPECT_TRUE(is_valid_id("x'; DROP TABLE instances; --"));  // harmless: ids are bound values
  EXPECT_TRUE(is_valid_id("caf\xc3\xa9"));
  EXPECT_FALSE(is_valid_id(""));
  EXPECT_FALSE(is_valid_id(std::string(256, 'a')));
  EXPECT_FALSE(is_valid_id("a\nb"));
  EXPECT_FALSE(is_valid_id(std::string("a\0b", 3)));
  EXPECT_FALSE(is_valid_id("\xff\xfe"));
  EXPECT_FALSE(is_valid_id("\xc3"));
}

}  // namespace
}  // namespace osbd::api
