#include "config/config.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "config/shape.hpp"
#include "schema/schema.hpp"

namespace osbd::config {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/osbd-config-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  std::string error_of(const std::string& yaml) {
    try {
      load_file(write("c.yaml", yaml));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }

  std::string dir_;
};

constexpr const char* kMinimal = "auth:\n  username: u\n  password: p\n";

TEST_F(ConfigTest, ReadsEveryKey) {
  const auto path = write("full.yaml", R"(listen: 0.0.0.0:9090
data_dir: /var/lib/osbd
plugin_dir: /usr/lib/osbd/plugins
log_level: debug
auth:
  username: platform
  password: secret
limits:
  max_body_bytes: 4096
  io_threads: 3
  worker_threads: 5
  request_timeout_seconds: 7
osb:
  accept_context_only: true
credentials_encryption:
  key_file: /etc/osbd/credentials.key
  previous_key_files: [/etc/osbd/credentials.key.1]
plugins:
  org.osbd.example:
    async_seconds: 3
    name: "0123"
    ratio: 1.5
    flags: [a, true]
)");
  const BrokerConfig cfg = load_file(path);
  EXPECT_EQ(cfg.listen.host, "0.0.0.0");
  EXPECT_EQ(cfg.listen.port, 9090);
  EXPECT_EQ(cfg.data_dir, "/var/lib/osbd");
  EXPECT_EQ(cfg.plugin_dir, "/usr/lib/osbd/plugins");
  EXPECT_EQ(cfg.log_level, log::Level::debug);
  EXPECT_EQ(cfg.auth.username, "platform");
  EXPECT_EQ(cfg.auth.password, "secret");
  EXPECT_EQ(cfg.max_body_bytes, 4096u);
  EXPECT_EQ(cfg.io_threads, 3u);
  EXPECT_EQ(cfg.worker_threads, 5u);
  EXPECT_EQ(cfg.request_timeout_seconds, 7u);
  EXPECT_TRUE(cfg.accept_context_only);
  EXPECT_EQ(cfg.credentials_key_file, "/etc/osbd/credentials.key");
  EXPECT_EQ(cfg.credentials_previous_key_files,
            std::vector<std::string>{"/etc/osbd/credentials.key.1"});
  const auto& p = cfg.plugins.at("org.osbd.example");
  EXPECT_EQ(p.at("async_seconds"), 3);
  EXPECT_EQ(p.at("name"), "0123");  // quoted scalars stay strings
  EXPECT_DOUBLE_EQ(p.at("ratio").get<double>(), 1.5);
  EXPECT_EQ(p.at("flags"), (nlohmann::json{"a", true}));
}

TEST_F(ConfigTest, DefaultsApplyToAMinimalFile) {
  const BrokerConfig cfg = load_file(write("min.yaml", kMinimal));
  EXPECT_EQ(cfg.listen.host, "127.0.0.1");
  EXPECT_EQ(cfg.listen.port, 8080);
  EXPECT_EQ(cfg.max_body_bytes, 1024u * 1024u);
  EXPECT_TRUE(cfg.plugins.empty());
  EXPECT_TRUE(cfg.credentials_key_file.empty());  // data_dir/credentials.key
}

TEST_F(ConfigTest, UnknownKeysAreNamed) {
  EXPECT_NE(error_of(std::string(kMinimal) + "listn: 1.2.3.4:5\n").find("listn: unknown key"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "limits:\n  max_bodi_bytes: 5\n")
                .find("limits.max_bodi_bytes: unknown key"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "credentials_encryption:\n  keyfile: k\n")
                .find("credentials_encryption.keyfile: unknown key"),
            std::string::npos);
  EXPECT_NE(
      error_of(std::string(kMinimal) + "credentials_encryption:\n  previous_key_files: old.key\n")
          .find("credentials_encryption.previous_key_files: expected a list"),
      std::string::npos);
}

TEST_F(ConfigTest, WrongTypesAreNamed) {
  EXPECT_NE(error_of(std::string(kMinimal) + "limits:\n  worker_threads: many\n")
                .find("limits.worker_threads: expected an integer"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "limits:\n  io_threads: 0\n")
                .find("limits.io_threads: must be between 1 and 64"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "osb:\n  accept_context_only: maybe\n")
                .find("osb.accept_context_only: expected true or false"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "log_level: loud\n").find("log_level"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "listen: nowhere\n").find("expected HOST:PORT"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "plugins:\n  x: [1]\n").find("plugins.x"),
            std::string::npos);
}

// A plugin's subtree is JSON for the plugin: held to the same depth limit as every JSON document,
// with an error naming the key rather than a crash in a recursive copy.
TEST_F(ConfigTest, PluginSubtreesDeeperThanTheJsonLimitAreRefused) {
  std::string deep = "[";
  for (int i = 0; i < 200; ++i) {
    deep += "[";
  }
  deep += std::string(201, ']');
  EXPECT_NE(error_of(std::string(kMinimal) + "plugins:\n  x:\n    a: " + deep + "\n")
                .find("plugins.x: nested deeper than 64 levels"),
            std::string::npos);
  EXPECT_EQ(error_of(std::string(kMinimal) + "plugins:\n  x:\n    a: [[[1]]]\n"), "");
}

// Found by fuzz_config (fuzz/regressions/fuzz_config/): texts that are not UTF-8 and keys that are
// not scalars were accepted or escaped as yaml-cpp exceptions; both are named errors now.
TEST_F(ConfigTest, TextsMustBeUtf8AndKeysScalars) {
  EXPECT_NE(error_of(std::string(kMinimal) + "plugins:\n  p: {k: \"\xff\xfe\"}\n")
                .find("plugins.p: not valid UTF-8"),
            std::string::npos);
  EXPECT_NE(
      error_of(std::string(kMinimal) + "data_dir: \"\xc3\"\n").find("data_dir: not valid UTF-8"),
      std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "plugins:\n  ? [a, b]\n  : {x: 1}\n").find("plugins"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "plugins:\n  p: {[a]: 1}\n")
                .find("plugins.p: a mapping key must be a string"),
            std::string::npos);
}

