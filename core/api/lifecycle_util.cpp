#include "api/lifecycle_util.hpp"
#include "util/json_parse.hpp"

#include <openssl/rand.h>

#include <algorithm>
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

state::OperationRecord new_operation(const std::string& owner, state::OperationKind kind,
                                     const std::string& instance_id, const std::string& binding_id,
                                     bool async, json request, int64_t now,
                                     const catalog::PlanEntry* plan) {
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
  op.owner = owner;
  if (async && plan != nullptr && plan->maximum_polling_duration() > 0) {
    op.deadline_ms = now + plan->maximum_polling_duration() * 1000;
  }
  return op;
}

BodyReader::BodyReader(const std::string& body) {
  if (body.empty()) {
    refusal_ =
        error_reply(400, "BadRequest", "the request body is empty; a JSON object is required");
    return;
  }
  std::string why;
  auto parsed = util::parse_json(body, &why);
  if (!parsed) {
    refusal_ = error_reply(400, "BadRequest", "the request body is " + why);
  } else if (!parsed->is_object()) {
    refusal_ = error_reply(400, "BadRequest", "the request body must be a JSON object");
  } else {
    body_ = std::move(*parsed);
  }
}

const json* BodyReader::field(const char* key) const {
  if (refusal_) {
    return nullptr;
  }
  const auto it = body_.find(key);
  return it == body_.end() || it->is_null() ? nullptr : &*it;
}

std::string BodyReader::optional_string(const char* key) {
  const json* value = field(key);
  if (value == nullptr) {
    return {};
  }
  if (!value->is_string()) {
    refusal_ = error_reply(400, "BadRequest", std::string("field '") + key + "' must be a string");
    return {};
  }
  return value->get<std::string>();
}

std::string BodyReader::required_string(const char* key) {
  if (!refusal_ && field(key) == nullptr) {
    refusal_ = error_reply(400, "BadRequest", std::string("missing required field '") + key + "'");
  }
  std::string value = optional_string(key);
  if (!refusal_ && value.empty()) {
    refusal_ = error_reply(400, "BadRequest", std::string("field '") + key + "' must not be empty");
  }
  return value;
}

json BodyReader::object_or(const char* key, const json& fallback) {
  const json* value = field(key);
  if (value == nullptr) {
    return refusal_ ? json() : fallback;
  }
  if (!value->is_object()) {
    refusal_ = error_reply(400, "BadRequest", std::string("field '") + key + "' must be an object");
    return json();
  }
  return *value;
}

Parsed<RemovalQuery> parse_removal_query(const ApiRequest& request) {
  RemovalQuery query;
  for (auto [key, out] :
       {std::pair{"service_id", &query.service_id}, std::pair{"plan_id", &query.plan_id}}) {
    const auto it = request.query.find(key);
    if (it == request.query.end() || it->second.empty()) {
      return error_reply(400, "BadRequest",
                         std::string("missing required query parameter '") + key + "'");
    }
    *out = it->second;
  }
  query.accepts_incomplete = accepts_incomplete(request);
  return query;
}

