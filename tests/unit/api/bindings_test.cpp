// PUT, DELETE and GET /v2/service_instances/:id/service_bindings/:binding_id and its
// last_operation.

#include <string>

#include "api_fixture.hpp"

namespace osbd::test {
namespace {

class BindingsTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    provisioned("i");
  }

  // A binding whose asynchronous bind is in progress; returns the operation (202 checked).
  std::string binding_in_progress(const std::string& binding) {
    fake_.script(Operation::bind, Answer::in_progress("bind-" + binding));
    const Reply r = bind("i", binding, bind_body(), true);
    EXPECT_EQ(r.status, 202u) << r.raw.body();
    return r.body.value("operation", "");
  }
};

const json kCredentials = {{"username", "user"}, {"password", "pass"}};

// --- PUT .../service_bindings/:binding_id (bind) ------------------------------------------------

TEST_F(BindingsTest, SynchronousBindIs201WithCredentials) {
  const Reply r = bind("i", "b");
  ASSERT_EQ(r.status, 201u) << r.raw.body();
  EXPECT_EQ(r.body, (json{{"credentials", kCredentials}}));  // binding_state stays private
  const auto calls = fake_.calls(Operation::bind);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].request.at("binding_id"), "b");
  EXPECT_EQ(calls[0].request.at("app_guid"), "app-1");
}

TEST_F(BindingsTest, IdenticalBindIs200WithTheSameCredentials) {
  bound("i", "b");
  const Reply again = bind("i", "b");
  EXPECT_EQ(again.status, 200u);
  EXPECT_EQ(again.body, (json{{"credentials", kCredentials}}));
  EXPECT_EQ(fake_.count(Operation::bind), 1u);
}

TEST_F(BindingsTest, BindWithDifferentAttributesIs409) {
  bound("i", "b");
  json other = bind_body();
  other["app_guid"] = "app-2";
  EXPECT_TRUE(IsOsbError(bind("i", "b", other), 409, "Conflict"));
  EXPECT_TRUE(IsOsbError(bind("i", "b", bind_body(FakePlugin::kSmallPlan, {{"role", "ro"}})), 409,
                         "Conflict"));
}

TEST_F(BindingsTest, AsynchronousBindIs202AndRepeatsTheSameOperation) {
  const std::string op = binding_in_progress("b");
  const Reply again = bind("i", "b", bind_body(), true);
  EXPECT_EQ(again.status, 202u);
  EXPECT_EQ(again.body["operation"], op);
  EXPECT_TRUE(IsOsbError(bind("i", "b"), 422, "ConcurrencyError"));
  EXPECT_EQ(fake_.count(Operation::bind), 1u);
}

// OSB 2.17 "Binding" response table: 409 "MUST be returned if a Service Binding with the same id,
// for the same Service Instance, already exists or is being created but with different
// parameters".
// OSB: 409 when a binding "is being created but with different attributes".
TEST_F(BindingsTest, DifferentBindWhileBindingIs409) {
  binding_in_progress("b");
  EXPECT_TRUE(IsOsbError(bind("i", "b", bind_body(FakePlugin::kSmallPlan, {{"role", "ro"}}), true),
                         409, "Conflict"));
}

TEST_F(BindingsTest, BindWithUnknownOrUnbindablePlanIs400) {
  EXPECT_TRUE(IsOsbError(bind("i", "b", bind_body("nope")), 400, "BadRequest"));
  provisioned("u", FakePlugin::kUnbindablePlan);
  EXPECT_TRUE(
      IsOsbError(bind("u", "b", bind_body(FakePlugin::kUnbindablePlan)), 400, "BadRequest"));
  EXPECT_EQ(fake_.count(Operation::bind), 0u);
}

TEST_F(BindingsTest, BindWithAnotherPlanThanTheInstancesIs400) {
  EXPECT_TRUE(IsOsbError(bind("i", "b", bind_body(FakePlugin::kLargePlan)), 400, "BadRequest"));
}

TEST_F(BindingsTest, MalformedBindBodyIs400) {
  for (const auto& body :
       {"", "{", "[]", R"({"plan_id":"plan-small"})",
        R"({"service_id":"svc-db","plan_id":"plan-small","app_guid":1})",
        R"({"service_id":"svc-db","plan_id":"plan-small","parameters":[]})",
        R"({"service_id":"svc-db","plan_id":"plan-small","bind_resource":"x"})"}) {
    EXPECT_TRUE(IsOsbError(call(bhttp::verb::put, binding_url("i", "b"), body), 400, "BadRequest"))
        << body;
  }
}

TEST_F(BindingsTest, BindParametersAgainstTheSchemaAre400ValidationFailed) {
  EXPECT_TRUE(IsOsbError(bind("i", "b", bind_body(FakePlugin::kSmallPlan, {{"role", 1}})), 400,
                         "ValidationFailed"));
}

TEST_F(BindingsTest, BindToAnUnknownInstanceIs404) {
  EXPECT_TRUE(IsOsbError(bind("nope", "b"), 404, "NotFound"));
}

