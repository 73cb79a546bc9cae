#pragma once

// Helpers shared by the instance and binding handlers; internal to core/api.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "api/lifecycle.hpp"
#include "catalog/registry.hpp"
#include "plugin_host/plugin.hpp"
#include "schema/schema.hpp"

namespace osbd::api::detail {

/// Milliseconds since the Unix epoch.
int64_t now_ms();

/// A new operation id: UUID version 7 text (creation time, then random bits).
std::string new_operation_id();

/// A new in-progress operation started at now, attempt 1. When it may run asynchronously and the
/// plan (may be null) sets maximum_polling_duration, that is its deadline. owner is the replica
/// that runs it.
state::OperationRecord new_operation(const std::string& owner, state::OperationKind kind,
                                     const std::string& instance_id, const std::string& binding_id,
                                     bool async, nlohmann::json request, int64_t now,
                                     const catalog::PlanEntry* plan);

/// What parsing a request gives: the request, or the reply that refuses it.
template <typename T>
using Parsed = std::variant<T, ApiReply>;

/// Reads the fields of a JSON request body. The first problem found (a body that is not a JSON
/// object, a missing field, a field of another type) becomes the 400 reply of refusal(); every
/// read after it returns an empty value.
class BodyReader {
 public:
  explicit BodyReader(const std::string& body);

  /// A string field that must be present and not empty.
  std::string required_string(const char* key);
  /// A string field that may be absent or null ("" then).
  std::string optional_string(const char* key);
  /// An object field, or fallback when absent or null.
  nlohmann::json object_or(const char* key, const nlohmann::json& fallback);
  /// True when the body has the field (whatever its value).
  bool has(const char* key) const { return body_.contains(key); }

  /// The reply refusing the body, once a read found a problem.
  const std::optional<ApiReply>& refusal() const noexcept { return refusal_; }

 private:
  // The field, or nullptr when absent or null (or after a problem).
  const nlohmann::json* field(const char* key) const;

  nlohmann::json body_ = nlohmann::json::object();
  std::optional<ApiReply> refusal_;
};

/// The query of a deprovision or unbind: service_id and plan_id (both required).
struct RemovalQuery {
  std::string service_id;
  std::string plan_id;
  bool accepts_incomplete = false;
};
/// Reads a RemovalQuery from the request's query parameters; a 400 for a missing id.
Parsed<RemovalQuery> parse_removal_query(const ApiRequest& request);

/// running, failed as stopped by a later request (why) at now.
state::OperationRecord stopped_operation(const state::OperationRecord& running,
                                         const std::string& why, int64_t now);

/// accepts_incomplete=true in the query.
bool accepts_incomplete(const ApiRequest& request);

/// The reply for a failed plugin call (4xx for the request's fault, 5xx for the backend's).
ApiReply failure_reply(const plugin_host::CallResult& result);

/// The failure a result that is neither done nor an allowed in-progress answer stands for; an
/// in-progress answer to a request without accepts_incomplete is a plugin bug (500).
plugin_host::CallResult as_failure(const plugin_host::CallResult& result);

/// True when the status means nothing was changed by the plugin (the request's fault).
bool is_client_error(osb_status status) noexcept;

/// True when a failed call changed nothing at the backend: a client error, or a call that never
/// reached the plugin (its host restarting, max_concurrent_calls reached).
bool changed_nothing(osb_status status) noexcept;

/// A synchronous answer as an Outcome: succeeded with its body when OK, otherwise failed with
/// the description of as_failure(result).
Outcome outcome_of_call(const plugin_host::CallResult& result);

/// Normalises a poll result ({state, description, ...}) into an Outcome.
Outcome outcome_from_poll(const plugin_host::CallResult& result);

/// Validates parameters against a plan schema: a 400 naming each failing field, or nullopt when
/// they conform.
std::optional<ApiReply> check_parameters(const schema::Schema& schema,
                                         const nlohmann::json& parameters);

/// 422 ConcurrencyError with a description.
ApiReply concurrency_error(const std::string& description);

/// 202 {"operation": id} plus extra fields.
ApiReply accepted(const std::string& operation_id, nlohmann::json extra = nlohmann::json::object());

/// 410 Gone with an empty body: the resource a removal names does not exist.
ApiReply gone();

/// {"dashboard_url": ...} when a plugin result carries one as a string, else {}.
nlohmann::json dashboard_of(const nlohmann::json& result_body);

/// The body of a 200 or 201 to a provision: the instance's dashboard_url and metadata.
nlohmann::json created_body(const state::InstanceRecord& instance);
/// The body of a 200 or 201 to a bind: the binding's response fields.
nlohmann::json created_body(const state::BindingRecord& binding);
/// The fields of a 202 to a provision besides the operation: the result's dashboard_url.
nlohmann::json accepted_fields(const state::InstanceRecord& instance,
                               const nlohmann::json& result_body);
/// The fields of a 202 to a bind besides the operation: none.
nlohmann::json accepted_fields(const state::BindingRecord& binding,
                               const nlohmann::json& result_body);

/// The attributes that make two provision requests "identical" (OSB: 200 vs 409): service_id,
/// plan_id, parameters, organization_guid, space_guid.
nlohmann::json attributes_of(const state::InstanceRecord& instance);
/// The attributes that make two bind requests "identical": service_id, plan_id, parameters,
/// app_guid, bind_resource.
nlohmann::json attributes_of(const state::BindingRecord& binding);

/// The resource a create request (provision or bind) found under its id.
struct ExistingResource {
  nlohmann::json attributes;  ///< attributes_of() the resource
  state::ResourceStatus status = state::ResourceStatus::ready;
  std::string active_operation;                    ///< the operation running on it, if any
  nlohmann::json body = nlohmann::json::object();  ///< its 200 body
};
/// How the replies to a repeated create name the resource.
struct CreateWording {
  const char* being_created;  ///< 422 while the same create runs synchronously
  const char* busy;           ///< 422 while another operation runs
  const char* failed;         ///< 409 when the same create failed before
  const char* different;      ///< 409 when the attributes differ
};
/// The reply to a create whose resource exists (OSB): 200 when it is the same and ready, 202
/// joining the same create running asynchronously, 409 when it differs from a resource that
/// exists or is being created, 422 while an update or removal runs.
ApiReply repeated_create(const ExistingResource& existing, const nlohmann::json& requested,
                         const CreateWording& wording, bool async_ok, state::Store& store);

/// An instance or binding as a create request finds it.
template <typename Record>
ExistingResource existing_resource(const Record& record) {
  return {attributes_of(record), record.status, record.active_operation, created_body(record)};
}

/// The reply to a removal whose begin did not start: 410 when the resource is missing, 422 with
/// busy otherwise; nullopt when it started.
std::optional<ApiReply> refuse_unstarted_removal(state::BeginResult began, const char* busy);

/// What a removal does about the operation running on its resource: joins the same removal,
/// stops a create it may stop (both asynchronous, the removal too), or waits (busy).
enum class OnBusy { join, stop, wait };
/// OnBusy for a removal of kind removal (deprovision, unbind) whose create is create.
OnBusy on_busy(const std::optional<state::OperationRecord>& running, state::OperationKind removal,
               state::OperationKind create, bool async_ok);

}  // namespace osbd::api::detail