TEST_F(ConfigTest, ConnectionAndBodyLimitsAreRead) {
  const BrokerConfig cfg = load_file(
      write("l.yaml", std::string(kMinimal) +
                          "limits:\n  max_connections: 7\n  max_body_bytes_in_flight: 4194304\n"));
  EXPECT_EQ(cfg.max_connections, 7u);
  EXPECT_EQ(cfg.max_body_bytes_in_flight, 4194304u);
  EXPECT_NE(error_of(std::string(kMinimal) +
                     "limits:\n  max_body_bytes: 2097152\n  max_body_bytes_in_flight: 1048576\n")
                .find("limits.max_body_bytes_in_flight: must be at least max_body_bytes"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "limits:\n  max_connections: 0\n")
                .find("limits.max_connections"),
            std::string::npos);
}

TEST_F(ConfigTest, AuthIsRequiredAndValidated) {
  EXPECT_NE(error_of("listen: 127.0.0.1:1\n").find("auth: required"), std::string::npos);
  EXPECT_NE(error_of("auth:\n  username: u\n").find("password or password_file is required"),
            std::string::npos);
  EXPECT_NE(error_of("auth:\n  username: 'a:b'\n  password: p\n").find("auth.username"),
            std::string::npos);
}

TEST_F(ConfigTest, AdminCredentialsAreOptionalAndNeverThePlatforms) {
  EXPECT_FALSE(load_file(write("c.yaml", kMinimal)).admin.has_value());
  const auto cfg = load_file(
      write("c.yaml", std::string(kMinimal) + "admin:\n  username: ops\n  password: q\n"));
  ASSERT_TRUE(cfg.admin.has_value());
  EXPECT_EQ(cfg.admin->username, "ops");
  EXPECT_EQ(cfg.admin->password, "q");
  EXPECT_NE(error_of(std::string(kMinimal) + "admin:\n  username: u\n  password: q\n")
                .find("admin.username: must differ from auth.username"),
            std::string::npos);
  const std::string same_password =
      error_of(std::string(kMinimal) + "admin:\n  username: ops\n  password: p\n");
  EXPECT_NE(same_password.find("admin password must differ"), std::string::npos);
  EXPECT_EQ(same_password.find(": p"), std::string::npos);  // the password is not quoted
  EXPECT_NE(error_of(std::string(kMinimal) + "admin:\n  username: ops\n").find("admin"),
            std::string::npos);
  EXPECT_FALSE(cfg.admin_listen.has_value());
  const auto separate = load_file(
      write("c.yaml", std::string(kMinimal) +
                          "listen: 0.0.0.0:8080\nadmin:\n  username: ops\n  password: q\n  listen: "
                          "127.0.0.1:9090\n"));
  ASSERT_TRUE(separate.admin_listen.has_value());
  EXPECT_EQ(separate.admin_listen->host, "127.0.0.1");
  EXPECT_EQ(separate.admin_listen->port, 9090);
  EXPECT_EQ(separate.admin->username, "ops");
  EXPECT_NE(error_of(std::string(kMinimal) +
                     "listen: 0.0.0.0:8080\nadmin:\n  username: ops\n  password: q\n  listen: "
                     "127.0.0.1:8080\n")
                .find("admin.listen: must differ from listen"),
            std::string::npos);
}

