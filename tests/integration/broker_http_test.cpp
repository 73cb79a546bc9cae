// The OSB lifecycle against the real osbd binary and the real example plugin, over HTTP.

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "broker_fixture.hpp"

namespace osbd::test {
namespace {

TEST_F(BrokerHttpTest, B21_B22_B25_CatalogServesTheExamplePluginWithEtag) {
  auto r = call(http::verb::get, "/v2/catalog");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.headers["Content-Type"], "application/json");
  const json body = r.json();
  ASSERT_EQ(body.at("services").size(), 1u);
  const auto& svc = body["services"][0];
  EXPECT_EQ(svc["id"], kService);
  EXPECT_EQ(svc["plans"].size(), 3u);
  const std::string etag = r.headers["ETag"];
  ASSERT_FALSE(etag.empty());
  auto cached = call(http::verb::get, "/v2/catalog", "", {{"If-None-Match", etag}});
  EXPECT_EQ(cached.status, 304u);
}

TEST_F(BrokerHttpTest, A9_A10_RejectsMissingOrWrongCredentials) {
  auto none = http_request(broker_.port(), http::verb::get, "/v2/catalog", "",
                           {{"X-Broker-API-Version", "2.17"}});
  EXPECT_EQ(none.status, 401u);
  EXPECT_EQ(none.json()["error"], "Unauthorized");
  EXPECT_FALSE(none.json()["description"].get<std::string>().empty());
  EXPECT_EQ(none.headers["WWW-Authenticate"], "Basic realm=\"osbd\"");
  auto wrong = http_request(broker_.port(), http::verb::get, "/v2/catalog", "",
                            {{"X-Broker-API-Version", "2.17"},
                             {"Authorization", basic_auth(BrokerProcess::kUser, "guess")}});
  EXPECT_EQ(wrong.status, 401u);
  EXPECT_EQ(broker_.log().find(BrokerProcess::kPassword), std::string::npos);
}

TEST_F(BrokerHttpTest, A3_A4_ApiVersionHeaderIsRequiredAndChecked) {
  const auto auth = basic_auth(BrokerProcess::kUser, BrokerProcess::kPassword);
  for (const char* bad : {"", "2.12", "2.18", "3.0", "two"}) {
    auto r = http_request(broker_.port(), http::verb::get, "/v2/catalog", "",
                          {{"Authorization", auth}, {"X-Broker-API-Version", bad}});
    EXPECT_EQ(r.status, 412u) << "version '" << bad << "'";
    EXPECT_EQ(r.json()["error"], "PreconditionFailed");
  }
  for (const char* good : {"2.13", "2.14", "2.15", "2.16", "2.17"}) {
    auto r = http_request(broker_.port(), http::verb::get, "/v2/catalog", "",
                          {{"Authorization", auth}, {"X-Broker-API-Version", good}});
    EXPECT_EQ(r.status, 200u) << "version " << good;
  }
}

TEST_F(BrokerHttpTest, A7_EchoesRequestIdentity) {
  auto r = call(http::verb::get, "/v2/catalog", "", {{"X-Broker-API-Request-Identity", "req-77"}});
  EXPECT_EQ(r.headers["X-Broker-API-Request-Identity"], "req-77");
  auto e = call(http::verb::get, instance("nope") + "/last_operation", "",
                {{"X-Broker-API-Request-Identity", "req-78"}});
  EXPECT_EQ(e.headers["X-Broker-API-Request-Identity"], "req-78");
}

TEST_F(BrokerHttpTest, C34_D45_D46_D48_E56_G71_G72_G74_G78_H87_I90_I91_J96_J97_SyncLifecycle) {
  const std::string iid = "inst-sync-1";
  auto p = call(http::verb::put, instance(iid), provision_body().dump());
  ASSERT_EQ(p.status, 201u) << p.body;
  EXPECT_TRUE(p.json().is_object());

  // Identical repeat: 200; different attributes: 409.
  EXPECT_EQ(call(http::verb::put, instance(iid), provision_body().dump()).status, 200u);
  auto conflict =
      call(http::verb::put, instance(iid), provision_body(kSyncPlan, {{"size", 3}}).dump());
  EXPECT_EQ(conflict.status, 409u);
  EXPECT_EQ(conflict.json()["error"], "Conflict");

  auto lo = call(http::verb::get, instance(iid) + "/last_operation");
  EXPECT_EQ(lo.status, 200u);
  EXPECT_EQ(lo.json()["state"], "succeeded");

  auto fetched = call(http::verb::get, instance(iid));
  EXPECT_EQ(fetched.status, 200u);
  EXPECT_EQ(fetched.json()["plan_id"], kSyncPlan);

  auto b = call(http::verb::put, binding(iid, "bind-1"), bind_body().dump());
  ASSERT_EQ(b.status, 201u) << b.body;
  const json creds = b.json()["credentials"];
  ASSERT_TRUE(creds.is_object());
  auto again = call(http::verb::put, binding(iid, "bind-1"), bind_body().dump());
  EXPECT_EQ(again.status, 200u);
  EXPECT_EQ(again.json()["credentials"], creds);  // the same credentials, not new ones
  json other_app = bind_body();
  other_app["app_guid"] = "app-2";
  EXPECT_EQ(call(http::verb::put, binding(iid, "bind-1"), other_app.dump()).status, 409u);

  auto b2 = call(http::verb::put, binding(iid, "bind-2"), bind_body().dump());
  ASSERT_EQ(b2.status, 201u);
  EXPECT_NE(b2.json()["credentials"], creds);  // unique per binding

  auto fb = call(http::verb::get, binding(iid, "bind-1"));
  EXPECT_EQ(fb.status, 200u);
  EXPECT_EQ(fb.json()["credentials"], creds);

  EXPECT_EQ(call(http::verb::delete_, binding(iid, "bind-1") + delete_query()).status, 200u);
  EXPECT_EQ(call(http::verb::delete_, binding(iid, "bind-1") + delete_query()).status, 410u);
  EXPECT_EQ(call(http::verb::get, binding(iid, "bind-1")).status, 404u);
  EXPECT_EQ(call(http::verb::delete_, binding(iid, "bind-2") + delete_query()).status, 200u);

  auto d = call(http::verb::delete_, instance(iid) + delete_query());
  EXPECT_EQ(d.status, 200u);
  EXPECT_EQ(d.body, "{}");
  EXPECT_EQ(call(http::verb::delete_, instance(iid) + delete_query()).status, 410u);
  EXPECT_EQ(call(http::verb::get, instance(iid)).status, 404u);
}

TEST_F(BrokerHttpTest,
       A8_A16_A17_A18_D44_D51_J99_MalformedAndInvalidRequestsGet400AndChangeNothing) {
  const std::string iid = "inst-bad";
  struct Case {
    std::string body;
    std::string why;
  };
  json no_plan = provision_body();
  no_plan.erase("plan_id");
  json no_org = provision_body();
  no_org.erase("organization_guid");
  json wrong_type = provision_body();
  wrong_type["parameters"] = "size=3";
  json unknown_service = provision_body();
  unknown_service["service_id"] = "no-such-service";
  json unknown_plan = provision_body("no-such-plan");
  json bad_param = provision_body(kSyncPlan, {{"size", "huge"}});
  json extra_param = provision_body(kSyncPlan, {{"colour", "red"}});
  const std::vector<Case> cases = {
      {"{not json", "malformed JSON"},
      {"[1,2]", "not an object"},
      {"", "empty body"},
      {no_plan.dump(), "missing plan_id"},
      {no_org.dump(), "missing organization_guid"},
      {wrong_type.dump(), "parameters not an object"},
      {unknown_service.dump(), "unknown service"},
      {unknown_plan.dump(), "unknown plan"},
      {bad_param.dump(), "parameter of the wrong type"},
      {extra_param.dump(), "unknown parameter"},
  };
  for (const auto& c : cases) {
    auto r = call(http::verb::put, instance(iid), c.body, {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 400u) << c.why << ": " << r.body;
    EXPECT_FALSE(r.json().value("description", "").empty()) << c.why;
    EXPECT_EQ(call(http::verb::get, instance(iid)).status, 404u) << c.why;
  }
  // Nothing was created, so a correct request still creates the instance.
  EXPECT_EQ(call(http::verb::put, instance(iid), provision_body().dump()).status, 201u);
  // Missing query parameters on DELETE.
  EXPECT_EQ(call(http::verb::delete_, instance(iid)).status, 400u);
  EXPECT_EQ(call(http::verb::delete_, instance(iid) + "?service_id=" + kService).status, 400u);
  // Content type other than JSON.
  EXPECT_EQ(call(http::verb::put, instance("x"), provision_body().dump(),
                 {{"Content-Type", "text/plain"}})
                .status,
            400u);
  // Unknown fields are ignored.
  json extra = provision_body();
  extra["x-vendor-field"] = {{"a", 1}};
  EXPECT_EQ(call(http::verb::put, instance("inst-extra"), extra.dump()).status, 201u);
}

TEST_F(BrokerHttpTest, A16_OversizedBodyGets413) {
  json big = provision_body();
  big["parameters"] = {{"blob", std::string(70000, 'x')}};
  auto r = call(http::verb::put, instance("inst-big"), big.dump());
  EXPECT_EQ(r.status, 413u);
  EXPECT_EQ(r.json()["error"], "PayloadTooLarge");
  EXPECT_EQ(call(http::verb::get, instance("inst-big")).status, 404u);
}

TEST_F(BrokerHttpTest, A12_A20_HostileIdsArePercentDecodedStoredVerbatimAndHarmless) {
  const std::string hostile = "x'); DROP TABLE instances; --/../../etc/passwd";
  std::string encoded;
  for (unsigned char c : hostile) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%%%02X", c);
    encoded += buf;
  }
  ASSERT_EQ(call(http::verb::put, instance(encoded), provision_body().dump()).status, 201u);
  EXPECT_EQ(call(http::verb::get, instance(encoded)).status, 200u);
  EXPECT_EQ(call(http::verb::put, instance("plain-after"), provision_body().dump()).status, 201u);
  EXPECT_EQ(call(http::verb::delete_, instance(encoded) + delete_query()).status, 200u);
  // Control characters and over-long ids are refused.
  EXPECT_EQ(call(http::verb::put, instance("a%0Ab"), provision_body().dump()).status, 400u);
  EXPECT_EQ(call(http::verb::put, instance(std::string(300, 'a')), provision_body().dump()).status,
            400u);
  EXPECT_EQ(call(http::verb::put, instance("bad%zz"), provision_body().dump()).status, 400u);
  // Unknown routes and methods.
  EXPECT_EQ(call(http::verb::get, "/v2/nothing").status, 404u);
  EXPECT_EQ(call(http::verb::post, "/v2/catalog").status, 405u);
}

TEST_F(BrokerHttpTest, E57_I91_J97_K104_L109_UnknownResourcesGive404Or410) {
  EXPECT_EQ(call(http::verb::get, instance("ghost")).status, 404u);
  EXPECT_EQ(call(http::verb::get, instance("ghost") + "/last_operation").status, 404u);
  EXPECT_EQ(call(http::verb::delete_, instance("ghost") + delete_query()).status, 410u);
  EXPECT_EQ(call(http::verb::put, binding("ghost", "b"), bind_body().dump()).status, 404u);
  EXPECT_EQ(call(http::verb::delete_, binding("ghost", "b") + delete_query()).status, 410u);
  EXPECT_EQ(call(http::verb::get, binding("ghost", "b") + "/last_operation").status, 404u);
}

TEST_F(
    BrokerHttpTest,
    C35_C36_C42_D47_D49_E57_G73_H86_I90_J96_K102_K105_K106_L109_AsyncPlanRequiresAcceptsIncompleteThenCompletes) {
  const std::string iid = "inst-async";
  auto refused = call(http::verb::put, instance(iid), provision_body(kAsyncPlan).dump());
  EXPECT_EQ(refused.status, 422u);
  EXPECT_EQ(refused.json()["error"], "AsyncRequired");
  EXPECT_EQ(call(http::verb::get, instance(iid) + "/last_operation").status, 404u);

  auto p = call(http::verb::put, instance(iid) + "?accepts_incomplete=true",
                provision_body(kAsyncPlan).dump());
  ASSERT_EQ(p.status, 202u) << p.body;
  const std::string op = p.json()["operation"];
  // Identical repeat while running: 202 with the same operation.
  auto repeat = call(http::verb::put, instance(iid) + "?accepts_incomplete=true",
                     provision_body(kAsyncPlan).dump());
  EXPECT_EQ(repeat.status, 202u);
  EXPECT_EQ(repeat.json()["operation"], op);
  // While provisioning: fetch gives 404, last_operation in progress with Retry-After.
  EXPECT_EQ(call(http::verb::get, instance(iid)).status, 404u);
  auto running = call(http::verb::get, instance(iid) + "/last_operation?operation=" + op);
  EXPECT_EQ(running.json()["state"], "in progress");
  EXPECT_FALSE(running.headers["Retry-After"].empty());

  EXPECT_EQ(wait_for(instance(iid) + "/last_operation?operation=" + op)["state"], "succeeded");
  EXPECT_EQ(call(http::verb::get, instance(iid)).status, 200u);

  auto b = call(http::verb::put, binding(iid, "b1") + "?accepts_incomplete=true",
                bind_body(kAsyncPlan).dump());
  ASSERT_EQ(b.status, 202u) << b.body;
  EXPECT_FALSE(b.json().contains("credentials"));
  EXPECT_EQ(wait_for(binding(iid, "b1") + "/last_operation")["state"], "succeeded");
  auto fetched = call(http::verb::get, binding(iid, "b1"));
  EXPECT_EQ(fetched.status, 200u);
  EXPECT_TRUE(fetched.json()["credentials"].is_object());

  auto u = call(http::verb::delete_,
                binding(iid, "b1") + delete_query(kAsyncPlan) + "&accepts_incomplete=true");
  ASSERT_EQ(u.status, 202u);
  EXPECT_EQ(wait_for(binding(iid, "b1") + "/last_operation")["http_status"], 410);

  auto d = call(http::verb::delete_,
                instance(iid) + delete_query(kAsyncPlan) + "&accepts_incomplete=true");
  ASSERT_EQ(d.status, 202u);
  const std::string dop = d.json()["operation"];
  auto d2 = call(http::verb::delete_,
                 instance(iid) + delete_query(kAsyncPlan) + "&accepts_incomplete=true");
  EXPECT_EQ(d2.status, 202u);
  EXPECT_EQ(d2.json()["operation"], dop);
  EXPECT_EQ(wait_for(instance(iid) + "/last_operation?operation=" + dop)["http_status"], 410);
}

TEST_F(BrokerHttpTest, C39_J98_ConcurrentDeletesOfOneInstanceChangeItOnce) {
  const std::string iid = "inst-race";
  ASSERT_EQ(call(http::verb::put, instance(iid), provision_body().dump()).status, 201u);
  std::atomic<int> ok{0};
  std::atomic<int> gone{0};
  std::atomic<int> busy{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto r = call(http::verb::delete_, instance(iid) + delete_query());
      (r.status == 200 ? ok : r.status == 410 ? gone : r.status == 422 ? busy : other)++;
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(ok + gone + busy, 8);
}

TEST_F(BrokerHttpTest, C43_DeleteDuringAsyncProvisionStopsItAndCleansUp) {
  const std::string iid = "inst-halt";
  auto p = call(http::verb::put, instance(iid) + "?accepts_incomplete=true",
                provision_body(kAsyncPlan).dump());
  ASSERT_EQ(p.status, 202u);
  const std::string create_op = p.json()["operation"];
  // Without accepts_incomplete the delete would have to be synchronous: refused, nothing changes.
  EXPECT_EQ(call(http::verb::delete_, instance(iid) + delete_query(kAsyncPlan)).status, 422u);
  auto d = call(http::verb::delete_,
                instance(iid) + delete_query(kAsyncPlan) + "&accepts_incomplete=true");
  ASSERT_EQ(d.status, 202u) << d.body;
  const std::string delete_op = d.json()["operation"];
  EXPECT_NE(delete_op, create_op);
  auto created = call(http::verb::get, instance(iid) + "/last_operation?operation=" + create_op);
  EXPECT_EQ(created.json()["state"], "failed");
  EXPECT_EQ(created.json()["description"], "stopped by a deprovision request");
  EXPECT_EQ(wait_for(instance(iid) + "/last_operation")["http_status"], 410);
  EXPECT_EQ(call(http::verb::get, instance(iid)).status, 404u);
}

TEST_F(BrokerHttpTest, C35_E55_AsyncOperationsFinishWithoutBeingPolled) {
  const std::string iid = "inst-unpolled";
  ASSERT_EQ(call(http::verb::put, instance(iid) + "?accepts_incomplete=true",
                 provision_body(kAsyncPlan).dump())
                .status,
            202u);
  bool ready = false;
  for (int i = 0; i < 60 && !ready; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ready = call(http::verb::get, instance(iid)).status == 200;  // fetch never polls
  }
  EXPECT_TRUE(ready);
}

// Many conflicting mutations fired at one instance at once: each is either applied whole or
// refused with 422 ConcurrencyError and changes nothing.
TEST_F(BrokerHttpTest, C39_F64_ConcurrentConflictingUpdatesAreAppliedWholeOrRefused) {
  const std::string iid = "inst-storm";
  ASSERT_EQ(call(http::verb::put, instance(iid), provision_body().dump()).status, 201u);
  constexpr int kRequests = 48;
  std::vector<unsigned> statuses(kRequests);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRequests; ++i) {
    threads.emplace_back([&, i] {
      const json upd = {{"service_id", kService}, {"parameters", {{"size", 1 + i % 10}}}};
      auto r = call(http::verb::patch, instance(iid), upd.dump());
      statuses[i] = r.status;
      if (r.status == 422) {
        EXPECT_EQ(r.json()["error"], "ConcurrencyError");
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  std::set<int> applied;
  int refused = 0;
  for (int i = 0; i < kRequests; ++i) {
    EXPECT_TRUE(statuses[i] == 200 || statuses[i] == 422) << statuses[i];
    if (statuses[i] == 200) {
      applied.insert(1 + i % 10);
    } else {
      ++refused;
    }
  }
  EXPECT_FALSE(applied.empty());
  const int size = call(http::verb::get, instance(iid)).json()["parameters"]["size"];
  EXPECT_EQ(applied.count(size), 1u) << "final size " << size << " was never acknowledged";
  EXPECT_EQ(call(http::verb::get, instance(iid) + "/last_operation").json()["state"], "succeeded");
  std::printf("concurrent updates: %zu distinct applied, %d refused with ConcurrencyError\n",
              applied.size(), refused);
}

TEST_F(BrokerHttpTest, D50_F64_MaintenanceInfoMustMatchThePlan) {
  json old_version = provision_body();
  old_version["maintenance_info"] = {{"version", "0.9.0"}};
  auto r = call(http::verb::put, instance("inst-mi"), old_version.dump());
  EXPECT_EQ(r.status, 422u);
  EXPECT_EQ(r.json()["error"], "MaintenanceInfoConflict");
  json current = provision_body();
  current["maintenance_info"] = {{"version", "1.0.0"}};
  EXPECT_EQ(call(http::verb::put, instance("inst-mi"), current.dump()).status, 201u);
  const json upgrade = {{"service_id", kService}, {"maintenance_info", {{"version", "2.0.0"}}}};
  auto u = call(http::verb::patch, instance("inst-mi"), upgrade.dump());
  EXPECT_EQ(u.status, 422u);
  EXPECT_EQ(u.json()["error"], "MaintenanceInfoConflict");
}

TEST_F(BrokerHttpTest, G84_BindingRotationNeedsALivePredecessorOnARotatablePlan) {
  const std::string iid = "inst-rot";
  ASSERT_EQ(call(http::verb::put, instance(iid), provision_body().dump()).status, 201u);
  auto first = call(http::verb::put, binding(iid, "b-old"), bind_body().dump());
  ASSERT_EQ(first.status, 201u);
  json rotate = bind_body();
  rotate["predecessor_binding_id"] = "b-old";
  auto second = call(http::verb::put, binding(iid, "b-new"), rotate.dump());
  ASSERT_EQ(second.status, 201u) << second.body;
  EXPECT_NE(second.json()["credentials"], first.json()["credentials"]);
  // Both stay valid in parallel until deleted.
  EXPECT_EQ(call(http::verb::get, binding(iid, "b-old")).status, 200u);
  EXPECT_EQ(call(http::verb::get, binding(iid, "b-new")).status, 200u);
  rotate["predecessor_binding_id"] = "b-missing";
  EXPECT_EQ(call(http::verb::put, binding(iid, "b-3"), rotate.dump()).status, 400u);
  EXPECT_EQ(call(http::verb::get, binding(iid, "b-3")).status, 404u);
  // The async plan is not rotatable.
  const std::string aid = "inst-rot-async";
  auto p = call(http::verb::put, instance(aid) + "?accepts_incomplete=true",
                provision_body(kAsyncPlan).dump());
  ASSERT_EQ(p.status, 202u);
  ASSERT_EQ(wait_for(instance(aid) + "/last_operation")["state"], "succeeded");
  json async_rotate = bind_body(kAsyncPlan);
  async_rotate["predecessor_binding_id"] = "anything";
  auto refused =
      call(http::verb::put, binding(aid, "b") + "?accepts_incomplete=true", async_rotate.dump());
  EXPECT_EQ(refused.status, 400u);
  EXPECT_NE(refused.json().value("description", "").find("binding_rotatable"), std::string::npos);
}

TEST_F(BrokerHttpTest, F59_F62_F65_UpdateChangesParameters) {
  const std::string iid = "inst-upd";
  ASSERT_EQ(call(http::verb::put, instance(iid), provision_body().dump()).status, 201u);
  json upd = {{"service_id", kService}, {"parameters", {{"size", 4}}}};
  auto r = call(http::verb::patch, instance(iid), upd.dump());
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(call(http::verb::get, instance(iid)).json()["parameters"]["size"], 4);
  json bad = {{"service_id", kService}, {"parameters", {{"size", 99}}}};
  EXPECT_EQ(call(http::verb::patch, instance(iid), bad.dump()).status, 400u);
  EXPECT_EQ(call(http::verb::get, instance(iid)).json()["parameters"]["size"], 4);
}

TEST_F(BrokerHttpTest, SigtermFinishesAndExitsZero) {
  ASSERT_EQ(call(http::verb::put, instance("before-stop"), provision_body().dump()).status, 201u);
  EXPECT_EQ(broker_.stop(SIGTERM), 0);
  EXPECT_NE(broker_.log().find("\"msg\":\"stopped\""), std::string::npos);
}

TEST_F(BrokerHttpTest, SecretsNeverReachTheLog) {
  auto p = call(http::verb::put, instance("inst-log"), provision_body().dump());
  ASSERT_EQ(p.status, 201u);
  auto b = call(http::verb::put, binding("inst-log", "b"), bind_body().dump());
  ASSERT_EQ(b.status, 201u);
  const std::string password = b.json()["credentials"].value("password", "");
  ASSERT_FALSE(password.empty());
  const std::string log = broker_.log();
  EXPECT_EQ(log.find(password), std::string::npos);
  EXPECT_EQ(log.find(BrokerProcess::kPassword), std::string::npos);
  EXPECT_EQ(log.find("Authorization"), std::string::npos);
  // Nor the state store's files: binding credentials are sealed at rest.
  std::string stored;
  for (const auto& entry : std::filesystem::directory_iterator(broker_.data_dir())) {
    std::ifstream in(entry.path(), std::ios::binary);
    stored.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  EXPECT_NE(stored.find("osbd-sealed-v1:"), std::string::npos);
  EXPECT_EQ(stored.find(password), std::string::npos);
}

// SIGTERM while a request is inside a (slow) plugin call: the request still gets its answer,
// what it promised is stored, and osbd exits 0.
TEST(BrokerShutdown, SigtermLetsInFlightRequestsFinish) {
  BrokerSetup setup;
  setup.plugins_yaml = "plugins:\n  org.osbd.example:\n    sync_delay_ms: 1500\n";
  BrokerProcess broker(setup);
  broker.start();
  const auto auth = basic_auth(BrokerProcess::kUser, BrokerProcess::kPassword);
  const json body = {{"service_id", kService},
                     {"plan_id", kSyncPlan},
                     {"organization_guid", "o"},
                     {"space_guid", "s"}};
  HttpResult slow;
  std::thread client([&] {
    slow = http_request(broker.port(), http::verb::put, "/v2/service_instances/slow-1", body.dump(),
                        {{"Authorization", auth}, {"X-Broker-API-Version", "2.17"}});
  });
  // Wait until the request is inside the plugin, then ask osbd to stop.
  for (int i = 0; i < 100 && broker.log().find("provisioning instance slow-1") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_NE(broker.log().find("provisioning instance slow-1"), std::string::npos);
  const int code = broker.stop(SIGTERM);
  client.join();
  EXPECT_EQ(code, 0);
  EXPECT_EQ(slow.status, 201u) << slow.body;
  broker.start();
  auto again = http_request(broker.port(), http::verb::get, "/v2/service_instances/slow-1", "",
                            {{"Authorization", auth}, {"X-Broker-API-Version", "2.17"}});
  EXPECT_EQ(again.status, 200u);
}

// A backend failure (5xx) keeps the instance as failed, so the platform's orphan-mitigation
// DELETE reaches the plugin and then forgets it.
TEST(BrokerFailures, M112_M115_BackendFailureThenOrphanMitigation) {
  BrokerSetup setup;
  setup.plugins_yaml = "plugins:\n  org.osbd.example:\n    fail_provision: true\n";
  BrokerProcess broker(setup);
  broker.start();
  const PlatformClient call(broker);
  const json body = {{"service_id", kService},
                     {"plan_id", kSyncPlan},
                     {"organization_guid", "o"},
                     {"space_guid", "s"}};
  auto p = call(http::verb::put, "/v2/service_instances/f-1", body.dump());
  EXPECT_EQ(p.status, 502u);
  EXPECT_EQ(p.json()["error"], "BackendError");
  EXPECT_EQ(p.json()["description"], "configured to fail");
  EXPECT_EQ(call(http::verb::get, "/v2/service_instances/f-1").status, 404u);
  auto lo = call(http::verb::get, "/v2/service_instances/f-1/last_operation");
  EXPECT_EQ(lo.json()["state"], "failed");
  const std::string q = std::string("?service_id=") + kService + "&plan_id=" + kSyncPlan;
  EXPECT_EQ(call(http::verb::delete_, "/v2/service_instances/f-1" + q).status, 200u);
  EXPECT_EQ(call(http::verb::delete_, "/v2/service_instances/f-1" + q).status, 410u);
}

// ABI 1.1 usage: what the plugin reports about an instance shows in fetch (as broker attributes)
// and, when the instance is over its quota, in the description of its last operation.
TEST(BrokerUsage, FetchAndLastOperationShowWhatThePluginReports) {
  BrokerSetup setup;
  setup.plugins_yaml = "plugins:\n  org.osbd.example:\n    size_quota: 3\n";
  BrokerProcess broker(setup);
  broker.start();
  const PlatformClient call(broker);
  auto body = [](int size) {
    return json{{"service_id", kService},
                {"plan_id", kSyncPlan},
                {"organization_guid", "o"},
                {"space_guid", "s"},
                {"parameters", {{"size", size}}}}
        .dump();
  };
  constexpr std::int64_t gib = std::int64_t{1} << 30;
  ASSERT_EQ(call(http::verb::put, "/v2/service_instances/small", body(2)).status, 201u);
  auto small = call(http::verb::get, "/v2/service_instances/small").json();
  const json& attrs = small["metadata"]["attributes"];
  EXPECT_EQ(attrs["storage_bytes"], 2 * gib) << small;
  EXPECT_EQ(attrs["storage_quota_bytes"], 3 * gib);
  EXPECT_EQ(attrs["over_quota"], false);
  EXPECT_FALSE(attrs.contains("usage_description"));
  auto lo = call(http::verb::get, "/v2/service_instances/small/last_operation").json();
  EXPECT_EQ(lo["state"], "succeeded");
  EXPECT_EQ(lo.value("description", "").find("quota"), std::string::npos) << lo;

  ASSERT_EQ(call(http::verb::put, "/v2/service_instances/big", body(5)).status, 201u);
  auto big = call(http::verb::get, "/v2/service_instances/big").json();
  EXPECT_EQ(big["metadata"]["attributes"]["over_quota"], true) << big;
  EXPECT_EQ(big["metadata"]["attributes"]["usage_description"],
            "size 5 is over the quota of 3: read-only for its bindings until it is back under");
  lo = call(http::verb::get, "/v2/service_instances/big/last_operation").json();
  EXPECT_EQ(lo["state"], "succeeded");
  EXPECT_NE(lo.value("description", "").find("over the quota of 3"), std::string::npos) << lo;

  // Back under the quota: the note goes away.
  const json shrink = {{"service_id", kService}, {"parameters", {{"size", 1}}}};
  ASSERT_EQ(call(http::verb::patch, "/v2/service_instances/big", shrink.dump()).status, 200u);
  big = call(http::verb::get, "/v2/service_instances/big").json();
  EXPECT_EQ(big["metadata"]["attributes"]["over_quota"], false) << big;
  lo = call(http::verb::get, "/v2/service_instances/big/last_operation").json();
  EXPECT_EQ(lo.value("description", "").find("quota"), std::string::npos) << lo;
}

// kill -9 between provision and bind: what was acknowledged is still there after a restart,
// and an operation cut off mid-flight ends as failed rather than in progress forever.
TEST(BrokerCrash, AcknowledgedStateSurvivesKill9) {
  BrokerProcess broker;
  broker.start();
  const PlatformClient call(broker);
  const json body = {{"service_id", kService},
                     {"plan_id", kSyncPlan},
                     {"organization_guid", "o"},
                     {"space_guid", "s"}};
  ASSERT_EQ(call(http::verb::put, "/v2/service_instances/crash-1", body.dump()).status, 201u);
  const json async_body = {{"service_id", kService},
                           {"plan_id", kAsyncPlan},
                           {"organization_guid", "o"},
                           {"space_guid", "s"}};
  auto a = call(http::verb::put, "/v2/service_instances/crash-2?accepts_incomplete=true",
                async_body.dump());
  ASSERT_EQ(a.status, 202u);
  broker.kill_now();

  broker.start();
  EXPECT_EQ(call(http::verb::get, "/v2/service_instances/crash-1").status, 200u);
  EXPECT_EQ(call(http::verb::put, "/v2/service_instances/crash-1", body.dump()).status, 200u);
  const json bind = {{"service_id", kService}, {"plan_id", kSyncPlan}};
  auto b = call(http::verb::put, "/v2/service_instances/crash-1/service_bindings/b1", bind.dump());
  EXPECT_EQ(b.status, 201u) << b.body;
  // The async provision was acknowledged with 202: the restarted broker resumes polling it on
  // its own and it completes, without the platform asking.
  bool ready = false;
  for (int i = 0; i < 100 && !ready; ++i) {
    ready = call(http::verb::get, "/v2/service_instances/crash-2").status == 200;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(ready);
  EXPECT_EQ(call(http::verb::get, "/v2/service_instances/crash-2/last_operation").json()["state"],
            "succeeded");
}

// kill -9 while a synchronous provision is inside the plugin: the platform never got an answer,
// so after the restart the operation is failed (not in progress forever) and the platform's
// orphan-mitigation DELETE cleans up.
TEST(BrokerCrash, InterruptedSyncOperationEndsFailed) {
  BrokerSetup setup;
  setup.plugins_yaml = "plugins:\n  org.osbd.example:\n    sync_delay_ms: 3000\n";
  BrokerProcess broker(setup);
  broker.start();
  const PlatformClient call(broker);
  const json body = {{"service_id", kService},
                     {"plan_id", kSyncPlan},
                     {"organization_guid", "o"},
                     {"space_guid", "s"}};
  std::thread client([&] { call(http::verb::put, "/v2/service_instances/cut-1", body.dump()); });
  for (int i = 0; i < 100 && broker.log().find("provisioning instance cut-1") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  broker.kill_now();
  client.join();
  broker.start();
  auto lo = call(http::verb::get, "/v2/service_instances/cut-1/last_operation");
  EXPECT_EQ(lo.status, 200u);
  EXPECT_EQ(lo.json()["state"], "failed");
  EXPECT_NE(lo.json().value("description", "").find("interrupted by a broker restart"),
            std::string::npos);
  const std::string q = std::string("?service_id=") + kService + "&plan_id=" + kSyncPlan;
  EXPECT_EQ(call(http::verb::delete_, "/v2/service_instances/cut-1" + q).status, 200u);
}

TEST(BrokerCommandLine, CheckConfigVersionAndErrors) {
  BrokerProcess broker;
  std::string out;
  EXPECT_EQ(broker.run_once({"--version"}, out), 0);
  EXPECT_NE(out.find("osbd "), std::string::npos);
  EXPECT_EQ(broker.run_once({"--config", broker.config_path(), "--check-config"}, out), 0);
  EXPECT_NE(out.find("org.osbd.example"), std::string::npos) << out;
  EXPECT_NE(broker.run_once({"--bogus"}, out), 0);
  EXPECT_NE(broker.run_once({"--config", "/nonexistent.yaml", "--check-config"}, out), 0);
  EXPECT_NE(out.find("/nonexistent.yaml: cannot read"), std::string::npos) << out;
}

TEST(BrokerCommandLine, BadPluginStopsStartUpWithTheMessage) {
  BrokerSetup setup;
  setup.plugin_dir = OSBD_FIXTURE_DIR "/abi_major_mismatch";
  setup.plugins_yaml = "";
  BrokerProcess broker(setup);
  std::string out;
  EXPECT_NE(broker.run_once({"--config", broker.config_path()}, out), 0);
  EXPECT_NE(out.find("ABI major version mismatch: plugin 2.0, host 1.1"), std::string::npos) << out;
}

}  // namespace
}  // namespace osbd::test
