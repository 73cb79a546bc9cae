// The operator's endpoints: /healthz, /readyz, /metrics and /admin/..., on the OSB listener and on
// the operator's own listener (Broker::operator_handler()).

#include <chrono>
#include <string>
#include <thread>

#include "api_fixture.hpp"
#include "config/config.hpp"
#include "daemon/usage_sampler.hpp"
#include "log/log.hpp"

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

// --- usage history, the metering report and recent operations -----------------------------------

// The date (YYYY-MM-DD, UTC) days from now.
std::string days_from_now(int days) {
  const auto at = std::chrono::system_clock::now() + std::chrono::hours(24 * days);
  return log::rfc3339_ms(
             std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count())
      .substr(0, 10);
}

TEST_F(OperatorTest, LifecycleWritesUsageEventsOnlyForWhatSucceeded) {
  provisioned("a");
  provisioned("b", FakePlugin::kLargePlan);
  ASSERT_EQ(update("a", {{"service_id", FakePlugin::kService}, {"plan_id", FakePlugin::kLargePlan}})
                .status,
            200u);
  ASSERT_EQ(deprovision("b", false, FakePlugin::kLargePlan).status, 200u);
  // A refused provision (bad plan) leaves no event.
  EXPECT_EQ(provision("c", provision_body("no-such-plan")).status, 400u);
  const auto events = store_->list_usage_events(INT64_MAX);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].instance_id, "a");
  EXPECT_EQ(events[0].kind, state::UsageEventKind::created);
  EXPECT_EQ(events[0].plan_id, FakePlugin::kSmallPlan);
  EXPECT_EQ(events[1].instance_id, "b");
  EXPECT_EQ(events[2].instance_id, "a");
  EXPECT_EQ(events[2].kind, state::UsageEventKind::updated);
  EXPECT_EQ(events[2].plan_id, FakePlugin::kLargePlan);
  EXPECT_EQ(events[3].instance_id, "b");
  EXPECT_EQ(events[3].kind, state::UsageEventKind::deleted);
  EXPECT_FALSE(events[0].organization.empty());
}

TEST_F(OperatorTest, AdminUsageReportsThePeriodAsked) {
  provisioned("a");
  provisioned("b", FakePlugin::kLargePlan);
  ASSERT_EQ(deprovision("b", false, FakePlugin::kLargePlan).status, 200u);
  const std::string from = days_from_now(-2);
  const Reply r = send(admin_request(
      bhttp::verb::get, "/admin/usage?by=plan&from=" + from + "&to=" + days_from_now(1)));
  ASSERT_EQ(r.status, 200u) << r.body.dump();
  EXPECT_EQ(r.body["by"], "plan");
  EXPECT_EQ(r.body["from"], from + "T00:00:00.000Z");
  EXPECT_EQ(r.body["totals"]["created"], 2);
  EXPECT_EQ(r.body["totals"]["deleted"], 1);
  ASSERT_EQ(r.body["groups"].size(), 2u);
  EXPECT_EQ(r.body["groups"][0]["key"], "fake-db/large");
  EXPECT_EQ(r.body["groups"][1]["key"], "fake-db/small");
  // A period before anything existed: nothing.
  const Reply empty =
      send(admin_request(bhttp::verb::get, "/admin/usage?from=2020-01-01&to=2020-02-01"));
  ASSERT_EQ(empty.status, 200u);
  EXPECT_EQ(empty.body["groups"].size(), 0u);
  EXPECT_EQ(empty.body["totals"]["instance_hours"], 0.0);
  // Until tomorrow: "a" has lived for well under a minute, not for a day.
  const Reply future = send(admin_request(
      bhttp::verb::get, "/admin/usage?by=plan&from=" + from + "&to=" + days_from_now(1)));
  ASSERT_EQ(future.status, 200u);
  ASSERT_EQ(future.body["groups"].size(), 2u);
  EXPECT_LT(future.body["totals"]["instance_hours"].get<double>(), 0.02);
}

TEST_F(OperatorTest, AdminUsageAsCsv) {
  provisioned("a");
  // Until tomorrow: the instance counts until now, not until then.
  const Reply r = send(
      admin_request(bhttp::verb::get, "/admin/usage?format=csv&by=plan&to=" + days_from_now(1)));
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("Content-Type"), "text/csv; charset=utf-8");
  EXPECT_EQ(r.raw.body().rfind("\"plan\",\"instance_hours\"", 0), 0u) << r.raw.body();
  EXPECT_NE(r.raw.body().find("\"fake-db/small\""), std::string::npos);
}