TEST_F(ConfigTest, CatalogsHaveCredentialsSelectionsAndOverrides) {
  // Without catalogs: the default one, with auth, showing everything.
  const auto minimal = load_file(write("c.yaml", kMinimal));
  ASSERT_EQ(minimal.catalogs.size(), 1u);
  EXPECT_EQ(minimal.catalogs[0].name, "default");
  ASSERT_EQ(minimal.catalogs[0].credentials.size(), 1u);
  EXPECT_EQ(minimal.catalogs[0].credentials[0].username, "u");
  EXPECT_FALSE(minimal.catalogs[0].services.has_value());

  const auto cfg = load_file(write("c.yaml", std::string(kMinimal) + R"(catalogs:
  team-a:
    credentials:
      - {username: a, password: a1}
      - {username: a, password: a2}
    services:
      - svc-by-name
      - service: svc-2
        description: Shown to A
        metadata: {displayName: For A, costs: [{unit: MONTHLY}]}
        plans:
          - small
          - plan: large
            name: large-a
  default:
    credentials:
      - {username: u2, password: rotated}
    services: [svc-by-name]
)"));
  ASSERT_EQ(cfg.catalogs.size(), 2u);
  const auto& d = cfg.catalogs[0];
  EXPECT_EQ(d.name, "default");
  ASSERT_EQ(d.credentials.size(), 2u);  // auth first, then the catalog's own pairs
  EXPECT_EQ(d.credentials[0].username, "u");
  EXPECT_EQ(d.credentials[1].password, "rotated");
  const auto& a = cfg.catalogs[1];
  EXPECT_EQ(a.name, "team-a");
  ASSERT_EQ(a.credentials.size(), 2u);
  ASSERT_TRUE(a.services.has_value());
  ASSERT_EQ(a.services->size(), 2u);
  EXPECT_EQ((*a.services)[0].service, "svc-by-name");
  EXPECT_FALSE((*a.services)[0].plans.has_value());
  const auto& s2 = (*a.services)[1];
  EXPECT_EQ(s2.overrides.at("description"), "Shown to A");
  EXPECT_EQ(s2.overrides.at("metadata").at("costs").at(0).at("unit"), "MONTHLY");
  ASSERT_TRUE(s2.plans.has_value());
  ASSERT_EQ(s2.plans->size(), 2u);
  EXPECT_EQ((*s2.plans)[0].plan, "small");
  EXPECT_EQ((*s2.plans)[1].overrides.at("name"), "large-a");
}

TEST_F(ConfigTest, CatalogMistakesAreNamed) {
  const std::string base = std::string(kMinimal) + "admin: {username: ops, password: q}\n";
  EXPECT_NE(error_of(base + "catalogs:\n  team-a: {}\n")
                .find("catalogs.team-a.credentials: "
                      "required"),
            std::string::npos);
  EXPECT_NE(error_of(base + "catalogs:\n  Bad/Name:\n    credentials: [{username: x, password: "
                            "y}]\n")
                .find("catalogs.Bad/Name: a catalog name is"),
            std::string::npos);
  // A username belongs to one catalog (or to the operator) only.
  EXPECT_NE(error_of(base + "catalogs:\n  a:\n    credentials: [{username: u, password: y}]\n")
                .find("username 'u' is already used by catalog 'default'"),
            std::string::npos);
  EXPECT_NE(error_of(base + "catalogs:\n  a:\n    credentials: [{username: ops, password: y}]\n")
                .find("username 'ops' is already used by admin"),
            std::string::npos);
  const std::string same_as_admin =
      error_of(base + "catalogs:\n  a:\n    credentials: [{username: x, password: q}]\n");
  EXPECT_NE(same_as_admin.find("must differ from the admin password"), std::string::npos);
  EXPECT_NE(error_of(base + "catalogs:\n  a:\n    credentials: [{username: x, password: y}]\n"
                            "    services: [{service: s, colour: red}]\n")
                .find("catalogs.a.services.0.colour: unknown key"),
            std::string::npos);
  EXPECT_NE(error_of(base + "catalogs:\n  a:\n    credentials: [{username: x, password: y}]\n"
                            "    services: [{service: s, metadata: [1]}]\n")
                .find("catalogs.a.services.0.metadata: expected a mapping"),
            std::string::npos);
}

TEST_F(ConfigTest, TlsNeedsCertificateAndKeyAndTakesAClientCa) {
  EXPECT_FALSE(load_file(write("c.yaml", kMinimal)).tls.has_value());
  const auto cfg = load_file(write(
      "c.yaml", std::string(kMinimal) + "tls:\n  certificate_file: /c.pem\n  private_key_file: "
                                        "/k.pem\n  client_ca_file: /ca.pem\n"));
  ASSERT_TRUE(cfg.tls.has_value());
  EXPECT_EQ(cfg.tls->certificate_file, "/c.pem");
  EXPECT_EQ(cfg.tls->private_key_file, "/k.pem");
  EXPECT_EQ(cfg.tls->client_ca_file, "/ca.pem");
  EXPECT_NE(error_of(std::string(kMinimal) + "tls:\n  certificate_file: /c.pem\n")
                .find("tls.private_key_file: required"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) +
                     "tls:\n  certificate_file: /c\n  private_key_file: /k\n  ciphers: x\n")
                .find("tls.ciphers"),
            std::string::npos);
}

