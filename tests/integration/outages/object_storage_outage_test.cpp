// The object storage plugin through osbd while its gateway goes down: a gateway of its own
// (radosgw on the cluster of scripts/test-servers.sh) is killed before a call (osbd answers 502
// with a retriable description and records nothing), and in the middle of one (a proxy holds
// one request of the plugin while the test kills the gateway, then lets it go on to the dead
// gateway). After the gateway is back, the same request converges and deprovision leaves no
// bucket and no user of the instance.

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "cut_proxy.hpp"
#include "outage_support.hpp"
#include "plugin_fixture.hpp"

namespace osbd_rgw_test {
namespace {

using nlohmann::json;
using osbd_outage_test::expect_retriable_backend_error;
namespace http = boost::beast::http;

/// The gateway of the outage tests (port OSBD_RGW_OUTAGE_PORT, default 27490).
struct RgwOutageSuite : RgwSuite {
  static unsigned short port() {
    return static_cast<unsigned short>(std::stoi(env_or("OSBD_RGW_OUTAGE_PORT", "27490")));
  }
  static Env env() {
    RgwEnv env = rgw_env();
    env.endpoint = "http://127.0.0.1:" + std::to_string(port());
    return env;
  }
  static const char* env_variable() { return "OSBD_RGW_ENDPOINT"; }
};

/// What a platform sees of the plugin: the description names the server.
constexpr const char* kBackend = "object storage server";

class ObjectStorageOutage : public osbd_outage_test::OutageTest<RgwOutageSuite> {
 protected:
  json osbd_config() override { return test_config(env_, prefix_); }

  void provision_ok(const std::string& iid) {
    auto answer = call(http::verb::put, instance(iid), provision_body());
    ASSERT_EQ(answer.status, 201u) << answer.body;
  }

  json bind_ok(const std::string& iid, const std::string& bid) {
    auto answer = call(http::verb::put, binding(iid, bid), bind_body());
    EXPECT_EQ(answer.status, 201u) << answer.body;
    return answer.json().value("credentials", json::object());
  }

  /// The users of this test on the gateway.
  std::vector<std::string> users() { return admin(env_).users_with_prefix(prefix_); }

  /// Whether credentials list their bucket.
  static bool can_list(const json& credentials) {
    try {
      return client_of(credentials)
          .send("GET", "/" + credentials.at("bucket").get<std::string>(), {})
          .ok();
    } catch (const std::exception&) {
      return false;
    }
  }

  /// Unbinds (when bid is not empty) and deprovisions iid, then expects no bucket and no user
  /// of this test left on the gateway.
  void remove_and_expect_nothing_left(const std::string& iid, const std::string& bid = "") {
    if (!bid.empty()) {
      auto unbound = call(http::verb::delete_, binding(iid, bid) + query());
      EXPECT_EQ(unbound.status, 200u) << unbound.body;
    }
    auto deleted = call(http::verb::delete_, instance(iid) + query());
    EXPECT_EQ(deleted.status, 200u) << deleted.body;
    EXPECT_TRUE(buckets_with_prefix(env_, prefix_).empty());
    EXPECT_TRUE(users().empty());
  }
};

TEST_F(ObjectStorageOutage, ProvisionWhileDownIs502ThenSucceeds) {
  ASSERT_TRUE(halt());
  expect_retriable_backend_error(call(http::verb::put, instance("i-1"), provision_body()),
                                 kBackend);
  EXPECT_EQ(call(http::verb::get, instance("i-1")).status, 404u);
  ASSERT_TRUE(resume());
  EXPECT_TRUE(buckets_with_prefix(env_, prefix_).empty());
  EXPECT_TRUE(users().empty());
  mitigate_orphan(instance("i-1"));
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  EXPECT_EQ(buckets_with_prefix(env_, prefix_).size(), 1u);
  remove_and_expect_nothing_left("i-1");
}

TEST_F(ObjectStorageOutage, BindWhileDownIs502ThenSucceeds) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  ASSERT_TRUE(halt());
  expect_retriable_backend_error(call(http::verb::put, binding("i-1", "b-1"), bind_body()),
                                 kBackend);
  EXPECT_EQ(call(http::verb::get, binding("i-1", "b-1")).status, 404u);
  ASSERT_TRUE(resume());
  EXPECT_EQ(users().size(), 1u);  // the owner only
  mitigate_orphan(binding("i-1", "b-1"));
  EXPECT_TRUE(can_list(bind_ok("i-1", "b-1")));
  remove_and_expect_nothing_left("i-1", "b-1");
}

TEST_F(ObjectStorageOutage, UnbindWhileDownIs502ThenSucceeds) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  const json credentials = bind_ok("i-1", "b-1");
  ASSERT_TRUE(halt());
  expect_retriable_backend_error(call(http::verb::delete_, binding("i-1", "b-1") + query()),
                                 kBackend);
  ASSERT_TRUE(resume());
  EXPECT_EQ(call(http::verb::get, binding("i-1", "b-1")).status, 200u);
  EXPECT_TRUE(can_list(credentials));
  EXPECT_EQ(call(http::verb::delete_, binding("i-1", "b-1") + query()).status, 200u);
  EXPECT_FALSE(can_list(credentials));
  remove_and_expect_nothing_left("i-1");
}

