#pragma once

// Drives the built osb_mysql.so through its C ABI, as osbd does, against the test server.

#include <memory>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <osb/sdk/fake_host.hpp>

#include "loaded_library.hpp"
#include "mysql_test_env.hpp"

namespace osbd_mysql_test {

/// The test catalog's service id.
inline constexpr const char* kService = "6a1e9f3c-2b7d-4c8e-9f01-3d5e7a9b1c2d";
/// Plan "small": 3 connections per binding, no quota.
inline constexpr const char* kSmall = "b2c3d4e5-0001-4000-8000-000000000001";
/// Plan "large": 10 connections per binding, no quota.
inline constexpr const char* kLarge = "b2c3d4e5-0002-4000-8000-000000000002";
/// Plan "quota": 1 MB storage quota (an empty table takes 16 KB).
inline constexpr const char* kQuota = "b2c3d4e5-0003-4000-8000-000000000003";
/// Plan "bare": no limits.
inline constexpr const char* kBare = "b2c3d4e5-0004-4000-8000-000000000004";

/// The plugin library, loaded once per process like osbd loads it.
inline const osb_sdk_test::LoadedLibrary& plugin_library() {
  static const osb_sdk_test::LoadedLibrary library(OSBD_MYSQL_PLUGIN);
  return library;
}

/// The plugin table for host.
inline const osb_plugin_v1& plugin_table(const osb::sdk::testing::FakeHost& host) {
  const osb_plugin_entry_fn entry = plugin_library().entry();
  if (entry == nullptr) {
    throw std::runtime_error("osb_plugin_entry missing");
  }
  const osb_plugin_v1* table = entry(host.table());
  if (table == nullptr) {
    throw std::runtime_error("osb_plugin_entry returned NULL");
  }
  return *table;
}

/// One plan entry of the test configuration.
inline nlohmann::json plan_config(const char* id, const char* name, int max_user_connections,
                                  int quota_mb) {
  return {{"id", id},
          {"name", name},
          {"description", std::string("test plan ") + name},
          {"servers", {"main"}},
          {"max_user_connections", max_user_connections},
          {"quota_mb", quota_mb}};
}

/// The test configuration: one server "main" at env, the four plans, prefix as name_prefix.
inline nlohmann::json test_config(const MysqlEnv& env, const std::string& prefix) {
  return {{"name_prefix", prefix},
          {"quota_check_seconds", 1},
          {"servers", {server_config("main", env)}},
          {"services",
           {{{"id", kService},
             {"name", "mysql-test"},
             {"description", "MySQL databases for tests"},
             {"plans",
              {plan_config(kSmall, "small", 3, 0), plan_config(kLarge, "large", 10, 0),
               plan_config(kQuota, "quota", 10, 1), plan_config(kBare, "bare", 0, 0)}}}}}};
}

/// Drops every database and user on env whose name starts with prefix.
inline void drop_everything(const MysqlEnv& env, const std::string& prefix) {
  auto connection = admin(env);
  for (const std::string& db : databases_with_prefix(env, prefix)) {
    exec(*connection, "DROP DATABASE IF EXISTS `" + db + "`");
  }
  for (const auto& row : rows_of(*connection,
                                 "SELECT User, Host FROM mysql.user "
                                 "WHERE LEFT(User, CHAR_LENGTH(?)) = ?",
                                 {prefix, prefix})) {
    exec(*connection, "DROP USER IF EXISTS '" + row[0] + "'@'" + row[1] + "'");
  }
}

/// A connection with a binding's credentials to its database (or to database when given);
/// throws sql::SQLException when the login fails.
inline std::unique_ptr<sql::Connection> login(const nlohmann::json& credentials,
                                              const std::string& database = "") {
  return connect(credentials.at("host"), credentials.at("port"), credentials.at("username"),
                 credentials.at("password"),
                 database.empty() ? credentials.at("name").get<std::string>() : database);
}

/// True when credentials log in.
inline bool can_login(const nlohmann::json& credentials) {
  try {
    login(credentials);
    return true;
  } catch (const sql::SQLException&) {
    return false;
  }
}

/// Runs sql as the binding of credentials in its database; returns the rows.
inline std::vector<std::vector<std::string>> run_as(const nlohmann::json& credentials,
                                                    const std::string& sql) {
  auto connection = login(credentials);
  return rows_of(*connection, sql);
}

/// A backend of the real plugin with a name prefix of its own; drops whatever it left behind.
class PluginTest : public ::testing::Test {
 protected:
  /// Skips (or, under CI, fails) without a server; creates the backend.
  void SetUp() override {
    OSBD_REQUIRE_MYSQL(env_);
    prefix_ = unique_prefix();
    backend_ =
        std::make_unique<osb::sdk::testing::BackendHandle>(host_, plugin_table(host_), config());
  }

