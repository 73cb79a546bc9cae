#pragma once

// Drives the built osb_object_storage.so through its C ABI, as osbd does, against the test
// gateway.

#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <osb/sdk/fake_host.hpp>

#include "names.hpp"
#include "plugin_harness.hpp"
#include "rgw_test_env.hpp"

namespace osbd_rgw_test {

/// The test catalog's service id.
inline constexpr const char* kService = "3c1d0f6e-52a4-4f1b-9e6a-7d2c8b9a0e11";
/// Plan "small": 1 MB and 3 objects.
inline constexpr const char* kSmall = "3c1d0f6e-0001-4000-8000-000000000001";
/// Plan "large": no quota.
inline constexpr const char* kLarge = "3c1d0f6e-0002-4000-8000-000000000002";
/// Plan "keep": no quota, non-empty buckets are not deleted.
inline constexpr const char* kKeep = "3c1d0f6e-0003-4000-8000-000000000003";

/// The plugin library, loaded once per process like osbd loads it.
inline const osb_sdk_test::LoadedLibrary& plugin_library() {
  static const osb_sdk_test::LoadedLibrary library(OSBD_OBJECT_STORAGE_PLUGIN);
  return library;
}

/// The plugin table for host.
inline const osb_plugin_v1& plugin_table(const osb::sdk::testing::FakeHost& host) {
  return osbd_plugin_test::plugin_table(plugin_library(), host);
}

/// The test configuration against env with prefix as name_prefix.
inline nlohmann::json test_config(const RgwEnv& env, const std::string& prefix) {
  return {{"endpoint", env.endpoint},
          {"region", env.region},
          {"admin_access_key", env.access_key},
          {"admin_secret_key", env.secret_key},
          {"name_prefix", prefix},
          {"timeout_seconds", 10},
          {"services",
           {{{"id", kService},
             {"name", "object-storage-test"},
             {"description", "S3 buckets for tests"},
             {"plans",
              {{{"id", kSmall},
                {"name", "small"},
                {"description", "1 MB, 3 objects"},
                {"max_size_mb", 1},
                {"max_objects", 3}},
               {{"id", kLarge}, {"name", "large"}, {"description", "no quota"}},
               {{"id", kKeep},
                {"name", "keep"},
                {"description", "keeps non-empty buckets"},
                {"delete_non_empty", false}}}}}}}};
}

/// What the shared fixtures need of this plugin and its gateway.
struct RgwSuite {
  using Env = RgwEnv;
  static Env env() { return rgw_env(); }
  static const char* service() { return kService; }
  static const char* default_plan() { return kLarge; }
  static const char* plugin() { return "org.osbd.object_storage"; }
  static const char* server() { return "rgw"; }
  static std::string describe(const Env& env) { return "Ceph RGW at " + env.endpoint; }
  static std::string unreachable_reason(const Env& env) {
    return osbd_rgw_test::unreachable_reason(env);
  }
  static std::string unique_prefix() { return osbd_rgw_test::unique_prefix(); }
  static void drop_everything(const Env& env, const std::string& prefix) {
    remove_everything(env, prefix);
  }
};

/// A backend of the real plugin with a name prefix of its own; removes whatever it left.
class ObjectStoragePlugin : public osbd_plugin_test::ServerTest<RgwSuite> {
 protected:
  /// Skips (or, under CI, fails) without a gateway; creates the backend.
  void SetUp() override {
    ServerTest::SetUp();
    if (prefix_.empty()) {
      return;
    }
    backend_ = std::make_unique<osb::sdk::testing::BackendHandle>(host_, plugin_table(host_),
                                                                  test_config(env_, prefix_));
  }

  /// Destroys the backend and removes whatever the test left on the server.
  void TearDown() override {
    backend_.reset();
    ServerTest::TearDown();
  }

  /// Provisions instance on plan with parameters.
  osb::sdk::testing::CallRecord provision(const std::string& instance, const char* plan = kLarge,
                                          nlohmann::json parameters = nlohmann::json::object()) {
    return backend_->provision(
        osbd_plugin_test::with(osbd_plugin_test::instance_request(instance, kService, plan),
                               "parameters", std::move(parameters)));
  }

  /// Provisions and returns the instance_state; fails the test when it does not work.
  nlohmann::json provision_ok(const std::string& instance, const char* plan = kLarge,
                              nlohmann::json parameters = nlohmann::json::object()) {
    return osbd_plugin_test::ok_member(provision(instance, plan, std::move(parameters)),
                                       "instance_state");
  }

  /// Binds binding to instance with parameters.
  osb::sdk::testing::CallRecord bind(const std::string& instance, const std::string& binding,
                                     nlohmann::json parameters = nlohmann::json::object(),
                                     const char* plan = kLarge) {
    return backend_->bind(
        osbd_plugin_test::with(osbd_plugin_test::binding_request(instance, binding, kService, plan),
                               "parameters", std::move(parameters)));
  }

  /// Binds and returns the credentials; fails the test when it does not work.
  nlohmann::json bind_ok(const std::string& instance, const std::string& binding,
                         nlohmann::json parameters = nlohmann::json::object(),
                         const char* plan = kLarge) {
    return osbd_plugin_test::ok_member(bind(instance, binding, std::move(parameters), plan),
                                       "credentials");
  }

  /// Unbinds binding from instance.
  osb::sdk::testing::CallRecord unbind(const std::string& instance, const std::string& binding,
                                       const char* plan = kLarge) {
    return backend_->unbind(osbd_plugin_test::binding_request(instance, binding, kService, plan));
  }

  /// Deprovisions instance (whose state is state).
  osb::sdk::testing::CallRecord deprovision(const std::string& instance, const char* plan = kLarge,
                                            const nlohmann::json& state = nullptr) {
    return backend_->deprovision(osbd_plugin_test::with(
        osbd_plugin_test::instance_request(instance, kService, plan), "instance_state", state));
  }

  /// Every log line of the plugin so far, one per line.
  std::string log_text() const { return osbd_plugin_test::log_text(host_); }

  osb::sdk::testing::FakeHost host_;                           ///< records the plugin's log lines
  std::unique_ptr<osb::sdk::testing::BackendHandle> backend_;  ///< the backend under test
};

}  // namespace osbd_rgw_test
