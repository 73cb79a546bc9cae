#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "state/records.hpp"

namespace osbd::state {

/// What a usage event records about an instance.
enum class UsageEventKind {
  created,  ///< its provision succeeded: it counts from here
  updated,  ///< an update succeeded: its plan (or owner) from here is the event's
  deleted,  ///< its deprovision succeeded: it counts until here
};

/// One change in an instance's life, written by the store in the same transaction as the change
/// itself (Store::finish_instance_operation, Store::delete_instance), so that the history holds
/// exactly what was acknowledged. The metering report is computed from these and UsageSamples.
struct UsageEvent {
  std::string instance_id;  ///< the store's (catalog-scoped) instance id
  int64_t at_ms = 0;        ///< when the operation ended, unix epoch milliseconds
  UsageEventKind kind = UsageEventKind::created;
  std::string service_id;    ///< "" for deleted
  std::string plan_id;       ///< "" for deleted
  std::string organization;  ///< organization guid, else the Kubernetes namespace; "" if none
  std::string space;         ///< space guid, else the namespace; "" if none
};

/// What an instance used during [bucket_ms, bucket_ms + period_ms), as its plugin reported it. A
/// raw sample (period: usage.sample_seconds) holds one reading; rolled-up rows (an hour, a day)
/// hold the time-weighted mean over the whole period (time the instance did not exist counts as
/// 0), so that bytes_avg * period is the period's byte-time exactly.
struct UsageSample {
  std::string instance_id;  ///< the store's (catalog-scoped) instance id
  int64_t bucket_ms = 0;    ///< start of the period, a multiple of period_ms
  int64_t period_ms = 0;    ///< its length
  int64_t bytes_avg = 0;    ///< mean bytes stored over the period
  int64_t bytes_max = 0;    ///< highest reading in the period
  int64_t objects_max = 0;  ///< highest object (or table) count in the period
};

/// How long each resolution of the usage history is kept (usage.* in the configuration).
struct UsageRetention {
  int64_t raw_ms = 48LL * 3600 * 1000;          ///< raw samples, then rolled into hours
  int64_t hourly_ms = 14LL * 24 * 3600 * 1000;  ///< hourly rows, then rolled into days
  int64_t daily_ms = 400LL * 24 * 3600 * 1000;  ///< daily rows, then dropped
  /// How far before each roll-up's cutoff compact_usage looks for rows to roll: rows older were
  /// rolled by an earlier run. INT64_MAX looks through everything (a first run after a start).
  int64_t lookback_ms = INT64_MAX;
};

inline constexpr int64_t kHourMs = 3600LL * 1000;
inline constexpr int64_t kDayMs = 24 * kHourMs;

/// The event that ending op on instance writes, if any: a succeeded provision (created) or
/// update (updated). at_ms is op.updated_at_ms.
std::optional<UsageEvent> usage_event_of(const InstanceRecord& instance, const OperationRecord& op);

/// Who an instance belongs to: its organization guid (request or Cloud Foundry context), else
/// its Kubernetes namespace; "" if neither.
std::string owner_key(const InstanceRecord& instance);
/// Its space guid, else its namespace; "" if neither.
std::string space_key(const InstanceRecord& instance);

/// Spelling in the store: "created", "updated", "deleted".
const char* to_string(UsageEventKind k) noexcept;
/// Parses the spellings above; nullopt on anything else.
std::optional<UsageEventKind> parse_usage_event_kind(std::string_view s) noexcept;

}  // namespace osbd::state
