// Each fixture has exactly its one defect, and is otherwise a loadable, valid plugin.

#include <filesystem>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <osbd/test_fixtures.hpp>

#include "example_catalog.hpp"
#include "loaded_library.hpp"
#include "osb/sdk/fake_host.hpp"
#include "osb/sdk/host.hpp"

namespace {

namespace fixtures = osbd::test_fixtures;
using nlohmann::json;
using osb::sdk::testing::BackendHandle;
using osb::sdk::testing::CallRecord;
using osb::sdk::testing::FakeHost;
using osb_sdk_test::LoadedLibrary;

// The table a fixture's entry point returns for host.
const osb_plugin_v1* table_of(const LoadedLibrary& library, const FakeHost& host) {
  const osb_plugin_entry_fn entry = library.entry();
  return entry == nullptr ? nullptr : entry(host.table());
}

// The catalog of a fixture that loads and creates fine.
json catalog_of(const fixtures::Fixture& fixture) {
  FakeHost host;
  LoadedLibrary library(fixture.library);
  const osb_plugin_v1* table = table_of(library, host);
  if (table == nullptr) {
    throw std::runtime_error(std::string(fixture.name) + ": no table");
  }
  BackendHandle backend(host, *table);
  return backend.catalog().json();
}

TEST(Fixtures, EachLivesAloneInItsDirectory) {
  std::set<std::string> names;
  for (const fixtures::Fixture& fixture : fixtures::all) {
    names.insert(fixture.name);
    const std::filesystem::path directory(fixture.directory);
    EXPECT_EQ(directory.filename(), fixture.name);
    EXPECT_EQ(std::filesystem::path(fixture.library),
              directory / (std::string(fixture.name) + ".so"));
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(directory)) {
      EXPECT_EQ(entry.path().filename(), std::string(fixture.name) + ".so");
      ++files;
    }
    EXPECT_EQ(files, 1U) << fixture.directory;
  }
  EXPECT_EQ(names.size(), std::size(fixtures::all));
}

TEST(Fixtures, EachExportsOnlyItsEntryPoint) {
  for (const fixtures::Fixture& fixture : fixtures::all) {
    const std::set<std::string> expected = {
        std::string(fixture.name) == "no_entry" ? "osb_plugin_main" : "osb_plugin_entry"};
    EXPECT_EQ(osb_sdk_test::exported_symbols(fixture.library), expected) << fixture.name;
  }
}

TEST(Fixtures, NoEntry) {
  LoadedLibrary library(fixtures::no_entry.library);
  EXPECT_EQ(library.entry(), nullptr);
  EXPECT_NE(library.symbol("osb_plugin_main"), nullptr);
}

TEST(Fixtures, AbiMajorMismatch) {
  FakeHost host;
  LoadedLibrary library(fixtures::abi_major_mismatch.library);
  const osb_plugin_v1* table = table_of(library, host);
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->abi_major, 2U);
  EXPECT_EQ(table->struct_size, sizeof(osb_plugin_v1));
}

TEST(Fixtures, AbiMinorNewer) {
  FakeHost host;
  LoadedLibrary library(fixtures::abi_minor_newer.library);
  const osb_plugin_v1* table = table_of(library, host);
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->abi_major, static_cast<std::uint32_t>(OSB_PLUGIN_ABI_VERSION_MAJOR));
  EXPECT_EQ(table->abi_minor, static_cast<std::uint32_t>(OSB_PLUGIN_ABI_VERSION_MINOR + 1));
}

TEST(Fixtures, EntryReturnsNull) {
  FakeHost host;
  LoadedLibrary library(fixtures::entry_returns_null.library);
  ASSERT_NE(library.entry(), nullptr);
  EXPECT_EQ(table_of(library, host), nullptr);
}

TEST(Fixtures, StructTooSmall) {
  FakeHost host;
  LoadedLibrary library(fixtures::struct_too_small.library);
  const osb_plugin_v1* table = table_of(library, host);
  ASSERT_NE(table, nullptr);
  EXPECT_LT(table->struct_size, osb::sdk::plugin_v1_0_size);
  EXPECT_EQ(table->abi_major, static_cast<std::uint32_t>(OSB_PLUGIN_ABI_VERSION_MAJOR));
}

TEST(Fixtures, InitFails) {
  FakeHost host;
  LoadedLibrary library(fixtures::init_fails.library);
  const osb_plugin_v1* table = table_of(library, host);
  ASSERT_NE(table, nullptr);
  CallRecord record;
  EXPECT_EQ(host.create(*table, "{}", record), nullptr);
  EXPECT_EQ(record.error, "cannot reach backend at 10.0.0.1:5432: connection refused");
}

TEST(Fixtures, InitFailsSilently) {
  FakeHost host;
  LoadedLibrary library(fixtures::init_fails_silently.library);
  const osb_plugin_v1* table = table_of(library, host);
  ASSERT_NE(table, nullptr);
  CallRecord record;
  EXPECT_EQ(host.create(*table, "{}", record), nullptr);
  EXPECT_FALSE(record.error);
}

TEST(Fixtures, CatalogMissingField) {
  const json service = catalog_of(fixtures::catalog_missing_field)["services"][0];
  EXPECT_FALSE(service.contains("description"));
  EXPECT_TRUE(service.contains("name"));
  EXPECT_TRUE(service.contains("id"));
}

