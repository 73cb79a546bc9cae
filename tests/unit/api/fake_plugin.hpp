#pragma once

// A plugin built in the test from the public C ABI (osb/plugin_abi.h): its operation slots record
// every request and answer what the test scripted, through the host's set_result / set_error
// callbacks exactly as a loaded .so would.

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "osb/plugin_abi.h"
#include "plugin_host/plugin.hpp"

namespace osbd::test {

using plugin_host::Operation;

/// One scripted answer of a plugin operation.
struct Answer {
  osb_status status = OSB_STATUS_OK;  ///< returned by the slot
  nlohmann::json result;              ///< given to set_result unless null
  std::string error;                  ///< given to set_error unless empty

  /// Done, with this result.
  static Answer ok(nlohmann::json result = nlohmann::json::object());
  /// Accepted and running under this plugin token.
  static Answer in_progress(const std::string& token);
  /// Failed with this status and description.
  static Answer failure(osb_status status, const std::string& description);
  /// A poll answer: {"state": state, "description"?: description}.
  static Answer poll(const std::string& state, const std::string& description = "");
};

/// What the plugin was asked: one operation and its request JSON.
struct Call {
  Operation op;            ///< the slot called
  nlohmann::json request;  ///< the request the host sent
};

/// The fake backend and its osb_plugin_v1 table. Without a scripted answer an operation succeeds
/// (bind with credentials, usage with nothing to tell) and a poll says "in progress".
class FakePlugin {
 public:
  /// Ids of the fake catalog.
  static constexpr const char* kService = "svc-db";
  static constexpr const char* kSmallPlan = "plan-small";  ///< schemas, maintenance_info 1.0.0
  static constexpr const char* kLargePlan = "plan-large";
  static constexpr const char* kFixedPlan = "plan-fixed";            ///< plan_updateable false
  static constexpr const char* kUnbindablePlan = "plan-unbindable";  ///< bindable false
  static constexpr const char* kRotatablePlan = "plan-rotatable";    ///< binding_rotatable true
  static constexpr const char* kOtherService = "svc-cache";          ///< default catalog only
  static constexpr const char* kOtherPlan = "plan-cache";
  static constexpr const char* kName = "com.example.fake";

  /// The catalog get_catalog answers.
  static nlohmann::json catalog();

  FakePlugin();
  FakePlugin(const FakePlugin&) = delete;
  FakePlugin& operator=(const FakePlugin&) = delete;

  /// A host-side Plugin over this backend, built as load_plugin() builds one (host context and
  /// callback table from the core), minus the shared library. Must not outlive this object.
  plugin_host::PluginSharedPtr make_plugin();

  /// The next call of op answers a (answers queue up in order).
  void script(Operation op, Answer a);
  /// The next call of op runs hook first, on the calling thread (as the plugin's work would).
  void before_next(Operation op, std::function<void()> hook);
  /// Every call of op so far, oldest first.
  std::vector<Call> calls(Operation op) const;
  /// How many times op was called.
  std::size_t count(Operation op) const { return calls(op).size(); }

  /// The slot behind every operation of the table.
  osb_status answer(Operation op, osb_buffer request, osb_call* call) noexcept;

 private:
  Answer next(Operation op);

  osb_plugin_v1 table_{};
  const osb_host_v1* host_ = nullptr;
  mutable std::mutex mutex_;
  std::map<Operation, std::deque<Answer>> scripted_;
  std::map<Operation, std::function<void()>> hooks_;
  std::vector<Call> calls_;
};

}  // namespace osbd::test
