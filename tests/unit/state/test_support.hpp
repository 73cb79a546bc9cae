#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "state/records.hpp"

namespace osbd::state::testing {

/// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  /// Creates the directory; aborts the test run if that is impossible.
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "osbd-state-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::abort();
    }
    path_ = tmpl;
  }
  /// Removes the directory tree.
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// The directory itself.
  const std::string& path() const { return path_; }
  /// A data directory inside it that does not exist yet, so the store has to create it.
  std::string data_dir() const { return path_ + "/data"; }
  /// The database file the store keeps in data_dir().
  std::string db_file() const { return data_dir() + "/osbd.db"; }

 private:
  std::string path_;
};

/// An instance with every field set to something distinguishable.
inline InstanceRecord make_instance(const std::string& id, int64_t at_ms = 1000) {
  InstanceRecord r;
  r.id = id;
  r.service_id = "svc-1";
  r.plan_id = "plan-1";
  r.plugin = "example";
  r.organization_guid = "org-1";
  r.space_guid = "space-1";
  r.parameters = {{"size", 3}, {"tags", {"a", "b"}}};
  r.context = {{"platform", "kubernetes"}, {"namespace", "ns"}};
  r.originating_identity = {{"platform", "kubernetes"}, {"value", {{"username", "ü-user"}}}};
  r.maintenance_info = {{"version", "1.2.3"}};
  r.dashboard_url = "https://dash.example/" + id;
  r.metadata = {{"labels", {{"k", "v"}}}};
  r.plugin_state = {{"handle", 42}};
  r.status = ResourceStatus::ready;
  r.created_at_ms = at_ms;
  r.updated_at_ms = at_ms;
  return r;
}

/// A binding with every field set to something distinguishable.
inline BindingRecord make_binding(const std::string& instance_id, const std::string& id,
                                  int64_t at_ms = 2000) {
  BindingRecord r;
  r.instance_id = instance_id;
  r.id = id;
  r.service_id = "svc-1";
  r.plan_id = "plan-1";
  r.app_guid = "app-1";
  r.parameters = {{"role", "reader"}};
  r.context = {{"platform", "cloudfoundry"}};
  r.bind_resource = {{"app_guid", "app-1"}};
  r.plugin_state = {{"user", "u1"}};
  r.status = ResourceStatus::ready;
  r.created_at_ms = at_ms;
  r.updated_at_ms = at_ms;
  return r;
}

/// An in-progress operation on the given resource.
inline OperationRecord make_op(const std::string& id, OperationKind kind,
                               const std::string& instance_id, const std::string& binding_id = "",
                               int64_t at_ms = 1000) {
  OperationRecord r;
  r.id = id;
  r.instance_id = instance_id;
  r.binding_id = binding_id;
  r.kind = kind;
  r.state = OperationState::in_progress;
  r.async = true;
  r.request = {{"service_id", "svc-1"}, {"plan_id", "plan-1"}};
  r.attempts = 1;
  r.created_at_ms = at_ms;
  r.updated_at_ms = at_ms;
  r.deadline_ms = at_ms + 60000;
  return r;
}

/// make_op, owned by the replica owner.
inline OperationRecord make_owned_op(const std::string& id, OperationKind kind,
                                     const std::string& instance_id, const std::string& owner,
                                     int64_t at_ms = 1000) {
  OperationRecord r = make_op(id, kind, instance_id, "", at_ms);
  r.owner = owner;
  return r;
}

/// A replica with every field set to something distinguishable, last heard of at heartbeat_at_ms.
inline ReplicaRecord make_replica(const std::string& id, int64_t heartbeat_at_ms) {
  ReplicaRecord r;
  r.id = id;
  r.host = "host-of-" + id;
  r.version = "1.2.3";
  r.listen = "10.0.0.1:8443";
  r.plugins = nlohmann::json::array({{{"name", "example"}, {"version", "0.1.0"}},
                                     {{"name", "postgresql"}, {"version", "2.0.0"}}});
  r.catalog_fingerprint = "sha256:" + id;
  r.started_at_ms = heartbeat_at_ms - 500;
  r.heartbeat_at_ms = heartbeat_at_ms;
  return r;
}

}  // namespace osbd::state::testing
