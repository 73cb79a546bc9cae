#include "osb/plugins/usage.hpp"

#include <string>

namespace osb::plugins {

nlohmann::json storage_usage(std::int64_t bytes, std::int64_t quota_mb,
                             std::string_view consequence) {
  nlohmann::json body = {{"bytes", bytes}};
  if (quota_mb > 0) {
    const bool over = bytes > quota_mb * bytes_per_mb;
    body["quota_bytes"] = quota_mb * bytes_per_mb;
    body["over_quota"] = over;
    if (over) {
      body["description"] = "over its storage quota of " + std::to_string(quota_mb) +
                            " MB: " + std::string(consequence);
    }
  }
  return body;
}

}  // namespace osb::plugins
