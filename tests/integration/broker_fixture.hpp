#pragma once

// The fixture shared by the HTTP-level suites: one osbd with the example plugin per test, and
// helpers for the OSB bodies and routes of the example service.

#include <chrono>
#include <map>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "broker_process.hpp"
#include "http_client.hpp"

namespace osbd::test {

using nlohmann::json;
namespace http = boost::beast::http;

constexpr const char* kService = "9bf6d9ad-db1c-479b-ba8e-648564c66a55";
constexpr const char* kSyncPlan = "700556d0-4a22-4ed7-8a5c-004d693b5286";
constexpr const char* kAsyncPlan = "234546ec-7332-4da8-86fd-58acefc3580b";

/// Requests to a running osbd as the platform does them: Basic credentials, API version 2.17,
/// JSON bodies.
class PlatformClient {
 public:
  /// Talks to broker, which must be started.
  explicit PlatformClient(const BrokerProcess& broker) : broker_(broker) {}

  /// One request; extra headers are added to (or replace) the platform's.
  HttpResult operator()(http::verb method, const std::string& target, const std::string& body = "",
                        std::map<std::string, std::string> headers = {}) const {
    headers.emplace("Authorization", basic_auth(BrokerProcess::kUser, BrokerProcess::kPassword));
    headers.emplace("X-Broker-API-Version", "2.17");
    if (!body.empty()) {
      headers.emplace("Content-Type", "application/json");
    }
    return http_request(broker_.port(), method, target, body, headers);
  }

  /// Polls last_operation_url until it leaves "in progress" (20 s at most); returns its body
  /// with "http_status" added ({"http_status": 0} when it never left).
  json wait_for(const std::string& last_operation_url) const {
    for (int i = 0; i < 200; ++i) {
      auto r = (*this)(http::verb::get, last_operation_url);
      if (r.status != 200 || r.json().value("state", "") != "in progress") {
        json out = r.json();
        if (out.is_discarded()) {
          out = json::object();
        }
        out["http_status"] = r.status;
        return out;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return {{"http_status", 0}};
  }

 private:
  const BrokerProcess& broker_;
};

/// One running osbd with the example plugin.
class BrokerHttpTest : public ::testing::Test {
 protected:
  void SetUp() override { broker_.start(); }

  HttpResult call(http::verb method, const std::string& target, const std::string& body = "",
                  std::map<std::string, std::string> headers = {}) {
    return client_(method, target, body, std::move(headers));
  }

  static json provision_body(const std::string& plan = kSyncPlan,
                             json parameters = json::object()) {
    return {{"service_id", kService},
            {"plan_id", plan},
            {"organization_guid", "org-1"},
            {"space_guid", "space-1"},
            {"context", {{"platform", "cloudfoundry"}, {"organization_guid", "org-1"}}},
            {"parameters", parameters}};
  }
  static json bind_body(const std::string& plan = kSyncPlan) {
    return {{"service_id", kService}, {"plan_id", plan}, {"app_guid", "app-1"}};
  }
  static std::string instance(const std::string& id) { return "/v2/service_instances/" + id; }
  static std::string binding(const std::string& iid, const std::string& bid) {
    return instance(iid) + "/service_bindings/" + bid;
  }
  static std::string delete_query(const std::string& plan = kSyncPlan) {
    return std::string("?service_id=") + kService + "&plan_id=" + plan;
  }

  // Polls last_operation until it leaves "in progress".
  json wait_for(const std::string& last_operation_url) {
    return client_.wait_for(last_operation_url);
  }

  BrokerProcess broker_;
  PlatformClient client_{broker_};
};

}  // namespace osbd::test
