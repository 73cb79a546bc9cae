// fuzz_ids: the request-target and credential helpers of api/http_util.hpp. Checks that
// is_valid_id accepts exactly 1..255 bytes of strict UTF-8 without control characters, that
// percent-decoding and base64 invert their encodings, that parse_target and parse_basic_auth
// give back what a re-encoded request carries, and that constant_time_equal is equality.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/http_util.hpp"
#include "check.hpp"
#include "utf8.hpp"

namespace {

namespace api = osbd::api;

// Every byte as %XX: the most escaped form of text.
std::string percent_encode_all(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    out += '%';
    out += kHex[byte >> 4];
    out += kHex[byte & 0x0F];
  }
  return out;
}

// The definition of a valid id, independent of osbd's implementation.
bool expected_valid_id(std::string_view id) {
  if (id.empty() || id.size() > 255) {
    return false;
  }
  for (const char c : id) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) {
      return false;
    }
  }
  return osbd_fuzz::strict_utf8(id);
}

void check_id(std::string_view text) {
  OSBD_FUZZ_CHECK(api::is_valid_id(text) == expected_valid_id(text),
                  "is_valid_id accepts exactly 1..255 bytes of strict UTF-8 without controls");
}

void check_percent(std::string_view text) {
  const auto back = api::percent_decode(percent_encode_all(text), false);
  OSBD_FUZZ_CHECK(back && *back == text, "percent_decode inverts %XX escaping");
  const auto decoded = api::percent_decode(text, true);
  if (decoded) {
    OSBD_FUZZ_CHECK(decoded->size() <= text.size(), "decoding never grows the text");
  }
}

// A parsed target, re-encoded, parses to the same segments and query.
void check_target(std::string_view text) {
  const auto target = api::parse_target(text);
  if (!target) {
    return;
  }
  OSBD_FUZZ_CHECK(!target->segments.empty(), "a parsed target has at least one segment");
  std::string again;
  for (const auto& segment : target->segments) {
    again += "/" + percent_encode_all(segment);
  }
  char separator = '?';
  for (const auto& [key, value] : target->query) {
    again += separator + percent_encode_all(key) + "=" + percent_encode_all(value);
    separator = '&';
  }
  const auto reparsed = api::parse_target(again);
  OSBD_FUZZ_CHECK(reparsed.has_value(), "a re-encoded target parses");
  OSBD_FUZZ_CHECK(reparsed->segments == target->segments, "segments survive re-encoding");
  OSBD_FUZZ_CHECK(reparsed->query == target->query, "the query survives re-encoding");
}

void check_base64(std::string_view text) {
  const std::string encoded = api::base64_encode(text);
  OSBD_FUZZ_CHECK(encoded.size() == (text.size() + 2) / 3 * 4, "base64 output has padded length");
  const auto decoded = api::base64_decode(encoded);
  OSBD_FUZZ_CHECK(decoded && *decoded == text, "base64 decode inverts encode");
  if (const auto loose = api::base64_decode(text)) {
    const auto twice = api::base64_decode(api::base64_encode(*loose));
    OSBD_FUZZ_CHECK(twice && *twice == *loose, "decoded bytes round-trip");
  }
}

// Credentials parsed from a header come back from their canonical header.
void check_basic(std::string_view text) {
  const auto creds = api::parse_basic_auth(text);
  if (!creds) {
    return;
  }
  OSBD_FUZZ_CHECK(creds->first.find(':') == std::string::npos, "a username holds no ':'");
  const auto again =
      api::parse_basic_auth("Basic " + api::base64_encode(creds->first + ":" + creds->second));
  OSBD_FUZZ_CHECK(again && *again == *creds, "canonical Basic header gives the same pair");
}

// The text before the first newline against the rest.
void check_constant_time(std::string_view text) {
  const auto newline = text.find('\n');
  const std::string_view given = text.substr(0, newline);
  const std::string_view expected =
      newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
  OSBD_FUZZ_CHECK(api::constant_time_equal(given, expected) == (given == expected),
                  "constant_time_equal is equality");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_id(text);
  check_percent(text);
  check_target(text);
  check_base64(text);
  check_basic(text);
  check_basic("Basic " + api::base64_encode(text));
  check_constant_time(text);
  return 0;
}
