#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/catalogs.hpp"
#include "state/records.hpp"

namespace osbd::api {

/// Hash of what the catalogs serve (each one's name and entity tag): equal on replicas that
/// answer every catalog request alike, different as soon as one serves another catalog.
std::string catalog_fingerprint(const catalog::Catalogs& catalogs);

/// This replica, as the others see it: what list_replicas is compared against.
struct ReplicaSelf {
  std::string id;           ///< state.replica_id
  std::string fingerprint;  ///< catalog_fingerprint of what it serves now
  int64_t now_ms = 0;       ///< the time of the comparison
  int64_t lease_ms = 0;     ///< a heartbeat older than this is a replica that stopped
};

/// How the replicas compare with self.
struct ReplicaCounts {
  uint64_t alive = 0;       ///< replicas with a heartbeat younger than the lease
  uint64_t mismatched = 0;  ///< live replicas serving other catalogs than self
};

/// True when replica's heartbeat is younger than self's lease.
bool replica_alive(const state::ReplicaRecord& replica, const ReplicaSelf& self);

/// Counts the live replicas and those among them whose catalogs differ from self's.
ReplicaCounts count_replicas(const std::vector<state::ReplicaRecord>& replicas,
                             const ReplicaSelf& self);

/// The GET /admin/replicas body: {"self", "lease_seconds", "replicas": [{id, host, version,
/// listen, plugins, catalog_fingerprint, started_at, heartbeat_at, alive, catalog_mismatch}]}.
nlohmann::json replicas_view(const std::vector<state::ReplicaRecord>& replicas,
                             const ReplicaSelf& self);

}  // namespace osbd::api