TEST_F(OperatorTest, BadUsageQueriesAre400) {
  for (const char* target :
       {"/admin/usage?from=yesterday", "/admin/usage?to=2026-02-30", "/admin/usage?by=space",
        "/admin/usage?from=2026-02-01&to=2026-01-01", "/admin/usage?from=2020-01-01&to=2026-01-01",
        "/admin/usage?format=xml", "/admin/operations?limit=0", "/admin/operations?limit=1e3",
        "/admin/operations?limit=99999", "/admin/operations?state=done"}) {
    EXPECT_TRUE(IsOsbError(send(admin_request(bhttp::verb::get, target)), 400, "BadRequest"))
        << target;
  }
}

TEST_F(OperatorTest, SamplerRecordsWhatPluginsReportOncePerBucket) {
  provisioned("a");
  provisioned("b", FakePlugin::kLargePlan);
  // Not started: the test runs the rounds.
  daemon::UsageSampler sampler(*store_, *lifecycle_, config::UsageConfig{}, false);
  fake_.script(Operation::usage, Answer::ok({{"bytes", 1000}, {"objects", 3}}));
  fake_.script(Operation::usage, Answer::ok(json::object()));  // "b": nothing to tell
  const int64_t t = 1'800'000'000'000;                         // 2027-01-15T08:00:00Z
  EXPECT_EQ(sampler.sample_once(t), 1u);
  // The same bucket again (as a second replica would write it): stored once, the first kept.
  fake_.script(Operation::usage, Answer::ok({{"bytes", 9999}}));
  fake_.script(Operation::usage, Answer::ok({{"bytes", 5}}));
  sampler.sample_once(t + 1000);
  std::vector<state::UsageSample> seen;
  store_->scan_usage_samples(0, INT64_MAX, [&](const state::UsageSample& s) { seen.push_back(s); });
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].instance_id, "a");
  EXPECT_EQ(seen[0].bytes_avg, 1000);
  EXPECT_EQ(seen[0].objects_max, 3);
  EXPECT_EQ(seen[0].period_ms, 900'000);  // the default sample_seconds
  EXPECT_EQ(seen[0].bucket_ms, t / 900'000 * 900'000);
  EXPECT_EQ(seen[1].instance_id, "b");
  EXPECT_EQ(seen[1].bytes_avg, 5);
  // A round three buckets later (two skipped, as after a round that overran): the skipped
  // buckets get its reading too.
  fake_.script(Operation::usage, Answer::ok({{"bytes", 2000}}));
  fake_.script(Operation::usage, Answer::ok(json::object()));
  EXPECT_EQ(sampler.sample_once(t + 3 * 900'000), 1u);
  std::vector<int64_t> buckets_of_a;
  store_->scan_usage_samples(0, INT64_MAX, [&](const state::UsageSample& s) {
    if (s.instance_id == "a") {
      EXPECT_EQ(s.bytes_avg, s.bucket_ms == seen[0].bucket_ms ? 1000 : 2000);
      buckets_of_a.push_back(s.bucket_ms);
    }
  });
  const int64_t b0 = seen[0].bucket_ms;
  EXPECT_EQ(buckets_of_a, (std::vector<int64_t>{b0, b0 + 900'000, b0 + 1'800'000, b0 + 2'700'000}));
}

TEST_F(OperatorTest, AdminOperationsAreNewestFirstAndFilterable) {
  provisioned("a");
  provisioned("b");
  EXPECT_EQ(provision("a", provision_body(FakePlugin::kLargePlan)).status, 409u);
  const Reply r = send(admin_request(bhttp::verb::get, "/admin/operations?limit=1"));
  ASSERT_EQ(r.status, 200u);
  ASSERT_EQ(r.body["operations"].size(), 1u);
  EXPECT_EQ(r.body["operations"][0]["instance_id"], "b");
  EXPECT_EQ(r.body["operations"][0]["kind"], "provision");
  EXPECT_EQ(r.body["operations"][0]["state"], "succeeded");
  const Reply failed = send(admin_request(bhttp::verb::get, "/admin/operations?state=failed"));
  ASSERT_EQ(failed.status, 200u);
  EXPECT_EQ(failed.body["operations"].size(), 0u);
}

}  // namespace
}  // namespace osbd::test
