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

// Two catalogs of one osbd: the same instance id in each is two databases, and each catalog's
// bindings reach its own.
class PostgresqlTwoCatalogs : public PostgresqlThroughOsbd {
 protected:
  std::string extra_yaml() override {
    return "catalogs:\n  team-b:\n    credentials: [{username: team-b, password: team-b-pw}]\n";
  }
  osbd::test::HttpResult as_b(http::verb method, const std::string& target,
                              const json& body = nullptr) {
    return call(method, "/catalogs/team-b" + target, body, "team-b", "team-b-pw");
  }
};

TEST_F(PostgresqlTwoCatalogs, TheSameInstanceIdInTwoCatalogsIsTwoDatabases) {
  const std::string iid = "same-id";
  ASSERT_EQ(call(http::verb::put, instance(iid), provision_body()).status, 201u);
  ASSERT_EQ(as_b(http::verb::put, instance(iid), provision_body()).status, 201u);
  EXPECT_EQ(databases_with_prefix(env_, prefix_).size(), 2u);
  auto a = call(http::verb::put, binding(iid, "bind"), bind_body());
  auto b = as_b(http::verb::put, binding(iid, "bind"), bind_body());
  ASSERT_EQ(a.status, 201u) << a.body;
  ASSERT_EQ(b.status, 201u) << b.body;
  const json a_credentials = a.json()["credentials"];
  const json b_credentials = b.json()["credentials"];
  EXPECT_NE(a_credentials["database"], b_credentials["database"]);
  run_as(a_credentials, "CREATE TABLE only_in_a (x int)");
  EXPECT_EQ(
      run_as(b_credentials, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'")[0][0]
          .as<int>(),
      0);
  // B removes its instance; A's database and binding stay.
  ASSERT_EQ(as_b(http::verb::delete_, binding(iid, "bind") + query()).status, 200u);
  ASSERT_EQ(as_b(http::verb::delete_, instance(iid) + query()).status, 200u);
  EXPECT_FALSE(can_login(b_credentials));
  EXPECT_TRUE(can_login(a_credentials));
  ASSERT_EQ(databases_with_prefix(env_, prefix_).size(), 1u);
  EXPECT_EQ(databases_with_prefix(env_, prefix_).at(0), a_credentials["database"]);
  ASSERT_EQ(call(http::verb::delete_, binding(iid, "bind") + query()).status, 200u);
  ASSERT_EQ(call(http::verb::delete_, instance(iid) + query()).status, 200u);
  EXPECT_TRUE(databases_with_prefix(env_, prefix_).empty());
}

}  // namespace
}  // namespace osbd_pg_test
