#include "api/replicas.hpp"

#include "catalog/registry.hpp"
#include "log/log.hpp"

namespace osbd::api {

using nlohmann::json;

std::string catalog_fingerprint(const catalog::Catalogs& catalogs) {
  std::string served;
  for (const auto& view : catalogs.views()) {
    served += view.name() + '\n' + view.etag() + '\n';
  }
  return catalog::strong_etag(served);
}

bool replica_alive(const state::ReplicaRecord& replica, const ReplicaSelf& self) {
  return replica.heartbeat_at_ms >= self.now_ms - self.lease_ms;
}

ReplicaCounts count_replicas(const std::vector<state::ReplicaRecord>& replicas,
                             const ReplicaSelf& self) {
  ReplicaCounts counts;
  for (const auto& replica : replicas) {
    if (replica_alive(replica, self)) {
      ++counts.alive;
      counts.mismatched += replica.catalog_fingerprint != self.fingerprint ? 1 : 0;
    }
  }
  return counts;
}

json replicas_view(const std::vector<state::ReplicaRecord>& replicas, const ReplicaSelf& self) {
  json list = json::array();
  for (const auto& r : replicas) {
    const bool alive = replica_alive(r, self);
    list.push_back({{"id", r.id},
                    {"host", r.host},
                    {"version", r.version},
                    {"listen", r.listen},
                    {"plugins", r.plugins},
                    {"catalog_fingerprint", r.catalog_fingerprint},
                    {"started_at", log::rfc3339_ms(r.started_at_ms)},
                    {"heartbeat_at", log::rfc3339_ms(r.heartbeat_at_ms)},
                    {"alive", alive},
                    {"catalog_mismatch", alive && r.catalog_fingerprint != self.fingerprint}});
  }
  return {
      {"self", self.id}, {"lease_seconds", self.lease_ms / 1000}, {"replicas", std::move(list)}};
}

}  // namespace osbd::api