TEST_F(ConfigTest, PasswordFileIsReadAndTrimmed) {
  const auto secret = write("pw", "s3cret\n");
  const BrokerConfig cfg =
      load_file(write("c.yaml", "auth:\n  username: u\n  password_file: " + secret + "\n"));
  EXPECT_EQ(cfg.auth.password, "s3cret");
  const std::string err = error_of("auth:\n  username: u\n  password_file: " + dir_ + "/missing\n");
  EXPECT_NE(err.find("auth.password_file: cannot read"), std::string::npos);
}

TEST_F(ConfigTest, SecretsNeverAppearInErrors) {
  const std::string err = error_of("auth:\n  username: u\n  password: hunter2\nbogus: 1\n");
  EXPECT_FALSE(err.empty());
  EXPECT_EQ(err.find("hunter2"), std::string::npos);
}

TEST_F(ConfigTest, MalformedYamlGivesTheLine) {
  EXPECT_NE(error_of("auth: [\n").find("invalid YAML at line"), std::string::npos);
  EXPECT_NE(error_of("- a\n- b\n").find("expected a mapping"), std::string::npos);
}

// config/osbd.schema.json is what osbd checks against: compiled in unchanged, and a schema its
// own engine compiles.
TEST(ConfigSchema, IsTheShippedFileAndCompiles) {
  std::ifstream in(std::string(OSBD_SOURCE_DIR) + "/config/osbd.schema.json");
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(schema_text(), file);
  EXPECT_NO_THROW(schema::Schema::compile(nlohmann::json::parse(schema_text())));
}

// Every example configuration matches the schema; those without files they name (the package's,
// and the replicas' database password and key files) load completely.
TEST(ConfigSchema, ExampleConfigsMatch) {
  const std::string root = OSBD_SOURCE_DIR;
  std::vector<std::string> files = {root + "/config/osbd.yaml", root + "/packaging/osbd.yaml"};
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(root + "/config/examples")) {
    if (entry.path().extension() == ".yaml") {
      files.push_back(entry.path().string());
    }
  }
  for (const auto& file : files) {
    SCOPED_TRACE(file);
    EXPECT_NO_THROW(detail::check_shape(YAML::LoadFile(file), file));
    if (file.find("packaging") == std::string::npos &&
        file.find("/replicas/") == std::string::npos) {
      EXPECT_NO_THROW(load_file(file));
    }
  }
}

