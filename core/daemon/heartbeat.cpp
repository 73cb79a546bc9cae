#include "daemon/heartbeat.hpp"

#include <exception>

#include "api/lifecycle_util.hpp"
#include "api/replicas.hpp"
#include "log/log.hpp"

namespace osbd::daemon {

Heartbeat::Heartbeat(state::Store& store, Describe describe, std::chrono::milliseconds interval,
                     std::chrono::milliseconds lease)
    : store_(store), describe_(std::move(describe)), interval_(interval), lease_(lease) {
  beat_or_log();
  thread_.emplace(interval_, [this] { beat_or_log(); });
}

Heartbeat::~Heartbeat() {
  thread_.reset();
  try {
    store_.remove_replica(replica_id_);
  } catch (const std::exception& e) {
    // The row goes stale instead; the others wait for the lease before taking over.
    log::warn("could not remove this replica's heartbeat", {{"error", e.what()}});
  }
}

// A failed beat (the store unreachable, its disk full) is logged and tried again next interval:
// osbd serves on, and answers 503 for what needs the store.
void Heartbeat::beat_or_log() {
  try {
    beat();
  } catch (const std::exception& e) {
    if (uint64_t suppressed = 0; failures_.allow(suppressed)) {
      log::error(
          "replica heartbeat failed: other replicas take this one's operations if it stays "
          "silent for the lease",
          {{"error", e.what()}, {"suppressed", suppressed}});
    }
  }
}

void Heartbeat::beat() {
  state::ReplicaRecord self = describe_();
  self.heartbeat_at_ms = api::detail::now_ms();
  replica_id_ = self.id;
  store_.heartbeat(self);
  compare_catalogs(self);
}

// Logs when the number of live replicas serving other catalogs changes.
void Heartbeat::compare_catalogs(const state::ReplicaRecord& self) {
  const api::ReplicaSelf me{self.id, self.catalog_fingerprint, self.heartbeat_at_ms,
                            lease_.count()};
  const uint64_t mismatched = api::count_replicas(store_.list_replicas(), me).mismatched;
  if (mismatched != mismatched_) {
    if (mismatched > 0) {
      log::warn("replicas serve different catalogs: a platform may reach any of them",
                {{"replica", self.id}, {"other_catalogs", mismatched}});
    } else {
      log::info("every live replica serves the same catalogs", {{"replica", self.id}});
    }
  }
  mismatched_ = mismatched;
}

}  // namespace osbd::daemon
