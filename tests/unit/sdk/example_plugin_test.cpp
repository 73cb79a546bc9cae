// The example plugin, loaded from its .so and driven through its C table as osbd drives it.

#include <algorithm>
#include <cctype>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <osbd/test_fixtures.hpp>

#include "example_catalog.hpp"
#include "loaded_library.hpp"
#include "osb/sdk/fake_host.hpp"

namespace {

using nlohmann::json;
using osb::sdk::testing::BackendHandle;
using osb::sdk::testing::CallRecord;
using osb::sdk::testing::FakeHost;

const std::string service_id(osb_example::service_id);
const std::string sync_plan(osb_example::sync_plan_id);
const std::string async_plan(osb_example::async_plan_id);
const std::string async_only_plan(osb_example::async_only_plan_id);

json provision_request(const std::string& instance_id, const std::string& plan_id,
                       bool accepts_incomplete = false, json parameters = json::object()) {
  return {{"instance_id", instance_id},
          {"service_id", service_id},
          {"plan_id", plan_id},
          {"parameters", std::move(parameters)},
          {"accepts_incomplete", accepts_incomplete}};
}

json bind_request(const std::string& instance_id, const std::string& binding_id,
                  const std::string& plan_id, bool accepts_incomplete = false) {
  return {{"instance_id", instance_id},
          {"binding_id", binding_id},
          {"service_id", service_id},
          {"plan_id", plan_id},
          {"accepts_incomplete", accepts_incomplete}};
}

json poll_request(const std::string& kind, const CallRecord& started,
                  const std::string& instance_id, const std::string& binding_id = {}) {
  return {{"kind", kind},
          {"operation", started.json().at("operation")},
          {"instance_id", instance_id},
          {"binding_id", binding_id},
          {"service_id", service_id},
          {"plan_id", async_plan}};
}

class ExamplePlugin : public ::testing::Test {
 protected:
  ExamplePlugin() : library_(osbd::test_fixtures::example_plugin) {
    const osb_plugin_entry_fn entry = library_.entry();
    if (entry == nullptr) {
      throw std::runtime_error("osb_example.so exports no osb_plugin_entry");
    }
    table_ = entry(host_.table());
    if (table_ == nullptr) {
      throw std::runtime_error("osb_plugin_entry returned NULL");
    }
  }

  std::unique_ptr<BackendHandle> make(const json& config = {{"async_seconds", 0}}) {
    return std::make_unique<BackendHandle>(host_, *table_, config);
  }

  // The description create() reports for config, or "" when it succeeds.
  std::string config_error(const std::string& config) {
    CallRecord record;
    osb_backend* backend = host_.create(*table_, config, record);
    if (backend != nullptr) {
      table_->destroy(backend);
      return {};
    }
    return record.error.value_or("(create failed without a description)");
  }

