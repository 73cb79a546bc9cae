// The operator's endpoints of a running osbd: /healthz, /readyz and /metrics.

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "broker_fixture.hpp"

namespace osbd::test {
namespace {

constexpr const char* kAdminUser = "operator";
constexpr const char* kAdminPassword = "s3cret-admin-password";

BrokerSetup with_admin() {
  BrokerSetup setup;
  setup.extra_yaml =
      std::string("admin:\n  username: ") + kAdminUser + "\n  password: " + kAdminPassword + "\n";
  return setup;
}

class OperatorTest : public ::testing::Test {
 protected:
  void SetUp() override { broker_.start(); }

  HttpResult get(const std::string& target, std::map<std::string, std::string> headers = {}) {
    return http_request(broker_.port(), http::verb::get, target, "", std::move(headers));
  }
  HttpResult scrape() {
    return get("/metrics", {{"Authorization", basic_auth(kAdminUser, kAdminPassword)}});
  }

  // The samples of the exposition as the reference parser reads them (it fails the test on text
  // it refuses): {"families": {name: type}, "samples": [[name, labels, value]]}.
  json parse(const std::string& text) {
    const std::string file = broker_.data_dir() + "/../metrics.txt";
    std::ofstream(file) << text;
    const std::string command = std::string("/usr/bin/python3 ") + OSBD_SOURCE_DIR +
                                "/tests/integration/parse_metrics.py " + file;
    FILE* pipe = ::popen(command.c_str(), "r");
    std::string out;
    char buf[4096];
    for (size_t n; pipe != nullptr && (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) {
      out.append(buf, n);
    }
    const int rc = pipe != nullptr ? ::pclose(pipe) : -1;
    EXPECT_EQ(rc, 0) << "the reference parser refused the exposition:\n" << text;
    return json::parse(out, nullptr, false);
  }

  // The value of the sample with this name whose labels include all of `labels` (-1 if none).
  static double value(const json& parsed, const std::string& name, const json& labels) {
    for (const auto& s : parsed.at("samples")) {
      if (s.at(0) != name) {
        continue;
      }
      bool all = true;
      for (const auto& [k, v] : labels.items()) {
        all = all && s.at(1).value(k, "") == v.get<std::string>();
      }
      if (all) {
        return s.at(2).is_number() ? s.at(2).get<double>() : -2;
      }
    }
    return -1;
  }

  // Sends bytes as they are and returns what came back until the end of the response head (or
  // a second): for requests the HTTP client cannot make.
  std::string raw_exchange(const std::string& bytes) {
    boost::asio::io_context ioc;
    boost::beast::tcp_stream stream(ioc);
    stream.connect(
        boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), broker_.port()));
    boost::asio::write(stream, boost::asio::buffer(bytes));
    stream.expires_after(std::chrono::seconds(1));
    std::string out;
    char buf[4096];
    boost::beast::error_code ec;
    while (out.find("\r\n\r\n") == std::string::npos) {
      const std::size_t n = stream.read_some(boost::asio::buffer(buf), ec);
      if (ec) {
        break;
      }
      out.append(buf, n);
    }
    return out;
  }

  BrokerProcess broker_{with_admin()};
  PlatformClient platform_{broker_};
};

// The plugins the broker under test loads: every *.so of its plugin directory.
int plugin_files() {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(OSBD_PLUGIN_DIR)) {
    n += entry.path().extension() == ".so" ? 1 : 0;
  }
  return n;
}

json provision_body() {
  return {{"service_id", kService},
          {"plan_id", kSyncPlan},
          {"organization_guid", "org-1"},
          {"space_guid", "space-1"}};
}

