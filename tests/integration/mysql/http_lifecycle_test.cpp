// The MySQL plugin's lifecycle through the real osbd binary over HTTP.

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "broker_process.hpp"
#include "http_client.hpp"
#include "plugin_fixture.hpp"

namespace osbd_mysql_test {
namespace {

using nlohmann::json;
using osbd::test::BrokerProcess;
using osbd::test::BrokerSetup;
using osbd::test::HttpResult;
namespace http = boost::beast::http;

class MysqlThroughOsbd : public ::testing::Test {
 protected:
  void SetUp() override {
    OSBD_REQUIRE_MYSQL(env_);
    prefix_ = unique_prefix();
    // The admin password comes from a file, as in production.
    password_file_ = secrets_.path() + "/mysql-admin-password";
    std::ofstream(password_file_) << env_.admin_password << "\n";
    json config = test_config(env_, prefix_);
    config["servers"][0].erase("admin_password");
    config["servers"][0]["admin_password_file"] = password_file_;
    BrokerSetup setup;
    setup.plugin_dir = OSBD_PLUGIN_DIR;  // the example plugin, this one and the others built
    // JSON is YAML flow style: the plugin gets exactly this object.
    setup.plugins_yaml = "plugins:\n  org.osbd.mysql: " + config.dump() + "\n";
    broker_ = std::make_unique<BrokerProcess>(setup);
    broker_->start();
  }

  void TearDown() override {
    broker_.reset();
    if (!prefix_.empty() && unreachable_reason(env_).empty()) {
      drop_everything(env_, prefix_);
    }
  }

  HttpResult call(http::verb method, const std::string& target, const json& body = nullptr) {
    std::map<std::string, std::string> headers = {
        {"Authorization", osbd::test::basic_auth(BrokerProcess::kUser, BrokerProcess::kPassword)},
        {"X-Broker-API-Version", "2.17"}};
    std::string text;
    if (!body.is_null()) {
      text = body.dump();
      headers.emplace("Content-Type", "application/json");
    }
    return osbd::test::http_request(broker_->port(), method, target, text, headers);
  }

  static std::string instance(const std::string& id) { return "/v2/service_instances/" + id; }
  static std::string binding(const std::string& iid, const std::string& bid) {
    return instance(iid) + "/service_bindings/" + bid;
  }
  static std::string query(const char* plan = kSmall) {
    return std::string("?service_id=") + kService + "&plan_id=" + plan;
  }
  static json provision_body(const char* plan = kSmall, json parameters = json::object()) {
    return {{"service_id", kService},
            {"plan_id", plan},
            {"organization_guid", "org-1"},
            {"space_guid", "space-1"},
            {"parameters", std::move(parameters)}};
  }
  static json bind_body(const char* plan = kSmall) {
    return {{"service_id", kService}, {"plan_id", plan}, {"app_guid", "app-1"}};
  }
  std::vector<std::string> instance_databases() {
    std::vector<std::string> out;
    for (const std::string& name : databases_with_prefix(env_, prefix_)) {
      if (name != prefix_ + "meta") {
        out.push_back(name);
      }
    }
    return out;
  }