  /// Destroys the backend and drops whatever the test left on the server.
  void TearDown() override {
    backend_.reset();
    if (!prefix_.empty() && unreachable_reason(env_).empty()) {
      drop_everything(env_, prefix_);
    }
  }

  /// The configuration the backend is created with; tests may override.
  virtual nlohmann::json config() { return test_config(env_, prefix_); }

  /// Provisions instance on plan with parameters.
  osb::sdk::testing::CallRecord provision(const std::string& instance, const char* plan = kSmall,
                                          nlohmann::json parameters = nlohmann::json::object()) {
    return backend_->provision({{"instance_id", instance},
                                {"service_id", kService},
                                {"plan_id", plan},
                                {"parameters", std::move(parameters)}});
  }

  /// Provisions and returns the instance_state; fails the test when it does not work.
  nlohmann::json provision_ok(const std::string& instance, const char* plan = kSmall) {
    auto call = provision(instance, plan);
    EXPECT_EQ(call.status, OSB_STATUS_OK) << call.error.value_or("");
    return call.ok() ? call.json().value("instance_state", nlohmann::json()) : nlohmann::json();
  }

  /// Binds binding to instance (whose state is state).
  osb::sdk::testing::CallRecord bind(const std::string& instance, const std::string& binding,
                                     const nlohmann::json& state = nullptr,
                                     const char* plan = kSmall) {
    return backend_->bind({{"instance_id", instance},
                           {"binding_id", binding},
                           {"service_id", kService},
                           {"plan_id", plan},
                           {"instance_state", state}});
  }

  /// Binds and returns the credentials; fails the test when it does not work.
  nlohmann::json bind_ok(const std::string& instance, const std::string& binding,
                         const nlohmann::json& state = nullptr, const char* plan = kSmall) {
    auto call = bind(instance, binding, state, plan);
    EXPECT_EQ(call.status, OSB_STATUS_OK) << call.error.value_or("");
    return call.ok() ? call.json().value("credentials", nlohmann::json()) : nlohmann::json();
  }

  /// Unbinds binding from instance.
  osb::sdk::testing::CallRecord unbind(const std::string& instance, const std::string& binding,
                                       const nlohmann::json& state = nullptr,
                                       const char* plan = kSmall) {
    return backend_->unbind({{"instance_id", instance},
                             {"binding_id", binding},
                             {"service_id", kService},
                             {"plan_id", plan},
                             {"instance_state", state}});
  }

  /// Deprovisions instance.
  osb::sdk::testing::CallRecord deprovision(const std::string& instance,
                                            const nlohmann::json& state = nullptr,
                                            const char* plan = kSmall) {
    return backend_->deprovision({{"instance_id", instance},
                                  {"service_id", kService},
                                  {"plan_id", plan},
                                  {"instance_state", state}});
  }

  MysqlEnv env_ = mysql_env();        ///< the server
  std::string prefix_;                ///< this test's name_prefix ("" when skipped)
  osb::sdk::testing::FakeHost host_;  ///< records the plugin's log lines
  std::unique_ptr<osb::sdk::testing::BackendHandle> backend_;  ///< the backend under test
};

}  // namespace osbd_mysql_test
