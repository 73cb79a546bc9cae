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
using osbd_outage_test::CutProxy;

/// The gateway of the outage tests (port OSBD_RGW_OUTAGE_PORT, default 27490).
struct RgwOutageSuite : RgwSuite {
  static unsigned short port() {
    return static_cast<unsigned short>(
        osbd_outage_test::outage_port("OSBD_RGW_OUTAGE_PORT", "27490"));
  }
  static Env env() {
    RgwEnv env = rgw_env();
    env.endpoint = "http://127.0.0.1:" + std::to_string(port());
    return env;
  }
  static const char* env_variable() { return "OSBD_RGW_ENDPOINT"; }
  static const char* backend_name() { return "object storage server"; }
};

/// The proxy's hold of the plugin's request whose request line starts with line.
class ProxyHold : public osbd_outage_test::Hold {
 public:
  ProxyHold(CutProxy& proxy, const std::string& line) : Hold(line), proxy_(proxy) {
    proxy_.hold(line);
  }

  bool reached() override { return proxy_.wait_held(std::chrono::seconds(30)); }
  void release() override { proxy_.release(); }

 private:
  CutProxy& proxy_;
};

class ObjectStorageOutage : public osbd_outage_test::OutageTest<RgwOutageSuite> {
 protected:
  json osbd_config() override { return test_config(env_, prefix_); }

  std::size_t instances() override { return buckets_with_prefix(env_, prefix_).size(); }
  std::size_t accounts() override { return admin(env_).users_with_prefix(prefix_).size(); }
  std::size_t owner_accounts() const override { return 1; }  // the owner user

  /// Whether credentials list their bucket.
  bool works(const json& credentials) override {
    try {
      return client_of(credentials)
          .send("GET", "/" + credentials.at("bucket").get<std::string>(), {})
          .ok();
    } catch (const std::exception&) {
      return false;
    }
  }
};

// The same plugin reaching its gateway through a CutProxy, so that the gateway dies while one
// chosen request is in flight.
class ObjectStorageCut : public ObjectStorageOutage {
 protected:
  json osbd_config() override {
    proxy_ = std::make_unique<CutProxy>(RgwOutageSuite::port());
    json config = test_config(env_, prefix_);
    config["endpoint"] = "http://127.0.0.1:" + std::to_string(proxy_->port());
    config["public_endpoint"] = env_.endpoint;  // applications reach the gateway itself
    return config;
  }

  /// A hold of the plugin's request whose request line starts with line.
  ProxyHold hold(const std::string& line) { return ProxyHold(*proxy_, line); }

  /// The request line start of S3 requests on this test's buckets.
  std::string on_bucket(const char* method) const { return std::string(method) + " /" + prefix_; }

  std::unique_ptr<CutProxy> proxy_;
};

TEST_F(ObjectStorageOutage, ProvisionWhileDownIs502ThenSucceeds) {
  provision_while_down();
}
TEST_F(ObjectStorageOutage, BindWhileDownIs502ThenSucceeds) {
  bind_while_down();
}
TEST_F(ObjectStorageOutage, UnbindWhileDownIs502ThenSucceeds) {
  unbind_while_down();
}
TEST_F(ObjectStorageOutage, DeprovisionWhileDownIs502ThenSucceeds) {
  deprovision_while_down();
}

TEST_F(ObjectStorageCut, StoppedDuringProvisionThenRetryConverges) {
  // The owner user is made; the gateway dies while the bucket is being created.
  ASSERT_NO_FATAL_FAILURE(create_cut(hold(on_bucket("PUT")), instance("i-1"), provision_body()));
  EXPECT_EQ(accounts(), 1u);  // half-created: the owner
  expect_provision_converges("i-1");
}

TEST_F(ObjectStorageCut, StoppedDuringBindThenRetryConverges) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  // The binding's user and key are made; the gateway dies while the policy is written.
  ASSERT_NO_FATAL_FAILURE(create_cut(hold(on_bucket("PUT")), binding("i-1", "b-1"), bind_body()));
  EXPECT_EQ(accounts(), 2u);  // half-created: owner and binding user
  expect_bind_converges("i-1", "b-1");
}

TEST_F(ObjectStorageCut, StoppedDuringUnbindThenRetryConverges) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  const json credentials = bind_ok("i-1", "b-1");
  // The binding's user is deleted; the gateway dies while the policy (whose only grant was
  // this binding's) is deleted.
  ASSERT_NO_FATAL_FAILURE(delete_cut(hold(on_bucket("DELETE")), binding("i-1", "b-1")));
  EXPECT_FALSE(works(credentials));
  expect_unbind_converges("i-1", "b-1", credentials);
}

TEST_F(ObjectStorageCut, StoppedDuringDeprovisionThenRetryConverges) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  // The gateway dies while the bucket is being removed.
  ASSERT_NO_FATAL_FAILURE(delete_cut(hold("DELETE /admin/bucket"), instance("i-1")));
  remove_and_expect_nothing_left("i-1");
}

}  // namespace
}  // namespace osbd_rgw_test