TEST_F(ConfigTest, StateDefaultsToSqliteAndReadsPostgresql) {
  EXPECT_EQ(load_file(write("c.yaml", kMinimal)).state.backend, StateBackend::sqlite);
  const auto pw = write("pw", "db-s3cret\n");
  const BrokerConfig cfg = load_file(write("c.yaml", std::string(kMinimal) + R"(
credentials_encryption:
  key_file: /etc/osbd/credentials.key
state:
  backend: postgresql
  replica_id: osbd-2
  lease_seconds: 6
  postgresql:
    host: db.internal
    port: 6432
    database: broker
    user: broker
    password_file: )" + pw + R"(
    sslmode: verify-full
    sslrootcert: /etc/osbd/ca.pem
    pool_size: 4
    statement_timeout_ms: 2000
    connect_timeout_seconds: 3
)"));
  EXPECT_EQ(cfg.state.backend, StateBackend::postgresql);
  EXPECT_EQ(cfg.state.replica_id, "osbd-2");
  EXPECT_EQ(cfg.state.lease_seconds, 6u);
  const auto& pg = cfg.state.postgresql;
  EXPECT_EQ(pg.host, "db.internal");
  EXPECT_EQ(pg.port, 6432u);
  EXPECT_EQ(pg.database, "broker");
  EXPECT_EQ(pg.user, "broker");
  EXPECT_EQ(pg.password, "db-s3cret");
  EXPECT_EQ(pg.sslmode, "verify-full");
  EXPECT_EQ(pg.sslrootcert, "/etc/osbd/ca.pem");
  EXPECT_EQ(pg.pool_size, 4u);
  EXPECT_EQ(pg.statement_timeout_ms, 2000u);
  EXPECT_EQ(pg.connect_timeout_seconds, 3u);
}

TEST_F(ConfigTest, UsageHasDefaultsAndReadsItsSettings) {
  const BrokerConfig defaults = load_file(write("c.yaml", kMinimal));
  EXPECT_EQ(defaults.usage.sample_seconds, 900u);
  EXPECT_EQ(defaults.usage.raw_hours, 48u);
  EXPECT_EQ(defaults.usage.hourly_days, 14u);
  EXPECT_EQ(defaults.usage.daily_days, 400u);
  const BrokerConfig cfg = load_file(write("c.yaml", std::string(kMinimal) + R"(
usage:
  sample_seconds: 0
  raw_hours: 24
  hourly_days: 7
  daily_days: 730
)"));
  EXPECT_EQ(cfg.usage.sample_seconds, 0u);
  EXPECT_EQ(cfg.usage.raw_hours, 24u);
  EXPECT_EQ(cfg.usage.hourly_days, 7u);
  EXPECT_EQ(cfg.usage.daily_days, 730u);
  EXPECT_NE(error_of(std::string(kMinimal) + "usage:\n  raw_hours: 0\n").find("usage.raw_hours"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "usage:\n  sample_every: 5\n").find("usage"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "usage:\n  sample_seconds: 420\n")
                .find("usage.sample_seconds: must divide 3600"),
            std::string::npos);
}

TEST_F(ConfigTest, StateMistakesAreNamed) {
  const auto pw = write("pw", "db-s3cret\n");
  const std::string key = "credentials_encryption:\n  key_file: k\n";
  EXPECT_NE(error_of(std::string(kMinimal) + "state:\n  backend: mysql\n")
                .find("state.backend: expected sqlite or postgresql"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + key + "state:\n  backend: postgresql\n")
                .find("state.postgresql: is required"),
            std::string::npos);
  const std::string pg = "state:\n  backend: postgresql\n  postgresql:\n    password_file: " + pw;
  EXPECT_NE(error_of(std::string(kMinimal) + pg + "\n")
                .find("credentials_encryption.key_file: is required with state.backend postgresql"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + key + pg + "\n    sslmode: verify-ca\n")
                .find("state.postgresql.sslrootcert: is required with sslmode verify-ca"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + key + pg + "\n    port: 70000\n")
                .find("state.postgresql.port"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + key +
                     "state:\n  backend: postgresql\n  postgresql:\n    password_file: " + dir_ +
                     "/missing\n")
                .find("state.postgresql.password_file: cannot read"),
            std::string::npos);
  EXPECT_NE(
      error_of(std::string(kMinimal) + "state:\n  postgresql:\n    password_file: " + pw + "\n")
          .find("state.postgresql: is only read with backend: postgresql"),
      std::string::npos);
  EXPECT_NE(
      error_of(std::string(kMinimal) + "state:\n  replica_id: 'a b'\n").find("state.replica_id"),
      std::string::npos);
  // The database password never reaches a message.
  EXPECT_EQ(error_of(std::string(kMinimal) + pg + "\n").find("db-s3cret"), std::string::npos);
}

TEST_F(ConfigTest, SchemaRefusalsNameTheKey) {
  const std::string path = dir_ + "/c.yaml: ";
  EXPECT_EQ(error_of(std::string(kMinimal) + "osb:\n  accept_context: true\n"),
            path + "osb.accept_context: unknown key (known keys: accept_context_only)");
  EXPECT_EQ(
      error_of(std::string(kMinimal) + "tls: {certificate_file: c, private_key_file: k, x: 1}\n"),
      path +
          "tls.x: unknown key (known keys: certificate_file, client_ca_file, "
          "private_key_file)");
  EXPECT_EQ(error_of(std::string(kMinimal) + "limits: 5\n"), path + "limits: expected a mapping");
  EXPECT_EQ(error_of(std::string(kMinimal) + "data_dir: [a]\n"),
            path + "data_dir: expected a string");
  EXPECT_EQ(error_of(std::string(kMinimal) + "limits:\n  max_connections: 1.5\n"),
            path + "limits.max_connections: expected an integer");
  EXPECT_EQ(error_of(std::string(kMinimal) + "limits:\n  poll_interval_ms: 600001\n"),
            path + "limits.poll_interval_ms: must be between 50 and 600000");
  EXPECT_EQ(error_of(std::string(kMinimal) + "limits:\n  worker_threads: -1\n"),
            path + "limits.worker_threads: must be between 1 and 256");
  EXPECT_EQ(error_of(std::string(kMinimal) + "log_level: verbose\n"),
            path + "log_level: expected debug, info, warn or error");
  EXPECT_EQ(error_of("auth:\n  password: p\n"),
            path + "auth.username: required (the HTTP Basic username)");
  EXPECT_EQ(error_of(std::string(kMinimal) + "catalogs:\n  a:\n    credentials: []\n"),
            path +
                "catalogs.a.credentials: expected a list of {username, password or "
                "password_file}");
  EXPECT_EQ(error_of(std::string(kMinimal) +
                     "catalogs:\n  a:\n    credentials: [{username: x, password: y}]\n"
                     "    services: [{service: s, plans: [{plan: ''}]}]\n"),
            path + "catalogs.a.services.0.plans.0.plan: expected a non-empty id or name");
  EXPECT_EQ(error_of(std::string(kMinimal) + "catalogs:\n  1a: {credentials: 5}\n"),
            path +
                "catalogs.1a.credentials: expected a list of {username, password or "
                "password_file}");
}

// Scalars are read as written, quoted or not: a quoted number is still a number where one is
// expected, and a text key keeps its exact text.
TEST_F(ConfigTest, ScalarsKeepTheirText) {
  const auto cfg =
      load_file(write("c.yaml",
                      "auth: {username: 0042, password: 1.50}\nlimits: {max_connections: \"100\"}\n"
                      "osb: {accept_context_only: \"true\"}\ndata_dir: true\n"));
  EXPECT_EQ(cfg.auth.username, "0042");
  EXPECT_EQ(cfg.auth.password, "1.50");
  EXPECT_EQ(cfg.max_connections, 100u);
  EXPECT_TRUE(cfg.accept_context_only);
  EXPECT_EQ(cfg.data_dir, "true");
  // Integers are plain decimal: 0100 would read as 64 in YAML 1.1, as 100 in YAML 1.2.
  EXPECT_NE(error_of(std::string(kMinimal) + "limits:\n  max_connections: 0100\n")
                .find("limits.max_connections: expected an integer"),
            std::string::npos);
}

TEST(ParseListen, AcceptsHostPortAndBracketedV6) {
  EXPECT_EQ(parse_listen("127.0.0.1:0", "x").port, 0);
  EXPECT_EQ(parse_listen("[::1]:8443", "x").host, "::1");
  EXPECT_THROW(parse_listen("127.0.0.1:70000", "x"), ConfigError);
  EXPECT_THROW(parse_listen(":80", "x"), ConfigError);
}

}  // namespace
}  // namespace osbd::config
