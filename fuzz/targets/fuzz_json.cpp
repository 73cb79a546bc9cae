// fuzz_json: osbd::util::parse_json and json_depth on arbitrary text. A value it returns must
// dump and reparse to an equal value, nest no deeper than the limit, and have the depth json_depth
// reads from the text; a refusal must carry one of the two documented sentences.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "check.hpp"
#include "util/json_parse.hpp"

namespace {

using osbd::util::json_depth;
using osbd::util::parse_json;

// The nesting depth of a value (scalars 0), not looking below cap + 1 levels.
std::size_t value_depth(const nlohmann::json& value, std::size_t cap) {
  if (!value.is_structured() || cap == 0) {
    return value.is_structured() ? 1 : 0;
  }
  std::size_t deepest = 0;
  for (const auto& child : value) {
    const std::size_t d = value_depth(child, cap - 1);
    deepest = d > deepest ? d : deepest;
  }
  return deepest + 1;
}

// A refusal: the sentence matches the reason.
void check_refusal(std::string_view text, std::size_t limit, const std::string& error) {
  const bool too_deep = json_depth(text, limit) > limit;
  const std::string deep_sentence = "nested deeper than " + std::to_string(limit) + " levels";
  OSBD_FUZZ_CHECK(error == (too_deep ? deep_sentence : std::string("not valid JSON")),
                  "the refusal names its reason");
}

// An accepted text: depth within the limit and agreed on, and a faithful round trip.
void check_value(std::string_view text, std::size_t limit, const nlohmann::json& value) {
  OSBD_FUZZ_CHECK(text.find('\0') == std::string_view::npos,
                  "only JSON texts are accepted, and a raw NUL byte is never part of one");
  const std::size_t depth = value_depth(value, limit + 1);
  OSBD_FUZZ_CHECK(depth <= limit, "no value nests deeper than the limit");
  OSBD_FUZZ_CHECK(json_depth(text, limit) == depth, "json_depth agrees with the parsed value");
  const std::string dumped = value.dump();
  OSBD_FUZZ_CHECK(json_depth(dumped, limit) == depth, "json_depth agrees on the dump");
  std::string error;
  const auto again = parse_json(dumped, &error, limit);
  OSBD_FUZZ_CHECK(again.has_value(), "a dumped value parses again");
  OSBD_FUZZ_CHECK(*again == value, "the round trip keeps the value");
}

// One parse with one limit.
void parse_with_limit(std::string_view text, std::size_t limit) {
  std::string error;
  const auto value = parse_json(text, &error, limit);
  if (value) {
    OSBD_FUZZ_CHECK(error.empty(), "success leaves the error alone");
    check_value(text, limit, *value);
  } else {
    check_refusal(text, limit, error);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  parse_with_limit(text, osbd::util::kMaxJsonDepth);
  // A small limit too, picked by the input's length, so refusals by depth are common.
  parse_with_limit(text, size % 8);
  return 0;
}
