#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

#include "api/lifecycle.hpp"
#include "config/config.hpp"
#include "state/store.hpp"
#include "util/periodic.hpp"

namespace osbd::daemon {

/// The usage history's writer: every usage.sample_seconds it asks each ready instance's plugin
/// what the instance uses and records one sample per instance (bucketed, so that replicas
/// sampling the same moment store it once; on a shared store only the first live replica by id
/// samples), and once an hour it rolls old samples up and drops what retention lets go.
/// Failures are logged; the next round tries again.
class UsageSampler {
 public:
  UsageSampler(state::Store& store, const api::Lifecycle& lifecycle,
               const config::UsageConfig& usage, bool shared_store);
  /// Stops the thread: a round in progress ends after the plugin call running now.
  ~UsageSampler();
  UsageSampler(const UsageSampler&) = delete;
  UsageSampler& operator=(const UsageSampler&) = delete;

  /// Starts the thread that runs a round every sample_seconds (none when it is 0).
  void start();

  /// One round now: samples (returns how many were recorded) and compacts when due. The thread
  /// calls it; tests call it without the thread.
  size_t sample_once(int64_t now_ms);

 private:
  bool sampling_here(int64_t now_ms) const;
  std::vector<state::UsageSample> read_samples(int64_t bucket_ms);
  void compact_when_due(int64_t now_ms);
  void round();

  state::Store& store_;
  const api::Lifecycle& lifecycle_;
  const int64_t period_ms_;
  const state::UsageRetention retention_;
  const bool shared_store_;
  int64_t last_compaction_ms_ = 0;     // used by the sampling thread only
  int64_t last_bucket_ = 0;            // the bucket of this process's last round (sampling thread)
  std::atomic<bool> stopping_{false};  // set by the destructor; a round stops reading
  std::optional<util::Periodic> thread_;  // last: stops before the members its job reads
};

}  // namespace osbd::daemon
