// PUT, PATCH, DELETE and GET /v2/service_instances/:id and GET .../last_operation.

#include <string>

#include "api_fixture.hpp"

namespace osbd::test {
namespace {

using InstancesTest = ApiTest;

// --- PUT /v2/service_instances/:id (provision) --------------------------------------------------

TEST_F(InstancesTest, SynchronousProvisionIs201WithDashboard) {
  fake_.script(Operation::provision, Answer::ok({{"dashboard_url", "https://dash/i"}}));
  const Reply r = provision("i");
  ASSERT_EQ(r.status, 201u) << r.raw.body();
  EXPECT_EQ(r.body, (json{{"dashboard_url", "https://dash/i"}}));
  const auto calls = fake_.calls(Operation::provision);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].request.at("instance_id"), "i");
  EXPECT_EQ(calls[0].request.at("accepts_incomplete"), false);
}

TEST_F(InstancesTest, IdenticalProvisionOfAReadyInstanceIs200) {
  fake_.script(Operation::provision, Answer::ok({{"dashboard_url", "https://dash/i"}}));
  provisioned("i");
  const Reply again = provision("i");
  EXPECT_EQ(again.status, 200u);
  EXPECT_EQ(again.body, (json{{"dashboard_url", "https://dash/i"}}));
  EXPECT_EQ(fake_.count(Operation::provision), 1u);
}

TEST_F(InstancesTest, ProvisionWithDifferentAttributesIs409) {
  provisioned("i");
  EXPECT_TRUE(IsOsbError(provision("i", provision_body(FakePlugin::kLargePlan)), 409, "Conflict"));
  EXPECT_TRUE(IsOsbError(provision("i", provision_body(FakePlugin::kSmallPlan, {{"size", 2}})), 409,
                         "Conflict"));
  EXPECT_EQ(fake_.count(Operation::provision), 1u);
}

TEST_F(InstancesTest, AsynchronousProvisionIs202WithOperation) {
  fake_.script(
      Operation::provision,
      Answer{
          OSB_STATUS_IN_PROGRESS, {{"operation", "tok"}, {"dashboard_url", "https://dash/i"}}, ""});
  const Reply r = provision("i", provision_body(), true);
  ASSERT_EQ(r.status, 202u) << r.raw.body();
  EXPECT_FALSE(r.body.value("operation", "").empty());
  EXPECT_NE(r.body["operation"], "tok");  // the broker's id, not the plugin's token
  EXPECT_EQ(r.body["dashboard_url"], "https://dash/i");
}

TEST_F(InstancesTest, RepeatedAsynchronousProvisionIs202WithTheSameOperation) {
  const std::string op = provisioning("i");
  const Reply again = provision("i", provision_body(), true);
  EXPECT_EQ(again.status, 202u);
  EXPECT_EQ(again.body.value("operation", ""), op);
  EXPECT_EQ(fake_.count(Operation::provision), 1u);
}

TEST_F(InstancesTest, RepeatedProvisionWithoutAcceptsIncompleteWhileRunningIs422) {
  provisioning("i");
  EXPECT_TRUE(IsOsbError(provision("i"), 422, "ConcurrencyError"));
}

TEST_F(InstancesTest, DifferentProvisionWhileAnotherOperationRunsIs422) {
  provisioned("i");
  fake_.script(Operation::update, Answer::in_progress("upd"));
  ASSERT_EQ(update("i", {{"service_id", FakePlugin::kService}, {"parameters", {{"size", 3}}}}, true)
                .status,
            202u);
  EXPECT_TRUE(
      IsOsbError(provision("i", provision_body(FakePlugin::kLargePlan)), 422, "ConcurrencyError"));
}

// OSB 2.17 "Provisioning" response table: 409 "MUST be returned if a Service Instance with the
// same id already exists or is being provisioned but with different attributes".
// OSB: 409 when an instance "is being provisioned but with different attributes".
TEST_F(InstancesTest, DifferentProvisionWhileProvisioningIs409) {
  provisioning("i");
  EXPECT_TRUE(
      IsOsbError(provision("i", provision_body(FakePlugin::kLargePlan), true), 409, "Conflict"));
}

