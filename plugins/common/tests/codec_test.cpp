// osb/plugins/codec.hpp against published vectors: RFC 4648 section 10 (base64), FIPS 180-2
// appendix B (SHA-256) and RFC 4231 test case 2 (HMAC-SHA256).

#include <osb/plugins/codec.hpp>

#include <array>
#include <string>
#include <utility>

#include <gtest/gtest.h>

namespace {

using namespace osb::plugins;

const std::array<std::pair<std::string, std::string>, 7> rfc4648_vectors{{
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
}};

TEST(PluginsCodec, Base64EncodesTheRfc4648Vectors) {
  for (const auto& [bytes, text] : rfc4648_vectors) {
    EXPECT_EQ(base64_encode(bytes), text) << bytes;
  }
}

TEST(PluginsCodec, Base64DecodesTheRfc4648Vectors) {
  for (const auto& [bytes, text] : rfc4648_vectors) {
    EXPECT_EQ(base64_decode(text), bytes) << text;
  }
  EXPECT_EQ(base64_decode(base64_encode(std::string("\0\xff\x10", 3))),
            std::string("\0\xff\x10", 3));
}

TEST(PluginsCodec, Base64RefusesWhatIsNotPaddedBase64) {
  EXPECT_FALSE(base64_decode("Zg"));
  EXPECT_FALSE(base64_decode("Zm9v!A=="));
  EXPECT_FALSE(base64_decode("Zm9v Zg=="));
}

TEST(PluginsCodec, HexIsLowercaseTwoDigitsAByte) {
  EXPECT_EQ(to_hex(""), "");
  EXPECT_EQ(to_hex(std::string("\x00\x0f\xa5\xff", 4)), "000fa5ff");
}

TEST(PluginsCodec, Sha256OfThePublishedMessages) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256("abc").size(), 32u);
  EXPECT_EQ(to_hex(sha256("abc")), sha256_hex("abc"));
}

TEST(PluginsCodec, HmacSha256OfRfc4231TestCase2) {
  EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

}  // namespace
