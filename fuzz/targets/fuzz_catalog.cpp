// fuzz_catalog: OSB catalog validation of a plugin's catalog document (catalog/validate.hpp) on
// arbitrary JSON text. validate_catalog must answer (never throw) the same way twice, and
// is_cli_friendly must accept exactly 1..255 of [A-Za-z0-9._-].

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "catalog/validate.hpp"
#include "check.hpp"
#include "util/json_parse.hpp"

namespace {

// The definition of a CLI-friendly name, independent of osbd's implementation.
bool expected_cli_friendly(const std::string& name) {
  if (name.empty() || name.size() > 255) {
    return false;
  }
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// validate_catalog, with any exception turned into a crash.
std::string validate(const nlohmann::json& catalog) {
  try {
    return osbd::catalog::validate_catalog(catalog);
  } catch (const std::exception& e) {
    OSBD_FUZZ_CHECK(false, e.what());
  }
  return {};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  OSBD_FUZZ_CHECK(osbd::catalog::is_cli_friendly(text) == expected_cli_friendly(text),
                  "is_cli_friendly accepts exactly [A-Za-z0-9._-]{1,255}");
  const auto catalog = osbd::util::parse_json(text);
  if (!catalog) {
    return 0;
  }
  const std::string problem = validate(*catalog);
  OSBD_FUZZ_CHECK(validate(*catalog) == problem, "validation is deterministic");
  return 0;
}
