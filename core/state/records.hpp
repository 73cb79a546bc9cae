#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace osbd::state {

/// Lifecycle of an instance or binding as the broker sees it.
enum class ResourceStatus {
  creating,  ///< provision/bind accepted, not finished; invisible to fetch
  ready,     ///< created; usable
  deleting,  ///< deprovision/unbind running
  failed,    ///< create failed or was interrupted; only DELETE makes sense now
};

/// Kind of a recorded operation.
enum class OperationKind { provision, update, deprovision, bind, unbind };

/// State of a recorded operation, spelled as OSB last_operation spells it.
enum class OperationState { in_progress, succeeded, failed };

/// Where an instance or a binding is in its lifecycle: the state both kinds of resource carry.
struct ResourceLifecycle {
  nlohmann::json plugin_state;  ///< opaque state the plugin asked to keep, null if none
  ResourceStatus status = ResourceStatus::creating;  ///< broker-side lifecycle
  std::string active_operation;  ///< id of the running mutating operation, "" if idle
  std::string last_operation;    ///< id of the most recent operation, "" if none
  int64_t created_at_ms = 0;     ///< unix epoch milliseconds
  int64_t updated_at_ms = 0;     ///< unix epoch milliseconds
};

/// A service instance owned by the broker.
struct InstanceRecord : ResourceLifecycle {
  std::string id;                 ///< platform-chosen instance id (decoded)
  std::string service_id;         ///< catalog service id
  std::string plan_id;            ///< catalog plan id
  std::string plugin;             ///< name of the plugin serving the service
  std::string organization_guid;  ///< deprecated OSB field, stored as sent ("" if absent)
  std::string space_guid;         ///< deprecated OSB field, stored as sent ("" if absent)
  nlohmann::json parameters = nlohmann::json::object();  ///< provision/update parameters
  nlohmann::json context = nlohmann::json::object();     ///< OSB context object
  nlohmann::json originating_identity;                   ///< decoded header, null if absent
  nlohmann::json maintenance_info;                       ///< null if absent
  std::string dashboard_url;                             ///< "" if none
  nlohmann::json metadata;                               ///< OSB instance metadata, null if none
};

/// A service binding owned by the broker.
struct BindingRecord : ResourceLifecycle {
  std::string instance_id;                               ///< owning instance
  std::string id;                                        ///< platform-chosen binding id (decoded)
  std::string service_id;                                ///< catalog service id at bind time
  std::string plan_id;                                   ///< catalog plan id at bind time
  std::string app_guid;                                  ///< deprecated OSB field, "" if absent
  nlohmann::json parameters = nlohmann::json::object();  ///< bind parameters
  nlohmann::json context = nlohmann::json::object();     ///< OSB context object
  nlohmann::json bind_resource;                          ///< null if absent
  nlohmann::json response;  ///< what bind returned (credentials, endpoints, ...); null until done
};

/// One mutating operation on an instance or binding, kept after it ends for last_operation.
struct OperationRecord {
  std::string id;           ///< broker-generated operation id (returned to the platform)
  std::string instance_id;  ///< instance the operation acts on
  std::string binding_id;   ///< binding the operation acts on, "" for instance operations
  OperationKind kind = OperationKind::provision;       ///< what it does
  OperationState state = OperationState::in_progress;  ///< where it is
  std::string description;                             ///< user-facing text, "" if none
  bool async = false;            ///< answered 202 (true) or synchronously (false)
  std::string plugin_operation;  ///< the plugin's own token while in progress, "" if none
  nlohmann::json request;     ///< the request as accepted (for identical-repeat checks and re-runs)
  int attempts = 0;           ///< how many times the plugin call was started
  int64_t created_at_ms = 0;  ///< unix epoch milliseconds
  int64_t updated_at_ms = 0;  ///< unix epoch milliseconds
  int64_t deadline_ms = 0;    ///< give up after this (0: none)
  /// The replica that runs or polls it (Store::take_operation moves it); "" for operations
  /// recorded before osbd knew replicas, which any replica may take.
  std::string owner;
};

/// One osbd process serving from a shared store, as its heartbeats describe it.
struct ReplicaRecord {
  std::string id;       ///< state.replica_id (default: host name and OSB port)
  std::string host;     ///< the machine's host name
  std::string version;  ///< osbd's version
  std::string listen;   ///< its OSB listener, HOST:PORT
  nlohmann::json plugins = nlohmann::json::array();  ///< [{"name", "version"}] loaded
  std::string catalog_fingerprint;                   ///< hash of the catalogs it serves
  int64_t started_at_ms = 0;                         ///< unix epoch milliseconds
  int64_t heartbeat_at_ms = 0;  ///< its last heartbeat, unix epoch milliseconds
};

/// Spelling of an enum in the store and on the wire.
const char* to_string(ResourceStatus s) noexcept;
/// Spelling of an enum in the store.
const char* to_string(OperationKind k) noexcept;
/// OSB spelling: "in progress", "succeeded", "failed".
const char* to_string(OperationState s) noexcept;

/// Parses the spellings above; nullopt on anything else.
std::optional<ResourceStatus> parse_resource_status(std::string_view s) noexcept;
/// Parses the spellings above; nullopt on anything else.
std::optional<OperationKind> parse_operation_kind(std::string_view s) noexcept;
/// Parses the spellings above; nullopt on anything else.
std::optional<OperationState> parse_operation_state(std::string_view s) noexcept;

}  // namespace osbd::state
