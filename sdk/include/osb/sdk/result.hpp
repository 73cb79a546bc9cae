#pragma once

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "osb/plugin_abi.h"

namespace osb::sdk {

/// Outcome of a backend operation: a status, the JSON body handed to set_result (for OK and
/// IN_PROGRESS) and the description handed to set_error (for every other status).
class [[nodiscard]] Result {
 public:
  /// Done. body is the operation's result object, e.g. {"credentials": {...}} for bind.
  static Result ok(nlohmann::json body = nlohmann::json::object()) {
    return Result(OSB_STATUS_OK, std::move(body), {});
  }

  /// Accepted and still running; operation is the token the host hands back to poll(). extra
  /// holds further result fields (an object) and is merged with {"operation": operation}.
  static Result in_progress(std::string operation,
                            nlohmann::json extra = nlohmann::json::object()) {
    if (extra.is_null()) {
      extra = nlohmann::json::object();
    }
    if (extra.is_object()) {
      extra["operation"] = std::move(operation);
    }
    return Result(OSB_STATUS_IN_PROGRESS, std::move(extra), {});
  }

  /// The request or its parameters are invalid (HTTP 400); nothing was changed.
  static Result bad_request(std::string description) {
    return failure(OSB_STATUS_BAD_REQUEST, std::move(description));
  }

  /// Valid, but cannot be done for this instance or plan (HTTP 422); nothing was changed.
  static Result unprocessable(std::string description) {
    return failure(OSB_STATUS_UNPROCESSABLE, std::move(description));
  }

  /// The plan works only asynchronously and accepts_incomplete was false (422 AsyncRequired).
  static Result async_required(std::string description) {
    return failure(OSB_STATUS_ASYNC_REQUIRED, std::move(description));
  }

  /// The binding needs an app_guid that the request lacks (422 RequiresApp).
  static Result requires_app(std::string description) {
    return failure(OSB_STATUS_REQUIRES_APP, std::move(description));
  }

  /// The backend failed or is unreachable; the host may retry.
  static Result backend_error(std::string description) {
    return failure(OSB_STATUS_BACKEND_ERROR, std::move(description));
  }

  /// A bug or unexpected condition inside the plugin.
  static Result internal_error(std::string description) {
    return failure(OSB_STATUS_INTERNAL_ERROR, std::move(description));
  }

  /// The status reported to the host.
  osb_status status() const noexcept { return status_; }
  /// The result object (meaningful for OK and IN_PROGRESS).
  const nlohmann::json& body() const noexcept { return body_; }
  /// The user-facing error description (meaningful for error statuses).
  const std::string& description() const noexcept { return description_; }
  /// True for OK and IN_PROGRESS, the statuses that carry a result instead of an error.
  bool succeeded() const noexcept {
    return status_ == OSB_STATUS_OK || status_ == OSB_STATUS_IN_PROGRESS;
  }

 private:
  Result(osb_status status, nlohmann::json body, std::string description)
      : status_(status), body_(std::move(body)), description_(std::move(description)) {}

  static Result failure(osb_status status, std::string description) {
    return Result(status, nlohmann::json::object(), std::move(description));
  }

  osb_status status_;
  nlohmann::json body_;
  std::string description_;
};

/// Results of poll(). A poll that determined the operation's state returns OSB_STATUS_OK with
/// {"state": ..., "description"?: ...}; an error status from poll() means the state could not
/// be determined at all (for example the backend is unreachable).
struct PollResult {
  PollResult() = delete;

  /// The operation is still running; description (optional) is shown to the user.
  static Result in_progress(std::string description = {}) {
    return Result::ok(with_description({{"state", "in progress"}}, std::move(description)));
  }

  /// The operation finished. fields are what the synchronous call would have returned, e.g.
  /// {"credentials": ...} for bind or {"instance_state": ...} for provision.
  static Result succeeded(nlohmann::json fields = nlohmann::json::object(),
                          std::string description = {}) {
    if (!fields.is_object()) {
      fields = nlohmann::json::object();
    }
    fields["state"] = "succeeded";
    return Result::ok(with_description(std::move(fields), std::move(description)));
  }

  /// The operation failed for good; description tells the user why.
  static Result failed(std::string description) {
    return Result::ok(with_description({{"state", "failed"}}, std::move(description)));
  }

 private:
  static nlohmann::json with_description(nlohmann::json body, std::string description) {
    if (!description.empty()) {
      body["description"] = std::move(description);
    }
    return body;
  }
};

}  // namespace osb::sdk