  FakeHost host_;
  osb_sdk_test::LoadedLibrary library_;
  const osb_plugin_v1* table_ = nullptr;
};

TEST_F(ExamplePlugin, Identity) {
  EXPECT_STREQ(table_->name, "org.osbd.example");
  EXPECT_STREQ(table_->version, "1.0.0");
  EXPECT_STREQ(table_->vendor, "osbd");
  EXPECT_EQ(table_->struct_size, sizeof(osb_plugin_v1));
  EXPECT_EQ(table_->abi_major, static_cast<std::uint32_t>(OSB_PLUGIN_ABI_VERSION_MAJOR));
  EXPECT_EQ(table_->abi_minor, static_cast<std::uint32_t>(OSB_PLUGIN_ABI_VERSION_MINOR));
}

TEST_F(ExamplePlugin, ExportsOnlyTheEntryPoint) {
  // Hidden visibility plus the version script keep SDK and standard library symbols local.
  EXPECT_EQ(osb_sdk_test::exported_symbols(osbd::test_fixtures::example_plugin),
            std::set<std::string>{"osb_plugin_entry"});
}

TEST_F(ExamplePlugin, Catalog) {
  auto backend = make();
  const CallRecord call = backend->catalog();
  ASSERT_EQ(call.status, OSB_STATUS_OK);
  const json catalog = call.json();
  ASSERT_EQ(catalog["services"].size(), 1U);
  const json& service = catalog["services"][0];
  EXPECT_EQ(service["id"], service_id);
  EXPECT_EQ(service["name"], "example-service");
  EXPECT_FALSE(service["description"].get<std::string>().empty());
  EXPECT_EQ(service["bindable"], true);
  EXPECT_EQ(service["instances_retrievable"], true);
  EXPECT_EQ(service["bindings_retrievable"], true);
  EXPECT_EQ(service["plan_updateable"], true);
  EXPECT_EQ(service["tags"], json({"example", "in-memory"}));
  EXPECT_EQ(service["metadata"]["displayName"], "Example Service");
  ASSERT_EQ(service["plans"].size(), 3U);
  EXPECT_EQ(service["plans"][0]["id"], sync_plan);
  EXPECT_EQ(service["plans"][0]["name"], "sync");
  EXPECT_EQ(service["plans"][1]["id"], async_plan);
  EXPECT_EQ(service["plans"][1]["name"], "async");
  EXPECT_EQ(service["plans"][2]["id"], async_only_plan);
  EXPECT_EQ(service["plans"][2]["name"], "async-only");
  const json& schema = service["plans"][0]["schemas"]["service_instance"]["create"]["parameters"];
  EXPECT_EQ(schema["$schema"], "http://json-schema.org/draft-04/schema#");
  EXPECT_EQ(schema["properties"]["size"],
            json({{"type", "integer"},
                  {"minimum", 1},
                  {"maximum", 10},
                  {"description", "Capacity units of the instance"}}));
}

TEST_F(ExamplePlugin, ServiceNameOverride) {
  auto backend = make({{"service_name", "demo.db"}});
  EXPECT_EQ(backend->catalog().json()["services"][0]["name"], "demo.db");
}

TEST_F(ExamplePlugin, ConfigErrorsNameTheKey) {
  EXPECT_EQ(config_error("{}"), "");
  EXPECT_EQ(config_error(R"({"async_seconds": 0.5, "fail_provision": false})"), "");
  EXPECT_EQ(config_error(R"({"async_secs": 1})"),
            "invalid configuration: async_secs: unknown configuration key");
  EXPECT_EQ(config_error(R"({"async_seconds": "2"})"),
            "invalid configuration: async_seconds: expected a number");
  EXPECT_EQ(config_error(R"({"async_seconds": -1})"),
            "invalid configuration: async_seconds: must be a number from 0 to 86400");
  EXPECT_EQ(config_error(R"({"fail_provision": "yes"})"),
            "invalid configuration: fail_provision: expected true or false");
  EXPECT_EQ(config_error(R"({"service_name": 3})"),
            "invalid configuration: service_name: expected a string");
  EXPECT_EQ(config_error(R"({"service_name": "My Service!"})"),
            "invalid configuration: service_name: must be a non-empty name of letters, digits, "
            "'-' and '.'");
  EXPECT_EQ(config_error("[]"), "invalid configuration: expected a JSON object");
}

TEST_F(ExamplePlugin, SyncProvision) {
  auto backend = make();
  const CallRecord call =
      backend->provision(provision_request("i-1", sync_plan, false, {{"size", 4}}));
  ASSERT_EQ(call.status, OSB_STATUS_OK) << call.error.value_or("");
  const json result = call.json();
  EXPECT_EQ(result["instance_state"], json({{"plan", "sync"}, {"size", 4}}));
  EXPECT_EQ(result["dashboard_url"].get<std::string>().rfind("https://example.invalid/", 0), 0U);
  EXPECT_FALSE(result.contains("operation"));
}

TEST_F(ExamplePlugin, ProvisionDefaultsSizeToOne) {
  auto backend = make();
  EXPECT_EQ(backend->provision(provision_request("i", sync_plan)).json()["instance_state"]["size"],
            1);
}

TEST_F(ExamplePlugin, InvalidParametersAreBadRequests) {
  auto backend = make();
  const struct {
    json parameters;
    std::string error;
  } cases[] = {
      {{{"colour", "red"}}, "unknown parameter \"colour\"; this service accepts only \"size\""},
      {{{"size", "3"}}, "parameter \"size\" must be an integer from 1 to 10"},
      {{{"size", 3.0}}, "parameter \"size\" must be an integer from 1 to 10"},
      {{{"size", 0}}, "parameter \"size\" must be an integer from 1 to 10"},
      {{{"size", 11}}, "parameter \"size\" must be an integer from 1 to 10"},
      {{{"size", -1}}, "parameter \"size\" must be an integer from 1 to 10"},
      {{{"size", 18446744073709551615ULL}}, "parameter \"size\" must be an integer from 1 to 10"},
      {{{"size", true}}, "parameter \"size\" must be an integer from 1 to 10"},
  };
  for (const auto& c : cases) {
    const CallRecord call =
        backend->provision(provision_request("i", sync_plan, false, c.parameters));
    EXPECT_EQ(call.status, OSB_STATUS_BAD_REQUEST) << c.parameters;
    EXPECT_EQ(call.error, c.error) << c.parameters;
  }
}

TEST_F(ExamplePlugin, UnknownIdsAreBadRequests) {
  auto backend = make();
  json request = provision_request("i", "no-such-plan");
  CallRecord call = backend->provision(request);
  EXPECT_EQ(call.status, OSB_STATUS_BAD_REQUEST);
  EXPECT_EQ(call.error, "unknown plan_id \"no-such-plan\"");
  request = provision_request("i", sync_plan);
  request["service_id"] = "other";
  call = backend->provision(request);
  EXPECT_EQ(call.status, OSB_STATUS_BAD_REQUEST);
  EXPECT_EQ(call.error, "unknown service_id \"other\"");
}

TEST_F(ExamplePlugin, FailProvision) {
  auto backend = make({{"fail_provision", true}});
  const CallRecord call = backend->provision(provision_request("i", sync_plan));
  EXPECT_EQ(call.status, OSB_STATUS_BACKEND_ERROR);
  EXPECT_EQ(call.error, "configured to fail");
}

TEST_F(ExamplePlugin, AsyncOnlyPlanRequiresAcceptsIncomplete) {
  auto backend = make();
  const json instance = {
      {"instance_id", "i"}, {"service_id", service_id}, {"plan_id", async_only_plan}};
  EXPECT_EQ(backend->provision(provision_request("i", async_only_plan)).status,
            OSB_STATUS_ASYNC_REQUIRED);
  EXPECT_EQ(backend->deprovision(instance).status, OSB_STATUS_ASYNC_REQUIRED);
  EXPECT_EQ(backend->bind(bind_request("i", "b", async_only_plan)).status,
            OSB_STATUS_ASYNC_REQUIRED);
  json unbind = instance;
  unbind["binding_id"] = "b";
  const CallRecord call = backend->unbind(unbind);
  EXPECT_EQ(call.status, OSB_STATUS_ASYNC_REQUIRED);
  EXPECT_FALSE(call.error.value_or("").empty());
}

// Platforms that bind synchronously (Kubernetes clients) can bind the async plan: its bind and
// unbind run synchronously when accepts_incomplete is false; its provision does not.
TEST_F(ExamplePlugin, AsyncPlanBindsSynchronouslyWhenNotAllowedAsynchronously) {
  auto backend = make();
  const json instance = {{"instance_id", "i"}, {"service_id", service_id}, {"plan_id", async_plan}};
  EXPECT_EQ(backend->provision(provision_request("i", async_plan)).status,
            OSB_STATUS_ASYNC_REQUIRED);
  EXPECT_EQ(backend->deprovision(instance).status, OSB_STATUS_ASYNC_REQUIRED);
  const CallRecord bound = backend->bind(bind_request("i", "b", async_plan));
  EXPECT_EQ(bound.status, OSB_STATUS_OK);
  EXPECT_TRUE(bound.json()["credentials"].is_object());
  json unbind = instance;
  unbind["binding_id"] = "b";
  EXPECT_EQ(backend->unbind(unbind).status, OSB_STATUS_OK);
}

TEST_F(ExamplePlugin, SyncPlanIgnoresAcceptsIncomplete) {
  auto backend = make();
  EXPECT_EQ(backend->provision(provision_request("i", sync_plan, true)).status, OSB_STATUS_OK);
}

TEST_F(ExamplePlugin, AsyncLifecycleWithZeroSeconds) {
  auto backend = make({{"async_seconds", 0}});
  const CallRecord provision =
      backend->provision(provision_request("i-a", async_plan, true, {{"size", 2}}));
  ASSERT_EQ(provision.status, OSB_STATUS_IN_PROGRESS) << provision.error.value_or("");
  EXPECT_FALSE(provision.json()["operation"].get<std::string>().empty());
  CallRecord poll = backend->poll(poll_request("provision", provision, "i-a"));
  ASSERT_EQ(poll.status, OSB_STATUS_OK);
  EXPECT_EQ(poll.json()["state"], "succeeded");
  EXPECT_EQ(poll.json()["instance_state"], json({{"plan", "async"}, {"size", 2}}));

  const CallRecord bind = backend->bind(bind_request("i-a", "b-a", async_plan, true));
  ASSERT_EQ(bind.status, OSB_STATUS_IN_PROGRESS);
  EXPECT_FALSE(bind.json().contains("credentials"));
  poll = backend->poll(poll_request("bind", bind, "i-a", "b-a"));
  EXPECT_EQ(poll.json()["state"], "succeeded");
  EXPECT_EQ(poll.json()["credentials"]["password"].get<std::string>().size(), 32U);

  json unbind_request = bind_request("i-a", "b-a", async_plan, true);
  const CallRecord unbind = backend->unbind(unbind_request);
  ASSERT_EQ(unbind.status, OSB_STATUS_IN_PROGRESS);
  EXPECT_EQ(backend->poll(poll_request("unbind", unbind, "i-a", "b-a")).json()["state"],
            "succeeded");

  const CallRecord deprovision = backend->deprovision(
      {{"instance_id", "i-a"}, {"plan_id", async_plan}, {"accepts_incomplete", true}});
  ASSERT_EQ(deprovision.status, OSB_STATUS_IN_PROGRESS);
  EXPECT_EQ(backend->poll(poll_request("deprovision", deprovision, "i-a")).json()["state"],
            "succeeded");
}

TEST_F(ExamplePlugin, AsyncStaysInProgressUntilTheTimeHasPassed) {
  auto backend = make({{"async_seconds", 3600}});
  const CallRecord provision = backend->provision(provision_request("i", async_plan, true));
  ASSERT_EQ(provision.status, OSB_STATUS_IN_PROGRESS);
  const CallRecord poll = backend->poll(poll_request("provision", provision, "i"));
  ASSERT_EQ(poll.status, OSB_STATUS_OK);
  EXPECT_EQ(poll.json()["state"], "in progress");
}

TEST_F(ExamplePlugin, AsyncFinishesAfterAShortWait) {
  auto backend = make({{"async_seconds", 0.05}});
  const CallRecord provision = backend->provision(provision_request("i", async_plan, true));
  ASSERT_EQ(provision.status, OSB_STATUS_IN_PROGRESS);
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  EXPECT_EQ(backend->poll(poll_request("provision", provision, "i")).json()["state"], "succeeded");
}

TEST_F(ExamplePlugin, PollOfUnknownOrMismatchedTokenFails) {
  auto backend = make();
  CallRecord poll =
      backend->poll({{"kind", "provision"}, {"operation", "garbage"}, {"instance_id", "i"}});
  ASSERT_EQ(poll.status, OSB_STATUS_OK);
  EXPECT_EQ(poll.json()["state"], "failed");
  EXPECT_EQ(poll.json()["description"], "unknown operation \"garbage\"");
  const CallRecord provision = backend->provision(provision_request("i", async_plan, true));
  poll = backend->poll(poll_request("deprovision", provision, "i"));
  EXPECT_EQ(poll.json()["state"], "failed");
}

TEST_F(ExamplePlugin, PollAfterRestartStillSucceeds) {
  // The token carries its deadline, so a fresh backend (a restarted broker) can finish it.
  CallRecord provision;
  {
    auto first = make();
    provision = first->provision(provision_request("i", async_plan, true, {{"size", 3}}));
  }
  auto second = make();
  const CallRecord poll = second->poll(poll_request("provision", provision, "i"));
  EXPECT_EQ(poll.json()["state"], "succeeded");
  EXPECT_EQ(poll.json()["instance_state"]["plan"], "async");
}

bool is_alphanumeric(const std::string& text) {
  return std::all_of(text.begin(), text.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0; });
}