TEST_F(InstancesTest, PluginThatAnswersAsyncWithoutAcceptsIncompleteIs500) {
  fake_.script(Operation::provision, Answer::in_progress("tok"));
  EXPECT_TRUE(IsOsbError(provision("i"), 500, "InternalError"));
}

TEST_F(InstancesTest, PluginAsyncRequiredIs422AndLeavesNoInstance) {
  fake_.script(Operation::provision,
               Answer::failure(OSB_STATUS_ASYNC_REQUIRED, "this plan needs accepts_incomplete"));
  EXPECT_TRUE(IsOsbError(provision("i"), 422, "AsyncRequired"));
  EXPECT_EQ(provision("i").status, 201u);  // nothing was kept: a retry provisions afresh
}

TEST_F(InstancesTest, PluginClientErrorsMapToTheirStatusAndLeaveNoInstance) {
  const std::tuple<osb_status, unsigned, std::string> cases[] = {
      {OSB_STATUS_BAD_REQUEST, 400, "BadRequest"},
      {OSB_STATUS_UNPROCESSABLE, 422, "UnprocessableEntity"}};
  for (const auto& [status, http_status, code] : cases) {
    fake_.script(Operation::provision, Answer::failure(status, "refused by the backend"));
    const Reply r = provision("i");
    EXPECT_TRUE(IsOsbError(r, http_status, code));
    EXPECT_EQ(r.body["description"], "refused by the backend");
    EXPECT_EQ(fetch_instance("i").status, 404u);
  }
  EXPECT_EQ(provision("i").status, 201u);
}

TEST_F(InstancesTest, PluginBackendErrorIs502AndKeepsAFailedInstanceForCleanup) {
  fake_.script(Operation::provision, Answer::failure(OSB_STATUS_BACKEND_ERROR, "backend down"));
  EXPECT_TRUE(IsOsbError(provision("i"), 502, "BackendError"));
  EXPECT_EQ(fetch_instance("i").status, 404u);
  // The same request again is 409 until the platform's orphan-mitigation DELETE cleans up.
  EXPECT_TRUE(IsOsbError(provision("i"), 409, "Conflict"));
  EXPECT_EQ(deprovision("i").status, 200u);
  EXPECT_EQ(fake_.count(Operation::deprovision), 1u);
  EXPECT_EQ(provision("i").status, 201u);
}

TEST_F(InstancesTest, PluginInternalErrorIs500) {
  fake_.script(Operation::provision, Answer::failure(OSB_STATUS_INTERNAL_ERROR, "bug"));
  EXPECT_TRUE(IsOsbError(provision("i"), 500, "InternalError"));
}

TEST_F(InstancesTest, PluginResultThatIsNotJsonIs500) {
  fake_.script(Operation::provision, Answer{OSB_STATUS_OK, "not an object", ""});
  EXPECT_TRUE(IsOsbError(provision("i"), 500, "InternalError"));
}

TEST_F(InstancesTest, MalformedProvisionBodyIs400) {
  for (const auto& body :
       {"", "{", "[]", "42", R"({"service_id":"svc-db"})", R"({"plan_id":"plan-small"})"}) {
    const Reply r = call(bhttp::verb::put, instance_url("i"), body);
    EXPECT_TRUE(IsOsbError(r, 400, "BadRequest")) << body;
  }
  EXPECT_EQ(fake_.count(Operation::provision), 0u);
}

TEST_F(InstancesTest, ProvisionFieldsOfTheWrongTypeAre400) {
  const std::pair<const char*, json> cases[] = {
      {"service_id", 1},          {"plan_id", json::array()}, {"service_id", ""},
      {"organization_guid", 7},   {"space_guid", false},      {"parameters", "x"},
      {"context", json::array()}, {"maintenance_info", 1}};
  for (const auto& [field, value] : cases) {
    json body = provision_body();
    body[field] = value;
    EXPECT_TRUE(IsOsbError(provision("i", body), 400, "BadRequest")) << field << "=" << value;
  }
  EXPECT_EQ(fake_.count(Operation::provision), 0u);
}

TEST_F(InstancesTest, ProvisionWithoutOrganizationIs400UnlessContextOnlyIsAccepted) {
  json body = provision_body();
  body.erase("organization_guid");
  body.erase("space_guid");
  EXPECT_TRUE(IsOsbError(provision("i", body), 400, "BadRequest"));
  rewire(default_options(), api::LifecycleOptions{true});
  EXPECT_EQ(provision("i", body).status, 201u);
}

