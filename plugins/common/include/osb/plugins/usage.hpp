#pragma once

#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

namespace osb::plugins {

/// Bytes in a megabyte as storage quotas count them.
inline constexpr std::int64_t bytes_per_mb = 1024 * 1024;

/// The body of a usage result for an instance storing bytes under a quota of quota_mb (0 = none):
/// {"bytes"} and, with a quota, {"quota_bytes", "over_quota"} and, when over it, a
/// "description": "over its storage quota of N MB: <consequence>".
nlohmann::json storage_usage(std::int64_t bytes, std::int64_t quota_mb,
                             std::string_view consequence);

}  // namespace osb::plugins