TEST_F(ExamplePlugin, CredentialsAreUniquePerBinding) {
  auto backend = make();
  ASSERT_EQ(backend->provision(provision_request("i", sync_plan)).status, OSB_STATUS_OK);
  const json first = backend->bind(bind_request("i", "b-1", sync_plan)).json();
  const json second = backend->bind(bind_request("i", "b-2", sync_plan)).json();
  const json& c1 = first["credentials"];
  const json& c2 = second["credentials"];
  EXPECT_NE(c1["username"], c2["username"]);
  EXPECT_NE(c1["password"], c2["password"]);
  for (const json* c : {&c1, &c2}) {
    const std::string password = (*c)["password"];
    EXPECT_EQ(password.size(), 32U);
    EXPECT_TRUE(is_alphanumeric(password)) << password;
    const std::string uri = (*c)["uri"];
    EXPECT_NE(uri.find((*c)["username"].get<std::string>()), std::string::npos);
    EXPECT_NE(uri.find(password), std::string::npos);
  }
  EXPECT_EQ(first["binding_state"], json({{"username", c1["username"]}}));
}

TEST_F(ExamplePlugin, RepeatedBindReturnsTheSameCredentials) {
  auto backend = make();
  const json first = backend->bind(bind_request("i", "b", sync_plan)).json();
  const json again = backend->bind(bind_request("i", "b", sync_plan)).json();
  EXPECT_EQ(first, again);
  ASSERT_EQ(backend->unbind(bind_request("i", "b", sync_plan)).status, OSB_STATUS_OK);
  const json fresh = backend->bind(bind_request("i", "b", sync_plan)).json();
  EXPECT_EQ(fresh["credentials"]["username"], first["credentials"]["username"]);
  EXPECT_NE(fresh["credentials"]["password"], first["credentials"]["password"]);
}