TEST_F(InstancesTest, UnknownServiceOrPlanIs400) {
  json unknown_service = provision_body();
  unknown_service["service_id"] = "nope";
  const Reply service = provision("i", unknown_service);
  EXPECT_TRUE(IsOsbError(service, 400, "BadRequest"));
  EXPECT_NE(service.body["description"].get<std::string>().find("service_id"), std::string::npos);
  EXPECT_TRUE(IsOsbError(provision("i", provision_body("nope")), 400, "BadRequest"));
  json mixed = provision_body(FakePlugin::kOtherPlan);  // a plan of the other service
  EXPECT_TRUE(IsOsbError(provision("i", mixed), 400, "BadRequest"));
}

TEST_F(InstancesTest, ParametersAgainstThePlanSchemaAre400ValidationFailed) {
  const Reply r = provision("i", provision_body(FakePlugin::kSmallPlan, {{"size", "big"}}));
  EXPECT_TRUE(IsOsbError(r, 400, "ValidationFailed"));
  EXPECT_EQ(provision("i", provision_body(FakePlugin::kSmallPlan, {{"size", 2}})).status, 201u);
}

TEST_F(InstancesTest, MaintenanceInfoOfAnotherVersionIs422) {
  json body = provision_body();
  body["maintenance_info"] = {{"version", "0.9.0"}};
  EXPECT_TRUE(IsOsbError(provision("i", body), 422, "MaintenanceInfoConflict"));
  body["maintenance_info"] = {{"version", 1}};
  EXPECT_TRUE(IsOsbError(provision("i", body), 422, "MaintenanceInfoConflict"));
  body["maintenance_info"] = {{"version", "1.0.0"}};
  EXPECT_EQ(provision("i", body).status, 201u);
  EXPECT_EQ(fake_.count(Operation::provision), 1u);
}

// --- PATCH /v2/service_instances/:id (update) ---------------------------------------------------

json update_body(json extra = json::object()) {
  json body = {{"service_id", FakePlugin::kService}};
  body.update(extra);
  return body;
}

TEST_F(InstancesTest, SynchronousUpdateIs200AndChangesThePlan) {
  provisioned("i", FakePlugin::kLargePlan);
  fake_.script(Operation::update, Answer::ok({{"dashboard_url", "https://dash/new"}}));
  const Reply r = update("i", update_body({{"plan_id", FakePlugin::kSmallPlan}}));
  ASSERT_EQ(r.status, 200u) << r.raw.body();
  EXPECT_EQ(r.body, (json{{"dashboard_url", "https://dash/new"}}));
  const auto call = fake_.calls(Operation::update).at(0).request;
  EXPECT_EQ(call.at("previous_plan_id"), FakePlugin::kLargePlan);
  EXPECT_EQ(fetch_instance("i").body["plan_id"], FakePlugin::kSmallPlan);
}

TEST_F(InstancesTest, AsynchronousUpdateIs202AndRepeatsTheSameOperation) {
  provisioned("i");
  fake_.script(Operation::update, Answer::in_progress("upd"));
  const json body = update_body({{"parameters", {{"size", 3}}}});
  const Reply r = update("i", body, true);
  ASSERT_EQ(r.status, 202u);
  const Reply again = update("i", body, true);
  EXPECT_EQ(again.status, 202u);
  EXPECT_EQ(again.body["operation"], r.body["operation"]);
  EXPECT_EQ(fake_.count(Operation::update), 1u);
}

TEST_F(InstancesTest, DifferentUpdateWhileAnUpdateRunsIs422) {
  provisioned("i");
  fake_.script(Operation::update, Answer::in_progress("upd"));
  ASSERT_EQ(update("i", update_body({{"parameters", {{"size", 3}}}}), true).status, 202u);
  EXPECT_TRUE(IsOsbError(update("i", update_body({{"parameters", {{"size", 4}}}}), true), 422,
                         "ConcurrencyError"));
  EXPECT_TRUE(IsOsbError(update("i", update_body({{"parameters", {{"size", 3}}}})), 422,
                         "ConcurrencyError"));
}

