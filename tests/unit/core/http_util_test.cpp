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

// Distinct byte strings must stay distinct ids: anything a lenient decoder would map to U+FFFD
// (and so to one id at the plugin) is refused.
TEST(ValidId, RequiresStrictUtf8) {
  EXPECT_FALSE(is_valid_id("\xed\xa0\x80"));      // UTF-16 surrogate U+D800
  EXPECT_FALSE(is_valid_id("\xed\xbf\xbf"));      // surrogate U+DFFF
  EXPECT_FALSE(is_valid_id("\xe0\x80\xaf"));      // overlong '/'
  EXPECT_FALSE(is_valid_id("\xf0\x80\x80\xaf"));  // overlong, four bytes
  EXPECT_FALSE(is_valid_id("\xc0\xaf"));          // overlong, two bytes
  EXPECT_FALSE(is_valid_id("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_id("\xf5\x80\x80\x80"));  // no such lead byte
  EXPECT_FALSE(is_valid_id("\xe2\x82"));          // truncated
  EXPECT_FALSE(is_valid_id("a\x80"));             // continuation without a lead
  EXPECT_TRUE(is_valid_id("\xed\x9f\xbf"));       // U+D7FF, last before the surrogates
  EXPECT_TRUE(is_valid_id("\xee\x80\x80"));       // U+E000, first after them
  EXPECT_TRUE(is_valid_id("\xf4\x8f\xbf\xbf"));   // U+10FFFF
  EXPECT_TRUE(is_valid_id("\xf0\x9f\x98\x80"));   // U+1F600
}

TEST(OriginatingIdentity, DecodesPlatformAndValue) {
  const auto v = decode_originating_identity("cloudfoundry " + base64_encode(R"({"user_id":"u"})"));
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ((*v)["platform"], "cloudfoundry");
  EXPECT_EQ((*v)["value"]["user_id"], "u");
}

TEST(OriginatingIdentity, RefusesMalformedHeaders) {
  const std::string value = base64_encode(R"({"user_id":"u"})");
  EXPECT_FALSE(decode_originating_identity("\xff\xfe " + value));  // platform not UTF-8
  EXPECT_FALSE(decode_originating_identity(value));                // no platform
  EXPECT_FALSE(decode_originating_identity(" " + value));
  EXPECT_FALSE(decode_originating_identity("cf not-base64!"));
  EXPECT_FALSE(decode_originating_identity("cf " + base64_encode("[1]")));  // not an object
  EXPECT_FALSE(decode_originating_identity("cf " + base64_encode("{\"a\":\"\xff\"}")));
  std::string deep;
  for (int i = 0; i < 100; ++i) {
    deep += "{\"a\":";
  }
  deep += "1" + std::string(100, '}');
  EXPECT_FALSE(decode_originating_identity("cf " + base64_encode(deep)));  // over the depth limit
}

}  // namespace
}  // namespace osbd::api
