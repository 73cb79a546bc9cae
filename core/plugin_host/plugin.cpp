#include "plugin_host/plugin.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>

#include <boost/dll/shared_library.hpp>

#include "metrics/metrics.hpp"
#include "plugin_host/host_context.hpp"
#include "plugin_host/lifetimes.hpp"
#include "util/json_parse.hpp"

namespace osbd::plugin_host {

const char* to_string(Operation op) noexcept {
  switch (op) {
    case Operation::get_catalog:
      return "get_catalog";
    case Operation::provision:
      return "provision";
    case Operation::deprovision:
      return "deprovision";
    case Operation::update:
      return "update";
    case Operation::bind:
      return "bind";
    case Operation::unbind:
      return "unbind";
    case Operation::poll:
      return "poll";
    case Operation::usage:
      return "usage";
  }
  return "?";
}

Plugin::Plugin(std::string file, std::shared_ptr<boost::dll::shared_library> library,
               const osb_plugin_v1* table, std::unique_ptr<HostContextData> host,
               osb_backend* backend)
    : file_(std::move(file)),
      library_(std::move(library)),
      table_(table),
      host_(std::move(host)),
      backend_(backend),
      name_(table->name),
      version_(table->version != nullptr ? table->version : ""),
      vendor_(table->vendor != nullptr ? table->vendor : ""),
      serial_(lifetimes().add()) {}

Plugin::~Plugin() {
  // The backend goes first, while its library is still mapped; then the library closes, and
  // whoever waits for this plugin to be gone learns it.
  if (backend_ != nullptr) {
    table_->destroy(backend_);
  }
  library_.reset();
  lifetimes().remove(serial_);
}

std::string Plugin::abi_version() const {
  return std::to_string(table_->abi_major) + "." + std::to_string(table_->abi_minor);
}

namespace {

// True when a table of struct_size bytes has the slot at offset (slots added after 1.0).
constexpr bool table_has(std::uint32_t struct_size, std::size_t offset) noexcept {
  return struct_size >= offset + sizeof(osb_operation_fn);
}

// The slot of table that implements op.
osb_operation_fn slot_of(const osb_plugin_v1& table, Operation op) noexcept {
  switch (op) {
    case Operation::get_catalog:
      return table.get_catalog;
    case Operation::provision:
      return table.provision;
    case Operation::deprovision:
      return table.deprovision;
    case Operation::update:
      return table.update;
    case Operation::bind:
      return table.bind;
    case Operation::unbind:
      return table.unbind;
    case Operation::poll:
      return table.poll;
    case Operation::usage:
      return table.instance_usage;
  }
  return nullptr;
}

// True for the statuses the plugin ABI defines.
bool is_known_status(osb_status status) noexcept {
  switch (status) {
    case OSB_STATUS_OK:
    case OSB_STATUS_IN_PROGRESS:
    case OSB_STATUS_BAD_REQUEST:
    case OSB_STATUS_UNPROCESSABLE:
    case OSB_STATUS_ASYNC_REQUIRED:
    case OSB_STATUS_REQUIRES_APP:
    case OSB_STATUS_BACKEND_ERROR:
    case OSB_STATUS_INTERNAL_ERROR:
      return true;
    default:
      return false;
  }
}

// Copies the set_result JSON of call, if any, into out.body. A result that is not a JSON object
// turns out into an INTERNAL_ERROR result described with what, and returns false.
bool read_result(const std::string& what, const osb_call& call, CallResult& out) {
  if (!call.has_result || call.result.empty()) {
    return true;
  }
  std::string why;
  auto parsed = util::parse_json(call.result, &why);
  if (!parsed || !parsed->is_object()) {
    out.status = OSB_STATUS_INTERNAL_ERROR;
    out.description = what + " returned a result that is not a JSON object" +
                      (parsed ? std::string() : " (" + why + ")");
    return false;
  }
  out.body = std::move(*parsed);
  return true;
}

// The host's result for a call of op that returned status and left call behind; what names the
// plugin and the operation in descriptions of plugin misbehaviour.
CallResult interpret_call(const std::string& what, Operation op, osb_status status,
                          const osb_call& call) {
  CallResult out;
  if (!is_known_status(status)) {
    out.status = OSB_STATUS_INTERNAL_ERROR;
    out.description = what + " returned unknown status " + std::to_string(status);
    return out;
  }
  out.status = status;
  if (!read_result(what, call, out)) {
    return out;
  }
  const bool failed = status != OSB_STATUS_OK && status != OSB_STATUS_IN_PROGRESS;
  if (failed) {
    out.description = call.has_error && !call.error.empty()
                          ? call.error
                          : what + " failed without a description (a plugin bug)";
  }
  if (status == OSB_STATUS_IN_PROGRESS && op != Operation::poll &&
      !(out.body.contains("operation") && out.body["operation"].is_string())) {
    out.status = OSB_STATUS_INTERNAL_ERROR;
    out.description = what + " answered in progress without an operation token";
  }
  return out;
}

}  // namespace

bool Plugin::supports(Operation op) const noexcept {
  if (op != Operation::usage) {
    return true;
  }
  return table_has(table_->struct_size, offsetof(osb_plugin_v1, instance_usage)) &&
         table_->instance_usage != nullptr;
}

CallResult Plugin::call(Operation op, const nlohmann::json& request) const {
  const auto started = std::chrono::steady_clock::now();
  CallResult result = call_untimed(op, request);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  const bool failed = result.status != OSB_STATUS_OK && result.status != OSB_STATUS_IN_PROGRESS;
  metrics::global().observe_plugin_call(name_, to_string(op), took.count(), failed);
  return result;
}

CallResult Plugin::call_untimed(Operation op, const nlohmann::json& request) const {
  if (!supports(op)) {
    CallResult none;
    none.status = OSB_STATUS_OK;
    return none;
  }
  // Strict: a plugin sees exactly the bytes the platform sent, or no call at all. Replacing
  // invalid UTF-8 would make distinct ids one id at the plugin.
  std::string text;
  try {
    text = request.dump();
  } catch (const nlohmann::json::type_error&) {
    CallResult out;
    out.status = OSB_STATUS_BAD_REQUEST;
    out.description = "the request holds text that is not valid UTF-8";
    return out;
  }
  osb_call call;
  const osb_status status =
      slot_of(*table_, op)(backend_, osb_buffer{text.data(), text.size()}, &call);
  return interpret_call("plugin " + name_ + " " + to_string(op), op, status, call);
}

}  // namespace osbd::plugin_host