TEST_F(InstancesTest, UpdateOfAnUnknownInstanceIs404) {
  EXPECT_TRUE(IsOsbError(update("nope", update_body()), 404, "NotFound"));
}

TEST_F(InstancesTest, UpdateWhileProvisioningIs422) {
  provisioning("i");
  EXPECT_TRUE(IsOsbError(update("i", update_body()), 422, "ConcurrencyError"));
  EXPECT_EQ(fake_.count(Operation::update), 0u);
}

TEST_F(InstancesTest, UpdateWithAnotherServiceOrUnknownPlanIs400) {
  provisioned("i");
  json other = update_body();
  other["service_id"] = FakePlugin::kOtherService;
  EXPECT_TRUE(IsOsbError(update("i", other), 400, "BadRequest"));
  EXPECT_TRUE(IsOsbError(update("i", update_body({{"plan_id", "nope"}})), 400, "BadRequest"));
  EXPECT_EQ(fake_.count(Operation::update), 0u);
}

TEST_F(InstancesTest, MalformedUpdateBodyIs400) {
  provisioned("i");
  for (const auto& body :
       {"", "{", "[]", "{}", R"({"service_id":1})", R"({"service_id":"svc-db","plan_id":2})",
        R"({"service_id":"svc-db","parameters":[]})", R"({"service_id":"svc-db","context":1})"}) {
    EXPECT_TRUE(IsOsbError(call(bhttp::verb::patch, instance_url("i"), body), 400, "BadRequest"))
        << body;
  }
}

TEST_F(InstancesTest, PlanChangeOfANonUpdateablePlanIs422) {
  provisioned("i", FakePlugin::kFixedPlan);
  EXPECT_TRUE(IsOsbError(update("i", update_body({{"plan_id", FakePlugin::kLargePlan}})), 422,
                         "UnprocessableEntity"));
  // Parameters of the same plan may still change.
  EXPECT_EQ(update("i", update_body({{"parameters", {{"x", 1}}}})).status, 200u);
}

TEST_F(InstancesTest, UpdateToAnotherMaintenanceVersionIs422) {
  provisioned("i");
  EXPECT_TRUE(IsOsbError(update("i", update_body({{"maintenance_info", {{"version", "2.0.0"}}}})),
                         422, "MaintenanceInfoConflict"));
  EXPECT_EQ(update("i", update_body({{"maintenance_info", {{"version", "1.0.0"}}}})).status, 200u);
}

TEST_F(InstancesTest, UpdateParametersAgainstTheSchemaAre400ValidationFailed) {
  provisioned("i");
  EXPECT_TRUE(IsOsbError(update("i", update_body({{"parameters", {{"size", "big"}}}})), 400,
                         "ValidationFailed"));
}

TEST_F(InstancesTest, FailedUpdateIs502AndLeavesTheInstanceUsable) {
  provisioned("i");
  fake_.script(Operation::update, Answer::failure(OSB_STATUS_BACKEND_ERROR, "backend down"));
  const Reply r = update("i", update_body({{"plan_id", FakePlugin::kLargePlan}}));
  EXPECT_TRUE(IsOsbError(r, 502, "BackendError"));
  EXPECT_EQ(r.body["instance_usable"], true);
  EXPECT_EQ(r.body["update_repeatable"], true);
  const Reply fetched = fetch_instance("i");
  EXPECT_EQ(fetched.status, 200u);
  EXPECT_EQ(fetched.body["plan_id"], FakePlugin::kSmallPlan);
}

TEST_F(InstancesTest, RefusedUpdateIs422WithoutUsabilityFields) {
  provisioned("i");
  fake_.script(Operation::update, Answer::failure(OSB_STATUS_UNPROCESSABLE, "cannot shrink"));
  const Reply r = update("i", update_body());
  EXPECT_TRUE(IsOsbError(r, 422, "UnprocessableEntity"));
  EXPECT_FALSE(r.body.contains("instance_usable"));
}

// --- DELETE /v2/service_instances/:id (deprovision) ---------------------------------------------

TEST_F(InstancesTest, SynchronousDeprovisionIs200WithEmptyBody) {
  provisioned("i");
  const Reply r = deprovision("i");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, json::object());
  EXPECT_EQ(fetch_instance("i").status, 404u);
}

