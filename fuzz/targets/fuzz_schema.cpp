// fuzz_schema: the JSON Schema compiler and validator (schema/schema.hpp). The input's first line
// is a schema document, the rest an instance. Compiling may only fail with SchemaError; a compiled
// schema validates without throwing, is_valid agrees with validate, and the violation count
// respects max_violations.

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "check.hpp"
#include "schema/schema.hpp"
#include "util/json_parse.hpp"

namespace {

namespace schema = osbd::schema;

// The draft a document without "$schema" is read as, picked by the input.
schema::Draft draft_for(std::size_t size) {
  switch (size % 3) {
    case 0:
      return schema::Draft::draft4;
    case 1:
      return schema::Draft::draft6;
    default:
      return schema::Draft::draft7;
  }
}

// Compiles document; nullopt when it is refused with SchemaError (anything else aborts).
std::optional<schema::Schema> compile(const nlohmann::json& document, schema::Draft draft) {
  try {
    return schema::Schema::compile(document, draft);
  } catch (const schema::SchemaError&) {
    return std::nullopt;
  } catch (const std::exception& e) {
    OSBD_FUZZ_CHECK(false, e.what());
  }
  return std::nullopt;
}

// Validates instance and checks that the answers agree.
void validate(const schema::Schema& compiled, const nlohmann::json& instance) {
  const auto violations = compiled.validate(instance, "parameters", 10);
  OSBD_FUZZ_CHECK(violations.size() <= 10, "at most max_violations violations");
  OSBD_FUZZ_CHECK(compiled.is_valid(instance) == violations.empty(),
                  "is_valid agrees with validate");
  const auto first = compiled.validate(instance, "p", 1);
  OSBD_FUZZ_CHECK(first.size() == (violations.empty() ? 0u : 1u),
                  "one violation when only one is asked for");
  for (const auto& violation : violations) {
    OSBD_FUZZ_CHECK(!violation.message.empty(), "a violation says what is wrong");
    OSBD_FUZZ_CHECK(schema::to_string(violation).find(violation.message) != std::string::npos,
                    "to_string holds the message");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto newline = text.find('\n');
  const auto document = osbd::util::parse_json(text.substr(0, newline));
  if (!document) {
    return 0;
  }
  const auto compiled = compile(*document, draft_for(size));
  if (!compiled) {
    return 0;
  }
  const auto instance = newline == std::string_view::npos
                            ? std::optional<nlohmann::json>(nlohmann::json::object())
                            : osbd::util::parse_json(text.substr(newline + 1));
  if (instance) {
    validate(*compiled, *instance);
  }
  return 0;
}
