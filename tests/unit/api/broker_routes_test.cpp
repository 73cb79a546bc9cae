// In-process tests of the OSB front end (Broker, Lifecycle, AdminApi) over a fake C-ABI plugin and
// a real SQLite store; see api_fixture.hpp. Suites: BrokerRoutesTest (this file: catalog, auth,
// version, routing, per-catalog paths, Handler hooks), InstancesTest, BindingsTest, OperatorTest.
//
// Route x status -> test (I = InstancesTest, B = BindingsTest, R = BrokerRoutesTest,
// O = OperatorTest). Every OSB route also: 401 R.MissingCredentialsAre401WithChallengeOnEveryRoute,
// R.WrongCredentialsAre401; 412 R.MissingApiVersionIs412OnEveryRoute,
// R.ApiVersionOutsideTwoThirteenToTwoSeventeenIs412; 405 R.WrongMethodIs405WithAllowHeader;
// 400 R.MalformedPercentEncodingIs400; 404 R.UnknownRouteIs404.
//
// GET /v2/catalog        200 R.CatalogIsServedWithEtagToPlatformCredentials,
//                            R.OldestSupportedApiVersionIsAccepted, R.RequestIdentityIsEchoed,
//                            R.OtherSpellingsOfTheRightCredentialsAreAccepted
//                        304 R.CatalogIsNotModifiedForItsOwnEtag
//                        401 R.AdminCredentialsDoNotOpenTheOsbApi, R.CredentialsAreChecked...
// PUT  instance          201 I.SynchronousProvisionIs201WithDashboard
//                        200 I.IdenticalProvisionOfAReadyInstanceIs200
//                        202 I.AsynchronousProvisionIs202WithOperation,
//                            I.RepeatedAsynchronousProvisionIs202WithTheSameOperation
//                        400 I.MalformedProvisionBodyIs400, I.ProvisionFieldsOfTheWrongTypeAre400,
//                            I.ProvisionWithoutOrganizationIs400UnlessContextOnlyIsAccepted,
//                            I.UnknownServiceOrPlanIs400, R.InvalidInstanceIdIs400,
//                            R.NonJsonContentTypeIs400, R.MalformedOriginatingIdentityIs400,
//                            I.PluginClientErrorsMapToTheirStatusAndLeaveNoInstance (BadRequest)
//                        400 ValidationFailed
//                        I.ParametersAgainstThePlanSchemaAre400ValidationFailed 409
//                        I.ProvisionWithDifferentAttributesIs409,
//                            I.PluginBackendErrorIs502AndKeepsAFailedInstanceForCleanup,
//                            I.DifferentProvisionWhileProvisioningIs409
//                        422 ConcurrencyError I.RepeatedProvisionWithoutAcceptsIncomplete...,
//                            I.DifferentProvisionWhileAnotherOperationRunsIs422
//                        422 AsyncRequired I.PluginAsyncRequiredIs422AndLeavesNoInstance
//                        422 MaintenanceInfoConflict I.MaintenanceInfoOfAnotherVersionIs422
//                        422 UnprocessableEntity I.PluginClientErrorsMapToTheirStatus...
//                        500 I.PluginInternalErrorIs500, I.PluginResultThatIsNotJsonIs500,
//                            I.PluginThatAnswersAsyncWithoutAcceptsIncompleteIs500
//                        502 I.PluginBackendErrorIs502AndKeepsAFailedInstanceForCleanup
// PATCH instance         200 I.SynchronousUpdateIs200AndChangesThePlan
//                        202 I.AsynchronousUpdateIs202AndRepeatsTheSameOperation
//                        400 I.MalformedUpdateBodyIs400,
//                        I.UpdateWithAnotherServiceOrUnknownPlanIs400 400 ValidationFailed
//                        I.UpdateParametersAgainstTheSchemaAre400... 404
//                        I.UpdateOfAnUnknownInstanceIs404 422 ConcurrencyError
//                        I.DifferentUpdateWhileAnUpdateRunsIs422,
//                            I.UpdateWhileProvisioningIs422
//                        422 UnprocessableEntity I.PlanChangeOfANonUpdateablePlanIs422,
//                            I.RefusedUpdateIs422WithoutUsabilityFields
//                        422 MaintenanceInfoConflict I.UpdateToAnotherMaintenanceVersionIs422
//                        502 I.FailedUpdateIs502AndLeavesTheInstanceUsable
// DELETE instance        200 I.SynchronousDeprovisionIs200WithEmptyBody
//                        202 I.AsynchronousDeprovisionIs202ThenLastOperationIs410,
//                            I.DeprovisionDuringAnAsynchronousProvisionStopsIt
//                        400 I.DeprovisionWithoutServiceOrPlanIs400
//                        410 I.DeprovisionOfAnUnknownInstanceIs410
//                        422 ConcurrencyError I.DeprovisionWhileAnUpdateRunsIs422,
//                            I.DeprovisionWithoutAcceptsIncompleteDuringAsyncProvisionIs422,
//                            I.AsynchronousDeprovisionIs202ThenLastOperationIs410
//                        422 AsyncRequired I.DeprovisionRequiringAsyncIs422AsyncRequired
//                        500 I.DeprovisionOfAnInstanceWhosePluginIsGoneIs500
//                        502 I.FailedDeprovisionIs502AndKeepsTheInstanceUsable
// GET instance           200 I.FetchIs200WithTheInstanceAndItsUsage, R.PercentEncodedIdsAreDecoded
//                        404 I.FetchOfAnUnknownInstanceIs404, I.FetchWhileProvisioningIs404,
//                            R.InstancesAreScopedToTheCatalogTheyWereCreatedThrough
//                        422 ConcurrencyError I.FetchWhileUpdatingIs422
// GET instance           200 I.LastOperationInProgressIs200WithRetryAfter,
//   /last_operation          I.LastOperationReportsSuccessAndTheInstanceBecomesReady,
//                            I.LastOperationReportsFailure, I.PollErrorsKeepTheOperation...,
//                            I.FailedAsynchronousUpdateReportsTheInstanceUsable,
//                            I.FailedAsynchronousDeprovisionReportsWhetherTheInstanceIsUsable,
//                            I.SucceededOperationMentionsAnEnforcedQuota,
//                            I.LastOperationOfASynchronousProvisionIsSucceeded,
//                            I.OperationsAdvanceWhenTheBrokerPollsWithoutAPlatform
//                        404 I.LastOperationOfAnUnknownInstanceOrOperationIs404
//                        410 I.AsynchronousDeprovisionIs202ThenLastOperationIs410
// PUT  binding           201 B.SynchronousBindIs201WithCredentials, B.RotationOnARotatablePlanIs201
//                        200 B.IdenticalBindIs200WithTheSameCredentials
//                        202 B.AsynchronousBindIs202AndRepeatsTheSameOperation
//                        400 B.BindWithUnknownOrUnbindablePlanIs400, B.MalformedBindBodyIs400,
//                            B.BindWithAnotherPlanThanTheInstancesIs400,
//                            B.RotationThatIsNotAllowedIs400, R.InvalidBindingIdIs400,
//                            B.PluginFailuresMapToTheirStatus (BadRequest)
//                        400 ValidationFailed B.BindParametersAgainstTheSchemaAre400...
//                        404 B.BindToAnUnknownInstanceIs404
//                        409 B.BindWithDifferentAttributesIs409,
//                            B.FailedBindIs502ThenTheSameBindIs409UntilUnbound,
//                            B.LastOperationReportsAFailedBind,
//                            B.DifferentBindWhileBindingIs409
//                        422 ConcurrencyError B.AsynchronousBindIs202AndRepeatsTheSameOperation,
//                            B.BindWhileTheInstanceIsProvisioningIs422,
//                            B.BindWhileTheInstanceIsUpdatingIs422
//                        422 RequiresApp / AsyncRequired B.PluginFailuresMapToTheirStatus
//                        502 B.FailedBindIs502ThenTheSameBindIs409UntilUnbound
// DELETE binding         200 B.SynchronousUnbindIs200ThenRepeatedUnbindIs410
//                        202 B.AsynchronousUnbindIs202ThenLastOperationIs410,
//                            B.UnbindDuringAnAsynchronousBindStopsIt
//                        400 B.UnbindWithoutServiceOrPlanIs400
//                        410 B.UnbindOfAnUnknownBindingOrInstanceIs410,
//                            B.SynchronousUnbindIs200ThenRepeatedUnbindIs410
//                        422 ConcurrencyError B.AsynchronousUnbindIs202ThenLastOperationIs410
//                        500 B.UnbindWhosePluginIsGoneIs500
//                        502 B.FailedUnbindIs502AndKeepsTheBinding
// GET binding            200 B.FetchIs200WithCredentialsAndParameters
//                        404 B.FetchOfAnUnknownOrUnfinishedBindingIs404,
//                            B.FailedBindIs502ThenTheSameBindIs409UntilUnbound
// GET binding            200 B.LastOperationFollowsAnAsynchronousBind,
//   /last_operation          B.LastOperationReportsAFailedBind, B.UnbindDuringAnAsynchronousBind...
//                        404 B.LastOperationOfAnUnknownBindingOrOperationIs404
//                        410 B.AsynchronousUnbindIs202ThenLastOperationIs410
// /catalogs/NAME/v2/...  200 R.NamedCatalogServesItsSelectionToItsCredentials,
//                            R.InstancesAreScopedToTheCatalogTheyWereCreatedThrough
//                        400 R.NamedCatalogRefusesServicesItDoesNotShow
//                        401 R.CatalogCredentialsOpenOnlyTheirCatalog, R.UnknownCatalogNameIs401
//                        404/405/412 R.NamedCatalogAppliesTheSameChecks
// Handler hooks          401 R.RefusalBeforeBodyIs401WithoutCredentials (refuse_before_body)
//                        200 R.CachedCatalogOnlyForPlainAuthorizedGets (cached_response)
//                        413 R.TooLargeBodyIs413InOsbFormat (too_large)
// GET /healthz           200 O.HealthzIs200WithoutCredentials; 405 O.OperatorEndpointsAllowOnlyGet
// GET /readyz            200 O.ReadyzIs200WithThePluginCount; 503 O.ReadyzIs503WithoutPlugins;
//                        405 O.OperatorEndpointsAllowOnlyGet
// GET /metrics           200 O.MetricsIs200InPrometheusFormatForTheOperator
//                        401 O.OperatorRoutesWithoutAdminCredentialsAre401,
//                            O.RefusalBeforeBodyGuardsOperatorRoutes
//                        404 O.OperatorRoutesAre404WhenNoAdminCredentialsAreConfigured,
//                            O.SeparateListenerMovesMetricsAndAdminOffTheOsbListener
//                        405 O.OperatorEndpointsAllowOnlyGet
// GET /admin/...         200 O.AdminInstancesListsOwnerAndLastOperation,
//                            O.AdminBindingsListsBindingsWithoutCredentials,
//                            O.AdminSummaryCountsInstancesPerPlanAndOwner,
//                            O.AdminPluginsDescribesTheLoadedPlugin
//                        400 O.BadAdminQueryIs400; 401
//                        O.OperatorRoutesWithoutAdminCredentialsAre401 404
//                        O.UnknownAdminRouteIs404, O.OperatorRoutesAre404WhenNoAdmin... 405
//                        O.OperatorEndpointsAllowOnlyGet
// operator_handler()     200/401/404 O.OperatorListenerServesOnlyOperatorRoutes,
//                            O.SeparateListenerMovesMetricsAndAdminOffTheOsbListener
//
// Not reachable in process without a failing store: 503 ServiceUnavailable with Retry-After from
// a StoreError on any
// route (Broker's internal_error), 503 "the state store cannot serve requests" on /readyz, 500 on
// /metrics, and the races "the instance/binding is being deleted" and "changed while the request
// ran" (422) between a begin and the read after it.