TEST_F(ExamplePlugin, BindRejectsParameters) {
  auto backend = make();
  json request = bind_request("i", "b", sync_plan);
  request["parameters"] = {{"role", "admin"}};
  const CallRecord call = backend->bind(request);
  EXPECT_EQ(call.status, OSB_STATUS_BAD_REQUEST);
  EXPECT_EQ(call.error, "unknown parameter \"role\"; bindings of this service take no parameters");
}

TEST_F(ExamplePlugin, DeprovisionAndUnbindOfUnknownIdsSucceed) {
  auto backend = make();
  EXPECT_EQ(backend->deprovision({{"instance_id", "nobody"}, {"plan_id", sync_plan}}).status,
            OSB_STATUS_OK);
  EXPECT_EQ(backend->deprovision({{"instance_id", "nobody"}}).status, OSB_STATUS_OK);
  EXPECT_EQ(
      backend->unbind({{"instance_id", "nobody"}, {"binding_id", "none"}, {"plan_id", sync_plan}})
          .status,
      OSB_STATUS_OK);
}

TEST_F(ExamplePlugin, DeprovisionUsesThePlanFromInstanceState) {
  auto backend = make();
  const CallRecord call = backend->deprovision(
      {{"instance_id", "i"}, {"instance_state", {{"plan", "async"}, {"size", 1}}}});
  EXPECT_EQ(call.status, OSB_STATUS_ASYNC_REQUIRED);
}

