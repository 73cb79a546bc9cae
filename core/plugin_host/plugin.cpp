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
  osb_operation_fn fn = nullptr;
  switch (op) {
    case Operation::get_catalog:
      fn = table_->get_catalog;
      break;
    case Operation::provision:
      fn = table_->provision;
      break;
    case Operation::deprovision:
      fn = table_->deprovision;
      break;
    case Operation::update:
      fn = table_->update;
      break;
    case Operation::bind:
      fn = table_->bind;
      break;
    case Operation::unbind:
      fn = table_->unbind;
      break;
    case Operation::poll:
      fn = table_->poll;
      break;
    case Operation::usage:
      fn = table_->instance_usage;
      break;
  }
  const std::string what = "plugin " + name_ + " " + to_string(op);
  CallResult out;
  // Strict: a plugin sees exactly the bytes the platform sent, or no call at all. Replacing
  // invalid UTF-8 would make distinct ids one id at the plugin.
  std::string text;
  try {
    text = request.dump();
  } catch (const nlohmann::json::type_error&) {
    out.status = OSB_STATUS_BAD_REQUEST;
    out.description = "the request holds text that is not valid UTF-8";
    return out;
  }
  osb_call call;
  const osb_status status = fn(backend_, osb_buffer{text.data(), text.size()}, &call);
  switch (status) {
    case OSB_STATUS_OK:
    case OSB_STATUS_IN_PROGRESS:
    case OSB_STATUS_BAD_REQUEST:
    case OSB_STATUS_UNPROCESSABLE:
    case OSB_STATUS_ASYNC_REQUIRED:
    case OSB_STATUS_REQUIRES_APP:
    case OSB_STATUS_BACKEND_ERROR:
    case OSB_STATUS_INTERNAL_ERROR:
      out.status = status;
      break;
    default:
      out.status = OSB_STATUS_INTERNAL_ERROR;
      out.description = what + " returned unknown status " + std::to_string(status);
      return out;
  }
  if (call.has_result && !call.result.empty()) {
    std::string why;
    auto parsed = util::parse_json(call.result, &why);
    if (!parsed || !parsed->is_object()) {
      out.status = OSB_STATUS_INTERNAL_ERROR;
      out.description = what + " returned a result that is not a JSON object" +
                        (parsed ? std::string() : " (" + why + ")");
      return out;
    }
    out.body = std::move(*parsed);
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

}  // namespace osbd::plugin_host
