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

namespace osbd_plugin_test {

/// A test of osbd running one plugin: starts it, calls its routes, stops it in TearDown().
class OsbdTest : public ::testing::Test {
 protected:
  using json = nlohmann::json;
  using verb = boost::beast::http::verb;

  /// Starts osbd with the plugins of OSBD_PLUGIN_DIR, plugin configured with config.
  void start_osbd(const std::string& plugin, const json& config) {
    osbd::test::BrokerSetup setup;
    setup.plugin_dir = OSBD_PLUGIN_DIR;  // the example plugin, this one and the others built
    // JSON is YAML flow style: the plugin gets exactly this object.
    setup.plugins_yaml = "plugins:\n  " + plugin + ": " + config.dump() + "\n";
    broker_ = std::make_unique<osbd::test::BrokerProcess>(setup);
    broker_->start();
  }

  /// Stops osbd.
  void TearDown() override { broker_.reset(); }

  /// Writes secret (and a newline) to a file of its own named name; returns its path.
  std::string secret_file(const std::string& name, const std::string& secret) {
    const std::string path = secrets_.path() + "/" + name;
    std::ofstream(path) << secret << "\n";
    return path;
  }

  /// Calls osbd's route target with method (with the broker's credentials and API version) and
  /// body as JSON unless it is null.
  osbd::test::HttpResult call(verb method, const std::string& target, const json& body = nullptr) {
    std::map<std::string, std::string> headers = {
        {"Authorization", osbd::test::basic_auth(osbd::test::BrokerProcess::kUser,
                                                 osbd::test::BrokerProcess::kPassword)},
        {"X-Broker-API-Version", "2.17"}};
    std::string text;
    if (!body.is_null()) {
      text = body.dump();
      headers.emplace("Content-Type", "application/json");
    }
    return osbd::test::http_request(broker_->port(), method, target, text, headers);
  }

  /// The route of instance id.
  static std::string instance(const std::string& id) { return "/v2/service_instances/" + id; }
  /// The route of binding bid of instance iid.
  static std::string binding(const std::string& iid, const std::string& bid) {
    return instance(iid) + "/service_bindings/" + bid;
  }
  /// The query string naming service and plan.
  static std::string query(const char* service, const char* plan) {
    return std::string("?service_id=") + service + "&plan_id=" + plan;
  }
  /// The body of a provision of service's plan with parameters.
  static json provision_body(const char* service, const char* plan, json parameters) {
    return {{"service_id", service},
            {"plan_id", plan},
            {"organization_guid", "org-1"},
            {"space_guid", "space-1"},
            {"parameters", std::move(parameters)}};
  }
  /// The body of a bind on service's plan.
  static json bind_body(const char* service, const char* plan) {
    return {{"service_id", service}, {"plan_id", plan}, {"app_guid", "app-1"}};
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
