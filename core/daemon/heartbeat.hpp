#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "state/records.hpp"
#include "state/store.hpp"
#include "util/periodic.hpp"
#include "util/rate_limit.hpp"

namespace osbd::daemon {

/// This replica's heartbeat in the shared store, from a thread of its own: its row (who it is,
/// what it serves) rewritten every interval, so that the other replicas leave its operations to
/// it while it lives and take them once it stops. Warns in the log when live replicas serve
/// other catalogs than this one. Its row is removed when it is destroyed (a clean stop), so that
/// the others take its unfinished operations at once.
class Heartbeat {
 public:
  /// What the heartbeat writes: this replica now (heartbeat_at_ms is set by the heartbeat).
  using Describe = std::function<state::ReplicaRecord()>;

  /// Beats once now, then every interval until destroyed (a failed beat is logged); lease
  /// is what makes another replica's heartbeat stale, for the catalog comparison.
  Heartbeat(state::Store& store, Describe describe, std::chrono::milliseconds interval,
            std::chrono::milliseconds lease);
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

 private:
  void beat_or_log();
  void beat();
  void compare_catalogs(const state::ReplicaRecord& self);

  state::Store& store_;
  const Describe describe_;
  const std::chrono::milliseconds interval_;
  const std::chrono::milliseconds lease_;
  std::string replica_id_;   // from the first beat; the row removed at the end
  uint64_t mismatched_ = 0;  // live replicas with other catalogs at the last beat (run thread)
  util::RateLimit failures_{
      std::chrono::seconds(10)};          // beats that failed, logged at most so often
  std::optional<util::Periodic> thread_;  // last: stops before the members it reads
};

}  // namespace osbd::daemon