TEST_F(InstancesTest, DeprovisionOfAnUnknownInstanceIs410) {
  const Reply r = deprovision("nope");
  EXPECT_EQ(r.status, 410u);
  EXPECT_EQ(r.body, json::object());
  provisioned("i");
  ASSERT_EQ(deprovision("i").status, 200u);
  EXPECT_EQ(deprovision("i").status, 410u);
  EXPECT_EQ(fake_.count(Operation::deprovision), 1u);
}

TEST_F(InstancesTest, DeprovisionWithoutServiceOrPlanIs400) {
  provisioned("i");
  EXPECT_TRUE(IsOsbError(call(bhttp::verb::delete_, instance_url("i", "plan_id=plan-small")), 400,
                         "BadRequest"));
  EXPECT_TRUE(IsOsbError(call(bhttp::verb::delete_, instance_url("i", "service_id=svc-db")), 400,
                         "BadRequest"));
  EXPECT_TRUE(IsOsbError(call(bhttp::verb::delete_, instance_url("i", "service_id=&plan_id=p")),
                         400, "BadRequest"));
  EXPECT_TRUE(IsOsbError(
      call(bhttp::verb::delete_, instance_url("i", "service_id=svc-cache&plan_id=plan-small")), 400,
      "BadRequest"));
  EXPECT_EQ(fake_.count(Operation::deprovision), 0u);
}

TEST_F(InstancesTest, AsynchronousDeprovisionIs202ThenLastOperationIs410) {
  provisioned("i");
  fake_.script(Operation::deprovision, Answer::in_progress("del"));
  const Reply r = deprovision("i", true);
  ASSERT_EQ(r.status, 202u);
  const Reply again = deprovision("i", true);
  EXPECT_EQ(again.status, 202u);
  EXPECT_EQ(again.body["operation"], r.body["operation"]);
  EXPECT_TRUE(IsOsbError(deprovision("i"), 422, "ConcurrencyError"));
  fake_.script(Operation::poll, Answer::poll("succeeded"));
  const Reply done = instance_last_operation("i", r.body["operation"]);
  EXPECT_EQ(done.status, 410u);
  EXPECT_EQ(fetch_instance("i").status, 404u);
}

TEST_F(InstancesTest, DeprovisionWhileAnUpdateRunsIs422) {
  provisioned("i");
  fake_.script(Operation::update, Answer::in_progress("upd"));
  ASSERT_EQ(update("i", update_body(), true).status, 202u);
  EXPECT_TRUE(IsOsbError(deprovision("i", true), 422, "ConcurrencyError"));
}

TEST_F(InstancesTest, DeprovisionDuringAnAsynchronousProvisionStopsIt) {
  const std::string provision_op = provisioning("i");
  fake_.script(Operation::deprovision, Answer::in_progress("del"));
  const Reply r = deprovision("i", true);
  ASSERT_EQ(r.status, 202u) << r.raw.body();
  EXPECT_NE(r.body["operation"], provision_op);
  const Reply stopped = instance_last_operation("i", provision_op);
  EXPECT_EQ(stopped.status, 200u);
  EXPECT_EQ(stopped.body["state"], "failed");
}

TEST_F(InstancesTest, DeprovisionWithoutAcceptsIncompleteDuringAsyncProvisionIs422) {
  provisioning("i");
  EXPECT_TRUE(IsOsbError(deprovision("i"), 422, "ConcurrencyError"));
}

TEST_F(InstancesTest, FailedDeprovisionIs502AndKeepsTheInstanceUsable) {
  provisioned("i");
  fake_.script(Operation::deprovision, Answer::failure(OSB_STATUS_BACKEND_ERROR, "backend down"));
  const Reply r = deprovision("i");
  EXPECT_TRUE(IsOsbError(r, 502, "BackendError"));
  EXPECT_EQ(r.body["instance_usable"], true);
  EXPECT_EQ(fetch_instance("i").status, 200u);
}

TEST_F(InstancesTest, DeprovisionRequiringAsyncIs422AsyncRequired) {
  provisioned("i");
  fake_.script(Operation::deprovision, Answer::failure(OSB_STATUS_ASYNC_REQUIRED, "async only"));
  EXPECT_TRUE(IsOsbError(deprovision("i"), 422, "AsyncRequired"));
  EXPECT_EQ(fetch_instance("i").status, 200u);
}

