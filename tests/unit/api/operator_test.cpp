// The operator's endpoints: /healthz, /readyz, /metrics and /admin/..., on the OSB listener and on
// the operator's own listener (Broker::operator_handler()).

#include <chrono>
#include <string>
#include <thread>

#include "api_fixture.hpp"

namespace osbd::test {
namespace {

using OperatorTest = ApiTest;

http::Request anonymous(bhttp::verb method, const std::string& target) {
  return http::Request{method, target, 11};
}

http::Request with_auth(http::Request request, const std::string& user,
                        const std::string& password) {
  request.set(bhttp::field::authorization, "Basic " + api::base64_encode(user + ":" + password));
  return request;
}

api::BrokerOptions separate_listener() {
  api::BrokerOptions options = ApiTest::default_options();
  options.separate_operator_listener = true;
  return options;
}

// --- /healthz and /readyz -----------------------------------------------------------------------

TEST_F(OperatorTest, HealthzIs200WithoutCredentials) {
  const Reply r = send(anonymous(bhttp::verb::get, "/healthz"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, (json{{"status", "alive"}}));
}

TEST_F(OperatorTest, ReadyzIs200WithThePluginCount) {
  const Reply r = send(anonymous(bhttp::verb::get, "/readyz"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, (json{{"status", "ready"}, {"plugins", 1}}));
}

TEST_F(OperatorTest, ReadyzIs503WithoutPlugins) {
  lifecycle_->set_registry(catalog::Registry::build({}));
  // /readyz answers from state its own thread refreshes (every 250 ms): it sees the change soon.
  Reply r;
  for (int i = 0; i < 100; ++i) {
    r = send(anonymous(bhttp::verb::get, "/readyz"));
    if (r.status == 503u) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(r.body["status"], "not ready");
  EXPECT_EQ(r.body["reason"], "no plugin is loaded");
}

TEST_F(OperatorTest, OperatorEndpointsAllowOnlyGet) {
  for (const auto& target : {"/healthz", "/readyz", "/metrics"}) {
    const Reply r = send(admin_request(bhttp::verb::post, target));
    EXPECT_TRUE(IsOsbError(r, 405, "MethodNotAllowed")) << target;
    EXPECT_EQ(r.header("Allow"), "GET") << target;
  }
  const Reply admin = send(admin_request(bhttp::verb::delete_, "/admin/instances"));
  EXPECT_TRUE(IsOsbError(admin, 405, "MethodNotAllowed"));
  EXPECT_EQ(admin.header("Allow"), "GET");
}

// --- /metrics -----------------------------------------------------------------------------------

TEST_F(OperatorTest, MetricsIs200InPrometheusFormatForTheOperator) {
  provisioned("i");
  const Reply r = send(admin_request(bhttp::verb::get, "/metrics"));
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.raw.body().find("# TYPE"), std::string::npos);
  EXPECT_NE(r.raw.body().find("plan-small"), std::string::npos);
}

TEST_F(OperatorTest, OperatorRoutesWithoutAdminCredentialsAre401) {
  for (const auto& target : {"/metrics", "/admin/instances"}) {
    const Reply missing = send(anonymous(bhttp::verb::get, target));
    EXPECT_TRUE(IsOsbError(missing, 401, "Unauthorized")) << target;
    EXPECT_EQ(missing.header("WWW-Authenticate"), "Basic realm=\"osbd admin\"") << target;
    // The platform's credentials are not the operator's.
    const Reply platform = send(with_auth(anonymous(bhttp::verb::get, target), kUser, kPassword));
    EXPECT_TRUE(IsOsbError(platform, 401, "Unauthorized")) << target;
  }
}

TEST_F(OperatorTest, OperatorRoutesAre404WhenNoAdminCredentialsAreConfigured) {
  rewire(api::BrokerOptions{});
  for (const auto& target : {"/metrics", "/admin/instances"}) {
    EXPECT_TRUE(IsOsbError(send(admin_request(bhttp::verb::get, target)), 404, "NotFound"))
        << target;
  }
  EXPECT_EQ(send(anonymous(bhttp::verb::get, "/healthz")).status, 200u);
}

TEST_F(OperatorTest, RefusalBeforeBodyGuardsOperatorRoutes) {
  const auto refused = broker_->refuse_before_body(anonymous(bhttp::verb::get, "/metrics"));
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->result_int(), 401u);
  EXPECT_FALSE(broker_->refuse_before_body(admin_request(bhttp::verb::get, "/admin/summary")));
  EXPECT_FALSE(broker_->refuse_before_body(anonymous(bhttp::verb::get, "/healthz")));
  EXPECT_FALSE(broker_->refuse_before_body(anonymous(bhttp::verb::get, "/readyz")));
}

// --- a separate operator listener (admin.listen) ------------------------------------------------

TEST_F(OperatorTest, SeparateListenerMovesMetricsAndAdminOffTheOsbListener) {
  rewire(separate_listener());
  for (const auto& target : {"/metrics", "/admin/instances"}) {
    EXPECT_TRUE(IsOsbError(send(admin_request(bhttp::verb::get, target)), 404, "NotFound"))
        << target;
    EXPECT_EQ(send(admin_request(bhttp::verb::get, target), &broker_->operator_handler()).status,
              200u)
        << target;
  }
  EXPECT_EQ(send(anonymous(bhttp::verb::get, "/healthz")).status, 200u);
}

TEST_F(OperatorTest, OperatorListenerServesOnlyOperatorRoutes) {
  rewire(separate_listener());
  http::Handler& ops = broker_->operator_handler();
  EXPECT_EQ(send(anonymous(bhttp::verb::get, "/healthz"), &ops).status, 200u);
  EXPECT_EQ(send(anonymous(bhttp::verb::get, "/readyz"), &ops).status, 200u);
  EXPECT_TRUE(
      IsOsbError(send(platform_request(bhttp::verb::get, "/v2/catalog"), &ops), 404, "NotFound"));
  EXPECT_TRUE(IsOsbError(send(anonymous(bhttp::verb::get, "/metrics"), &ops), 401, "Unauthorized"));
  const auto refused = ops.refuse_before_body(anonymous(bhttp::verb::get, "/admin/instances"));
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->result_int(), 401u);
}

// --- /admin/... ---------------------------------------------------------------------------------

TEST_F(OperatorTest, AdminInstancesListsOwnerAndLastOperation) {
  const Reply created = send([] {
    http::Request r =
        platform_request(bhttp::verb::put, instance_url("i"), provision_body().dump());
    r.set("X-Broker-API-Originating-Identity",
          "cloudfoundry " + api::base64_encode(R"({"user_id":"u-1"})"));
    return r;
  }());
  ASSERT_EQ(created.status, 201u);
  fake_.script(Operation::usage, Answer::ok({{"bytes", 42}}));
  const Reply r = send(admin_request(bhttp::verb::get, "/admin/instances?usage=true"));
  ASSERT_EQ(r.status, 200u);
  ASSERT_EQ(r.body["instances"].size(), 1u);
  const json& i = r.body["instances"][0];
  EXPECT_EQ(i["id"], "i");
  EXPECT_EQ(i["catalog"], "default");
  EXPECT_EQ(i["service"], "fake-db");
  EXPECT_EQ(i["plan"], "small");
  EXPECT_EQ(i["status"], "ready");
  EXPECT_EQ(i["owner"]["organization"], "org-1");
  EXPECT_EQ(i["originating_user"], "u-1");
  EXPECT_EQ(i["last_operation"]["kind"], "provision");
  EXPECT_EQ(i["usage"], (json{{"bytes", 42}}));
}

TEST_F(OperatorTest, AdminBindingsListsBindingsWithoutCredentials) {
  provisioned("i");
  bound("i", "b");
  const Reply r = send(admin_request(bhttp::verb::get, "/admin/bindings"));
  ASSERT_EQ(r.status, 200u);
  ASSERT_EQ(r.body["bindings"].size(), 1u);
  EXPECT_EQ(r.body["bindings"][0]["id"], "b");
  EXPECT_EQ(r.raw.body().find("pass"), std::string::npos);
}

TEST_F(OperatorTest, AdminSummaryCountsInstancesPerPlanAndOwner) {
  provisioned("a");
  provisioned("b", FakePlugin::kLargePlan);
  const Reply r = send(admin_request(bhttp::verb::get, "/admin/summary"));
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.body["instances"], 2);
  EXPECT_EQ(r.body["plans"].size(), 2u);
  ASSERT_EQ(r.body["owners"].size(), 1u);
  EXPECT_EQ(r.body["owners"][0]["instances"], 2);
}

TEST_F(OperatorTest, AdminPluginsDescribesTheLoadedPlugin) {
  const Reply r = send(admin_request(bhttp::verb::get, "/admin/plugins"));
  ASSERT_EQ(r.status, 200u);
  ASSERT_EQ(r.body["plugins"].size(), 1u);
  const json& p = r.body["plugins"][0];
  EXPECT_EQ(p["name"], FakePlugin::kName);
  EXPECT_EQ(p["abi_version"], "1.1");
  EXPECT_EQ(p["services"].size(), 2u);
  EXPECT_EQ(p["services"][0]["catalogs"], (json{"default", "partner"}));
}

TEST_F(OperatorTest, UnknownAdminRouteIs404) {
  EXPECT_TRUE(IsOsbError(send(admin_request(bhttp::verb::get, "/admin/nope")), 404, "NotFound"));
  EXPECT_TRUE(IsOsbError(send(admin_request(bhttp::verb::get, "/admin/")), 404, "NotFound"));
}

TEST_F(OperatorTest, BadAdminQueryIs400) {
  EXPECT_TRUE(IsOsbError(send(admin_request(bhttp::verb::get, "/admin/instances?usage=yes")), 400,
                         "BadRequest"));
  EXPECT_TRUE(IsOsbError(send(admin_request(bhttp::verb::get, "/admin/instances?usage=%zz")), 400,
                         "BadRequest"));
}

}  // namespace
}  // namespace osbd::test
