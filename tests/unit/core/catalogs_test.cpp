// Catalog views over a registry of real plugins (the example and a fixture): selections by id or
// name, overrides, warnings for what is not loaded, refusal of views that are not valid OSB, and
// the catalog-scoped store keys.

#include "catalog/catalogs.hpp"

#include <string>

#include <gtest/gtest.h>

#include "plugin_host/loader.hpp"

namespace osbd::catalog {
namespace {

using nlohmann::json;

constexpr const char* kExampleService = "9bf6d9ad-db1c-479b-ba8e-648564c66a55";
constexpr const char* kSyncPlan = "700556d0-4a22-4ed7-8a5c-004d693b5286";
constexpr const char* kAsyncPlan = "234546ec-7332-4da8-86fd-58acefc3580b";
constexpr const char* kFixtureService = "f0000000-0000-4000-8000-000000000014";

std::shared_ptr<const Registry> two_plugins() {
  static const auto registry = Registry::build(
      {plugin_host::load_plugin(OSBD_PLUGIN_DIR "/osb_example.so", json::object()),
       plugin_host::load_plugin(OSBD_FIXTURE_DIR "/abi_1_0/abi_1_0.so", json::object())});
  return registry;
}

config::CatalogConfig catalog(const std::string& name,
                              std::optional<std::vector<config::ServiceSelection>> services) {
  config::CatalogConfig c;
  c.name = name;
  c.credentials.push_back({name + "-user", name + "-password"});
  c.services = std::move(services);
  return c;
}

TEST(CatalogViews, WithoutASelectionACatalogShowsEverythingAsTheRegistryDoes) {
  const auto catalogs = Catalogs::build(two_plugins(), {catalog("default", std::nullopt)});
  ASSERT_EQ(catalogs->views().size(), 1u);
  const View& v = catalogs->views()[0];
  EXPECT_EQ(v.base_path(), "");
  EXPECT_EQ(v.body(), two_plugins()->body());
  EXPECT_EQ(v.etag(), two_plugins()->etag());
  EXPECT_NE(v.find_plan(kExampleService, kAsyncPlan), nullptr);
  EXPECT_TRUE(v.has_service(kFixtureService));
  EXPECT_TRUE(catalogs->warnings().empty());
}

TEST(CatalogViews, ASelectionShowsItsServicesAndPlansWithTheirOverrides) {
  config::ServiceSelection example;
  example.service = "example-service";  // by name
  example.overrides = {{"description", "Ours"}, {"metadata", {{"displayName", "Our example"}}}};
  config::PlanSelection sync;
  sync.plan = kSyncPlan;  // by id
  sync.overrides = {{"name", "small"}, {"metadata", {{"bullets", {"one"}}}}};
  example.plans = std::vector<config::PlanSelection>{sync};
  const auto catalogs = Catalogs::build(
      two_plugins(), {catalog("default", std::nullopt), catalog("team-a", {{example}})});
  const View* a = catalogs->find("team-a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->base_path(), "/catalogs/team-a");
  EXPECT_NE(a->find_plan(kExampleService, kSyncPlan), nullptr);
  EXPECT_EQ(a->find_plan(kExampleService, kAsyncPlan), nullptr) << "not selected";
  EXPECT_FALSE(a->has_service(kFixtureService));
  const json body = json::parse(a->body());
  ASSERT_EQ(body.at("services").size(), 1u);
  const json& s = body.at("services").at(0);
  EXPECT_EQ(s.at("description"), "Ours");
  EXPECT_EQ(s.at("metadata").at("displayName"), "Our example");
  EXPECT_TRUE(s.at("metadata").contains("providerDisplayName")) << "merged, not replaced";
  ASSERT_EQ(s.at("plans").size(), 1u);
  EXPECT_EQ(s.at("plans").at(0).at("name"), "small");
  EXPECT_EQ(s.at("plans").at(0).at("metadata").at("bullets").at(0), "one");
  EXPECT_NE(a->etag(), catalogs->find("default")->etag());
  // The registry's own entries (flags, schemas) stay the plugin's.
  EXPECT_EQ(two_plugins()->find_plan(kExampleService, kSyncPlan)->plan.at("name"), "sync");
}

TEST(CatalogViews, WhatNoPluginOffersIsLeftOutWithAWarning) {
  config::ServiceSelection missing;
  missing.service = "not-loaded";
  config::ServiceSelection example;
  example.service = kExampleService;
  example.plans = std::vector<config::PlanSelection>{{"no-such-plan", json::object()}};
  const auto catalogs = Catalogs::build(
      two_plugins(), {catalog("default", std::vector<config::ServiceSelection>{missing, example})});
  EXPECT_EQ(json::parse(catalogs->views()[0].body()).at("services").size(), 0u);
  ASSERT_EQ(catalogs->warnings().size(), 3u);
  EXPECT_NE(catalogs->warnings()[0].find("service 'not-loaded' is offered by no loaded plugin"),
            std::string::npos);
  EXPECT_NE(catalogs->warnings()[1].find("has no plan 'no-such-plan'"), std::string::npos);
}

TEST(CatalogViews, OverridesThatBreakTheCatalogAreRefusedNamingIt) {
  config::ServiceSelection example;
  example.service = "example-service";
  example.overrides = {{"name", "Not CLI friendly!"}};
  try {
    Catalogs::build(two_plugins(), {catalog("team-a", {{example}})});
    FAIL() << "an invalid name was accepted";
  } catch (const CatalogError& e) {
    EXPECT_NE(std::string(e.what()).find("catalogs.team-a: the catalog after its selection and "
                                         "overrides is invalid: services[0].name"),
              std::string::npos)
        << e.what();
  }
  // Two services renamed alike.
  config::ServiceSelection fixture;
  fixture.service = kFixtureService;
  fixture.overrides = {{"name", "same"}};
  example.overrides = {{"name", "same"}};
  try {
    const std::vector<config::ServiceSelection> both{example, fixture};
    Catalogs::build(two_plugins(), {catalog("team-a", both)});
    FAIL() << "two services named alike were accepted";
  } catch (const CatalogError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "services[1].name: another service of this catalog has the name 'same'"),
              std::string::npos)
        << e.what();
  }
}

TEST(ScopedIds, KeysOfDifferentCatalogsNeverMeet) {
  EXPECT_EQ(scoped_id("default", "abc"), "abc");
  EXPECT_EQ(scoped_id("team-a", "abc"), std::string("team-a\x1f") + "abc");
  EXPECT_NE(scoped_id("team-a", "abc"), scoped_id("default", "team-a/abc"));
  EXPECT_EQ(split_scoped_id(scoped_id("team-a", "a/b c")),
            (std::pair<std::string, std::string>{"team-a", "a/b c"}));
  EXPECT_EQ(split_scoped_id("plain"), (std::pair<std::string, std::string>{"default", "plain"}));
}

}  // namespace
}  // namespace osbd::catalog
