// fuzz_originating_identity: the X-Broker-API-Originating-Identity decoder (api/http_util.hpp).
// The input is used as the header and, base64-encoded after a platform name, as its value. A
// decoded identity is {"platform": string, "value": object} and dumps strictly (valid UTF-8).

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/http_util.hpp"
#include "check.hpp"
#include "utf8.hpp"

namespace {

// One header: whatever it decodes to is well-formed.
void check_header(std::string_view header) {
  const auto identity = osbd::api::decode_originating_identity(header);
  if (!identity) {
    return;
  }
  OSBD_FUZZ_CHECK(identity->is_object() && identity->size() == 2, "two members");
  OSBD_FUZZ_CHECK(identity->at("platform").is_string(), "the platform is a string");
  OSBD_FUZZ_CHECK(identity->at("value").is_object(), "the value is an object");
  const auto& platform = identity->at("platform").get_ref<const std::string&>();
  OSBD_FUZZ_CHECK(!platform.empty() && platform.find(' ') == std::string::npos,
                  "the platform is the non-empty text before the first space");
  OSBD_FUZZ_CHECK(osbd_fuzz::strict_utf8(platform), "the platform is valid UTF-8");
  try {
    const std::string dumped = identity->dump();
    OSBD_FUZZ_CHECK(osbd_fuzz::strict_utf8(dumped), "the dump is valid UTF-8");
  } catch (const std::exception& e) {
    OSBD_FUZZ_CHECK(false, e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_header(text);
  // The input as the JSON value of a well-formed header, and its first line as the platform.
  const auto newline = text.find('\n');
  if (newline != std::string_view::npos) {
    check_header(std::string(text.substr(0, newline)) + " " +
                 osbd::api::base64_encode(text.substr(newline + 1)));
  } else {
    check_header("cloudfoundry " + osbd::api::base64_encode(text));
  }
  return 0;
}