TEST_F(InstancesTest, DeprovisionOfAnInstanceWhosePluginIsGoneIs500) {
  provisioned("i");
  lifecycle_->set_registry(catalog::Registry::build({}));
  EXPECT_TRUE(IsOsbError(deprovision("i"), 500, "InternalError"));
}

// --- GET /v2/service_instances/:id (fetch) ------------------------------------------------------

TEST_F(InstancesTest, FetchIs200WithTheInstanceAndItsUsage) {
  fake_.script(Operation::provision, Answer::ok({{"dashboard_url", "https://dash/i"},
                                                 {"metadata", {{"labels", {{"a", "b"}}}}}}));
  json body = provision_body(FakePlugin::kSmallPlan, {{"size", 1}});
  body["maintenance_info"] = {{"version", "1.0.0"}};
  ASSERT_EQ(provision("i", body).status, 201u);
  fake_.script(Operation::usage,
               Answer::ok({{"bytes", 10}, {"over_quota", false}, {"objects", -1}}));
  const Reply r = fetch_instance("i");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.body["service_id"], FakePlugin::kService);
  EXPECT_EQ(r.body["plan_id"], FakePlugin::kSmallPlan);
  EXPECT_EQ(r.body["parameters"], (json{{"size", 1}}));
  EXPECT_EQ(r.body["dashboard_url"], "https://dash/i");
  EXPECT_EQ(r.body["maintenance_info"], (json{{"version", "1.0.0"}}));
  EXPECT_EQ(r.body["metadata"]["labels"], (json{{"a", "b"}}));
  EXPECT_EQ(r.body["metadata"]["attributes"], (json{{"storage_bytes", 10}, {"over_quota", false}}));
}

TEST_F(InstancesTest, FetchOfAnUnknownInstanceIs404) {
  EXPECT_TRUE(IsOsbError(fetch_instance("nope"), 404, "NotFound"));
}

TEST_F(InstancesTest, FetchWhileProvisioningIs404) {
  provisioning("i");
  EXPECT_TRUE(IsOsbError(fetch_instance("i"), 404, "NotFound"));
}

TEST_F(InstancesTest, FetchWhileUpdatingIs422) {
  provisioned("i");
  fake_.script(Operation::update, Answer::in_progress("upd"));
  ASSERT_EQ(update("i", update_body(), true).status, 202u);
  EXPECT_TRUE(IsOsbError(fetch_instance("i"), 422, "ConcurrencyError"));
}

// --- GET /v2/service_instances/:id/last_operation -----------------------------------------------

TEST_F(InstancesTest, LastOperationInProgressIs200WithRetryAfter) {
  const std::string op = provisioning("i");
  const Reply r = instance_last_operation("i", op);
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.body["state"], "in progress");
  EXPECT_EQ(r.header("Retry-After"), "2");
  const auto polls = fake_.calls(Operation::poll);
  ASSERT_EQ(polls.size(), 1u);
  EXPECT_EQ(polls[0].request.at("operation"), "token-i");
  EXPECT_EQ(polls[0].request.at("kind"), "provision");
}

TEST_F(InstancesTest, LastOperationReportsSuccessAndTheInstanceBecomesReady) {
  const std::string op = provisioning("i");
  fake_.script(
      Operation::poll,
      Answer{OSB_STATUS_OK,
             {{"state", "succeeded"}, {"description", "done"}, {"dashboard_url", "https://dash/i"}},
             ""});
  const Reply r = instance_last_operation("i", op);
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, (json{{"state", "succeeded"}, {"description", "done"}}));
  EXPECT_TRUE(r.header("Retry-After").empty());
  EXPECT_EQ(fetch_instance("i").body["dashboard_url"], "https://dash/i");
  EXPECT_EQ(provision("i", provision_body(), true).status, 200u);
}

TEST_F(InstancesTest, LastOperationReportsFailure) {
  provisioning("i");
  fake_.script(Operation::poll, Answer::poll("failed", "quota exceeded"));
  const Reply r = instance_last_operation("i");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.body["state"], "failed");
  EXPECT_EQ(r.body["description"], "quota exceeded");
  EXPECT_EQ(fetch_instance("i").status, 404u);
}