  MysqlEnv env_ = mysql_env();
  std::string prefix_;
  osbd::test::TempDir secrets_;
  std::string password_file_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(MysqlThroughOsbd, ProvisionBindUpdateUnbindDeprovision) {
  auto catalog = call(http::verb::get, "/v2/catalog");
  ASSERT_EQ(catalog.status, 200u) << catalog.body;
  bool found = false;
  const json services = catalog.json()["services"];
  for (const json& service : services) {
    found = found || service["id"] == kService;
  }
  EXPECT_TRUE(found) << catalog.body;

  const std::string iid = "http-inst-1";
  auto created = call(http::verb::put, instance(iid), provision_body(kQuota));
  ASSERT_EQ(created.status, 201u) << created.body;
  ASSERT_EQ(instance_databases().size(), 1u);
  const std::string database = instance_databases().at(0);

  auto bound = call(http::verb::put, binding(iid, "http-bind-1"), bind_body(kQuota));
  ASSERT_EQ(bound.status, 201u) << bound.body;
  const json first = bound.json()["credentials"];
  EXPECT_EQ(first["name"], database);
  run_as(first, "CREATE TABLE visits (at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)");
  run_as(first, "INSERT INTO visits () VALUES ()");

  // The instance's usage shows as broker attributes.
  auto fetched = call(http::verb::get, instance(iid));
  ASSERT_EQ(fetched.status, 200u) << fetched.body;
  const json attributes = fetched.json()["metadata"]["attributes"];
  EXPECT_EQ(attributes["storage_quota_bytes"], 1024 * 1024) << fetched.body;
  EXPECT_EQ(attributes["over_quota"], false) << fetched.body;

  auto bound2 = call(http::verb::put, binding(iid, "http-bind-2"), bind_body(kQuota));
  ASSERT_EQ(bound2.status, 201u) << bound2.body;
  const json second = bound2.json()["credentials"];
  EXPECT_EQ(run_as(second, "SELECT COUNT(*) FROM visits")[0][0], "1");

  auto updated = call(
      http::verb::patch, instance(iid),
      {{"service_id", kService}, {"plan_id", kLarge}, {"previous_values", {{"plan_id", kQuota}}}});
  ASSERT_EQ(updated.status, 200u) << updated.body;
  EXPECT_EQ(admin_strings(env_, "SELECT max_user_connections FROM mysql.user WHERE User = ?",
                          {first["username"]}),
            std::vector<std::string>{"10"});

  auto unbound = call(http::verb::delete_, binding(iid, "http-bind-1") + query(kLarge));
  ASSERT_EQ(unbound.status, 200u) << unbound.body;
  EXPECT_FALSE(can_login(first));
  EXPECT_EQ(run_as(second, "SELECT COUNT(*) FROM visits")[0][0], "1");
  ASSERT_EQ(call(http::verb::delete_, binding(iid, "http-bind-2") + query(kLarge)).status, 200u);

  auto deleted = call(http::verb::delete_, instance(iid) + query(kLarge));
  ASSERT_EQ(deleted.status, 200u) << deleted.body;
  EXPECT_TRUE(instance_databases().empty());
  EXPECT_TRUE(users_with_prefix(env_, prefix_).empty());

  // Parameters are a 400 that creates nothing.
  auto refused =
      call(http::verb::put, instance("http-inst-2"), provision_body(kSmall, {{"size", 1}}));
  EXPECT_EQ(refused.status, 400u) << refused.body;
  EXPECT_TRUE(instance_databases().empty());

  // Neither password reaches osbd's log, which is at debug level here.
  const std::string log = broker_->log();
  EXPECT_NE(log.find("org.osbd.mysql"), std::string::npos);
  EXPECT_EQ(log.find(first["password"].get<std::string>()), std::string::npos);
  EXPECT_EQ(log.find(second["password"].get<std::string>()), std::string::npos);
  EXPECT_EQ(log.find(env_.admin_password), std::string::npos);
}

TEST_F(MysqlThroughOsbd, HostileInstanceIdOverHttpIsHarmless) {
  const std::string hostile = "x'); DROP DATABASE mysql; --\"`";
  std::string encoded;
  for (unsigned char c : hostile) {
    char buffer[4];
    std::snprintf(buffer, sizeof buffer, "%%%02X", c);
    encoded += buffer;
  }
  ASSERT_EQ(call(http::verb::put, instance(encoded), provision_body()).status, 201u);
  auto bound = call(http::verb::put, binding(encoded, encoded), bind_body());
  ASSERT_EQ(bound.status, 201u) << bound.body;
  EXPECT_TRUE(can_login(bound.json()["credentials"]));
  EXPECT_EQ(call(http::verb::delete_, binding(encoded, encoded) + query()).status, 200u);
  EXPECT_EQ(call(http::verb::delete_, instance(encoded) + query()).status, 200u);
  EXPECT_TRUE(instance_databases().empty());
  EXPECT_TRUE(users_with_prefix(env_, prefix_).empty());
  EXPECT_FALSE(
      admin_rows(env_, "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'mysql'")
          .empty());
}

}  // namespace
}  // namespace osbd_mysql_test
