#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

#include "osb/plugin_abi.h"
#include "osb/sdk/backend.hpp"
#include "osb/sdk/errors.hpp"
#include "osb/sdk/host.hpp"
#include "osb/sdk/requests.hpp"
#include "osb/sdk/result.hpp"

// The noexcept functions behind a plugin's osb_plugin_v1 table. They translate between the C
// ABI (JSON text, status codes, host callbacks) and the C++ Backend; no exception leaves them.

namespace osb::sdk::detail {

/// What an osb_backend handle points to: the host the backend was created with, and the backend.
struct BackendHolder {
  /// Binds the holder to a usable host table.
  explicit BackendHolder(const osb_host_v1* table) noexcept : host_table(table), host(table) {}

  const osb_host_v1* host_table;     ///< the table passed to create()
  Host host;                         ///< the wrapper handed to the backend's constructor
  std::unique_ptr<Backend> backend;  ///< the vendor's object
};

/// The holder behind an opaque handle.
inline BackendHolder* holder_of(osb_backend* handle) noexcept {
  return reinterpret_cast<BackendHolder*>(handle);
}

/// Hands text to host->set_error.
inline void report_error(const osb_host_v1* host, osb_call* call, std::string_view text) noexcept {
  host->set_error(call, osb_buffer{text.data(), text.size()});
}

/// Hands prefix + text to host->set_error; falls back to text alone if memory runs out.
inline void report_error(const osb_host_v1* host, osb_call* call, std::string_view prefix,
                         std::string_view text) noexcept {
  try {
    std::string message(prefix);
    message += text;
    report_error(host, call, message);
  } catch (...) {
    report_error(host, call, text);
  }
}

/// Parses a JSON text from the host; an empty buffer counts as {}.
inline nlohmann::json parse_buffer(osb_buffer buffer) {
  if (buffer.size == 0 || buffer.data == nullptr) {
    return nlohmann::json::object();
  }
  return nlohmann::json::parse(buffer.data, buffer.data + buffer.size);
}

/// Reports result to the host: the body through set_result, or the description through set_error.
inline osb_status deliver(const osb_host_v1* host, osb_call* call, const Result& result) {
  if (!result.succeeded()) {
    if (result.description().empty()) {
      report_error(host, call, "the plugin reported a failure without a description");
    } else {
      report_error(host, call, result.description());
    }
    return result.status();
  }
  const nlohmann::json& body = result.body();
  if (!body.is_object() && !body.is_null()) {
    report_error(host, call, "the plugin returned a result that is not a JSON object");
    return OSB_STATUS_INTERNAL_ERROR;
  }
  // dump() throws on strings that are not valid UTF-8; the caller turns that into an error.
  const std::string text = body.is_null() ? std::string("{}") : body.dump();
  host->set_result(call, osb_buffer{text.data(), text.size()});
  return result.status();
}

/// Runs an operation of the backend behind handle with a parsed request of type Request.
template <class Request, Result (Backend::*Method)(const Request&)>
osb_status operation_shim(osb_backend* handle, osb_buffer request_json, osb_call* call) noexcept {
  if (handle == nullptr) {
    return OSB_STATUS_INTERNAL_ERROR;
  }
  BackendHolder& holder = *holder_of(handle);
  const osb_host_v1* host = holder.host_table;
  try {
    Request request;
    try {
      request = parse_buffer(request_json).get<Request>();
    } catch (const RequestError& e) {
      report_error(host, call, "invalid request: ", e.what());
      return OSB_STATUS_BAD_REQUEST;
    } catch (const nlohmann::json::exception& e) {
      report_error(host, call, "request is not valid JSON: ", e.what());
      return OSB_STATUS_BAD_REQUEST;
    }
    return deliver(host, call, (holder.backend.get()->*Method)(request));
  } catch (const RequestError& e) {
    // A backend may throw RequestError itself, e.g. from its parameter validation.
    report_error(host, call, e.what());
    return OSB_STATUS_BAD_REQUEST;
  } catch (const std::exception& e) {
    report_error(host, call, e.what());
    return OSB_STATUS_INTERNAL_ERROR;
  } catch (...) {
    report_error(host, call, "the plugin failed with an exception that is not a std::exception");
    return OSB_STATUS_INTERNAL_ERROR;
  }
}

/// The get_catalog slot: returns the backend's catalog, which must be a JSON object.
inline osb_status catalog_shim(osb_backend* handle, osb_buffer request_json,
                               osb_call* call) noexcept {
  (void)request_json;
  if (handle == nullptr) {
    return OSB_STATUS_INTERNAL_ERROR;
  }
  BackendHolder& holder = *holder_of(handle);
  const osb_host_v1* host = holder.host_table;
  try {
    nlohmann::json catalog = holder.backend->catalog();
    if (!catalog.is_object()) {
      report_error(host, call, "the plugin's catalog is not a JSON object");
      return OSB_STATUS_INTERNAL_ERROR;
    }
    return deliver(host, call, Result::ok(std::move(catalog)));
  } catch (const std::exception& e) {
    report_error(host, call, e.what());
    return OSB_STATUS_INTERNAL_ERROR;
  } catch (...) {
    report_error(host, call, "the plugin failed with an exception that is not a std::exception");
    return OSB_STATUS_INTERNAL_ERROR;
  }
}

/// The create slot: constructs B from the configuration. ConfigError and every other exception
/// become NULL plus an error description.
template <class B>
osb_backend* create_shim(const osb_host_v1* host, osb_buffer config_json, osb_call* call) noexcept {
  if (!host_is_usable(host)) {
    // Without a usable table there is no way to report anything.
    return nullptr;
  }
  try {
    nlohmann::json config;
    try {
      config = parse_buffer(config_json);
    } catch (const nlohmann::json::exception& e) {
      report_error(host, call, "invalid configuration: not valid JSON: ", e.what());
      return nullptr;
    }
    if (!config.is_object()) {
      report_error(host, call, "invalid configuration: expected a JSON object");
      return nullptr;
    }
    auto holder = std::make_unique<BackendHolder>(host);
    holder->backend = std::make_unique<B>(std::as_const(config), holder->host);
    return reinterpret_cast<osb_backend*>(holder.release());
  } catch (const ConfigError& e) {
    report_error(host, call, "invalid configuration: ", e.what());
  } catch (const std::exception& e) {
    report_error(host, call, e.what());
  } catch (...) {
    report_error(host, call, "the plugin failed with an exception that is not a std::exception");
  }
  return nullptr;
}

/// The destroy slot: deletes the holder and the backend in it.
inline void destroy_shim(osb_backend* handle) noexcept {
  delete holder_of(handle);
}

/// The entry point's body: hands out the table. Version checks are the host's job (it names both
/// versions in its message); create() refuses a host table it cannot use.
inline const osb_plugin_v1* plugin_entry(const osb_plugin_v1* table,
                                         const osb_host_v1* host) noexcept {
  return host == nullptr ? nullptr : table;
}

/// The static table of a plugin whose backend class is B.
template <class B>
constexpr osb_plugin_v1 make_plugin_table(const char* name, const char* version,
                                          const char* vendor) noexcept {
  static_assert(std::is_base_of_v<Backend, B>,
                "the plugin class must derive from osb::sdk::Backend");
  static_assert(std::is_constructible_v<B, const nlohmann::json&, Host&>,
                "the plugin class needs a constructor (const nlohmann::json&, osb::sdk::Host&)");
  return osb_plugin_v1{
      static_cast<std::uint32_t>(sizeof(osb_plugin_v1)),
      OSB_PLUGIN_ABI_VERSION_MAJOR,
      OSB_PLUGIN_ABI_VERSION_MINOR,
      name,
      version,
      vendor,
      &create_shim<B>,
      &destroy_shim,
      &catalog_shim,
      &operation_shim<ProvisionRequest, &Backend::provision>,
      &operation_shim<DeprovisionRequest, &Backend::deprovision>,
      &operation_shim<UpdateRequest, &Backend::update>,
      &operation_shim<BindRequest, &Backend::bind>,
      &operation_shim<UnbindRequest, &Backend::unbind>,
      &operation_shim<PollRequest, &Backend::poll>,
      &operation_shim<UsageRequest, &Backend::usage>,
  };
}

}  // namespace osb::sdk::detail