state::OperationRecord stopped_operation(const state::OperationRecord& running,
                                         const std::string& why, int64_t now) {
  state::OperationRecord stopped = running;
  stopped.state = state::OperationState::failed;
  stopped.description = why;
  stopped.updated_at_ms = now;
  return stopped;
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

bool changed_nothing(osb_status status) noexcept {
  return is_client_error(status) || status == plugin_host::kStatusUnavailable;
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
    case plugin_host::kStatusCrashed:
      return error_reply(502, "PluginCrashed", result.description);
    case plugin_host::kStatusTimedOut:
      return error_reply(504, "PluginTimeout", result.description);
    case plugin_host::kStatusUnavailable: {
      ApiReply r = error_reply(503, "PluginUnavailable", result.description);
      r.headers.emplace_back("Retry-After",
                             std::to_string(std::max(1u, result.retry_after_seconds)));
      return r;
    }
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

std::optional<ApiReply> check_parameters(const schema::Schema& schema, const json& parameters) {
  const auto violations = schema.validate(parameters, "parameters", 5);
  if (violations.empty()) {
    return std::nullopt;
  }
  std::string text = "invalid parameters: ";
  for (std::size_t i = 0; i < violations.size(); ++i) {
    text += (i == 0 ? "" : "; ") + schema::to_string(violations[i]);
  }
  return error_reply(400, "ValidationFailed", text);
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

ApiReply gone() {
  ApiReply r;
  r.status = 410;
  return r;
}

json dashboard_of(const json& result_body) {
  json out = json::object();
  if (result_body.contains("dashboard_url") && result_body.at("dashboard_url").is_string()) {
    out["dashboard_url"] = result_body.at("dashboard_url");
  }
  return out;
}

json created_body(const state::InstanceRecord& instance) {
  json body = json::object();
  if (!instance.dashboard_url.empty()) {
    body["dashboard_url"] = instance.dashboard_url;
  }
  if (instance.metadata.is_object()) {
    body["metadata"] = instance.metadata;
  }
  return body;
}

json created_body(const state::BindingRecord& binding) {
  return binding.response.is_object() ? binding.response : json::object();
}

json accepted_fields(const state::InstanceRecord&, const json& result_body) {
  return dashboard_of(result_body);
}

json accepted_fields(const state::BindingRecord&, const json&) {
  return json::object();
}

json attributes_of(const state::InstanceRecord& instance) {
  return {{"service_id", instance.service_id},
          {"plan_id", instance.plan_id},
          {"parameters", instance.parameters},
          {"organization_guid", instance.organization_guid},
          {"space_guid", instance.space_guid}};
}

json attributes_of(const state::BindingRecord& binding) {
  return {{"service_id", binding.service_id},
          {"plan_id", binding.plan_id},
          {"parameters", binding.parameters},
          {"app_guid", binding.app_guid},
          {"bind_resource", binding.bind_resource}};
}

ApiReply repeated_create(const ExistingResource& existing, const json& requested,
                         const CreateWording& wording, bool async_ok, state::Store& store) {
  using state::ResourceStatus;
  const bool same = existing.attributes == requested;
  if (same && existing.status == ResourceStatus::ready && existing.active_operation.empty()) {
    ApiReply ok;
    ok.body = existing.body;
    return ok;
  }
  if (same && existing.status == ResourceStatus::creating) {
    auto running = store.get_operation(existing.active_operation);
    if (running && running->async && async_ok) {
      return accepted(running->id);
    }
    return concurrency_error(wording.being_created);
  }
  if (!same && existing.status == ResourceStatus::creating) {
    // OSB: 409 when the resource "is being provisioned [or bound] but with different attributes".
    return error_reply(409, "Conflict", wording.different);
  }
  if (!existing.active_operation.empty()) {
    // Whatever the attributes, while an update or a removal runs: the platform retries a 422, and
    // the answer may differ once the running operation ends.
    return concurrency_error(wording.busy);
  }
  if (same && existing.status == ResourceStatus::failed) {
    return error_reply(409, "Conflict", wording.failed);
  }
  return error_reply(409, "Conflict", wording.different);
}

std::optional<ApiReply> refuse_unstarted_removal(state::BeginResult began, const char* busy) {
  switch (began) {
    case state::BeginResult::started:
      return std::nullopt;
    case state::BeginResult::missing:
      return gone();
    default:
      return concurrency_error(busy);
  }
}

OnBusy on_busy(const std::optional<state::OperationRecord>& running, state::OperationKind removal,
               state::OperationKind create, bool async_ok) {
  if (!running || !running->async || !async_ok) {
    return OnBusy::wait;
  }
  if (running->kind == removal) {
    return OnBusy::join;
  }
  return running->kind == create ? OnBusy::stop : OnBusy::wait;
}

}  // namespace osbd::api::detail
