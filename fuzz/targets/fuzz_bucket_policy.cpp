// fuzz_bucket_policy: PolicyGrants::parse and render of the object storage plugin
// (bucket_policy.hpp) on arbitrary policy text. parse may only fail with std::invalid_argument;
// a rendered policy parses back to the same grants and other statements.

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>

#include "bucket_policy.hpp"
#include "check.hpp"

namespace {

using osbd_object_storage::PolicyGrants;

// parse, with any exception but the documented one turned into a crash.
std::optional<PolicyGrants> parse(const std::string& text) {
  try {
    return PolicyGrants::parse(text);
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  } catch (const std::exception& e) {
    OSBD_FUZZ_CHECK(false, e.what());
  }
  return std::nullopt;
}

// render, with any exception turned into a crash.
std::optional<std::string> render(const PolicyGrants& grants, const std::string& bucket) {
  try {
    return grants.render(bucket);
  } catch (const std::exception& e) {
    OSBD_FUZZ_CHECK(false, e.what());
  }
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto grants = parse(text);
  if (!grants) {
    return 0;
  }
  const auto document = render(*grants, "osbd-fuzz-bucket");
  if (!document) {
    OSBD_FUZZ_CHECK(grants->grants.empty() && grants->other.empty(),
                    "nothing to render only when nothing is granted or kept");
    return 0;
  }
  const auto again = parse(*document);
  OSBD_FUZZ_CHECK(again.has_value(), "a rendered policy parses");
  OSBD_FUZZ_CHECK(again->grants == grants->grants, "grants survive a render");
  OSBD_FUZZ_CHECK(again->other == grants->other, "other statements survive a render");
  return 0;
}