TEST_F(OperatorTest, HealthAndReadinessAnswerWithoutCredentials) {
  const auto health = get("/healthz");
  EXPECT_EQ(health.status, 200u);
  EXPECT_EQ(health.json().value("status", ""), "alive");
  const auto ready = get("/readyz");
  EXPECT_EQ(ready.status, 200u);
  EXPECT_EQ(ready.json().value("status", ""), "ready");
  EXPECT_EQ(ready.json().value("plugins", 0), plugin_files());
  EXPECT_EQ(http_request(broker_.port(), http::verb::post, "/healthz", "", {}).status, 405u);
}

TEST_F(OperatorTest, ReadinessFailsWhileTheStateStoreIsUnavailable) {
  namespace fs = std::filesystem;
  const fs::path data = broker_.data_dir();
  const fs::path moved = data.string() + ".moved";
  // The data directory goes away under the running broker, as when its volume is unmounted.
  fs::rename(data, moved);
  // /readyz answers from state its own thread refreshes (every 250 ms): it sees the change soon.
  auto not_ready = get("/readyz");
  for (int i = 0; i < 100 && not_ready.status != 503u; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    not_ready = get("/readyz");
  }
  EXPECT_EQ(not_ready.status, 503u);
  EXPECT_EQ(not_ready.json().value("status", ""), "not ready");
  EXPECT_EQ(not_ready.json().value("reason", ""), "the state store cannot serve requests");
  EXPECT_EQ(not_ready.body.find(data.string()),
            std::string::npos);             // no paths to anonymous callers
  EXPECT_EQ(get("/healthz").status, 200u);  // alive all the same
  fs::rename(moved, data);
  auto ready = get("/readyz");
  for (int i = 0; i < 100 && ready.status != 200u; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ready = get("/readyz");
  }
  EXPECT_EQ(ready.status, 200u);
}

TEST_F(OperatorTest, MetricsNeedTheAdminCredentialsNotThePlatforms) {
  EXPECT_EQ(get("/metrics").status, 401u);
  EXPECT_EQ(get("/metrics",
                {{"Authorization", basic_auth(BrokerProcess::kUser, BrokerProcess::kPassword)}})
                .status,
            401u);
  const auto ok = scrape();
  EXPECT_EQ(ok.status, 200u);
  EXPECT_EQ(ok.headers.at("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  // And the admin credentials do not open the platform's API.
  EXPECT_EQ(get("/v2/catalog", {{"Authorization", basic_auth(kAdminUser, kAdminPassword)},
                                {"X-Broker-API-Version", "2.17"}})
                .status,
            401u);
}

TEST(OperatorTestAdminListener, MetricsAndAdminAreServedOnTheAdminListenerOnly) {
  BrokerSetup setup;
  setup.extra_yaml = std::string("admin:\n  username: ") + kAdminUser +
                     "\n  password: " + kAdminPassword + "\n  listen: 127.0.0.1:0\n";
  BrokerProcess broker(setup);
  broker.start();
  unsigned short admin_port = 0;
  std::istringstream lines(broker.log());
  for (std::string line; std::getline(lines, line);) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.value("msg", "") == "admin listening") {
      admin_port = j.at("port").get<unsigned short>();
    }
  }
  ASSERT_NE(admin_port, 0) << broker.log();
  ASSERT_NE(admin_port, broker.port());
  const std::map<std::string, std::string> admin = {
      {"Authorization", basic_auth(kAdminUser, kAdminPassword)}};
  for (const char* path : {"/metrics", "/admin/summary"}) {
    const auto on_osb = http_request(broker.port(), http::verb::get, path, "", admin);
    EXPECT_EQ(on_osb.status, 404u) << path;
    EXPECT_NE(on_osb.body.find("admin listener"), std::string::npos) << on_osb.body;
    EXPECT_EQ(http_request(admin_port, http::verb::get, path, "", admin).status, 200u) << path;
    EXPECT_EQ(http_request(admin_port, http::verb::get, path, "", {}).status, 401u) << path;
  }
  // Health on both; the OSB API on the OSB listener only.
  for (const unsigned short port : {broker.port(), admin_port}) {
    EXPECT_EQ(http_request(port, http::verb::get, "/healthz", "", {}).status, 200u);
  }
  PlatformClient platform(broker);
  EXPECT_EQ(platform(http::verb::get, "/v2/catalog").status, 200u);
  EXPECT_EQ(
      http_request(admin_port, http::verb::get, "/v2/catalog", "",
                   {{"Authorization", basic_auth(BrokerProcess::kUser, BrokerProcess::kPassword)},
                    {"X-Broker-API-Version", "2.17"}})
          .status,
      404u);
}

