#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "state/usage.hpp"

namespace osbd::api {

/// What the metering report groups by (by= in /admin/usage).
enum class UsageGrouping { organization, plan, catalog, instance };

/// Parses "organization", "plan", "catalog" or "instance".
std::optional<UsageGrouping> parse_usage_grouping(std::string_view s) noexcept;

/// Parses a period bound: "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDTHH:MM:SS[.mmm]Z"; unix epoch
/// milliseconds, or nullopt when it is neither.
std::optional<int64_t> parse_period_bound(std::string_view s) noexcept;

/// One metering question: who used what in [from_ms, to_ms).
struct UsageQuery {
  int64_t from_ms = 0;
  int64_t to_ms = 0;
  UsageGrouping by = UsageGrouping::organization;
  bool series = true;  ///< also the figures per step, for charts
  /// The present: instances still alive count until then, not until a to in the future.
  int64_t now_ms = INT64_MAX;
};

/// Names a plan for the report: "service/plan" from the catalog, else the ids.
using PlanNamer =
    std::function<std::string(const std::string& service_id, const std::string& plan_id)>;
/// Feeds every usage sample overlapping [from, to) to the visitor, in bucket order (see
/// state::Store::scan_usage_samples).
using SampleScan = std::function<void(int64_t from_ms, int64_t to_ms,
                                      const std::function<void(const state::UsageSample&)>&)>;

/// The metering report over the usage history; a group appears when something of it counts in
/// the period. An instance counts from its created event to its
/// deleted event, under the plan and owner of its latest event at each moment; instance-hours
/// and storage are the exact overlaps with the period (storage to the resolution of the samples
/// kept: raw, hourly or daily). Per group: instance_hours (and per plan), storage_gib_hours,
/// peak_storage_bytes (the highest sum over the group's instances in one sample bucket),
/// created and deleted (events inside the period); totals; and, with q.series and at most 100
/// groups, the average instance count and bytes per group over at most 240 steps of whole hours
/// or days (series is null otherwise).
nlohmann::json usage_report(const UsageQuery& q, const std::vector<state::UsageEvent>& events,
                            const SampleScan& scan, const PlanNamer& plan_name);

/// The report's groups as CSV (RFC 4180, every field quoted; a field starting with = + - @, a
/// tab or a carriage return gets a leading apostrophe so that a spreadsheet does not run it).
std::string usage_report_csv(const nlohmann::json& report);

}  // namespace osbd::api