#include <string>

#include "api_fixture.hpp"

namespace osbd::test {
namespace {

using BrokerRoutesTest = ApiTest;

http::Request without(http::Request request, const std::string& name) {
  request.erase(name);
  return request;
}

http::Request with(http::Request request, const std::string& name, const std::string& value) {
  request.set(name, value);
  return request;
}

// --- GET /v2/catalog ----------------------------------------------------------------------------

TEST_F(BrokerRoutesTest, CatalogIsServedWithEtagToPlatformCredentials) {
  const Reply r = call(bhttp::verb::get, "/v2/catalog");
  ASSERT_EQ(r.status, 200u);
  ASSERT_TRUE(r.body.contains("services"));
  EXPECT_EQ(r.body["services"].size(), 2u);
  EXPECT_EQ(r.body["services"][0]["id"], FakePlugin::kService);
  EXPECT_FALSE(r.header("ETag").empty());
  EXPECT_EQ(r.header("Content-Type"), "application/json");
}

TEST_F(BrokerRoutesTest, CatalogIsNotModifiedForItsOwnEtag) {
  const std::string etag = call(bhttp::verb::get, "/v2/catalog").header("ETag");
  const Reply r =
      send(with(platform_request(bhttp::verb::get, "/v2/catalog"), "If-None-Match", etag));
  EXPECT_EQ(r.status, 304u);
  EXPECT_TRUE(r.raw.body().empty());
  const Reply stale =
      send(with(platform_request(bhttp::verb::get, "/v2/catalog"), "If-None-Match", "\"old\""));
  EXPECT_EQ(stale.status, 200u);
}

TEST_F(BrokerRoutesTest, RequestIdentityIsEchoed) {
  const Reply catalog = send(with(platform_request(bhttp::verb::get, "/v2/catalog"),
                                  "X-Broker-API-Request-Identity", "r-1"));
  EXPECT_EQ(catalog.status, 200u);
  EXPECT_EQ(catalog.header("X-Broker-API-Request-Identity"), "r-1");
  const Reply missing = send(with(platform_request(bhttp::verb::get, instance_url("nope")),
                                  "X-Broker-API-Request-Identity", "r-2"));
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(missing.header("X-Broker-API-Request-Identity"), "r-2");
}

// --- authentication (every OSB route) -----------------------------------------------------------

TEST_F(BrokerRoutesTest, MissingCredentialsAre401WithChallengeOnEveryRoute) {
  for (const auto& target :
       {std::string("/v2/catalog"), instance_url("i"),
        std::string("/v2/service_instances/i/last_operation"), binding_url("i", "b"),
        binding_url("i", "b") + "/last_operation", std::string("/v2/nope")}) {
    const Reply r = send(without(platform_request(bhttp::verb::get, target), "Authorization"));
    EXPECT_TRUE(IsOsbError(r, 401, "Unauthorized")) << target;
    EXPECT_EQ(r.header("WWW-Authenticate"), "Basic realm=\"osbd\"") << target;
  }
}

TEST_F(BrokerRoutesTest, WrongCredentialsAre401) {
  for (const auto& value : {std::string("Basic ") + api::base64_encode("platform:wrong"),
                            std::string("Basic ") + api::base64_encode("someone:platform-secret"),
                            std::string("Bearer abc"), std::string("Basic !!!")}) {
    const Reply r =
        send(with(platform_request(bhttp::verb::put, instance_url("i"), provision_body().dump()),
                  "Authorization", value));
    EXPECT_TRUE(IsOsbError(r, 401, "Unauthorized")) << value;
  }
  EXPECT_EQ(fake_.count(Operation::provision), 0u);
}

TEST_F(BrokerRoutesTest, OtherSpellingsOfTheRightCredentialsAreAccepted) {
  const Reply r = send(with(platform_request(bhttp::verb::get, "/v2/catalog"), "Authorization",
                            "basic   " + api::base64_encode("platform:platform-secret")));
  EXPECT_EQ(r.status, 200u);
}

TEST_F(BrokerRoutesTest, AdminCredentialsDoNotOpenTheOsbApi) {
  const Reply r = send(with(platform_request(bhttp::verb::get, "/v2/catalog"), "Authorization",
                            "Basic " + api::base64_encode("operator:operator-secret")));
  EXPECT_TRUE(IsOsbError(r, 401, "Unauthorized"));
}

// --- X-Broker-API-Version -----------------------------------------------------------------------

const std::string kEveryRoute[] = {"/v2/catalog", "/v2/service_instances/i",
                                   "/v2/service_instances/i/last_operation",
                                   "/v2/service_instances/i/service_bindings/b",
                                   "/v2/service_instances/i/service_bindings/b/last_operation"};

TEST_F(BrokerRoutesTest, MissingApiVersionIs412OnEveryRoute) {
  for (const auto& target : kEveryRoute) {
    const Reply r =
        send(without(platform_request(bhttp::verb::get, target), "X-Broker-API-Version"));
    EXPECT_TRUE(IsOsbError(r, 412, "PreconditionFailed")) << target;
  }
}

TEST_F(BrokerRoutesTest, ApiVersionOutsideTwoThirteenToTwoSeventeenIs412) {
  for (const auto& version : {"2.12", "2.18", "3.17", "1.0", "2.", "2.x", "2.17.1", "v2.17"}) {
    const Reply r =
        send(with(platform_request(bhttp::verb::put, instance_url("i"), provision_body().dump()),
                  "X-Broker-API-Version", version));
    EXPECT_TRUE(IsOsbError(r, 412, "PreconditionFailed")) << version;
  }
  EXPECT_EQ(fake_.count(Operation::provision), 0u);
}

TEST_F(BrokerRoutesTest, OldestSupportedApiVersionIsAccepted) {
  const Reply r =
      send(with(platform_request(bhttp::verb::get, "/v2/catalog"), "X-Broker-API-Version", "2.13"));
  EXPECT_EQ(r.status, 200u);
}

TEST_F(BrokerRoutesTest, CredentialsAreCheckedBeforeTheApiVersion) {
  http::Request request =
      without(platform_request(bhttp::verb::get, "/v2/catalog"), "Authorization");
  request.erase("X-Broker-API-Version");
  EXPECT_TRUE(IsOsbError(send(std::move(request)), 401, "Unauthorized"));
}

// --- routing ------------------------------------------------------------------------------------

TEST_F(BrokerRoutesTest, UnknownRouteIs404) {
  for (const auto& target :
       {"/v2/nope", "/v2", "/", "/v3/catalog", "/v2/service_instances/i/bogus",
        "/v2/service_instances/i/service_bindings", "/v2/service_instances/i/service_bindings/b/x",
        "/v2/service_instances/i/service_bindings/b/last_operation/x"}) {
    EXPECT_TRUE(IsOsbError(call(bhttp::verb::get, target), 404, "NotFound")) << target;
  }
}

TEST_F(BrokerRoutesTest, WrongMethodIs405WithAllowHeader) {
  const std::pair<std::string, std::string> routes[] = {
      {"/v2/catalog", "GET"},
      {"/v2/service_instances/i", "GET, PUT, PATCH, DELETE"},
      {"/v2/service_instances/i/last_operation", "GET"},
      {"/v2/service_instances/i/service_bindings/b", "GET, PUT, DELETE"},
      {"/v2/service_instances/i/service_bindings/b/last_operation", "GET"}};
  for (const auto& [target, allow] : routes) {
    const Reply r = call(bhttp::verb::post, target, "{}");
    EXPECT_TRUE(IsOsbError(r, 405, "MethodNotAllowed")) << target;
    EXPECT_EQ(r.header("Allow"), allow) << target;
  }
  const Reply patch_binding = call(bhttp::verb::patch, binding_url("i", "b"), "{}");
  EXPECT_TRUE(IsOsbError(patch_binding, 405, "MethodNotAllowed"));
  const Reply put_catalog = call(bhttp::verb::put, "/v2/catalog", "{}");
  EXPECT_TRUE(IsOsbError(put_catalog, 405, "MethodNotAllowed"));
}

TEST_F(BrokerRoutesTest, MalformedPercentEncodingIs400) {
  EXPECT_TRUE(IsOsbError(call(bhttp::verb::get, "/v2/service_instances/a%zz"), 400, "BadRequest"));
  EXPECT_TRUE(
      IsOsbError(call(bhttp::verb::get, "/v2/service_instances/a?x=%4"), 400, "BadRequest"));
}

TEST_F(BrokerRoutesTest, InvalidInstanceIdIs400) {
  for (const auto& id :
       {std::string(256, 'a'), std::string("a%01b"), std::string("a%FFb"), std::string("%C3%28")}) {
    const Reply r = provision(id);
    EXPECT_TRUE(IsOsbError(r, 400, "BadRequest")) << id;
  }
  EXPECT_EQ(provision(std::string(255, 'a')).status, 201u);
  EXPECT_EQ(fake_.count(Operation::provision), 1u);
}

TEST_F(BrokerRoutesTest, InvalidBindingIdIs400) {
  provisioned("i");
  EXPECT_TRUE(IsOsbError(bind("i", std::string(256, 'b')), 400, "BadRequest"));
  EXPECT_TRUE(IsOsbError(bind("i", "b%7F"), 400, "BadRequest"));
  EXPECT_EQ(fake_.count(Operation::bind), 0u);
}

TEST_F(BrokerRoutesTest, PercentEncodedIdsAreDecoded) {
  ASSERT_EQ(provision("a%20b").status, 201u);
  EXPECT_EQ(fake_.calls(Operation::provision).at(0).request.at("instance_id"), "a b");
  EXPECT_EQ(fetch_instance("a%20b").status, 200u);
}

TEST_F(BrokerRoutesTest, NonJsonContentTypeIs400) {
  const Reply r =
      send(with(platform_request(bhttp::verb::put, instance_url("i"), provision_body().dump()),
                "Content-Type", "text/plain"));
  EXPECT_TRUE(IsOsbError(r, 400, "BadRequest"));
  const Reply charset =
      send(with(platform_request(bhttp::verb::put, instance_url("i"), provision_body().dump()),
                "Content-Type", "Application/JSON; charset=utf-8"));
  EXPECT_EQ(charset.status, 201u);
}

TEST_F(BrokerRoutesTest, MalformedOriginatingIdentityIs400) {
  for (const auto& value :
       {std::string("cloudfoundry"), std::string("cloudfoundry !!!"),
        "cloudfoundry " + api::base64_encode("[1]"), "cloudfoundry " + api::base64_encode("{")}) {
    const Reply r =
        send(with(platform_request(bhttp::verb::put, instance_url("i"), provision_body().dump()),
                  "X-Broker-API-Originating-Identity", value));
    EXPECT_TRUE(IsOsbError(r, 400, "BadRequest")) << value;
  }
  const Reply ok =
      send(with(platform_request(bhttp::verb::put, instance_url("i"), provision_body().dump()),
                "X-Broker-API-Originating-Identity",
                "cloudfoundry " + api::base64_encode(R"({"user_id":"u-1"})")));
  EXPECT_EQ(ok.status, 201u);
  EXPECT_EQ(fake_.calls(Operation::provision).at(0).request.at("originating_identity"),
            (json{{"platform", "cloudfoundry"}, {"value", {{"user_id", "u-1"}}}}));
}

// --- per-catalog paths: /catalogs/NAME/v2/... ---------------------------------------------------

http::Request partner_request(bhttp::verb method, const std::string& target,
                              const std::string& body = "") {
  return with(ApiTest::platform_request(method, "/catalogs/partner" + target, body),
              "Authorization", "Basic " + api::base64_encode("partner:partner-secret"));
}

TEST_F(BrokerRoutesTest, NamedCatalogServesItsSelectionToItsCredentials) {
  const Reply r = send(partner_request(bhttp::verb::get, "/v2/catalog"));
  ASSERT_EQ(r.status, 200u);
  ASSERT_EQ(r.body["services"].size(), 1u);
  EXPECT_EQ(r.body["services"][0]["id"], FakePlugin::kService);
  EXPECT_NE(r.header("ETag"), call(bhttp::verb::get, "/v2/catalog").header("ETag"));
}

TEST_F(BrokerRoutesTest, CatalogCredentialsOpenOnlyTheirCatalog) {
  const Reply default_on_partner =
      send(with(partner_request(bhttp::verb::get, "/v2/catalog"), "Authorization",
                "Basic " + api::base64_encode("platform:platform-secret")));
  EXPECT_TRUE(IsOsbError(default_on_partner, 401, "Unauthorized"));
  const Reply partner_on_default =
      send(with(platform_request(bhttp::verb::get, "/v2/catalog"), "Authorization",
                "Basic " + api::base64_encode("partner:partner-secret")));
  EXPECT_TRUE(IsOsbError(partner_on_default, 401, "Unauthorized"));
}

TEST_F(BrokerRoutesTest, UnknownCatalogNameIs401) {
  const Reply r =
      send(with(platform_request(bhttp::verb::get, "/catalogs/nope/v2/catalog"), "Authorization",
                "Basic " + api::base64_encode("partner:partner-secret")));
  EXPECT_TRUE(IsOsbError(r, 401, "Unauthorized"));
}

TEST_F(BrokerRoutesTest, NamedCatalogAppliesTheSameChecks) {
  EXPECT_TRUE(IsOsbError(send(partner_request(bhttp::verb::get, "/v2/nope")), 404, "NotFound"));
  EXPECT_TRUE(
      IsOsbError(send(partner_request(bhttp::verb::post, "/v2/catalog")), 405, "MethodNotAllowed"));
  EXPECT_TRUE(IsOsbError(
      send(without(partner_request(bhttp::verb::get, "/v2/catalog"), "X-Broker-API-Version")), 412,
      "PreconditionFailed"));
}

TEST_F(BrokerRoutesTest, NamedCatalogRefusesServicesItDoesNotShow) {
  json body = provision_body();
  body["service_id"] = FakePlugin::kOtherService;
  body["plan_id"] = FakePlugin::kOtherPlan;
  const Reply r = send(partner_request(bhttp::verb::put, "/v2/service_instances/i", body.dump()));
  EXPECT_TRUE(IsOsbError(r, 400, "BadRequest"));
  EXPECT_EQ(provision("i", body).status, 201u);  // the default catalog shows it
}

TEST_F(BrokerRoutesTest, InstancesAreScopedToTheCatalogTheyWereCreatedThrough) {
  provisioned("shared");
  EXPECT_EQ(send(partner_request(bhttp::verb::get, "/v2/service_instances/shared")).status, 404u);
  const Reply partner = send(
      partner_request(bhttp::verb::put, "/v2/service_instances/shared", provision_body().dump()));
  EXPECT_EQ(partner.status, 201u);
  const auto calls = fake_.calls(Operation::provision);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_NE(calls[0].request.at("instance_id"), calls[1].request.at("instance_id"));
  const Reply gone = send(partner_request(
      bhttp::verb::delete_, "/v2/service_instances/shared?service_id=svc-db&plan_id=plan-small"));
  EXPECT_EQ(gone.status, 200u);
  EXPECT_EQ(fetch_instance("shared").status, 200u);
}

// --- http::Handler hooks: refusal on headers, cached catalog, body limit ------------------------

TEST_F(BrokerRoutesTest, RefusalBeforeBodyIs401WithoutCredentials) {
  const auto refused = broker_->refuse_before_body(
      without(platform_request(bhttp::verb::put, instance_url("i")), "Authorization"));
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->result_int(), 401u);
  EXPECT_FALSE(broker_->refuse_before_body(platform_request(bhttp::verb::put, instance_url("i"))));
  EXPECT_FALSE(
      broker_->refuse_before_body(partner_request(bhttp::verb::put, "/v2/service_instances/i")));
  const auto unknown_catalog = broker_->refuse_before_body(
      platform_request(bhttp::verb::put, "/catalogs/nope/v2/service_instances/i"));
  ASSERT_TRUE(unknown_catalog.has_value());
  EXPECT_EQ(unknown_catalog->result_int(), 401u);
}

TEST_F(BrokerRoutesTest, CachedCatalogOnlyForPlainAuthorizedGets) {
  const auto cached = broker_->cached_response(platform_request(bhttp::verb::get, "/v2/catalog"));
  ASSERT_NE(cached, nullptr);
  EXPECT_EQ(cached->rfind("HTTP/1.1 200 OK", 0), 0u);
  EXPECT_EQ(broker_->cached_response(
                without(platform_request(bhttp::verb::get, "/v2/catalog"), "Authorization")),
            nullptr);
  EXPECT_EQ(broker_->cached_response(
                without(platform_request(bhttp::verb::get, "/v2/catalog"), "X-Broker-API-Version")),
            nullptr);
  EXPECT_EQ(broker_->cached_response(with(platform_request(bhttp::verb::get, "/v2/catalog"),
                                          "X-Broker-API-Request-Identity", "r")),
            nullptr);
}

TEST_F(BrokerRoutesTest, TooLargeBodyIs413InOsbFormat) {
  http::Response response = broker_->too_large(11, 1024);
  Reply r;
  r.status = response.result_int();
  r.body = json::parse(response.body(), nullptr, false);
  r.raw = std::move(response);
  EXPECT_TRUE(IsOsbError(r, 413, "PayloadTooLarge"));
}

}  // namespace
}  // namespace osbd::test