TEST(OperatorTestWithoutAdmin, MetricsAreNotServedWithoutAdminCredentials) {
  BrokerProcess broker;
  broker.start();
  const auto r = http_request(broker.port(), http::verb::get, "/metrics", "", {});
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.json().value("error", ""), "NotFound");
}

TEST_F(OperatorTest, MetricsAfterALifecycleShowItsRequestsAndOperations) {
  EXPECT_EQ(platform_(http::verb::get, "/v2/catalog").status, 200u);
  EXPECT_EQ(platform_(http::verb::put, "/v2/service_instances/m1", provision_body().dump()).status,
            201u);
  EXPECT_EQ(platform_(http::verb::put, "/v2/service_instances/m2", provision_body().dump()).status,
            201u);
  json unknown_plan = provision_body();
  unknown_plan["plan_id"] = "no-such-plan";
  EXPECT_EQ(platform_(http::verb::put, "/v2/service_instances/m3", unknown_plan.dump()).status,
            400u);
  const json bind = {{"service_id", kService}, {"plan_id", kSyncPlan}, {"app_guid", "app-1"}};
  const std::string binding = "/v2/service_instances/m1/service_bindings/b1";
  const std::string query = std::string("?service_id=") + kService + "&plan_id=" + kSyncPlan;
  EXPECT_EQ(platform_(http::verb::put, binding, bind.dump()).status, 201u);
  EXPECT_EQ(platform_(http::verb::delete_, binding + query).status, 200u);
  EXPECT_EQ(platform_(http::verb::delete_, "/v2/service_instances/m2" + query).status, 200u);

  // Methods outside the OSB's are counted under one label, credentials or not, so that requests
  // cannot make the metrics grow without bound.
  for (const char* odd : {"BREW", "PROPFIND", "X-ANYTHING"}) {
    EXPECT_NE(raw_exchange(std::string(odd) + " /v2/catalog HTTP/1.1\r\nHost: x\r\n\r\n")
                  .find("HTTP/1.1 401"),
              std::string::npos);
  }

  const auto scraped = scrape();
  ASSERT_EQ(scraped.status, 200u);
  const json parsed = parse(scraped.body);
  ASSERT_TRUE(parsed.is_object());
  const json& families = parsed.at("families");
  EXPECT_EQ(families.value("osbd_http_requests", ""), "counter");
  EXPECT_EQ(families.value("osbd_http_request_duration_seconds", ""), "histogram");
  EXPECT_EQ(families.value("osbd_plugin_call_duration_seconds", ""), "histogram");
  EXPECT_EQ(families.value("osbd_instances", ""), "gauge");

  const char* requests = "osbd_http_requests_total";
  EXPECT_EQ(value(parsed, requests, {{"route", "catalog"}, {"status", "200"}}), 1);
  EXPECT_EQ(value(parsed, requests, {{"route", "instance"}, {"method", "PUT"}, {"status", "201"}}),
            2);
  EXPECT_EQ(value(parsed, requests, {{"route", "instance"}, {"method", "PUT"}, {"status", "400"}}),
            1);
  EXPECT_EQ(
      value(parsed, requests, {{"route", "instance"}, {"method", "DELETE"}, {"status", "200"}}), 1);
  EXPECT_EQ(value(parsed, requests, {{"route", "binding"}, {"method", "PUT"}, {"status", "201"}}),
            1);
  EXPECT_EQ(
      value(parsed, requests, {{"route", "binding"}, {"method", "DELETE"}, {"status", "200"}}), 1);
  EXPECT_EQ(value(parsed, "osbd_http_request_duration_seconds_count",
                  {{"route", "instance"}, {"method", "PUT"}}),
            3);
  EXPECT_EQ(value(parsed, "osbd_http_request_duration_seconds_bucket",
                  {{"route", "instance"}, {"method", "PUT"}, {"le", "+Inf"}}),
            3);

  EXPECT_EQ(value(parsed, requests, {{"route", "catalog"}, {"method", "OTHER"}}), 3);
  EXPECT_EQ(scraped.body.find("BREW"), std::string::npos);

  const char* operations = "osbd_operations_total";
  EXPECT_EQ(value(parsed, operations, {{"kind", "provision"}, {"state", "succeeded"}}), 2);
  EXPECT_EQ(value(parsed, operations, {{"kind", "bind"}, {"state", "succeeded"}}), 1);
  EXPECT_EQ(value(parsed, operations, {{"kind", "unbind"}, {"state", "succeeded"}}), 1);
  EXPECT_EQ(value(parsed, operations, {{"kind", "deprovision"}, {"state", "succeeded"}}), 1);
  EXPECT_EQ(value(parsed, "osbd_plugin_call_duration_seconds_count",
                  {{"plugin", "org.osbd.example"}, {"operation", "provision"}}),
            2);
  EXPECT_EQ(value(parsed, "osbd_instances", {{"plan_id", kSyncPlan}}), 1);
  EXPECT_EQ(value(parsed, "osbd_plugins_loaded", json::object()), plugin_files());
  // No secret of the lifecycle is in the exposition.
  EXPECT_EQ(scraped.body.find(BrokerProcess::kPassword), std::string::npos);
  EXPECT_EQ(scraped.body.find(kAdminPassword), std::string::npos);
}

