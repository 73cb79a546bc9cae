#include "api/lifecycle_util.hpp"
#include "util/json_parse.hpp"

#include <openssl/rand.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>

namespace osbd::api::detail {

using nlohmann::json;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string new_operation_id() {
  // UUID version 7: the creation time in milliseconds, then random bits. Ids of operations created
  // one after another sort one after another, so the store's index on them grows at its end
  // instead of touching a random page per new operation.
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  const auto ms = static_cast<uint64_t>(now_ms());
  for (int i = 0; i < 6; ++i) {
    b[i] = static_cast<unsigned char>(ms >> (8 * (5 - i)));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x70);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

state::OperationRecord new_operation(state::OperationKind kind, const std::string& instance_id,
                                     const std::string& binding_id, bool async, json request,
                                     int64_t now, const catalog::PlanEntry* plan) {
  state::OperationRecord op;
  op.id = new_operation_id();
  op.instance_id = instance_id;
  op.binding_id = binding_id;
  op.kind = kind;
  op.async = async;
  op.request = std::move(request);
  op.attempts = 1;
  op.created_at_ms = now;
  op.updated_at_ms = now;
  if (async && plan != nullptr && plan->maximum_polling_duration() > 0) {
    op.deadline_ms = now + plan->maximum_polling_duration() * 1000;
  }
  return op;
}

std::optional<json> parse_object(const std::string& body, bool allow_empty, ApiReply& reply) {
  if (body.empty()) {
    if (allow_empty) {
      return json::object();
    }
    reply = error_reply(400, "BadRequest", "the request body is empty; a JSON object is required");
    return std::nullopt;
  }
  std::string why;
  auto parsed = util::parse_json(body, &why);
  if (!parsed) {
    reply = error_reply(400, "BadRequest", "the request body is " + why);
    return std::nullopt;
  }
  if (!parsed->is_object()) {
    reply = error_reply(400, "BadRequest", "the request body must be a JSON object");
    return std::nullopt;
  }
  return parsed;
}

bool read_string(const json& obj, const char* key, bool required, std::string& out,
                 ApiReply& reply) {
  if (!obj.contains(key) || obj.at(key).is_null()) {
    if (required) {
      reply = error_reply(400, "BadRequest", std::string("missing required field '") + key + "'");
      return false;
    }
    return true;
  }
  if (!obj.at(key).is_string()) {
    reply = error_reply(400, "BadRequest", std::string("field '") + key + "' must be a string");
    return false;
  }
  out = obj.at(key).get<std::string>();
  if (required && out.empty()) {
    reply = error_reply(400, "BadRequest", std::string("field '") + key + "' must not be empty");
    return false;
  }
  return true;
}

bool read_object(const json& obj, const char* key, json& out, ApiReply& reply,
                 const json& default_value) {
  if (!obj.contains(key) || obj.at(key).is_null()) {
    out = default_value;
    return true;
  }
  if (!obj.at(key).is_object()) {
    reply = error_reply(400, "BadRequest", std::string("field '") + key + "' must be an object");
    return false;
  }
  out = obj.at(key);
  return true;
}

bool accepts_incomplete(const ApiRequest& request) {
  auto it = request.query.find("accepts_incomplete");
  return it != request.query.end() && it->second == "true";
}

plugin_host::CallResult as_failure(const plugin_host::CallResult& result) {
  plugin_host::CallResult failure = result;
  if (result.status == OSB_STATUS_IN_PROGRESS) {
    failure.status = OSB_STATUS_INTERNAL_ERROR;
    failure.description =
        "the plugin answered asynchronously although accepts_incomplete was not set";
  }
  return failure;
}

bool is_client_error(osb_status status) noexcept {
  return status == OSB_STATUS_BAD_REQUEST || status == OSB_STATUS_UNPROCESSABLE ||
         status == OSB_STATUS_ASYNC_REQUIRED || status == OSB_STATUS_REQUIRES_APP;
}

ApiReply failure_reply(const plugin_host::CallResult& result) {
  switch (result.status) {
    case OSB_STATUS_BAD_REQUEST:
      return error_reply(400, "BadRequest", result.description);
    case OSB_STATUS_UNPROCESSABLE:
      return error_reply(422, "UnprocessableEntity", result.description);
    case OSB_STATUS_ASYNC_REQUIRED:
      return error_reply(422, "AsyncRequired", result.description);
    case OSB_STATUS_REQUIRES_APP:
      return error_reply(422, "RequiresApp", result.description);
    case OSB_STATUS_BACKEND_ERROR:
      return error_reply(502, "BackendError", result.description);
    default:
      return error_reply(500, "InternalError", result.description);
  }
}

Outcome outcome_of_call(const plugin_host::CallResult& result) {
  if (result.status == OSB_STATUS_OK) {
    return Outcome{state::OperationState::succeeded, result.body, ""};
  }
  return Outcome{state::OperationState::failed, nlohmann::json::object(),
                 as_failure(result).description};
}

Outcome outcome_from_poll(const plugin_host::CallResult& result) {
  Outcome out;
  if (result.status != OSB_STATUS_OK) {
    // A poll that itself failed says nothing about the operation: keep polling, unless the
    // plugin says the request was bad (then the token is not one it knows).
    out.state = is_client_error(result.status) ? state::OperationState::failed
                                               : state::OperationState::in_progress;
    out.description = result.description;
    return out;
  }
  out.body = result.body;
  const std::string s = result.body.value("state", "");
  if (s == "succeeded") {
    out.state = state::OperationState::succeeded;
  } else if (s == "failed") {
    out.state = state::OperationState::failed;
  } else {
    out.state = state::OperationState::in_progress;
  }
  if (result.body.contains("description") && result.body.at("description").is_string()) {
    out.description = result.body.at("description").get<std::string>();
  }
  return out;
}

bool check_parameters(const schema::Schema& schema, const json& parameters, ApiReply& reply) {
  const auto violations = schema.validate(parameters, "parameters", 5);
  if (violations.empty()) {
    return true;
  }
  std::string text = "invalid parameters: ";
  for (std::size_t i = 0; i < violations.size(); ++i) {
    text += (i == 0 ? "" : "; ") + schema::to_string(violations[i]);
  }
  reply = error_reply(400, "ValidationFailed", text);
  return false;
}

ApiReply concurrency_error(const std::string& description) {
  return error_reply(422, "ConcurrencyError", description);
}

ApiReply accepted(const std::string& operation_id, json extra) {
  ApiReply r;
  r.status = 202;
  r.body = std::move(extra);
  r.body["operation"] = operation_id;
  return r;
}

}  // namespace osbd::api::detail
