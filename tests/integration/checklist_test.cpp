// Checklist items (../shared/reference/osb-checklist.md numbering) not walked by
// broker_http_test.cpp. Test names cite the items they prove.

#include <cctype>

#include <gtest/gtest.h>

#include "broker_fixture.hpp"

namespace osbd::test {
namespace {

using Checklist = BrokerHttpTest;

// A13: every error body carries a non-empty CamelCase `error` and `description`;
// instance_usable/update_repeatable appear only on failed updates and deprovisions.
TEST_F(Checklist, A13_A14_ErrorBodiesAreWellFormed) {
  ASSERT_EQ(call(http::verb::put, instance("e-1"), provision_body().dump()).status, 201u);
  const std::vector<HttpResult> errors = {
      call(http::verb::put, instance("e-1"), provision_body(kSyncPlan, {{"size", 2}}).dump()),
      call(http::verb::put, instance("e-2"), "{"),
      call(http::verb::put, instance("e-3") + "?accepts_incomplete=false",
           provision_body(kAsyncPlan).dump()),
      call(http::verb::get, instance("none")),
      call(http::verb::get, "/v2/catalog", "", {{"X-Broker-API-Version", "1.0"}}),
  };
  const std::vector<unsigned> expected = {409, 400, 422, 404, 412};
  for (std::size_t i = 0; i < errors.size(); ++i) {
    const json body = errors[i].json();
    EXPECT_EQ(errors[i].status, expected[i]);
    ASSERT_TRUE(body.is_object()) << errors[i].body;
    const std::string error = body.value("error", "");
    EXPECT_FALSE(error.empty());
    EXPECT_TRUE(std::isupper(static_cast<unsigned char>(error[0]))) << error;
    EXPECT_EQ(error.find(' '), std::string::npos) << error;
    EXPECT_FALSE(body.value("description", "").empty());
    EXPECT_FALSE(body.contains("instance_usable"));
    EXPECT_FALSE(body.contains("update_repeatable"));
    EXPECT_EQ(errors[i].headers.at("Content-Type"), "application/json");
  }
}

// A5/A6/N116: the originating identity header is decoded; a malformed one is a 400.
TEST_F(Checklist, A5_A6_OriginatingIdentityIsDecodedOrRefused) {
  // base64 of {"user_id":"683ea748-3092-4ff4-b656-39cacc4d5360"}
  const std::string cf_identity =
      "cloudfoundry eyJ1c2VyX2lkIjoiNjgzZWE3NDgtMzA5Mi00ZmY0LWI2NTYtMzljYWNjNGQ1MzYwIn0=";
  auto ok = call(http::verb::put, instance("oi-1"), provision_body().dump(),
                 {{"X-Broker-API-Originating-Identity", cf_identity}});
  EXPECT_EQ(ok.status, 201u) << ok.body;
  auto bad = call(http::verb::put, instance("oi-2"), provision_body().dump(),
                  {{"X-Broker-API-Originating-Identity", "cloudfoundry not-base64!"}});
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(call(http::verb::get, instance("oi-2")).status, 404u);
}

// F60/F62: a plan change on a plan_updateable service is applied and visible on fetch.
TEST_F(Checklist, F60_F62_F64_PlanChangeIsApplied) {
  ASSERT_EQ(call(http::verb::put, instance("pc-1"), provision_body().dump()).status, 201u);
  const json change = {{"service_id", kService},
                       {"plan_id", kAsyncPlan},
                       {"previous_values", {{"plan_id", kSyncPlan}}}};
  // The async plan works only asynchronously: without accepts_incomplete nothing changes.
  auto r = call(http::verb::patch, instance("pc-1"), change.dump());
  EXPECT_EQ(r.status, 422u) << r.body;
  EXPECT_EQ(r.json()["error"], "AsyncRequired");
  EXPECT_EQ(call(http::verb::get, instance("pc-1")).json()["plan_id"], kSyncPlan);
  r = call(http::verb::patch, instance("pc-1") + "?accepts_incomplete=true", change.dump());
  EXPECT_EQ(r.status, 202u) << r.body;
  EXPECT_EQ(wait_for(instance("pc-1") + "/last_operation")["state"], "succeeded");
  EXPECT_EQ(call(http::verb::get, instance("pc-1")).json()["plan_id"], kAsyncPlan);
  const json unknown = {{"service_id", kService}, {"plan_id", "no-such-plan"}};
  EXPECT_EQ(call(http::verb::patch, instance("pc-1"), unknown.dump()).status, 400u);
  EXPECT_EQ(call(http::verb::get, instance("pc-1")).json()["plan_id"], kAsyncPlan);
}

// F59/F65: PATCH without the required service_id, or on an unknown instance.
TEST_F(Checklist, F59_F65_MalformedUpdatesChangeNothing) {
  ASSERT_EQ(call(http::verb::put, instance("mu-1"), provision_body().dump()).status, 201u);
  EXPECT_EQ(call(http::verb::patch, instance("mu-1"), json{{"plan_id", kSyncPlan}}.dump()).status,
            400u);
  EXPECT_EQ(call(http::verb::patch, instance("mu-1"), "not json").status, 400u);
  EXPECT_EQ(call(http::verb::patch, instance("mu-1"),
                 json{{"service_id", kService}, {"parameters", 7}}.dump())
                .status,
            400u);
  EXPECT_EQ(
      call(http::verb::patch, instance("mu-missing"), json{{"service_id", kService}}.dump()).status,
      404u);
  EXPECT_EQ(call(http::verb::get, instance("mu-1")).json()["parameters"], json::object());
}

// K103/K107: hints are accepted, and a final state is remembered across polls.
TEST_F(Checklist, K103_K107_FinalStateIsRemembered) {
  auto p = call(http::verb::put, instance("fs-1") + "?accepts_incomplete=true",
                provision_body(kAsyncPlan).dump());
  ASSERT_EQ(p.status, 202u);
  const std::string op = p.json()["operation"];
  const std::string url = instance("fs-1") + "/last_operation?service_id=" + kService +
                          "&plan_id=" + kAsyncPlan + "&operation=" + op;
  EXPECT_EQ(wait_for(url)["state"], "succeeded");
  for (int i = 0; i < 3; ++i) {
    auto again = call(http::verb::get, url);
    EXPECT_EQ(again.status, 200u);
    EXPECT_EQ(again.json()["state"], "succeeded");
    EXPECT_FALSE(again.headers.count("Retry-After"));
  }
  // An operation id of another instance is not this instance's.
  EXPECT_EQ(call(http::verb::get, instance("other") + "/last_operation?operation=" + op).status,
            404u);
}

// H88/L110: a binding still being created is not fetchable; its last_operation answers.
TEST_F(Checklist, H88_L110_BindingInProgress) {
  auto p = call(http::verb::put, instance("bp-1") + "?accepts_incomplete=true",
                provision_body(kAsyncPlan).dump());
  ASSERT_EQ(p.status, 202u);
  ASSERT_EQ(wait_for(instance("bp-1") + "/last_operation")["state"], "succeeded");
  auto b = call(http::verb::put, binding("bp-1", "b") + "?accepts_incomplete=true",
                bind_body(kAsyncPlan).dump());
  ASSERT_EQ(b.status, 202u);
  EXPECT_EQ(call(http::verb::get, binding("bp-1", "b")).status, 404u);
  const std::string op = b.json()["operation"];
  auto lo = call(http::verb::get, binding("bp-1", "b") + "/last_operation?operation=" + op);
  EXPECT_EQ(lo.status, 200u);
  EXPECT_EQ(lo.json()["state"], "in progress");
  EXPECT_EQ(wait_for(binding("bp-1", "b") + "/last_operation?operation=" + op)["state"],
            "succeeded");
  EXPECT_EQ(call(http::verb::get, binding("bp-1", "b")).status, 200u);
}

// I93/G76: unbind without its required query parameters, bind with a malformed body.
TEST_F(Checklist, G76_I93_MalformedBindAndUnbind) {
  ASSERT_EQ(call(http::verb::put, instance("mb-1"), provision_body().dump()).status, 201u);
  EXPECT_EQ(call(http::verb::put, binding("mb-1", "b"), "[]").status, 400u);
  EXPECT_EQ(
      call(http::verb::put, binding("mb-1", "b"), json{{"service_id", kService}}.dump()).status,
      400u);
  ASSERT_EQ(call(http::verb::put, binding("mb-1", "b"), bind_body().dump()).status, 201u);
  EXPECT_EQ(call(http::verb::delete_, binding("mb-1", "b")).status, 400u);
  EXPECT_EQ(call(http::verb::delete_, binding("mb-1", "b") + "?service_id=" + kService).status,
            400u);
  EXPECT_EQ(call(http::verb::get, binding("mb-1", "b")).status, 200u);
}

// G74/G75 and C40: binding an instance under another plan's id or an unbindable request.
TEST_F(Checklist, G70_BindMustNameTheInstancesServiceAndPlan) {
  ASSERT_EQ(call(http::verb::put, instance("bs-1"), provision_body().dump()).status, 201u);
  EXPECT_EQ(call(http::verb::put, binding("bs-1", "b"), bind_body(kAsyncPlan).dump()).status, 400u);
  EXPECT_EQ(call(http::verb::get, binding("bs-1", "b")).status, 404u);
}

// D44/G70: parameters are validated against the plan's JSON schema before the plugin runs; the
// 400 names the failing field.
TEST_F(Checklist, D44_F59_ParametersAreValidatedAgainstThePlanSchema) {
  auto r =
      call(http::verb::put, instance("sv-1"), provision_body(kSyncPlan, {{"size", 99}}).dump());
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.json()["error"], "ValidationFailed");
  EXPECT_NE(r.json().value("description", "").find("parameters.size"), std::string::npos) << r.body;
  auto t = call(http::verb::put, instance("sv-1"),
                provision_body(kSyncPlan, {{"size", "three"}}).dump());
  EXPECT_EQ(t.status, 400u);
  EXPECT_NE(t.json().value("description", "").find("parameters.size"), std::string::npos);
  EXPECT_EQ(call(http::verb::get, instance("sv-1")).status, 404u);
  ASSERT_EQ(call(http::verb::put, instance("sv-1"), provision_body(kSyncPlan, {{"size", 3}}).dump())
                .status,
            201u);
  const json upd = {{"service_id", kService}, {"parameters", {{"size", 0}}}};
  auto u = call(http::verb::patch, instance("sv-1"), upd.dump());
  EXPECT_EQ(u.status, 400u);
  EXPECT_NE(u.json().value("description", "").find("parameters.size"), std::string::npos);
  EXPECT_EQ(call(http::verb::get, instance("sv-1")).json()["parameters"]["size"], 3);
}

// M115: deprovision and unbind are safe to repeat.
TEST_F(Checklist, M115_RepeatedDeletesAreSafe) {
  ASSERT_EQ(call(http::verb::put, instance("rd-1"), provision_body().dump()).status, 201u);
  ASSERT_EQ(call(http::verb::put, binding("rd-1", "b"), bind_body().dump()).status, 201u);
  EXPECT_EQ(call(http::verb::delete_, binding("rd-1", "b") + delete_query()).status, 200u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(call(http::verb::delete_, binding("rd-1", "b") + delete_query()).status, 410u);
  }
  EXPECT_EQ(call(http::verb::delete_, instance("rd-1") + delete_query()).status, 200u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(call(http::verb::delete_, instance("rd-1") + delete_query()).status, 410u);
  }
}

// E58, F63, F64, K102, K106: an asynchronous update. While it runs, GET on the instance is 422
// ConcurrencyError, last_operation says "in progress" with Retry-After, another mutation is 422
// ConcurrencyError; when it finishes the new parameters show.
TEST_F(Checklist, E58_F63_F64_K102_K106_AsyncUpdateBlocksFetchUntilItFinishes) {
  const std::string iid = "au-1";
  ASSERT_EQ(call(http::verb::put, instance(iid) + "?accepts_incomplete=true",
                 provision_body(kAsyncPlan).dump())
                .status,
            202u);
  ASSERT_EQ(wait_for(instance(iid) + "/last_operation")["state"], "succeeded");
  const json change = {{"service_id", kService}, {"parameters", {{"size", 7}}}};
  auto r = call(http::verb::patch, instance(iid) + "?accepts_incomplete=true", change.dump());
  ASSERT_EQ(r.status, 202u) << r.body;
  const std::string operation = r.json().value("operation", "");
  EXPECT_FALSE(operation.empty());
  auto fetch = call(http::verb::get, instance(iid));
  EXPECT_EQ(fetch.status, 422u) << fetch.body;
  EXPECT_EQ(fetch.json()["error"], "ConcurrencyError");
  auto lo = call(http::verb::get, instance(iid) + "/last_operation?operation=" + operation);
  EXPECT_EQ(lo.status, 200u);
  EXPECT_EQ(lo.json()["state"], "in progress");
  EXPECT_FALSE(lo.headers["Retry-After"].empty());
  const json other = {{"service_id", kService}, {"parameters", {{"size", 2}}}};
  auto busy = call(http::verb::patch, instance(iid) + "?accepts_incomplete=true", other.dump());
  EXPECT_EQ(busy.status, 422u);
  EXPECT_EQ(busy.json()["error"], "ConcurrencyError");
  // The identical request again is the same operation (202 with the same id).
  auto again = call(http::verb::patch, instance(iid) + "?accepts_incomplete=true", change.dump());
  EXPECT_EQ(again.status, 202u) << again.body;
  EXPECT_EQ(again.json().value("operation", ""), operation);
  EXPECT_EQ(wait_for(instance(iid) + "/last_operation?operation=" + operation)["state"],
            "succeeded");
  fetch = call(http::verb::get, instance(iid));
  EXPECT_EQ(fetch.status, 200u);
  EXPECT_EQ(fetch.json()["parameters"]["size"], 7);
}

// G75: a binding that needs an app_guid is refused with 422 RequiresApp and nothing is created.
TEST(ChecklistRequiresApp, G75_BindWithoutAppGuidIsRequiresApp) {
  BrokerSetup setup;
  setup.plugins_yaml = "plugins:\n  org.osbd.example:\n    require_app_guid: true\n";
  BrokerProcess broker(setup);
  broker.start();
  const PlatformClient call(broker);
  const std::string iid = "/v2/service_instances/ra-1";
  const json provision = {{"service_id", kService},
                          {"plan_id", kSyncPlan},
                          {"organization_guid", "o"},
                          {"space_guid", "s"}};
  ASSERT_EQ(call(http::verb::put, iid, provision.dump()).status, 201u);
  const json no_app = {{"service_id", kService}, {"plan_id", kSyncPlan}};
  auto r = call(http::verb::put, iid + "/service_bindings/b-1", no_app.dump());
  EXPECT_EQ(r.status, 422u) << r.body;
  EXPECT_EQ(r.json()["error"], "RequiresApp");
  EXPECT_FALSE(r.json().contains("instance_usable"));
  EXPECT_EQ(call(http::verb::get, iid + "/service_bindings/b-1").status, 404u);
  json with_app = no_app;
  with_app["bind_resource"] = {{"app_guid", "app-1"}};
  with_app["app_guid"] = "app-1";
  EXPECT_EQ(call(http::verb::put, iid + "/service_bindings/b-1", with_app.dump()).status, 201u);
}

// J101, K102: a failed deprovision keeps the instance and says it is still usable, both in the
// synchronous error body and in last_operation of an asynchronous deprovision.
TEST(ChecklistFailedDeprovision, J101_K102_FailedDeprovisionReportsInstanceUsable) {
  BrokerSetup setup;
  setup.plugins_yaml =
      "plugins:\n  org.osbd.example:\n    async_seconds: 0.2\n    fail_deprovision: true\n";
  BrokerProcess broker(setup);
  broker.start();
  const PlatformClient call(broker);
  auto body = [](const char* plan) {
    return json{{"service_id", kService},
                {"plan_id", plan},
                {"organization_guid", "o"},
                {"space_guid", "s"}}
        .dump();
  };
  const std::string sync_id = "/v2/service_instances/fd-sync";
  ASSERT_EQ(call(http::verb::put, sync_id, body(kSyncPlan)).status, 201u);
  auto r = call(http::verb::delete_, sync_id + "?service_id=" + kService + "&plan_id=" + kSyncPlan);
  EXPECT_EQ(r.status, 502u) << r.body;
  EXPECT_EQ(r.json()["instance_usable"], true);
  EXPECT_FALSE(r.json().contains("update_repeatable"));  // update failures only
  EXPECT_EQ(call(http::verb::get, sync_id).status, 200u);

  const std::string async_id = "/v2/service_instances/fd-async";
  ASSERT_EQ(call(http::verb::put, async_id + "?accepts_incomplete=true", body(kAsyncPlan)).status,
            202u);
  ASSERT_EQ(call.wait_for(async_id + "/last_operation")["state"], "succeeded");
  r = call(http::verb::delete_,
           async_id + "?accepts_incomplete=true&service_id=" + kService + "&plan_id=" + kAsyncPlan);
  ASSERT_EQ(r.status, 202u) << r.body;
  const json lo = call.wait_for(async_id + "/last_operation");
  EXPECT_EQ(lo["state"], "failed") << lo;
  EXPECT_EQ(lo["description"], "configured to fail deprovisioning");
  EXPECT_EQ(lo["instance_usable"], true);
  EXPECT_FALSE(lo.contains("update_repeatable"));
  EXPECT_EQ(call(http::verb::get, async_id).status, 200u);
}

}  // namespace
}  // namespace osbd::test
