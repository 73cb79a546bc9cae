#include "plugin_host/host_context.hpp"

#include <string_view>

#include "log/log.hpp"

namespace osbd::plugin_host {
namespace {

std::string_view view(osb_buffer b) noexcept {
  return b.data == nullptr ? std::string_view() : std::string_view(b.data, b.size);
}

// Callbacks are noexcept in spirit: an exception here would unwind through plugin frames.
void host_log(osb_host_context* context, osb_log_level level, osb_buffer message) {
  try {
    log::Level l = log::Level::info;
    switch (level) {
      case OSB_LOG_DEBUG:
        l = log::Level::debug;
        break;
      case OSB_LOG_INFO:
        l = log::Level::info;
        break;
      case OSB_LOG_WARN:
        l = log::Level::warn;
        break;
      case OSB_LOG_ERROR:
        l = log::Level::error;
        break;
    }
    const std::string plugin = context == nullptr             ? std::string("?")
                               : context->plugin_name.empty() ? context->plugin_file
                                                              : context->plugin_name;
    log::write(l, view(message), {{"plugin", plugin}});
  } catch (...) {
  }
}

void host_set_result(osb_call* call, osb_buffer json) {
  if (call == nullptr) {
    return;
  }
  try {
    call->result.assign(view(json));
    call->has_result = true;
  } catch (...) {
  }
}

void host_set_error(osb_call* call, osb_buffer description) {
  if (call == nullptr) {
    return;
  }
  try {
    call->error.assign(view(description));
    call->has_error = true;
  } catch (...) {
  }
}

}  // namespace

std::unique_ptr<HostContextData> make_host_context(const std::string& file) {
  auto data = std::make_unique<HostContextData>();
  data->context.plugin_file = file;
  data->table.struct_size = sizeof(osb_host_v1);
  data->table.abi_major = OSB_PLUGIN_ABI_VERSION_MAJOR;
  data->table.abi_minor = OSB_PLUGIN_ABI_VERSION_MINOR;
  data->table.context = &data->context;
  data->table.log = &host_log;
  data->table.set_result = &host_set_result;
  data->table.set_error = &host_set_error;
  return data;
}

}  // namespace osbd::plugin_host