TEST_F(OperatorTest, AdminInventoryListsBindingsButNeverTheirCredentials) {
  EXPECT_EQ(
      platform_(http::verb::put, "/v2/service_instances/inv-1", provision_body().dump()).status,
      201u);
  const json bind = {{"service_id", kService}, {"plan_id", kSyncPlan}, {"app_guid", "app-7"}};
  const auto bound =
      platform_(http::verb::put, "/v2/service_instances/inv-1/service_bindings/b-1", bind.dump());
  ASSERT_EQ(bound.status, 201u);
  const std::string password = bound.json().at("credentials").value("password", "");
  ASSERT_FALSE(password.empty());
  const std::map<std::string, std::string> admin = {
      {"Authorization", basic_auth(kAdminUser, kAdminPassword)}};
  const auto bindings = get("/admin/bindings", admin);
  ASSERT_EQ(bindings.status, 200u);
  const json listed = bindings.json().at("bindings");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].value("id", ""), "b-1");
  EXPECT_EQ(listed[0].value("app_guid", ""), "app-7");
  EXPECT_EQ(listed[0].at("owner").value("organization", ""), "org-1");
  const auto instances = get("/admin/instances?usage=true", admin);
  ASSERT_EQ(instances.status, 200u);
  EXPECT_EQ(instances.json().at("instances")[0].value("bindings", 0), 1);
  for (const auto* body : {&bindings.body, &instances.body}) {
    EXPECT_EQ(body->find(password), std::string::npos);
  }
  // Read-only, and only for the operator.
  EXPECT_EQ(http_request(broker_.port(), http::verb::delete_, "/admin/instances", "", admin).status,
            405u);
  EXPECT_EQ(get("/admin/instances",
                {{"Authorization", basic_auth(BrokerProcess::kUser, BrokerProcess::kPassword)}})
                .status,
            401u);
  EXPECT_EQ(get("/admin/nothing", admin).status, 404u);
  EXPECT_EQ(get("/admin/summary?usage=maybe", admin).status, 400u);
}

