#include "plugin_host/in_process.hpp"

#include <cstddef>
#include <future>
#include <system_error>

#include <boost/dll/shared_library.hpp>

#include "plugin_host/host_context.hpp"
#include "util/json_parse.hpp"

namespace osbd::plugin_host {
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

PluginInfo info_of(const osb_plugin_v1& table) {
  PluginInfo info;
  info.name = table.name;
  info.version = table.version != nullptr ? table.version : "";
  info.vendor = table.vendor != nullptr ? table.vendor : "";
  info.abi_major = table.abi_major;
  info.abi_minor = table.abi_minor;
  return info;
}

CallResult timed_out(const std::string& what, Deadline started, Deadline deadline) {
  CallResult out;
  out.status = kStatusTimedOut;
  const auto seconds = std::chrono::round<std::chrono::seconds>(deadline - started);
  out.description = what + " did not answer within " + std::to_string(seconds.count()) +
                    " s (call_timeout_seconds); the request can be retried";
  return out;
}

InProcessBackend::InProcessBackend(std::shared_ptr<boost::dll::shared_library> library,
                                   const osb_plugin_v1* table,
                                   std::unique_ptr<HostContextData> host, osb_backend* backend)
    : library_(std::move(library)), table_(table), host_(std::move(host)), backend_(backend) {}

InProcessBackend::~InProcessBackend() {
  // The backend goes first, while its library is still mapped.
  if (backend_ != nullptr) {
    table_->destroy(backend_);
  }
  library_.reset();
}

bool table_supports(const osb_plugin_v1& table, Operation op) noexcept {
  if (op != Operation::usage) {
    return true;
  }
  return table_has(table.struct_size, offsetof(osb_plugin_v1, instance_usage)) &&
         table.instance_usage != nullptr;
}

bool InProcessBackend::supports(Operation op) const noexcept {
  return table_supports(*table_, op);
}

HostStatus InProcessBackend::status() const {
  return HostStatus{};
}

CallResult InProcessBackend::call_here(Operation op, const std::string& request,
                                       const std::string& what) const {
  osb_call call;
  const osb_status status =
      slot_of(*table_, op)(backend_, osb_buffer{request.data(), request.size()}, &call);
  return interpret_call(what, op, status, call);
}

CallResult InProcessBackend::call(Operation op, std::string request, Deadline deadline,
                                  CallSlot slot, const std::string& what) const {
  const auto started = std::chrono::steady_clock::now();
  auto done = std::make_shared<std::promise<CallResult>>();
  std::future<CallResult> answer = done->get_future();
  try {
    // The task owns what the call needs: the backend (so the library stays mapped), the request
    // and the slot, which it frees when the plugin returns, however late.
    pool_.run([self = shared_from_this(), op, request, slot, what, done]() mutable {
      done->set_value(self->call_here(op, request, what));
      slot.reset();
    });
  } catch (const std::system_error&) {
    return call_here(op, request, what);
  }
  if (answer.wait_until(deadline) != std::future_status::ready) {
    return timed_out(what, started, deadline);
  }
  return answer.get();
}

}  // namespace osbd::plugin_host