TEST_F(ExamplePlugin, UpdateChangesSizeAndPlan) {
  auto backend = make();
  ASSERT_EQ(backend->provision(provision_request("i", sync_plan, false, {{"size", 2}})).status,
            OSB_STATUS_OK);
  CallRecord call = backend->update({{"instance_id", "i"},
                                     {"service_id", service_id},
                                     {"plan_id", sync_plan},
                                     {"parameters", {{"size", 7}}}});
  ASSERT_EQ(call.status, OSB_STATUS_OK) << call.error.value_or("");
  EXPECT_EQ(call.json()["instance_state"], json({{"plan", "sync"}, {"size", 7}}));
  // Moving to the async plan is asynchronous: refused without accepts_incomplete.
  json to_async = {{"instance_id", "i"},
                   {"service_id", service_id},
                   {"plan_id", async_plan},
                   {"previous_plan_id", sync_plan}};
  call = backend->update(to_async);
  EXPECT_EQ(call.status, OSB_STATUS_ASYNC_REQUIRED);
  to_async["accepts_incomplete"] = true;
  call = backend->update(to_async);
  ASSERT_EQ(call.status, OSB_STATUS_IN_PROGRESS) << call.error.value_or("");
  call = backend->poll({{"kind", "update"},
                        {"operation", call.json()["operation"]},
                        {"instance_id", "i"},
                        {"plan_id", async_plan}});
  ASSERT_EQ(call.status, OSB_STATUS_OK);
  EXPECT_EQ(call.json()["state"], "succeeded");
  EXPECT_EQ(call.json()["instance_state"], json({{"plan", "async"}, {"size", 7}}));
}