TEST_F(BindingsTest, BindWhileTheInstanceIsProvisioningIs422) {
  provisioning("p");
  EXPECT_TRUE(IsOsbError(bind("p", "b"), 422, "ConcurrencyError"));
  EXPECT_EQ(fake_.count(Operation::bind), 0u);
}

TEST_F(BindingsTest, BindWhileTheInstanceIsUpdatingIs422) {
  fake_.script(Operation::update, Answer::in_progress("upd"));
  ASSERT_EQ(update("i", {{"service_id", FakePlugin::kService}}, true).status, 202u);
  EXPECT_TRUE(IsOsbError(bind("i", "b"), 422, "ConcurrencyError"));
}

TEST_F(BindingsTest, PluginFailuresMapToTheirStatus) {
  fake_.script(Operation::bind, Answer::failure(OSB_STATUS_REQUIRES_APP, "needs an app"));
  EXPECT_TRUE(IsOsbError(bind("i", "b"), 422, "RequiresApp"));
  fake_.script(Operation::bind, Answer::failure(OSB_STATUS_ASYNC_REQUIRED, "async only"));
  EXPECT_TRUE(IsOsbError(bind("i", "b"), 422, "AsyncRequired"));
  fake_.script(Operation::bind, Answer::failure(OSB_STATUS_BAD_REQUEST, "bad role"));
  EXPECT_TRUE(IsOsbError(bind("i", "b"), 400, "BadRequest"));
  EXPECT_EQ(bind("i", "b").status, 201u);  // client errors keep nothing
}

TEST_F(BindingsTest, FailedBindIs502ThenTheSameBindIs409UntilUnbound) {
  fake_.script(Operation::bind, Answer::failure(OSB_STATUS_BACKEND_ERROR, "backend down"));
  EXPECT_TRUE(IsOsbError(bind("i", "b"), 502, "BackendError"));
  EXPECT_TRUE(IsOsbError(fetch_binding("i", "b"), 404, "NotFound"));
  EXPECT_TRUE(IsOsbError(bind("i", "b"), 409, "Conflict"));
  EXPECT_EQ(unbind("i", "b").status, 200u);
  EXPECT_EQ(bind("i", "b").status, 201u);
}

TEST_F(BindingsTest, RotationOnARotatablePlanIs201) {
  provisioned("r", FakePlugin::kRotatablePlan);
  ASSERT_EQ(bind("r", "old", bind_body(FakePlugin::kRotatablePlan)).status, 201u);
  json rotate = bind_body(FakePlugin::kRotatablePlan);
  rotate["predecessor_binding_id"] = "old";
  EXPECT_EQ(bind("r", "new", rotate).status, 201u);
  EXPECT_EQ(fake_.calls(Operation::bind).back().request.at("predecessor_binding_id"), "old");
}

TEST_F(BindingsTest, RotationThatIsNotAllowedIs400) {
  bound("i", "old");
  json not_rotatable = bind_body();
  not_rotatable["predecessor_binding_id"] = "old";
  EXPECT_TRUE(IsOsbError(bind("i", "new", not_rotatable), 400, "BadRequest"));

  provisioned("r", FakePlugin::kRotatablePlan);
  json rotate = bind_body(FakePlugin::kRotatablePlan);
  rotate["predecessor_binding_id"] = "missing";
  EXPECT_TRUE(IsOsbError(bind("r", "new", rotate), 400, "BadRequest"));
  rotate["predecessor_binding_id"] = "new";
  EXPECT_TRUE(IsOsbError(bind("r", "new", rotate), 400, "BadRequest"));  // itself
}

// --- DELETE .../service_bindings/:binding_id (unbind) -------------------------------------------

TEST_F(BindingsTest, SynchronousUnbindIs200ThenRepeatedUnbindIs410) {
  bound("i", "b");
  const Reply r = unbind("i", "b");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, json::object());
  EXPECT_EQ(unbind("i", "b").status, 410u);
  EXPECT_EQ(fake_.count(Operation::unbind), 1u);
  EXPECT_EQ(fake_.calls(Operation::unbind).at(0).request.at("binding_state"), 1);
}

TEST_F(BindingsTest, UnbindOfAnUnknownBindingOrInstanceIs410) {
  EXPECT_EQ(unbind("i", "nope").status, 410u);
  EXPECT_EQ(unbind("nope", "b").status, 410u);
}

TEST_F(BindingsTest, UnbindWithoutServiceOrPlanIs400) {
  bound("i", "b");
  EXPECT_TRUE(IsOsbError(call(bhttp::verb::delete_, binding_url("i", "b", "plan_id=plan-small")),
                         400, "BadRequest"));
  EXPECT_TRUE(IsOsbError(call(bhttp::verb::delete_, binding_url("i", "b", "service_id=svc-db")),
                         400, "BadRequest"));
  EXPECT_TRUE(IsOsbError(
      call(bhttp::verb::delete_, binding_url("i", "b", "service_id=svc-cache&plan_id=plan-small")),
      400, "BadRequest"));
  EXPECT_EQ(fake_.count(Operation::unbind), 0u);
}

