// Unit tests of the example backend without osbd: the SDK's fake host
// (<osb/sdk/fake_host.hpp>) stands in for the broker. The plugin's sources are compiled into
// this test, so osb_plugin_entry below is the plugin's own entry point, and BackendHandle
// drives the backend through its C table exactly as osbd does: JSON in, status and JSON out.
// Built and run by ctest when this project is built on its own (see ../CMakeLists.txt).

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <osb/sdk/fake_host.hpp>
#include <osb/sdk/host.hpp>

#include "example_backend.hpp"
#include "example_catalog.hpp"

extern "C" const osb_plugin_v1* osb_plugin_entry(const osb_host_v1* host) noexcept;

namespace {

using nlohmann::json;
using osb::sdk::testing::BackendHandle;
using osb::sdk::testing::CallRecord;
using osb::sdk::testing::FakeHost;

const std::string service_id(osb_example::service_id);
const std::string sync_plan(osb_example::sync_plan_id);
const std::string async_plan(osb_example::async_plan_id);

// No waiting in tests: asynchronous operations finish at their first poll.
const json config = {{"async_seconds", 0}};

json instance_request(const std::string& instance_id, const std::string& plan_id) {
  return {{"instance_id", instance_id}, {"service_id", service_id}, {"plan_id", plan_id}};
}

json binding_request(const std::string& instance_id, const std::string& binding_id,
                     const std::string& plan_id) {
  json request = instance_request(instance_id, plan_id);
  request["binding_id"] = binding_id;
  return request;
}

class ExampleBackendTest : public ::testing::Test {
 protected:
  FakeHost host_;
  BackendHandle backend_{host_, *osb_plugin_entry(host_.table()), config};
};

TEST_F(ExampleBackendTest, CatalogOffersOneServiceWithTwoPlans) {
  const CallRecord call = backend_.catalog();
  ASSERT_EQ(call.status, OSB_STATUS_OK) << call.error.value_or("");
  const json service = call.json().at("services").at(0);
  EXPECT_EQ(service["id"], service_id);
  EXPECT_EQ(service["name"], std::string(osb_example::default_service_name));
  ASSERT_EQ(service["plans"].size(), 3U);
  EXPECT_EQ(service["plans"][0]["id"], sync_plan);
  EXPECT_EQ(service["plans"][1]["id"], async_plan);
  EXPECT_EQ(service["plans"][2]["name"], "async-only");
}

TEST_F(ExampleBackendTest, ProvisionBindUnbindDeprovision) {
  json provision = instance_request("i-1", sync_plan);
  provision["parameters"] = {{"size", 3}};
  const CallRecord provisioned = backend_.provision(provision);
  ASSERT_EQ(provisioned.status, OSB_STATUS_OK) << provisioned.error.value_or("");
  EXPECT_EQ(provisioned.json()["instance_state"], json({{"plan", "sync"}, {"size", 3}}));

  const CallRecord bound = backend_.bind(binding_request("i-1", "b-1", sync_plan));
  ASSERT_EQ(bound.status, OSB_STATUS_OK) << bound.error.value_or("");
  const json credentials = bound.json()["credentials"];
  EXPECT_FALSE(credentials["username"].get<std::string>().empty());
  EXPECT_EQ(credentials["password"].get<std::string>().size(), 32U);
  EXPECT_EQ(bound.json()["binding_state"]["username"], credentials["username"]);
  // Binding the same id again hands out the same credentials.
  EXPECT_EQ(backend_.bind(binding_request("i-1", "b-1", sync_plan)).json()["credentials"],
            credentials);

  const CallRecord unbound = backend_.unbind(binding_request("i-1", "b-1", sync_plan));
  EXPECT_EQ(unbound.status, OSB_STATUS_OK) << unbound.error.value_or("");
  const CallRecord deprovisioned = backend_.deprovision(instance_request("i-1", sync_plan));
  EXPECT_EQ(deprovisioned.status, OSB_STATUS_OK) << deprovisioned.error.value_or("");

  // Unbind and deprovision must succeed for ids the backend does not know.
  EXPECT_EQ(backend_.unbind(binding_request("i-1", "b-unknown", sync_plan)).status, OSB_STATUS_OK);
  EXPECT_EQ(backend_.deprovision(instance_request("i-unknown", sync_plan)).status, OSB_STATUS_OK);
}

TEST_F(ExampleBackendTest, BadParametersAreRefused) {
  json provision = instance_request("i-2", sync_plan);
  provision["parameters"] = {{"size", 11}};
  const CallRecord call = backend_.provision(provision);
  EXPECT_EQ(call.status, OSB_STATUS_BAD_REQUEST);
  EXPECT_EQ(call.error, "parameter \"size\" must be an integer from 1 to 10");
  EXPECT_EQ(backend_.provision(instance_request("i-2", "no-such-plan")).status,
            OSB_STATUS_BAD_REQUEST);
}

TEST_F(ExampleBackendTest, AsyncPlanIsPolledToTheEnd) {
  const json request = instance_request("i-3", async_plan);
  EXPECT_EQ(backend_.provision(request).status, OSB_STATUS_ASYNC_REQUIRED);

  json accepting = request;
  accepting["accepts_incomplete"] = true;
  const CallRecord started = backend_.provision(accepting);
  ASSERT_EQ(started.status, OSB_STATUS_IN_PROGRESS) << started.error.value_or("");
  json poll = request;
  poll["kind"] = "provision";
  poll["operation"] = started.json().at("operation");
  const CallRecord polled = backend_.poll(poll);
  ASSERT_EQ(polled.status, OSB_STATUS_OK) << polled.error.value_or("");
  EXPECT_EQ(polled.json()["state"], "succeeded");
  EXPECT_EQ(polled.json()["instance_state"]["plan"], "async");
}

// Broker replicas: the operation starts on one (its plugin process) and is polled to its end by
// another, which has seen nothing of it. The token alone carries what the poll needs.
TEST_F(ExampleBackendTest, AsyncOperationsFinishOnAnotherReplica) {
  FakeHost other_host;
  BackendHandle other{other_host, *osb_plugin_entry(other_host.table()), config};
  json request = instance_request("i-5", async_plan);
  request["accepts_incomplete"] = true;
  request["parameters"] = {{"size", 7}};
  const CallRecord started = backend_.provision(request);
  ASSERT_EQ(started.status, OSB_STATUS_IN_PROGRESS) << started.error.value_or("");
  json poll = instance_request("i-5", async_plan);
  poll["kind"] = "provision";
  poll["operation"] = started.json().at("operation");
  const CallRecord polled = other.poll(poll);
  ASSERT_EQ(polled.status, OSB_STATUS_OK) << polled.error.value_or("");
  EXPECT_EQ(polled.json()["state"], "succeeded");
  EXPECT_EQ(polled.json()["instance_state"]["size"], 7);

  json update = instance_request("i-5", async_plan);
  update["accepts_incomplete"] = true;
  update["parameters"] = {{"size", 9}};
  update["previous_plan_id"] = async_plan;
  const CallRecord updating = other.update(update);
  ASSERT_EQ(updating.status, OSB_STATUS_IN_PROGRESS) << updating.error.value_or("");
  poll["kind"] = "update";
  poll["operation"] = updating.json().at("operation");
  const CallRecord updated = backend_.poll(poll);
  ASSERT_EQ(updated.status, OSB_STATUS_OK) << updated.error.value_or("");
  EXPECT_EQ(updated.json()["instance_state"]["size"], 9);
}

TEST_F(ExampleBackendTest, InvalidConfigurationStopsTheLoad) {
  EXPECT_THROW(BackendHandle(host_, *osb_plugin_entry(host_.table()), {{"async_secs", 1}}),
               std::runtime_error);
}

// The backend class on its own, without the C table: construct it with a Host over the fake
// host's table and call its methods with request structs.
TEST(ExampleBackendClass, ProvisionsAndLogs) {
  FakeHost fake;
  osb::sdk::Host host(fake.table());
  osb_example::ExampleBackend backend(config, host);
  osb::sdk::ProvisionRequest request;
  request.instance_id = "i-4";
  request.service_id = service_id;
  request.plan_id = sync_plan;
  const osb::sdk::Result result = backend.provision(request);
  EXPECT_EQ(result.status(), OSB_STATUS_OK) << result.description();
  EXPECT_EQ(result.body()["instance_state"]["size"], 1);
  ASSERT_FALSE(fake.logs().empty());
  EXPECT_EQ(fake.logs().back().message, "provisioning instance i-4 on plan sync");
}

}  // namespace