TEST_F(OperatorTest, TheLogOfAWholeLifecycleHoldsNoSecretItCreated) {
  const std::string iid = "/v2/service_instances/secret-1";
  const std::string bid = iid + "/service_bindings/b-1";
  const std::string query = std::string("?service_id=") + kService + "&plan_id=" + kSyncPlan;
  json body = provision_body();
  body["parameters"] = {{"size", 2}};
  ASSERT_EQ(platform_(http::verb::put, iid, body.dump()).status, 201u);
  const json bind = {{"service_id", kService}, {"plan_id", kSyncPlan}};
  const auto bound = platform_(http::verb::put, bid, bind.dump());
  ASSERT_EQ(bound.status, 201u);
  const std::string password = bound.json().at("credentials").value("password", "");
  ASSERT_FALSE(password.empty());
  EXPECT_EQ(platform_(http::verb::get, bid).status, 200u);
  const std::map<std::string, std::string> admin = {
      {"Authorization", basic_auth(kAdminUser, kAdminPassword)}};
  EXPECT_EQ(get("/admin/instances?usage=true", admin).status, 200u);
  EXPECT_EQ(get("/admin/bindings", admin).status, 200u);
  EXPECT_EQ(scrape().status, 200u);
  EXPECT_EQ(get("/metrics", {{"Authorization", basic_auth(kAdminUser, "wrong")}}).status, 401u);
  EXPECT_EQ(platform_(http::verb::delete_, bid + query).status, 200u);
  EXPECT_EQ(platform_(http::verb::delete_, iid + query).status, 200u);

  const std::string log = broker_.log();
  ASSERT_NE(log.find("\"instance_id\":\"secret-1\""), std::string::npos);  // the log is there
  for (const std::string& secret :
       {password, std::string(BrokerProcess::kPassword), std::string(kAdminPassword),
        basic_auth(BrokerProcess::kUser, BrokerProcess::kPassword),
        basic_auth(kAdminUser, kAdminPassword), std::string("Authorization")}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << secret;
  }
}

TEST_F(OperatorTest, RequestLogLinesNameTheRouteTheIdsAndTheRequestIdentity) {
  EXPECT_EQ(platform_(http::verb::put, "/v2/service_instances/log-1", provision_body().dump(),
                      {{"X-Broker-API-Request-Identity", "req-from-platform"}})
                .status,
            201u);
  const json bind = {{"service_id", kService}, {"plan_id", kSyncPlan}};
  EXPECT_EQ(
      platform_(http::verb::put, "/v2/service_instances/log-1/service_bindings/b-9", bind.dump())
          .status,
      201u);
  json provision_line;
  json bind_line;
  std::istringstream lines(broker_.log());
  for (std::string line; std::getline(lines, line);) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || j.value("msg", "") != "request") {
      continue;
    }
    (j.value("route", "") == "instance" ? provision_line : bind_line) = j;
  }
  ASSERT_TRUE(provision_line.is_object());
  EXPECT_EQ(provision_line.value("request_identity", ""), "req-from-platform");
  EXPECT_EQ(provision_line.value("instance_id", ""), "log-1");
  EXPECT_EQ(provision_line.value("status", 0), 201);
  EXPECT_TRUE(provision_line.contains("duration_ms"));
  EXPECT_TRUE(provision_line.contains("time"));
  ASSERT_TRUE(bind_line.is_object());
  EXPECT_EQ(bind_line.value("route", ""), "binding");
  EXPECT_EQ(bind_line.value("binding_id", ""), "b-9");
  // Without one from the platform, osbd makes one up, so that every line can be correlated.
  EXPECT_EQ(bind_line.value("request_identity", "").rfind("osbd-", 0), 0u);
}

}  // namespace
}  // namespace osbd::test
