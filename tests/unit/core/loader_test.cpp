// Each way a plugin can be unusable has a tiny broken plugin under tests/fixtures; each must stop
// the broker with a message that names the file and what is wrong.

#include "plugin_host/loader.hpp"

#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "catalog/registry.hpp"

namespace osbd::plugin_host {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kExample = OSBD_PLUGIN_DIR "/osb_example.so";

std::string fixture(const std::string& name) {
  return std::string(OSBD_FIXTURE_DIR) + "/" + name + "/" + name + ".so";
}

// A plugin directory holding exactly the given libraries (as symlinks).
class PluginDir {
 public:
  explicit PluginDir(const std::vector<std::string>& files) {
    char tmpl[] = "/tmp/osbd-plugins-XXXXXX";
    path_ = mkdtemp(tmpl);
    for (const auto& f : files) {
      fs::create_symlink(f, fs::path(path_) / fs::path(f).filename());
    }
  }
  ~PluginDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Loads the directory and builds the catalog, as start-up does; returns the error message.
std::string startup_error(const std::vector<std::string>& files, const json& configs = {}) {
  PluginDir dir(files);
  try {
    auto plugins = load_plugin_dir(dir.path(), configs.is_null() ? json::object() : configs);
    catalog::Registry::build(plugins);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE((haystack).find(needle), std::string::npos) << "message: " << (haystack)

TEST(Loader, LoadsTheExamplePlugin) {
  auto plugin = load_plugin(kExample, json::object());
  EXPECT_EQ(plugin->name(), "org.osbd.example");
  EXPECT_EQ(plugin->abi_version(), "1.1");
  EXPECT_TRUE(plugin->supports(Operation::usage));
  auto catalog = plugin->call(Operation::get_catalog, json::object());
  EXPECT_EQ(catalog.status, OSB_STATUS_OK);
  EXPECT_FALSE(catalog.body.at("services").empty());
}

TEST(Loader, MissingFileIsNamed) {
  try {
    load_plugin("/nonexistent/plugin.so", json::object());
    FAIL() << "expected an error";
  } catch (const PluginLoadError& e) {
    EXPECT_CONTAINS(std::string(e.what()), "/nonexistent/plugin.so: cannot");
  }
}

TEST(Loader, MissingEntrySymbol) {
  const auto msg = startup_error({fixture("no_entry")});
  EXPECT_CONTAINS(msg, "/no_entry.so");
  EXPECT_CONTAINS(msg, "missing entry symbol 'osb_plugin_entry'");
}

TEST(Loader, AbiMajorMismatchNamesBothVersions) {
  const auto msg = startup_error({fixture("abi_major_mismatch")});
  EXPECT_CONTAINS(msg, "/abi_major_mismatch.so");
  EXPECT_CONTAINS(msg, "ABI major version mismatch: plugin 2.0, host 1.1");
}

TEST(Loader, PluginMinorNewerThanHostNamesBothVersions) {
  const auto msg = startup_error({fixture("abi_minor_newer")});
  EXPECT_CONTAINS(msg, "/abi_minor_newer.so");
  EXPECT_CONTAINS(msg, "plugin ABI version 1.2 is newer than the host's 1.1");
}

TEST(Loader, PluginOfAnOlderMinorLoadsWithoutItsNewerSlots) {
  // ABI 1.0 tables end at poll; the host must not read (or call) the usage slot behind them.
  auto plugin = load_plugin(fixture("abi_1_0"), json::object());
  EXPECT_EQ(plugin->abi_version(), "1.0");
  EXPECT_FALSE(plugin->supports(Operation::usage));
  auto usage = plugin->call(Operation::usage, json{{"instance_id", "i"}});
  EXPECT_EQ(usage.status, OSB_STATUS_OK);
  EXPECT_TRUE(usage.body.empty());
  EXPECT_EQ(plugin->call(Operation::provision, json::object()).status, OSB_STATUS_OK);
}

TEST(Loader, EntryReturningNull) {
  const auto msg = startup_error({fixture("entry_returns_null")});
  EXPECT_CONTAINS(msg, "/entry_returns_null.so");
  EXPECT_CONTAINS(msg, "returned no plugin table");
}

TEST(Loader, TableTooSmall) {
  const auto msg = startup_error({fixture("struct_too_small")});
  EXPECT_CONTAINS(msg, "/struct_too_small.so");
  EXPECT_CONTAINS(msg, "struct_size");
  EXPECT_CONTAINS(msg, "smaller than the ABI 1.0 layout");
}

TEST(Loader, FailingInitCarriesThePluginsMessage) {
  const auto msg = startup_error({fixture("init_fails")});
  EXPECT_CONTAINS(msg, "/init_fails.so");
  EXPECT_CONTAINS(msg, "create failed: ");
  EXPECT_CONTAINS(msg, "cannot reach backend");
}

TEST(Loader, FailingInitWithoutMessageIsReportedAsAPluginBug) {
  const auto msg = startup_error({fixture("init_fails_silently")});
  EXPECT_CONTAINS(msg, "/init_fails_silently.so");
  EXPECT_CONTAINS(msg, "create failed: no description given (a plugin bug)");
}

TEST(Loader, CatalogMissingRequiredField) {
  const auto msg = startup_error({fixture("catalog_missing_field")});
  EXPECT_CONTAINS(msg, "/catalog_missing_field.so");
  EXPECT_CONTAINS(msg, "invalid catalog: services[0].description: required field is missing");
}

TEST(Loader, CatalogNameNotCliFriendly) {
  const auto msg = startup_error({fixture("catalog_bad_name")});
  EXPECT_CONTAINS(msg, "/catalog_bad_name.so");
  EXPECT_CONTAINS(msg, "services[0].name: 'My Service!' is not CLI-friendly");
}

TEST(Loader, CatalogNotJson) {
  const auto msg = startup_error({fixture("catalog_bad_json")});
  EXPECT_CONTAINS(msg, "/catalog_bad_json.so");
  EXPECT_CONTAINS(msg, "not a JSON object");
}

TEST(Loader, DuplicateServiceIdNamesBothFiles) {
  const auto msg = startup_error({kExample, fixture("dup_service_id")});
  EXPECT_CONTAINS(msg, "dup_service_id.so");
  EXPECT_CONTAINS(msg, "service id");
  EXPECT_CONTAINS(msg, "is already used by");
  EXPECT_CONTAINS(msg, "osb_example.so");
}

TEST(Loader, DuplicatePlanIdNamesBothFiles) {
  const auto msg = startup_error({kExample, fixture("dup_plan_id")});
  EXPECT_CONTAINS(msg, "dup_plan_id.so");
  EXPECT_CONTAINS(msg, "plan id");
  EXPECT_CONTAINS(msg, "osb_example.so");
}

TEST(Loader, DuplicateServiceNameNamesBothFiles) {
  const auto msg = startup_error({kExample, fixture("dup_service_name")});
  EXPECT_CONTAINS(msg, "dup_service_name.so");
  EXPECT_CONTAINS(msg, "service name");
  EXPECT_CONTAINS(msg, "osb_example.so");
}

TEST(Loader, ConfigForAnAbsentPluginIsAnError) {
  const auto msg = startup_error({kExample}, json{{"org.nowhere", json::object()}});
  EXPECT_CONTAINS(msg, "plugins.org.nowhere");
}

TEST(Loader, PluginConfigErrorsNameTheKey) {
  const auto msg = startup_error({kExample}, json{{"org.osbd.example", {{"async_secondz", 1}}}});
  EXPECT_CONTAINS(msg, "create failed");
  EXPECT_CONTAINS(msg, "async_secondz");
}

TEST(Loader, MissingDirectory) {
  EXPECT_THROW(load_plugin_dir("/nonexistent-plugin-dir", json::object()), PluginLoadError);
}

TEST(Loader, BuildsTheMergedCatalogWithAnEtag) {
  PluginDir dir({kExample});
  auto registry = catalog::Registry::build(load_plugin_dir(dir.path(), json::object()));
  const json body = json::parse(registry->body());
  EXPECT_EQ(body.at("services").size(), 1u);
  EXPECT_EQ(registry->etag().front(), '"');
  const auto& svc = body.at("services").at(0);
  const auto* plan = registry->find_plan(svc.at("id"), svc.at("plans").at(0).at("id"));
  ASSERT_NE(plan, nullptr);
  EXPECT_EQ(plan->plugin->name(), "org.osbd.example");
  EXPECT_EQ(registry->find_plan(svc.at("id"), "nope"), nullptr);
}

}  // namespace
}  // namespace osbd::plugin_host