TEST_F(InstancesTest, PollErrorsKeepTheOperationRunningUnlessTheTokenIsRefused) {
  const std::string op = provisioning("i");
  fake_.script(Operation::poll, Answer::failure(OSB_STATUS_BACKEND_ERROR, "unreachable"));
  EXPECT_EQ(instance_last_operation("i", op).body["state"], "in progress");
  fake_.script(Operation::poll, Answer::failure(OSB_STATUS_BAD_REQUEST, "unknown token"));
  const Reply r = instance_last_operation("i", op);
  EXPECT_EQ(r.body["state"], "failed");
  EXPECT_EQ(r.body["description"], "unknown token");
}

TEST_F(InstancesTest, OperationsAdvanceWhenTheBrokerPollsWithoutAPlatform) {
  const std::string op = provisioning("i");
  fake_.script(Operation::poll, Answer::poll("succeeded"));
  EXPECT_EQ(lifecycle_->poll_unfinished(), 1);
  EXPECT_EQ(fake_.count(Operation::poll), 1u);
  EXPECT_EQ(instance_last_operation("i", op).body["state"], "succeeded");
  EXPECT_EQ(fake_.count(Operation::poll), 1u);  // a finished operation is not polled again
  EXPECT_EQ(fetch_instance("i").status, 200u);
}

TEST_F(InstancesTest, FailedAsynchronousUpdateReportsTheInstanceUsable) {
  provisioned("i");
  fake_.script(Operation::update, Answer::in_progress("upd"));
  const Reply r = update("i", update_body({{"plan_id", FakePlugin::kLargePlan}}), true);
  ASSERT_EQ(r.status, 202u);
  fake_.script(Operation::poll, Answer::poll("failed", "no capacity"));
  const Reply op = instance_last_operation("i", r.body["operation"]);
  EXPECT_EQ(op.body["state"], "failed");
  EXPECT_EQ(op.body["instance_usable"], true);
  EXPECT_EQ(op.body["update_repeatable"], true);
  EXPECT_EQ(fetch_instance("i").body["plan_id"], FakePlugin::kSmallPlan);
}

TEST_F(InstancesTest, FailedAsynchronousDeprovisionReportsWhetherTheInstanceIsUsable) {
  provisioned("i");
  fake_.script(Operation::deprovision, Answer::in_progress("del"));
  const Reply r = deprovision("i", true);
  ASSERT_EQ(r.status, 202u);
  fake_.script(Operation::poll, Answer::poll("failed", "in use"));
  const Reply op = instance_last_operation("i", r.body["operation"]);
  EXPECT_EQ(op.status, 200u);
  EXPECT_EQ(op.body["state"], "failed");
  EXPECT_EQ(op.body["instance_usable"], true);
}

TEST_F(InstancesTest, SucceededOperationMentionsAnEnforcedQuota) {
  const std::string op = provisioning("i");
  fake_.script(Operation::poll, Answer::poll("succeeded", "ready"));
  fake_.script(Operation::usage, Answer::ok({{"over_quota", true}, {"description", "read-only"}}));
  EXPECT_EQ(instance_last_operation("i", op).body["description"], "ready; read-only");
}

TEST_F(InstancesTest, LastOperationOfAnUnknownInstanceOrOperationIs404) {
  EXPECT_TRUE(IsOsbError(instance_last_operation("nope"), 404, "NotFound"));
  const std::string op = provisioning("i");
  provisioned("other");
  EXPECT_TRUE(IsOsbError(instance_last_operation("other", op), 404, "NotFound"));
  EXPECT_TRUE(IsOsbError(instance_last_operation("i", "no-such-operation"), 404, "NotFound"));
  // An empty operation= is no operation: the latest one of the instance.
  EXPECT_EQ(call(bhttp::verb::get, "/v2/service_instances/i/last_operation?operation=").status,
            200u);
}

TEST_F(InstancesTest, LastOperationOfASynchronousProvisionIsSucceeded) {
  provisioned("i");
  const Reply r = instance_last_operation("i");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body["state"], "succeeded");
  EXPECT_EQ(fake_.count(Operation::poll), 0u);
}

}  // namespace
}  // namespace osbd::test
