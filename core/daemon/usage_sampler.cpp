#include "daemon/usage_sampler.hpp"

#include <algorithm>
#include <exception>

#include "api/lifecycle_util.hpp"
#include "log/log.hpp"

namespace osbd::daemon {

namespace {

state::UsageRetention retention_of(const config::UsageConfig& usage) {
  state::UsageRetention r;
  r.raw_ms = int64_t{usage.raw_hours} * state::kHourMs;
  r.hourly_ms = int64_t{usage.hourly_days} * state::kDayMs;
  r.daily_ms = int64_t{usage.daily_days} * state::kDayMs;
  return r;
}

}  // namespace

UsageSampler::UsageSampler(state::Store& store, const api::Lifecycle& lifecycle,
                           const config::UsageConfig& usage, bool shared_store)
    : store_(store),
      lifecycle_(lifecycle),
      period_ms_(int64_t{usage.sample_seconds} * 1000),
      retention_(retention_of(usage)),
      shared_store_(shared_store) {}

UsageSampler::~UsageSampler() {
  stopping_.store(true);
  thread_.reset();
}

void UsageSampler::start() {
  if (period_ms_ > 0 && !thread_) {
    thread_.emplace(std::chrono::milliseconds(period_ms_), [this] { round(); });
  }
}

void UsageSampler::round() {
  try {
    sample_once(api::detail::now_ms());
  } catch (const std::exception& e) {
    log::warn("usage sampling failed; trying again next round", {{"error", e.what()}});
  }
}

size_t UsageSampler::sample_once(int64_t now_ms) {
  if (period_ms_ <= 0 || !sampling_here(now_ms)) {
    return 0;
  }
  const int64_t bucket = now_ms / period_ms_ * period_ms_;
  const auto readings = read_samples(bucket);
  std::vector<state::UsageSample> samples;
  // Buckets this process skipped since its last round (a round that overran, a late wake-up)
  // get the same reading, up to an hour back, rather than counting as nothing.
  const int64_t first =
      last_bucket_ == 0
          ? bucket
          : std::min(bucket, std::max(last_bucket_ + period_ms_, bucket - state::kHourMs));
  for (int64_t b = first; b <= bucket; b += period_ms_) {
    for (state::UsageSample s : readings) {
      s.bucket_ms = b;
      samples.push_back(std::move(s));
    }
  }
  store_.record_usage_samples(samples);
  last_bucket_ = bucket;
  compact_when_due(now_ms);
  return readings.size();
}

// On a shared store, the live replica first by id samples for all; the others stand by.
bool UsageSampler::sampling_here(int64_t now_ms) const {
  if (!shared_store_) {
    return true;
  }
  const auto& self = lifecycle_.options().replica_id;
  const int64_t stale_before = now_ms - lifecycle_.options().lease_ms;
  for (const auto& replica : store_.list_replicas()) {
    if (replica.heartbeat_at_ms >= stale_before) {
      return replica.id == self;
    }
  }
  return true;
}

std::vector<state::UsageSample> UsageSampler::read_samples(int64_t bucket_ms) {
  std::vector<state::UsageSample> samples;
  for (const auto& instance : store_.list_instances()) {
    if (stopping_.load()) {
      break;  // osbd is stopping: what was read so far is kept
    }
    if (instance.status != state::ResourceStatus::ready) {
      continue;
    }
    const auto usage = lifecycle_.instance_usage(instance);
    if (!usage.contains("bytes") && !usage.contains("objects")) {
      continue;
    }
    state::UsageSample s;
    s.instance_id = instance.id;
    s.bucket_ms = bucket_ms;
    s.period_ms = period_ms_;
    s.bytes_avg = s.bytes_max = usage.value("bytes", int64_t{0});
    s.objects_max = usage.value("objects", int64_t{0});
    samples.push_back(std::move(s));
  }
  return samples;
}

void UsageSampler::compact_when_due(int64_t now_ms) {
  if (now_ms - last_compaction_ms_ < state::kHourMs) {
    return;
  }
  // The first run looks through everything (osbd may have been stopped for long); later ones
  // only at the week before each cutoff, which earlier runs left unrolled.
  state::UsageRetention retention = retention_;
  retention.lookback_ms = last_compaction_ms_ == 0 ? INT64_MAX : 7 * state::kDayMs;
  store_.compact_usage(retention, now_ms);
  last_compaction_ms_ = now_ms;
}

}  // namespace osbd::daemon
