// The PostgreSQL plugin's lifecycle through the real osbd binary over HTTP.

#include <gtest/gtest.h>

#include "osbd_over_http.hpp"
#include "plugin_fixture.hpp"

namespace osbd_pg_test {
namespace {

using nlohmann::json;
namespace http = boost::beast::http;

class PostgresqlThroughOsbd : public osbd_plugin_test::OsbdTest<PgSuite> {
 protected:
  json osbd_config() override {
    json config = test_config(env_, prefix_);
    config["servers"][0].erase("admin_password");
    // The admin password comes from a file, as in production.
    config["servers"][0]["admin_password_file"] =
        secret_file("pg-admin-password", env_.admin_password);
    return config;
  }
};

TEST_F(PostgresqlThroughOsbd, ProvisionBindUpdateUnbindDeprovision) {
  ASSERT_NO_FATAL_FAILURE(expect_service_in_catalog());

  const std::string iid = "http-inst-1";
  auto created =
      call(http::verb::put, instance(iid), provision_body(kSmall, {{"extensions", {"hstore"}}}));
  ASSERT_EQ(created.status, 201u) << created.body;
  EXPECT_EQ(call(http::verb::get, instance(iid)).status, 200u);
  EXPECT_EQ(databases_with_prefix(env_, prefix_).size(), 1u);
  const std::string database = databases_with_prefix(env_, prefix_).at(0);

  auto bound = call(http::verb::put, binding(iid, "http-bind-1"), bind_body());
  ASSERT_EQ(bound.status, 201u) << bound.body;
  const json first = bound.json()["credentials"];
  EXPECT_EQ(first["database"], database);
  run_as(first, "CREATE TABLE visits (at timestamptz DEFAULT now())");
  run_as(first, "INSERT INTO visits DEFAULT VALUES");

  auto bound2 = call(http::verb::put, binding(iid, "http-bind-2"), bind_body());
  ASSERT_EQ(bound2.status, 201u) << bound2.body;
  const json second = bound2.json()["credentials"];
  EXPECT_EQ(run_as(second, "SELECT count(*) FROM visits")[0][0].as<int>(), 1);

  auto updated = call(
      http::verb::patch, instance(iid),
      {{"service_id", kService}, {"plan_id", kLarge}, {"previous_values", {{"plan_id", kSmall}}}});
  ASSERT_EQ(updated.status, 200u) << updated.body;
  EXPECT_EQ(admin_query(env_, "SELECT datconnlimit FROM pg_database WHERE datname = '" + database +
                                  "'")[0][0]
                .as<int>(),
            20);

  auto unbound = call(http::verb::delete_, binding(iid, "http-bind-1") + query(kLarge));
  ASSERT_EQ(unbound.status, 200u) << unbound.body;
  EXPECT_FALSE(can_login(first));
  EXPECT_EQ(run_as(second, "SELECT count(*) FROM visits")[0][0].as<int>(), 1);
  ASSERT_EQ(call(http::verb::delete_, binding(iid, "http-bind-2") + query(kLarge)).status, 200u);

  auto deleted = call(http::verb::delete_, instance(iid) + query(kLarge));
  ASSERT_EQ(deleted.status, 200u) << deleted.body;
  EXPECT_TRUE(databases_with_prefix(env_, prefix_).empty());
  EXPECT_TRUE(roles_with_prefix(env_, prefix_).empty());

  // Refused parameters are a 400 that creates nothing.
  auto refused = call(http::verb::put, instance("http-inst-2"),
                      provision_body(kSmall, {{"extensions", {"plpython3u"}}}));
  EXPECT_EQ(refused.status, 400u) << refused.body;
  EXPECT_TRUE(databases_with_prefix(env_, prefix_).empty());

  // Neither password reaches osbd's log, which is at debug level here.
  const std::string log = broker_->log();
  EXPECT_NE(log.find("org.osbd.postgresql"), std::string::npos);
  EXPECT_EQ(log.find(first["password"].get<std::string>()), std::string::npos);
  EXPECT_EQ(log.find(second["password"].get<std::string>()), std::string::npos);
  EXPECT_EQ(log.find(env_.admin_password), std::string::npos);
}

TEST_F(PostgresqlThroughOsbd, HostileInstanceIdOverHttpIsHarmless) {
  const std::string hostile = "x'); DROP DATABASE postgres; --\"";
  const std::string encoded = percent_encoded(hostile);
  ASSERT_EQ(call(http::verb::put, instance(encoded), provision_body()).status, 201u);
  auto bound = call(http::verb::put, binding(encoded, encoded), bind_body());
  ASSERT_EQ(bound.status, 201u) << bound.body;
  EXPECT_TRUE(can_login(bound.json()["credentials"]));
  EXPECT_EQ(call(http::verb::delete_, binding(encoded, encoded) + query()).status, 200u);
  EXPECT_EQ(call(http::verb::delete_, instance(encoded) + query()).status, 200u);
  EXPECT_TRUE(databases_with_prefix(env_, prefix_).empty());
  EXPECT_TRUE(roles_with_prefix(env_, prefix_).empty());
  EXPECT_FALSE(admin_query(env_, "SELECT 1 FROM pg_database WHERE datname = 'postgres'").empty());
}

}  // namespace
}  // namespace osbd_pg_test