TEST_F(BindingsTest, AsynchronousUnbindIs202ThenLastOperationIs410) {
  bound("i", "b");
  fake_.script(Operation::unbind, Answer::in_progress("unbind"));
  const Reply r = unbind("i", "b", true);
  ASSERT_EQ(r.status, 202u);
  const Reply again = unbind("i", "b", true);
  EXPECT_EQ(again.status, 202u);
  EXPECT_EQ(again.body["operation"], r.body["operation"]);
  EXPECT_TRUE(IsOsbError(unbind("i", "b"), 422, "ConcurrencyError"));
  fake_.script(Operation::poll, Answer::poll("succeeded"));
  EXPECT_EQ(binding_last_operation("i", "b", r.body["operation"]).status, 410u);
  EXPECT_EQ(fetch_binding("i", "b").status, 404u);
}

TEST_F(BindingsTest, UnbindDuringAnAsynchronousBindStopsIt) {
  const std::string bind_op = binding_in_progress("b");
  fake_.script(Operation::unbind, Answer::in_progress("unbind"));
  const Reply r = unbind("i", "b", true);
  ASSERT_EQ(r.status, 202u) << r.raw.body();
  const Reply stopped = binding_last_operation("i", "b", bind_op);
  EXPECT_EQ(stopped.status, 200u);
  EXPECT_EQ(stopped.body["state"], "failed");
}

TEST_F(BindingsTest, FailedUnbindIs502AndKeepsTheBinding) {
  bound("i", "b");
  fake_.script(Operation::unbind, Answer::failure(OSB_STATUS_BACKEND_ERROR, "backend down"));
  EXPECT_TRUE(IsOsbError(unbind("i", "b"), 502, "BackendError"));
  EXPECT_EQ(fetch_binding("i", "b").status, 200u);
}

TEST_F(BindingsTest, UnbindWhosePluginIsGoneIs500) {
  bound("i", "b");
  lifecycle_->set_registry(catalog::Registry::build({}));
  EXPECT_TRUE(IsOsbError(unbind("i", "b"), 500, "InternalError"));
}

// --- GET .../service_bindings/:binding_id (fetch) -----------------------------------------------

TEST_F(BindingsTest, FetchIs200WithCredentialsAndParameters) {
  ASSERT_EQ(bind("i", "b", bind_body(FakePlugin::kSmallPlan, {{"role", "ro"}})).status, 201u);
  const Reply r = fetch_binding("i", "b");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, (json{{"credentials", kCredentials}, {"parameters", {{"role", "ro"}}}}));
}

TEST_F(BindingsTest, FetchOfAnUnknownOrUnfinishedBindingIs404) {
  EXPECT_TRUE(IsOsbError(fetch_binding("i", "nope"), 404, "NotFound"));
  EXPECT_TRUE(IsOsbError(fetch_binding("nope", "b"), 404, "NotFound"));
  binding_in_progress("b");
  EXPECT_TRUE(IsOsbError(fetch_binding("i", "b"), 404, "NotFound"));
}

// --- GET .../service_bindings/:binding_id/last_operation ----------------------------------------

TEST_F(BindingsTest, LastOperationFollowsAnAsynchronousBind) {
  const std::string op = binding_in_progress("b");
  const Reply running = binding_last_operation("i", "b", op);
  ASSERT_EQ(running.status, 200u);
  EXPECT_EQ(running.body["state"], "in progress");
  EXPECT_EQ(running.header("Retry-After"), "2");
  EXPECT_EQ(fake_.calls(Operation::poll).at(0).request.at("kind"), "bind");

  fake_.script(Operation::poll,
               Answer::ok({{"state", "succeeded"}, {"credentials", {{"uri", "db://x"}}}}));
  const Reply done = binding_last_operation("i", "b");
  EXPECT_EQ(done.status, 200u);
  EXPECT_EQ(done.body["state"], "succeeded");
  const Reply fetched = fetch_binding("i", "b");
  EXPECT_EQ(fetched.status, 200u);
  EXPECT_EQ(fetched.body["credentials"], (json{{"uri", "db://x"}}));
}

TEST_F(BindingsTest, LastOperationReportsAFailedBind) {
  const std::string op = binding_in_progress("b");
  fake_.script(Operation::poll, Answer::poll("failed", "no users left"));
  const Reply r = binding_last_operation("i", "b", op);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body["state"], "failed");
  EXPECT_EQ(r.body["description"], "no users left");
  EXPECT_TRUE(IsOsbError(bind("i", "b"), 409, "Conflict"));
}

TEST_F(BindingsTest, LastOperationOfAnUnknownBindingOrOperationIs404) {
  EXPECT_TRUE(IsOsbError(binding_last_operation("i", "nope"), 404, "NotFound"));
  const std::string op = binding_in_progress("b");
  bound("i", "other");
  EXPECT_TRUE(IsOsbError(binding_last_operation("i", "other", op), 404, "NotFound"));
  EXPECT_TRUE(IsOsbError(binding_last_operation("i", "b", "no-such-operation"), 404, "NotFound"));
}

}  // namespace
}  // namespace osbd::test
