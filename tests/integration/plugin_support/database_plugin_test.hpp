#pragma once

// The fixture of the database plugins' backend tests: the real plugin .so with a name prefix of
// its own per test, its calls with an instance_state, and a cleanup of whatever a test left.

#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <osb/sdk/fake_host.hpp>

#include "plugin_harness.hpp"
#include "server_env.hpp"

namespace osbd_plugin_test {

/// config with one more server "down" (down: a server entry of config's kind, sent where
/// nothing listens): first of the servers of the first plan, the only one of the second.
inline nlohmann::json with_down_server(nlohmann::json config, nlohmann::json down) {
  down["host"] = "127.0.0.1";
  down["port"] = 1;  // nothing listens there
  down["connect_timeout_seconds"] = 2;
  config["servers"].push_back(down);
  config["services"][0]["plans"][0]["servers"] = {"down", "main"};
  config["services"][0]["plans"][1]["servers"] = {"down"};
  return config;
}

/// Suite describes one plugin and its server: what ServerTest needs, and
///   static const char* service(); static const char* default_plan();
///   static nlohmann::json test_config(const Env&, const std::string& prefix);
///   static const osb_plugin_v1& plugin_table(const osb::sdk::testing::FakeHost&).
template <typename Suite>
class DatabasePluginTest : public ServerTest<Suite> {
 protected:
  /// Skips (or, under CI, fails) without a server; creates the backend.
  void SetUp() override {
    ServerTest<Suite>::SetUp();
    if (this->prefix_.empty()) {
      return;
    }
    backend_ = std::make_unique<osb::sdk::testing::BackendHandle>(host_, Suite::plugin_table(host_),
                                                                  config());
  }

  /// Destroys the backend and drops whatever the test left on the server.
  void TearDown() override {
    backend_.reset();
    ServerTest<Suite>::TearDown();
  }

  /// The configuration the backend is created with; tests may override.
  virtual nlohmann::json config() { return Suite::test_config(this->env_, this->prefix_); }

  /// Provisions instance on plan with parameters.
  osb::sdk::testing::CallRecord provision(const std::string& instance,
                                          const char* plan = Suite::default_plan(),
                                          nlohmann::json parameters = nlohmann::json::object()) {
    return backend_->provision(with(instance_request(instance, Suite::service(), plan),
                                    "parameters", std::move(parameters)));
  }

  /// Provisions and returns the instance_state; fails the test when it does not work.
  nlohmann::json provision_ok(const std::string& instance, const char* plan = Suite::default_plan(),
                              nlohmann::json parameters = nlohmann::json::object()) {
    return ok_member(provision(instance, plan, std::move(parameters)), "instance_state");
  }

  /// Binds binding to instance (whose state is state).
  osb::sdk::testing::CallRecord bind(const std::string& instance, const std::string& binding,
                                     const nlohmann::json& state = nullptr,
                                     const char* plan = Suite::default_plan()) {
    return backend_->bind(
        with(binding_request(instance, binding, Suite::service(), plan), "instance_state", state));
  }

  /// Binds and returns the credentials; fails the test when it does not work.
  nlohmann::json bind_ok(const std::string& instance, const std::string& binding,
                         const nlohmann::json& state = nullptr,
                         const char* plan = Suite::default_plan()) {
    return ok_member(bind(instance, binding, state, plan), "credentials");
  }

  /// Unbinds binding from instance.
  osb::sdk::testing::CallRecord unbind(const std::string& instance, const std::string& binding,
                                       const nlohmann::json& state = nullptr,
                                       const char* plan = Suite::default_plan()) {
    return backend_->unbind(
        with(binding_request(instance, binding, Suite::service(), plan), "instance_state", state));
  }

  /// Deprovisions instance.
  osb::sdk::testing::CallRecord deprovision(const std::string& instance,
                                            const nlohmann::json& state = nullptr,
                                            const char* plan = Suite::default_plan()) {
    return backend_->deprovision(
        with(instance_request(instance, Suite::service(), plan), "instance_state", state));
  }

  osb::sdk::testing::FakeHost host_;                           ///< records the plugin's log lines
  std::unique_ptr<osb::sdk::testing::BackendHandle> backend_;  ///< the backend under test
};

}  // namespace osbd_plugin_test
