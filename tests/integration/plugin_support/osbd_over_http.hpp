#pragma once

// Runs the real osbd binary with one plugin and calls its OSB routes over HTTP.

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "broker_process.hpp"
#include "http_client.hpp"
#include "server_env.hpp"

namespace osbd_plugin_test {

/// A test of osbd running the plugin of Suite (see ServerTest; also
///   static const char* plugin() (its name in osbd's configuration), static const char*
///   service() and static const char* default_plan()):
/// SetUp() starts osbd with the plugin configured by osbd_config(), TearDown() stops it and
/// drops what the test left.
template <typename Suite>
class OsbdTest : public ServerTest<Suite> {
 protected:
  using json = nlohmann::json;
  using verb = boost::beast::http::verb;

  /// Skips (or, under CI, fails) without a server; starts osbd.
  void SetUp() override {
    ServerTest<Suite>::SetUp();
    if (this->prefix_.empty()) {
      return;
    }
    start_osbd(Suite::plugin(), osbd_config());
  }

  /// Stops osbd and drops whatever the test left on the server.
  void TearDown() override {
    broker_.reset();
    ServerTest<Suite>::TearDown();
  }

  /// The plugin's configuration in osbd (may name files of secret_file()).
  virtual json osbd_config() = 0;
  /// More of osbd's configuration (say, catalogs), appended to it.
  virtual std::string extra_yaml() { return ""; }

  /// Starts osbd with the plugins of OSBD_PLUGIN_DIR, plugin configured with config.
  void start_osbd(const std::string& plugin, const json& config) {
    osbd::test::BrokerSetup setup;
    setup.plugin_dir = OSBD_PLUGIN_DIR;  // the example plugin, this one and the others built
    // JSON is YAML flow style: the plugin gets exactly this object.
    setup.plugins_yaml = "plugins:\n  " + plugin + ": " + config.dump() + "\n";
    setup.extra_yaml = extra_yaml();
    broker_ = std::make_unique<osbd::test::BrokerProcess>(setup);
    broker_->start();
  }

  /// Writes secret (and a newline) to a file of its own named name; returns its path.
  std::string secret_file(const std::string& name, const std::string& secret) {
    const std::string path = secrets_.path() + "/" + name;
    std::ofstream(path) << secret << "\n";
    return path;
  }

  /// Calls osbd's route target with method (with the broker's credentials and API version) and
  /// body as JSON unless it is null.
  osbd::test::HttpResult call(verb method, const std::string& target, const json& body = nullptr,
                              const std::string& user = osbd::test::BrokerProcess::kUser,
                              const std::string& password = osbd::test::BrokerProcess::kPassword) {
    std::map<std::string, std::string> headers = {
        {"Authorization", osbd::test::basic_auth(user, password)},
        {"X-Broker-API-Version", "2.17"}};
    std::string text;
    if (!body.is_null()) {
      text = body.dump();
      headers.emplace("Content-Type", "application/json");
    }
    return osbd::test::http_request(broker_->port(), method, target, text, headers);
  }

  /// Expects osbd's catalog to answer (a fatal failure when it does not) and to offer the
  /// plugin's service; call it in ASSERT_NO_FATAL_FAILURE.
  void expect_service_in_catalog() {
    auto catalog = call(verb::get, "/v2/catalog");
    ASSERT_EQ(catalog.status, 200u) << catalog.body;
    bool found = false;
    const json services = catalog.json()["services"];
    for (const json& service : services) {
      found = found || service["id"] == Suite::service();
    }
    EXPECT_TRUE(found) << catalog.body;
  }

  /// The route of instance id.
  static std::string instance(const std::string& id) { return "/v2/service_instances/" + id; }
  /// The route of binding bid of instance iid.
  static std::string binding(const std::string& iid, const std::string& bid) {
    return instance(iid) + "/service_bindings/" + bid;
  }
  /// The query string naming the service and plan.
  static std::string query(const char* plan = Suite::default_plan()) {
    return std::string("?service_id=") + Suite::service() + "&plan_id=" + plan;
  }
  /// The body of a provision of plan with parameters.
  static json provision_body(const char* plan = Suite::default_plan(),
                             json parameters = json::object()) {
    return {{"service_id", Suite::service()},
            {"plan_id", plan},
            {"organization_guid", "org-1"},
            {"space_guid", "space-1"},
            {"parameters", std::move(parameters)}};
  }
  /// The body of a bind on plan.
  static json bind_body(const char* plan = Suite::default_plan()) {
    return {{"service_id", Suite::service()}, {"plan_id", plan}, {"app_guid", "app-1"}};
  }
  /// Every byte of text percent-encoded (for hostile ids in a route).
  static std::string percent_encoded(const std::string& text) {
    std::string encoded;
    for (unsigned char c : text) {
      char buffer[4];
      std::snprintf(buffer, sizeof buffer, "%%%02X", c);
      encoded += buffer;
    }
    return encoded;
  }

  osbd::test::TempDir secrets_;                        ///< secret files given to the plugin
  std::unique_ptr<osbd::test::BrokerProcess> broker_;  ///< osbd
};

}  // namespace osbd_plugin_test
