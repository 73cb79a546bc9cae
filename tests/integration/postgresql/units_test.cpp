// The PostgreSQL plugin's parts that need no server: configuration, names, secrets,
// credentials and parameter checks (compiled from the plugin's sources), and configuration
// errors reported through the real .so.

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fstream>
#include <regex>
#include <set>

#include <gtest/gtest.h>
#include <osb/sdk/errors.hpp>

#include <osb/plugins/codec.hpp>
#include <osb/plugins/secrets.hpp>
#include <osb/plugins/uri.hpp>
#include "broker_process.hpp"
#include "catalog.hpp"
#include "config_checks.hpp"
#include "credentials.hpp"
#include "names.hpp"
#include "plugin_fixture.hpp"
#include "secrets.hpp"
#include "settings.hpp"

namespace osbd_postgresql {
namespace {

using nlohmann::json;
using osb::plugins::password_alphabet;
using osb::plugins::percent_encode;
using osb::plugins::random_password;
using osb::plugins::sha256_hex;

json minimal_config() {
  return {{"servers",
           {{{"name", "pg1"},
             {"host", "db1.example"},
             {"admin_user", "admin"},
             {"admin_password", "pw"}}}},
          {"services",
           {{{"id", "svc-1"},
             {"name", "postgresql"},
             {"description", "databases"},
             {"plans",
              {{{"id", "plan-1"},
                {"name", "small"},
                {"description", "small"},
                {"servers", {"pg1"}},
                {"extensions", {"pgcrypto"}}}}}}}}};
}

TEST(PostgresqlSettings, ReadsAMinimalConfigurationWithDefaults) {
  const Settings settings = Settings::from_json(minimal_config());
  ASSERT_EQ(settings.servers.size(), 1u);
  EXPECT_EQ(settings.servers[0].port, 5432);
  EXPECT_EQ(settings.servers[0].sslmode, "prefer");
  EXPECT_EQ(settings.servers[0].maintenance_database, "postgres");
  EXPECT_EQ(settings.quota_check_interval, std::chrono::seconds(10));
  EXPECT_EQ(settings.name_prefix, "osb_");
  ASSERT_TRUE(settings.plan("plan-1"));
  EXPECT_EQ(settings.plan("plan-1")->plan->connection_limit, -1);
  EXPECT_EQ(settings.plan("plan-1")->plan->quota_mb, 0);
  EXPECT_FALSE(settings.plan("plan-2"));
  EXPECT_TRUE(Settings::from_json(json::object()).services.empty());
}

TEST(PostgresqlSettings, BadConfigurationNamesTheKey) {
  osbd_plugin_test::expect_config_errors<Settings>(
      minimal_config(),
      {
          {[](json& c) { c["servers"][0].erase("host"); }, "servers[0].host: missing"},
          {[](json& c) { c["servers"][0]["hots"] = "x"; }, "servers[0].hots: unknown"},
          {[](json& c) { c["servers"][0]["port"] = 70000; }, "servers[0].port: must be"},
          {[](json& c) { c["servers"][0]["port"] = "5432"; },
           "servers[0].port: expected an integer"},
          {[](json& c) { c["servers"][0].erase("admin_password"); }, "servers[0].admin_password:"},
          {[](json& c) { c["servers"][0]["admin_password_file"] = "/x"; },
           "servers[0].admin_password_file: give"},
          {[](json& c) {
             c["servers"][0].erase("admin_password");
             c["servers"][0]["admin_password_file"] = "/nonexistent/pw";
           },
           "servers[0].admin_password_file: cannot read"},
          {[](json& c) { c["servers"][0]["sslmode"] = "maybe"; }, "servers[0].sslmode:"},
          {[](json& c) { c["servers"].push_back(c["servers"][0]); }, "servers[1].name: \"pg1\""},
          {[](json& c) { c["servers"] = "pg1"; }, "servers: expected a list"},
          {[](json& c) { c["services"][0]["plans"][0]["servers"] = {"pg9"}; },
           "services[0].plans[0].servers[0]: no server is called \"pg9\""},
          {[](json& c) { c["services"][0]["plans"][0]["servers"] = json::array(); },
           "services[0].plans[0].servers: list at least one"},
          {[](json& c) { c["services"][0]["plans"][0]["quota_mb"] = -1; },
           "services[0].plans[0].quota_mb: must be"},
          {[](json& c) { c["services"][0]["plans"][0]["connection_limit"] = -2; },
           "services[0].plans[0].connection_limit: must be"},
          {[](json& c) { c["services"][0]["plans"][0]["extensions"] = {"pg crypto"}; },
           "services[0].plans[0].extensions[0]:"},
          {[](json& c) { c["services"][0]["plans"][0]["name"] = "small plan"; },
           "services[0].plans[0].name:"},
          {[](json& c) { c["services"][0]["plans"][0]["id"] = "svc-1"; },
           "services[0].plans[0].id: \"svc-1\" is used more than once"},
          {[](json& c) { c["services"][0]["plans"] = json::array(); }, "services[0].plans: list"},
          {[](json& c) { c["services"][0].erase("description"); },
           "services[0].description: missing"},
          {[](json& c) { c["name_prefix"] = "Osb"; }, "name_prefix:"},
          {[](json& c) { c["name_prefix"] = "a_very_long_prefix_"; }, "name_prefix:"},
          {[](json& c) { c["name_prefix"] = "pg_osb_"; }, "name_prefix:"},
          {[](json& c) { c["quota_check_seconds"] = 0; }, "quota_check_seconds: must be"},
          {[](json& c) { c["colour"] = "red"; }, "colour: unknown configuration key"},
      });
}

TEST(PostgresqlSettings, ReadsThePasswordFileWithoutItsNewline) {
  osbd::test::TempDir dir;
  const std::string path = dir.path() + "/pw";
  std::ofstream(path) << "from-file\n";
  json config = minimal_config();
  config["servers"][0].erase("admin_password");
  config["servers"][0]["admin_password_file"] = path;
  EXPECT_EQ(Settings::from_json(config).servers[0].admin_password, "from-file");
}

TEST(PostgresqlNames, AreDerivedFromHashesAndMatchTheirPatterns) {
  const InstanceNames a = InstanceNames::of("osb_", "instance-1");
  const InstanceNames b = InstanceNames::of("osb_", "instance-2");
  EXPECT_EQ(a.database, "osb_" + sha256_hex("instance-1").substr(0, 24));
  EXPECT_EQ(a.owner, a.database + "_owner");
  EXPECT_NE(a.database, b.database);
  EXPECT_EQ(a.database, InstanceNames::of("osb_", "instance-1").database);
  const std::string role = a.binding_role("binding-1");
  EXPECT_EQ(role, a.database + "_b_" + sha256_hex("binding-1").substr(0, 16));
  EXPECT_LE(InstanceNames::of("abcdefghijklmnop", "x").binding_role("y").size(), 63u);

  const std::regex databases(database_pattern("osb_"), std::regex::extended);
  const std::regex roles(role_pattern("osb_"), std::regex::extended);
  const std::regex bindings(a.binding_role_pattern(), std::regex::extended);
  EXPECT_TRUE(std::regex_match(a.database, databases));
  EXPECT_FALSE(std::regex_match(a.owner, databases));
  EXPECT_FALSE(std::regex_match("osb_a" + a.database.substr(4), databases));
  EXPECT_TRUE(std::regex_match(a.owner, roles));
  EXPECT_TRUE(std::regex_match(role, roles));
  EXPECT_TRUE(std::regex_match(role, bindings));
  EXPECT_FALSE(std::regex_match(b.binding_role("binding-1"), bindings));
  EXPECT_FALSE(std::regex_match(a.owner, bindings));
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(PostgresqlSecrets, PasswordsAreLongUniformAndUnique) {
  std::set<std::string> seen;
  std::set<char> characters;
  for (int i = 0; i < 200; ++i) {
    const std::string password = random_password();
    EXPECT_EQ(password.size(), 40u);
    EXPECT_EQ(password.find_first_not_of(password_alphabet), std::string::npos);
    characters.insert(password.begin(), password.end());
    EXPECT_TRUE(seen.insert(password).second);
  }
  EXPECT_EQ(characters.size(), password_alphabet.size());
}

// The bytes of base64 text, or "" when it is not base64.
std::string base64_decode(const std::string& text) {
  return osb::plugins::base64_decode(text).value_or("");
}

TEST(PostgresqlSecrets, ScramVerifierFollowsRfc7677) {
  const std::string verifier = scram_sha256_verifier("pencil");
  const std::regex format(
      R"(SCRAM-SHA-256\$4096:([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+))");
  std::smatch parts;
  ASSERT_TRUE(std::regex_match(verifier, parts, format)) << verifier;
  const std::string salt = base64_decode(parts[1]);
  ASSERT_EQ(salt.size(), 16u);
  unsigned char salted[32];
  ASSERT_EQ(PKCS5_PBKDF2_HMAC("pencil", 6, reinterpret_cast<const unsigned char*>(salt.data()), 16,
                              4096, EVP_sha256(), 32, salted),
            1);
  unsigned char client_key[32];
  unsigned char server_key[32];
  unsigned int length = 0;
  HMAC(EVP_sha256(), salted, 32, reinterpret_cast<const unsigned char*>("Client Key"), 10,
       client_key, &length);
  HMAC(EVP_sha256(), salted, 32, reinterpret_cast<const unsigned char*>("Server Key"), 10,
       server_key, &length);
  unsigned char stored_key[32];
  EVP_Digest(client_key, 32, stored_key, &length, EVP_sha256(), nullptr);
  EXPECT_EQ(base64_decode(parts[2]), std::string(reinterpret_cast<char*>(stored_key), 32));
  EXPECT_EQ(base64_decode(parts[3]), std::string(reinterpret_cast<char*>(server_key), 32));
  EXPECT_NE(scram_sha256_verifier("pencil"), verifier) << "the salt is random";
}

TEST(PostgresqlCredentials, UrisArePercentEncodedAndUseThePublicAddress) {
  EXPECT_EQ(percent_encode("a b/c@d:é%"), "a%20b%2Fc%40d%3A%C3%A9%25");
  EXPECT_EQ(percent_encode("Az09-._~"), "Az09-._~");
  ServerSettings server;
  server.host = "10.0.0.5";
  server.port = 5432;
  server.public_host = "db.example.com";
  server.public_port = 6432;
  json c = make_credentials(server, "osb_db", "user", "p@ss word");
  EXPECT_EQ(c["host"], "db.example.com");
  EXPECT_EQ(c["port"], 6432);
  EXPECT_EQ(c["uri"], "postgresql://user:p%40ss%20word@db.example.com:6432/osb_db");
  EXPECT_EQ(c["jdbcUrl"],
            "jdbc:postgresql://db.example.com:6432/osb_db?user=user&password=p%40ss%20word");
  server.public_host = "::1";
  server.sslmode = "verify-full";
  c = make_credentials(server, "osb_db", "user", "pw");
  EXPECT_EQ(c["uri"], "postgresql://user:pw@[::1]:6432/osb_db?sslmode=verify-full");
  EXPECT_EQ(c["jdbcUrl"],
            "jdbc:postgresql://[::1]:6432/osb_db?user=user&password=pw&sslmode=verify-full");
}

TEST(PostgresqlParameters, OnlyExtensionsFromThePlanAreAccepted) {
  PlanSettings plan;
  plan.name = "small";
  plan.extensions = {"pgcrypto", "hstore"};
  EXPECT_EQ(read_instance_parameters(json::object(), plan).error, "");
  const InstanceParameters ok =
      read_instance_parameters({{"extensions", {"hstore", "pgcrypto", "hstore"}}}, plan);
  EXPECT_EQ(ok.error, "");
  EXPECT_EQ(ok.extensions, (std::vector<std::string>{"hstore", "pgcrypto"}));
  for (const json& bad : {json{{"extensions", {"citext"}}}, json{{"extensions", "hstore"}},
                          json{{"extensions", {nullptr}}}, json{{"other", 1}}}) {
    EXPECT_NE(read_instance_parameters(bad, plan).error, "") << bad.dump();
  }
  EXPECT_NE(read_instance_parameters({{"extensions", {"citext"}}}, plan)
                .error.find("allows pgcrypto, hstore"),
            std::string::npos);
}

TEST(PostgresqlPluginConfig, BadConfigurationStopsTheLoadNamingTheKey) {
  osbd_plugin_test::expect_plugin_refuses_unknown_server(
      [](const osb::sdk::testing::FakeHost& host) -> const osb_plugin_v1& {
        return osbd_pg_test::plugin_table(host);
      },
      minimal_config());
}

}  // namespace
}  // namespace osbd_postgresql
