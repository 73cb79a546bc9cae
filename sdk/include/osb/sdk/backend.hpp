#pragma once

#include <nlohmann/json.hpp>

#include "osb/sdk/requests.hpp"
#include "osb/sdk/result.hpp"

namespace osb::sdk {

/// The class a vendor derives from, one object per configured plugin. The derived class needs a
/// constructor (const nlohmann::json& config, Host& host) that throws ConfigError on bad
/// configuration. Operations are called concurrently from several threads and must be
/// thread-safe; construction and destruction are never concurrent with anything else. Throwing
/// from an operation is allowed (the result is OSB_STATUS_INTERNAL_ERROR with the exception's
/// message) but expected failures should be returned as a Result.
class Backend {
 public:
  /// Backends are neither copied nor moved; the host holds them by pointer.
  Backend() = default;
  /// Not copyable.
  Backend(const Backend&) = delete;
  /// Not assignable.
  Backend& operator=(const Backend&) = delete;
  /// Releases the backend; must not throw.
  virtual ~Backend() = default;

  /// The catalog this backend contributes: {"services": [...]}. Ids must be fixed GUIDs.
  virtual nlohmann::json catalog() = 0;

  /// Creates an instance. Result body: {dashboard_url?, metadata?, instance_state?}.
  virtual Result provision(const ProvisionRequest& request) = 0;

  /// Deletes an instance; must succeed for unknown or half-created instances.
  virtual Result deprovision(const DeprovisionRequest& request) = 0;

  /// Changes plan or parameters. Result body: {dashboard_url?, instance_state?}.
  virtual Result update(const UpdateRequest& request) {
    (void)request;
    return Result::unprocessable("updating instances is not supported by this service");
  }

  /// Creates a binding. Result body: {credentials?, endpoints?, syslog_drain_url?,
  /// route_service_url?, volume_mounts?, metadata?, binding_state?}.
  virtual Result bind(const BindRequest& request) {
    (void)request;
    return Result::unprocessable("bindings are not supported by this service");
  }

  /// Deletes a binding; must succeed for unknown or half-created bindings.
  virtual Result unbind(const UnbindRequest& request) {
    (void)request;
    return Result::ok();
  }

  /// Reports the state of an operation that returned in_progress; see PollResult.
  virtual Result poll(const PollRequest& request) {
    (void)request;
    return PollResult::failed("this service has no asynchronous operations");
  }

  /// What an instance uses (ABI 1.1): storage, objects, quota and whether it is enforced. Result
  /// body, every field optional: {bytes, objects, quota_bytes, quota_objects, over_quota,
  /// description}. Must be cheap and must not change anything; the default tells nothing.
  virtual Result usage(const UsageRequest& request) {
    (void)request;
    return Result::ok();
  }
};

}  // namespace osb::sdk