TEST(Fixtures, CatalogBadName) {
  EXPECT_EQ(catalog_of(fixtures::catalog_bad_name)["services"][0]["name"], "My Service!");
}

TEST(Fixtures, CatalogBadJson) {
  FakeHost host;
  LoadedLibrary library(fixtures::catalog_bad_json.library);
  BackendHandle backend(host, *table_of(library, host));
  const CallRecord call = backend.catalog();
  EXPECT_EQ(call.status, OSB_STATUS_OK);
  ASSERT_TRUE(call.result);
  EXPECT_FALSE(json::accept(*call.result));
}

// The example's catalog as the plugin reports it, so the dup fixtures are checked against the
// real ids and not against a copy.
json example_service() {
  FakeHost host;
  LoadedLibrary library(fixtures::example_plugin);
  BackendHandle backend(host, *table_of(library, host));
  return backend.catalog().json()["services"][0];
}

TEST(Fixtures, DupServiceId) {
  const json example = example_service();
  const json service = catalog_of(fixtures::dup_service_id)["services"][0];
  EXPECT_EQ(service["id"], example["id"]);
  EXPECT_NE(service["name"], example["name"]);
  for (const json& plan : example["plans"]) {
    EXPECT_NE(service["plans"][0]["id"], plan["id"]);
  }
}

TEST(Fixtures, DupPlanId) {
  const json example = example_service();
  const json service = catalog_of(fixtures::dup_plan_id)["services"][0];
  EXPECT_NE(service["id"], example["id"]);
  EXPECT_NE(service["name"], example["name"]);
  EXPECT_EQ(service["plans"][0]["id"], example["plans"][0]["id"]);
  EXPECT_EQ(service["plans"][0]["id"], std::string(osb_example::sync_plan_id));
}

TEST(Fixtures, DupServiceName) {
  const json example = example_service();
  const json service = catalog_of(fixtures::dup_service_name)["services"][0];
  EXPECT_EQ(service["name"], example["name"]);
  EXPECT_NE(service["id"], example["id"]);
  for (const json& plan : example["plans"]) {
    EXPECT_NE(service["plans"][0]["id"], plan["id"]);
  }
}

TEST(Fixtures, OwnIdsAreDistinctAndCatalogsValid) {
  // Every fixture that gets as far as a catalog has a complete one, apart from its defect.
  std::set<std::string> ids;
  for (const fixtures::Fixture* fixture :
       {&fixtures::abi_major_mismatch, &fixtures::abi_minor_newer, &fixtures::struct_too_small,
        &fixtures::catalog_bad_name, &fixtures::dup_service_id, &fixtures::dup_plan_id,
        &fixtures::dup_service_name, &fixtures::sdk_throwing}) {
    const json catalog = catalog_of(*fixture);
    ASSERT_EQ(catalog["services"].size(), 1U) << fixture->name;
    const json& service = catalog["services"][0];
    for (const char* key : {"id", "name", "description"}) {
      EXPECT_TRUE(service[key].is_string()) << fixture->name << " " << key;
    }
    EXPECT_TRUE(service["bindable"].is_boolean()) << fixture->name;
    ASSERT_EQ(service["plans"].size(), 1U) << fixture->name;
    for (const char* key : {"id", "name", "description"}) {
      EXPECT_TRUE(service["plans"][0][key].is_string()) << fixture->name << " " << key;
    }
    EXPECT_TRUE(ids.insert(service["id"]).second) << fixture->name;
    EXPECT_TRUE(ids.insert(service["plans"][0]["id"]).second) << fixture->name;
  }
}

TEST(Fixtures, SdkThrowingTurnsExceptionsIntoErrors) {
  FakeHost host;
  LoadedLibrary library(fixtures::sdk_throwing.library);
  const osb_plugin_v1* table = table_of(library, host);
  ASSERT_NE(table, nullptr);
  BackendHandle backend(host, *table);
  CallRecord call =
      backend.provision({{"instance_id", "i"}, {"service_id", "s"}, {"plan_id", "p"}});
  EXPECT_EQ(call.status, OSB_STATUS_INTERNAL_ERROR);
  EXPECT_EQ(call.error, "backend exploded during provision");
  call = backend.bind(
      {{"instance_id", "i"}, {"binding_id", "b"}, {"service_id", "s"}, {"plan_id", "p"}});
  EXPECT_EQ(call.status, OSB_STATUS_INTERNAL_ERROR);
  EXPECT_EQ(call.error, "the plugin failed with an exception that is not a std::exception");
  EXPECT_EQ(backend.deprovision({{"instance_id", "i"}}).status, OSB_STATUS_OK);
}

TEST(Fixtures, SdkThrowingCreateFailures) {
  FakeHost host;
  LoadedLibrary library(fixtures::sdk_throwing.library);
  const osb_plugin_v1* table = table_of(library, host);
  ASSERT_NE(table, nullptr);
  CallRecord record;
  EXPECT_EQ(host.create(*table, R"({"throw_in_create": "config"})", record), nullptr);
  EXPECT_EQ(record.error,
            "invalid configuration: throw_in_create: configured to throw a "
            "ConfigError");
  record = {};
  EXPECT_EQ(host.create(*table, R"({"throw_in_create": "runtime"})", record), nullptr);
  EXPECT_EQ(record.error, "backend exploded while starting");
}

}  // namespace
