#pragma once

#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "osb/plugin_abi.h"
#include "osb/sdk/requests.hpp"

// An in-process stand-in for the osbd host, for unit tests of plugins: it provides an
// osb_host_v1 table, records what a call reported, and drives a plugin through its C table
// exactly as the broker does. Link the plugin's sources (including OSB_DECLARE_PLUGIN) into the
// test and pass osb_plugin_entry(host.table()) to BackendHandle, or load the built .so.

namespace osb::sdk::testing {

/// What one call reported through the host callbacks.
struct CallRecord {
  osb_status status = OSB_STATUS_INTERNAL_ERROR;  ///< the function's return value
  std::optional<std::string> result;              ///< text given to set_result, if any
  std::optional<std::string> error;               ///< text given to set_error, if any

  /// The result parsed as JSON; throws std::runtime_error when no result was set.
  nlohmann::json json() const {
    if (!result) {
      throw std::runtime_error("the call set no result" + (error ? ": " + *error : std::string()));
    }
    return nlohmann::json::parse(*result);
  }

  /// True for OSB_STATUS_OK.
  bool ok() const noexcept { return status == OSB_STATUS_OK; }
};

/// One line the plugin logged.
struct LogRecord {
  osb_log_level level;  ///< severity
  std::string message;  ///< the text
};

/// A host table whose callbacks record into CallRecord objects and an in-memory log. Thread-safe;
/// neither copyable nor movable because the table points back at it.
class FakeHost {
 public:
  /// Builds a table of the current ABI version.
  FakeHost() noexcept {
    table_.struct_size = static_cast<std::uint32_t>(sizeof(osb_host_v1));
    table_.abi_major = OSB_PLUGIN_ABI_VERSION_MAJOR;
    table_.abi_minor = OSB_PLUGIN_ABI_VERSION_MINOR;
    table_.context = reinterpret_cast<osb_host_context*>(this);
    table_.log = &FakeHost::log_callback;
    table_.set_result = &FakeHost::set_result_callback;
    table_.set_error = &FakeHost::set_error_callback;
  }
  /// Not copyable.
  FakeHost(const FakeHost&) = delete;
  /// Not assignable.
  FakeHost& operator=(const FakeHost&) = delete;
  /// Nothing to release.
  ~FakeHost() = default;

  /// The table to hand to osb_plugin_entry and create().
  const osb_host_v1* table() const noexcept { return &table_; }

  /// The table, writable, to imitate other host versions in tests.
  osb_host_v1& mutable_table() noexcept { return table_; }

  /// Everything logged so far.
  std::vector<LogRecord> logs() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return logs_;
  }

  /// Calls an operation slot with request_json and returns what it reported.
  CallRecord call(osb_operation_fn fn, osb_backend* backend, std::string_view request_json) const {
    CallRecord record;
    record.status =
        fn(backend, osb_buffer{request_json.data(), request_json.size()}, call_handle(record));
    return record;
  }

  /// Calls create() with config; returns the backend (NULL on failure) and fills record.
  osb_backend* create(const osb_plugin_v1& plugin, std::string_view config_json,
                      CallRecord& record) const {
    osb_backend* backend = plugin.create(
        &table_, osb_buffer{config_json.data(), config_json.size()}, call_handle(record));
    record.status = backend != nullptr ? OSB_STATUS_OK : OSB_STATUS_INTERNAL_ERROR;
    return backend;
  }

  /// The osb_call handle under which callbacks write into record.
  static osb_call* call_handle(CallRecord& record) noexcept {
    return reinterpret_cast<osb_call*>(&record);
  }

 private:
  static void log_callback(osb_host_context* context, osb_log_level level, osb_buffer message) {
    auto* self = reinterpret_cast<FakeHost*>(context);
    std::lock_guard<std::mutex> lock(self->mutex_);
    self->logs_.push_back({level, std::string(message.data, message.size)});
  }

  static void set_result_callback(osb_call* call, osb_buffer json) {
    reinterpret_cast<CallRecord*>(call)->result = std::string(json.data, json.size);
  }

  static void set_error_callback(osb_call* call, osb_buffer description) {
    reinterpret_cast<CallRecord*>(call)->error = std::string(description.data, description.size);
  }

  osb_host_v1 table_{};
  mutable std::mutex mutex_;
  std::vector<LogRecord> logs_;
};

/// A backend created through a plugin table and destroyed with the handle, with one method per
/// operation. Calls are as thread-safe as the plugin is.
class BackendHandle {
 public:
  /// Creates a backend from config; throws std::runtime_error with the plugin's description if
  /// create() fails.
  BackendHandle(const FakeHost& host, const osb_plugin_v1& plugin,
                const nlohmann::json& config = nlohmann::json::object())
      : host_(host), plugin_(plugin) {
    CallRecord record;
    const std::string text = config.dump();
    backend_ = host_.create(plugin_, text, record);
    if (backend_ == nullptr) {
      throw std::runtime_error("create failed: " + record.error.value_or("(no description)"));
    }
  }
  /// Not copyable.
  BackendHandle(const BackendHandle&) = delete;
  /// Not assignable.
  BackendHandle& operator=(const BackendHandle&) = delete;
  /// Destroys the backend.
  ~BackendHandle() { plugin_.destroy(backend_); }

  /// The opaque backend handle.
  osb_backend* get() const noexcept { return backend_; }

  /// Calls get_catalog.
  CallRecord catalog() const { return host_.call(plugin_.get_catalog, backend_, "{}"); }
  /// Calls provision with request.
  CallRecord provision(const nlohmann::json& request) const {
    return send(plugin_.provision, request);
  }
  /// Calls deprovision with request.
  CallRecord deprovision(const nlohmann::json& request) const {
    return send(plugin_.deprovision, request);
  }
  /// Calls update with request.
  CallRecord update(const nlohmann::json& request) const { return send(plugin_.update, request); }
  /// Calls bind with request.
  CallRecord bind(const nlohmann::json& request) const { return send(plugin_.bind, request); }
  /// Calls unbind with request.
  CallRecord unbind(const nlohmann::json& request) const { return send(plugin_.unbind, request); }
  /// Calls poll with request.
  CallRecord poll(const nlohmann::json& request) const { return send(plugin_.poll, request); }
  /// Calls usage with request (ABI 1.1).
  CallRecord usage(const nlohmann::json& request) const {
    return send(plugin_.instance_usage, request);
  }

 private:
  CallRecord send(osb_operation_fn fn, const nlohmann::json& request) const {
    const std::string text = request.dump();
    return host_.call(fn, backend_, text);
  }

  const FakeHost& host_;
  const osb_plugin_v1& plugin_;
  osb_backend* backend_ = nullptr;
};

}  // namespace osb::sdk::testing
