// The MySQL plugin's parts that need no server: configuration, names, grant targets and catalog
// (compiled from the plugin's sources), and configuration errors reported through the real .so.

#include <fstream>
#include <regex>

#include <gtest/gtest.h>
#include <osb/plugins/codec.hpp>
#include <osb/plugins/secrets.hpp>
#include <osb/sdk/errors.hpp>

#include "broker_process.hpp"
#include "catalog.hpp"
#include "config_checks.hpp"
#include "names.hpp"
#include "plugin_fixture.hpp"
#include "settings.hpp"
#include "sql_steps.hpp"

namespace osbd_mysql {
namespace {

using nlohmann::json;

json minimal_config() {
  return {{"servers",
           {{{"name", "db1"},
             {"host", "db1.example"},
             {"admin_user", "admin"},
             {"admin_password", "pw"}}}},
          {"services",
           {{{"id", "svc-1"},
             {"name", "mysql"},
             {"description", "databases"},
             {"plans",
              {{{"id", "plan-1"},
                {"name", "small"},
                {"description", "small"},
                {"servers", {"db1"}},
                {"max_user_connections", 5},
                {"quota_mb", 100}}}}}}}};
}

TEST(MysqlSettings, ReadsAMinimalConfigurationWithDefaults) {
  const Settings settings = Settings::from_json(minimal_config());
  ASSERT_EQ(settings.servers.size(), 1u);
  EXPECT_EQ(settings.servers[0].port, 3306);
  EXPECT_EQ(settings.servers[0].tls, TlsMode::disabled);
  EXPECT_EQ(settings.servers[0].user_host, "%");
  EXPECT_EQ(settings.quota_check_interval, std::chrono::seconds(10));
  EXPECT_EQ(settings.name_prefix, "osb_");
  ASSERT_TRUE(settings.plan("plan-1"));
  EXPECT_EQ(settings.plan("plan-1")->plan->max_user_connections, 5);
  EXPECT_EQ(settings.plan("plan-1")->plan->quota_mb, 100);
  EXPECT_FALSE(settings.plan("plan-1", "svc-2"));
  EXPECT_TRUE(Settings::from_json(json::object()).services.empty());
}

TEST(MysqlSettings, BadConfigurationNamesTheKey) {
  osbd_plugin_test::expect_config_errors<Settings>(
      minimal_config(),
      {
          {[](json& c) { c["servers"][0].erase("host"); }, "servers[0].host: missing"},
          {[](json& c) { c["servers"][0]["hots"] = "x"; }, "servers[0].hots: unknown"},
          {[](json& c) { c["servers"][0]["port"] = 0; }, "servers[0].port: must be"},
          {[](json& c) { c["servers"][0].erase("admin_password"); }, "servers[0].admin_password:"},
          {[](json& c) { c["servers"][0]["admin_password_file"] = "/x"; },
           "servers[0].admin_password_file: give"},
          {[](json& c) {
             c["servers"][0].erase("admin_password");
             c["servers"][0]["admin_password_file"] = "/nonexistent/pw";
           },
           "servers[0].admin_password_file: cannot read"},
          {[](json& c) { c["servers"][0]["tls"] = "maybe"; }, "servers[0].tls: expected"},
          {[](json& c) { c["servers"][0]["tls"] = "verify_identity"; }, "servers[0].tls_ca_file:"},
          {[](json& c) { c["servers"][0]["user_host"] = "a'b"; }, "servers[0].user_host:"},
          {[](json& c) { c["servers"].push_back(c["servers"][0]); }, "servers[1].name: \"db1\""},
          {[](json& c) { c["services"][0]["plans"][0]["servers"] = {"db9"}; },
           "services[0].plans[0].servers[0]: no server is called \"db9\""},
          {[](json& c) { c["services"][0]["plans"][0]["quota_mb"] = -1; },
           "services[0].plans[0].quota_mb: must be"},
          {[](json& c) { c["services"][0]["plans"][0]["max_user_connections"] = -1; },
           "services[0].plans[0].max_user_connections: must be"},
          {[](json& c) { c["services"][0]["plans"][0]["max_user_connections"] = "5"; },
           "services[0].plans[0].max_user_connections: expected an integer"},
          {[](json& c) { c["services"][0]["plans"][0]["extensions"] = {"x"}; },
           "services[0].plans[0].extensions: unknown"},
          {[](json& c) { c["services"][0]["plans"][0]["id"] = "svc-1"; },
           "services[0].plans[0].id: \"svc-1\" is used more than once"},
          {[](json& c) { c["services"][0]["plans"].push_back(c["services"][0]["plans"][0]); },
           "services[0].plans[1].name: \"small\" is used by another plan"},
          {[](json& c) { c["services"][0].erase("description"); },
           "services[0].description: missing"},
          {[](json& c) { c["name_prefix"] = "Osb"; }, "name_prefix:"},
          {[](json& c) { c["name_prefix"] = "osb_db_"; }, "name_prefix:"},
          {[](json& c) { c["quota_check_seconds"] = 0; }, "quota_check_seconds: must be"},
          {[](json& c) { c["colour"] = "red"; }, "colour: unknown configuration key"},
      });
}

TEST(MysqlSettings, ReadsThePasswordFileWithoutItsNewline) {
  osbd::test::TempDir dir;
  const std::string path = dir.path() + "/pw";
  std::ofstream(path) << "from-file\n";
  json config = minimal_config();
  config["servers"][0].erase("admin_password");
  config["servers"][0]["admin_password_file"] = path;
  EXPECT_EQ(Settings::from_json(config).servers[0].admin_password, "from-file");
}

TEST(MysqlNames, FitMysqlLimitsAndMatchTheirPatterns) {
  const InstanceNames a = InstanceNames::of("osb_", "instance-1");
  const InstanceNames b = InstanceNames::of("osb_", "instance-2");
  const std::string hash = osb::plugins::sha256_hex("instance-1");
  EXPECT_EQ(a.database, "osb_" + hash.substr(0, 24));
  EXPECT_EQ(a.user_stem, "osb_" + hash.substr(0, 16));
  EXPECT_NE(a.database, b.database);
  const std::string user = a.binding_user("binding-1");
  EXPECT_EQ(user, a.user_stem + "_" + osb::plugins::sha256_hex("binding-1").substr(0, 9));
  EXPECT_EQ(InstanceNames::of("abcdef", std::string(300, 'x')).binding_user("y").size(), 32u);
  EXPECT_LE(InstanceNames::of("abcdef", "x").database.size(), 64u);

  const std::regex databases(database_pattern("osb_"), std::regex::extended);
  const std::regex bindings(a.binding_user_pattern(), std::regex::extended);
  EXPECT_TRUE(std::regex_match(a.database, databases));
  EXPECT_FALSE(std::regex_match(meta_database("osb_"), databases));
  EXPECT_FALSE(std::regex_match(user, databases));
  EXPECT_TRUE(std::regex_match(user, bindings));
  EXPECT_FALSE(std::regex_match(b.binding_user("binding-1"), bindings));
  EXPECT_FALSE(std::regex_match(a.database, bindings));
}

TEST(MysqlSql, GrantTargetsEscapeWildcards) {
  EXPECT_EQ(grant_target("osb_0a1b"), "`osb\\_0a1b`.*");
  EXPECT_EQ(grant_target("a%b`c"), "`a\\%b``c`.*");
}

TEST(MysqlCatalog, PlansShowTheirLimitsAndTakeNoParameters) {
  const json catalog = make_catalog(Settings::from_json(minimal_config()));
  const json& plan = catalog["services"][0]["plans"][0];
  EXPECT_EQ(plan["metadata"]["bullets"][1], "Storage quota 100 MB");
  EXPECT_EQ(plan["metadata"]["bullets"][2], "Up to 5 connections per binding");
  EXPECT_EQ(plan["schemas"]["service_instance"]["update"]["parameters"]["additionalProperties"],
            false);
}

TEST(MysqlPluginConfig, BadConfigurationStopsTheLoadNamingTheKey) {
  osbd_plugin_test::expect_plugin_refuses_unknown_server(
      [](const osb::sdk::testing::FakeHost& host) -> const osb_plugin_v1& {
        return osbd_mysql_test::plugin_table(host);
      },
      minimal_config());
}

}  // namespace
}  // namespace osbd_mysql