TEST_F(ObjectStorageOutage, DeprovisionWhileDownIs502ThenSucceeds) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  ASSERT_TRUE(halt());
  expect_retriable_backend_error(call(http::verb::delete_, instance("i-1") + query()), kBackend);
  ASSERT_TRUE(resume());
  EXPECT_EQ(call(http::verb::get, instance("i-1")).status, 200u);
  EXPECT_EQ(buckets_with_prefix(env_, prefix_).size(), 1u);
  remove_and_expect_nothing_left("i-1");
}

// The same plugin reaching its gateway through a CutProxy, so that the gateway dies while one
// chosen request is in flight.
class ObjectStorageCut : public ObjectStorageOutage {
 protected:
  json osbd_config() override {
    proxy_ = std::make_unique<osbd_outage_test::CutProxy>(RgwOutageSuite::port());
    json config = test_config(env_, prefix_);
    config["endpoint"] = "http://127.0.0.1:" + std::to_string(proxy_->port());
    config["public_endpoint"] = env_.endpoint;  // applications reach the gateway itself
    return config;
  }

  /// Calls osbd until the plugin sends a request whose request line starts with line, kills
  /// the gateway then, lets the request go on, and returns osbd's answer.
  osbd::test::HttpResult cut_at(const std::string& line, http::verb method,
                                const std::string& target, const json& body = nullptr) {
    proxy_->hold(line);
    Answer pending = call_async(method, target, body);
    EXPECT_TRUE(proxy_->wait_held(std::chrono::seconds(30))) << "the plugin never sent " << line;
    EXPECT_TRUE(halt());
    proxy_->release();
    return answer_of(pending);
  }

  /// The request line start of S3 requests on this test's buckets.
  std::string on_bucket(const char* method) const { return std::string(method) + " /" + prefix_; }

  std::unique_ptr<osbd_outage_test::CutProxy> proxy_;
};

TEST_F(ObjectStorageCut, StoppedDuringProvisionThenRetryConverges) {
  // The owner user is made; the gateway dies while the bucket is being created.
  expect_retriable_backend_error(
      cut_at(on_bucket("PUT"), http::verb::put, instance("i-1"), provision_body()), kBackend);
  ASSERT_TRUE(resume());
  EXPECT_EQ(call(http::verb::get, instance("i-1")).status, 404u);
  EXPECT_EQ(users().size(), 1u);  // half-created: the owner
  mitigate_orphan(instance("i-1"));
  EXPECT_TRUE(users().empty());
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  EXPECT_EQ(buckets_with_prefix(env_, prefix_).size(), 1u);
  remove_and_expect_nothing_left("i-1");
}

TEST_F(ObjectStorageCut, StoppedDuringBindThenRetryConverges) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  // The binding's user and key are made; the gateway dies while the policy is written.
  expect_retriable_backend_error(
      cut_at(on_bucket("PUT"), http::verb::put, binding("i-1", "b-1"), bind_body()), kBackend);
  ASSERT_TRUE(resume());
  EXPECT_EQ(call(http::verb::get, binding("i-1", "b-1")).status, 404u);
  EXPECT_EQ(users().size(), 2u);  // half-created: owner and binding user
  mitigate_orphan(binding("i-1", "b-1"));
  EXPECT_EQ(users().size(), 1u);
  EXPECT_TRUE(can_list(bind_ok("i-1", "b-1")));
  remove_and_expect_nothing_left("i-1", "b-1");
}

TEST_F(ObjectStorageCut, StoppedDuringUnbindThenRetryConverges) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  const json credentials = bind_ok("i-1", "b-1");
  // The binding's user is deleted; the gateway dies while the policy (whose only grant was
  // this binding's) is deleted.
  expect_retriable_backend_error(
      cut_at(on_bucket("DELETE"), http::verb::delete_, binding("i-1", "b-1") + query()), kBackend);
  ASSERT_TRUE(resume());
  EXPECT_EQ(call(http::verb::get, binding("i-1", "b-1")).status, 200u);
  EXPECT_FALSE(can_list(credentials));
  EXPECT_EQ(call(http::verb::delete_, binding("i-1", "b-1") + query()).status, 200u);
  remove_and_expect_nothing_left("i-1");
}

TEST_F(ObjectStorageCut, StoppedDuringDeprovisionThenRetryConverges) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  // The gateway dies while the bucket is being removed.
  expect_retriable_backend_error(
      cut_at("DELETE /admin/bucket", http::verb::delete_, instance("i-1") + query()), kBackend);
  ASSERT_TRUE(resume());
  EXPECT_EQ(call(http::verb::get, instance("i-1")).status, 200u);
  remove_and_expect_nothing_left("i-1");
}

}  // namespace
}  // namespace osbd_rgw_test