TEST_F(ExamplePlugin, UpdateOfInstanceOnlyTheBrokerRemembers) {
  auto backend = make();
  const CallRecord call = backend->update({{"instance_id", "old"},
                                           {"service_id", service_id},
                                           {"previous_plan_id", sync_plan},
                                           {"instance_state", {{"plan", "sync"}, {"size", 5}}}});
  ASSERT_EQ(call.status, OSB_STATUS_OK);
  EXPECT_EQ(call.json()["instance_state"], json({{"plan", "sync"}, {"size", 5}}));
}

TEST_F(ExamplePlugin, UpdateRejectsBadInput) {
  auto backend = make();
  CallRecord call =
      backend->update({{"instance_id", "i"}, {"service_id", service_id}, {"plan_id", "nope"}});
  EXPECT_EQ(call.status, OSB_STATUS_BAD_REQUEST);
  call = backend->update({{"instance_id", "i"}, {"parameters", {{"size", 99}}}});
  EXPECT_EQ(call.status, OSB_STATUS_BAD_REQUEST);
  EXPECT_EQ(call.error, "parameter \"size\" must be an integer from 1 to 10");
}

TEST_F(ExamplePlugin, ConcurrentBindsAreSafeAndUnique) {
  auto backend = make();
  constexpr int threads = 8;
  constexpr int per_thread = 40;
  std::vector<std::vector<std::string>> passwords(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const std::string id = std::to_string(t) + "-" + std::to_string(i);
        const CallRecord call = backend->bind(bind_request("i", "b-" + id, sync_plan));
        if (call.status == OSB_STATUS_OK) {
          passwords[static_cast<std::size_t>(t)].push_back(call.json()["credentials"]["password"]);
        }
        (void)backend->provision(provision_request("i-" + id, sync_plan));
        (void)backend->deprovision({{"instance_id", "i-" + id}});
      }
    });
  }
  for (auto& worker : workers) {
    worker.join();
  }
  std::set<std::string> unique;
  for (const auto& list : passwords) {
    EXPECT_EQ(list.size(), static_cast<std::size_t>(per_thread));
    unique.insert(list.begin(), list.end());
  }
  EXPECT_EQ(unique.size(), static_cast<std::size_t>(threads * per_thread));
}

TEST_F(ExamplePlugin, LogsNeverContainPasswords) {
  auto backend = make();
  const std::string password =
      backend->bind(bind_request("i", "b", sync_plan)).json()["credentials"]["password"];
  const auto logs = host_.logs();
  EXPECT_FALSE(logs.empty());
  for (const auto& line : logs) {
    EXPECT_EQ(line.message.find(password), std::string::npos) << line.message;
  }
}

}  // namespace
