#pragma once

// Helpers shared by the instance and binding handlers; internal to core/api.

#include <cstdint>
#include <optional>
#include <string>

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
/// plan (may be null) sets maximum_polling_duration, that is its deadline.
state::OperationRecord new_operation(state::OperationKind kind, const std::string& instance_id,
                                     const std::string& binding_id, bool async,
                                     nlohmann::json request, int64_t now,
                                     const catalog::PlanEntry* plan);

/// Parses the body as a JSON object; an empty body is an empty object when allow_empty.
/// On failure sets reply to a 400 and returns nullopt.
std::optional<nlohmann::json> parse_object(const std::string& body, bool allow_empty,
                                           ApiReply& reply);

/// Reads a string field. Sets a 400 reply and returns false when it is required and missing,
/// or present with another type.
bool read_string(const nlohmann::json& obj, const char* key, bool required, std::string& out,
                 ApiReply& reply);

/// Reads an object field (absent → default_value). Sets a 400 reply on a wrong type.
bool read_object(const nlohmann::json& obj, const char* key, nlohmann::json& out, ApiReply& reply,
                 const nlohmann::json& default_value);

/// accepts_incomplete=true in the query.
bool accepts_incomplete(const ApiRequest& request);

/// The reply for a failed plugin call (4xx for the request's fault, 5xx for the backend's).
ApiReply failure_reply(const plugin_host::CallResult& result);

/// The failure a result that is neither done nor an allowed in-progress answer stands for; an
/// in-progress answer to a request without accepts_incomplete is a plugin bug (500).
plugin_host::CallResult as_failure(const plugin_host::CallResult& result);

/// True when the status means nothing was changed by the plugin (the request's fault).
bool is_client_error(osb_status status) noexcept;

/// A synchronous answer as an Outcome: succeeded with its body when OK, otherwise failed with
/// the description of as_failure(result).
Outcome outcome_of_call(const plugin_host::CallResult& result);

/// Normalises a poll result ({state, description, ...}) into an Outcome.
Outcome outcome_from_poll(const plugin_host::CallResult& result);

/// Validates parameters against a plan schema; on violations sets a 400 naming each failing
/// field and returns false.
bool check_parameters(const schema::Schema& schema, const nlohmann::json& parameters,
                      ApiReply& reply);

/// 422 ConcurrencyError with a description.
ApiReply concurrency_error(const std::string& description);

/// 202 {"operation": id} plus extra fields.
ApiReply accepted(const std::string& operation_id, nlohmann::json extra = nlohmann::json::object());

}  // namespace osbd::api::detail
