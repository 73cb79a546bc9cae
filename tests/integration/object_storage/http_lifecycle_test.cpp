// The object storage plugin's lifecycle through the real osbd binary over HTTP, against a real
// Ceph RGW.

#include <gtest/gtest.h>

#include "osbd_over_http.hpp"
#include "plugin_fixture.hpp"

namespace osbd_rgw_test {
namespace {

using nlohmann::json;
namespace http = boost::beast::http;

class ObjectStorageThroughOsbd : public osbd_plugin_test::OsbdTest<RgwSuite> {
 protected:
  json osbd_config() override {
    json config = test_config(env_, prefix_);
    config.erase("admin_secret_key");
    // The admin secret comes from a file, as in production.
    config["admin_secret_key_file"] = secret_file("rgw-admin-secret", env_.secret_key);
    return config;
  }

  static json bind_body(json parameters = json::object(), const char* plan = kLarge) {
    return osbd_plugin_test::with(OsbdTest::bind_body(plan), "parameters", std::move(parameters));
  }
};

TEST_F(ObjectStorageThroughOsbd, ProvisionBindWriteReadUnbindDeprovision) {
  ASSERT_NO_FATAL_FAILURE(expect_service_in_catalog());

  const std::string iid = "http-inst-1";
  auto created = call(http::verb::put, instance(iid), provision_body(kSmall));
  ASSERT_EQ(created.status, 201u) << created.body;
  ASSERT_EQ(buckets_with_prefix(env_, prefix_).size(), 1u);
  const std::string bucket = buckets_with_prefix(env_, prefix_).at(0);

  auto bound = call(http::verb::put, binding(iid, "http-bind-rw"), bind_body({}, kSmall));
  ASSERT_EQ(bound.status, 201u) << bound.body;
  const json rw = bound.json()["credentials"];
  EXPECT_EQ(rw["bucket"], bucket);
  const S3Client writer = client_of(rw);
  ASSERT_EQ(writer.put_object(bucket, "greeting", "hello over http").status(), 200u);
  EXPECT_EQ(writer.get_object(bucket, "greeting").http.body, "hello over http");
  EXPECT_EQ(writer.create_bucket(prefix_ + "mine").status(), 403u);

  auto ro_bound = call(http::verb::put, binding(iid, "http-bind-ro"),
                       bind_body({{"access", "read-only"}}, kSmall));
  ASSERT_EQ(ro_bound.status, 201u) << ro_bound.body;
  const json ro = ro_bound.json()["credentials"];
  EXPECT_EQ(client_of(ro).get_object(bucket, "greeting").http.body, "hello over http");
  EXPECT_EQ(client_of(ro).put_object(bucket, "x", "x").status(), 403u);

  // osbd validates parameters against the plan's schema before the plugin.
  auto bad = call(http::verb::put, binding(iid, "http-bind-bad"),
                  bind_body({{"access", "owner"}}, kSmall));
  EXPECT_EQ(bad.status, 400u) << bad.body;

  // The quota of the plan (3 objects) holds through osbd too.
  ASSERT_EQ(writer.put_object(bucket, "two", "2").status(), 200u);
  ASSERT_EQ(writer.put_object(bucket, "three", "3").status(), 200u);
  EXPECT_EQ(writer.put_object(bucket, "four", "4").status(), 403u);

  auto unbound = call(http::verb::delete_, binding(iid, "http-bind-rw") + query(kSmall));
  ASSERT_EQ(unbound.status, 200u) << unbound.body;
  EXPECT_EQ(writer.get_object(bucket, "greeting").status(), 403u);
  EXPECT_EQ(client_of(ro).get_object(bucket, "greeting").status(), 200u);
  ASSERT_EQ(call(http::verb::delete_, binding(iid, "http-bind-ro") + query(kSmall)).status, 200u);

  auto deleted = call(http::verb::delete_, instance(iid) + query(kSmall));
  ASSERT_EQ(deleted.status, 200u) << deleted.body;
  EXPECT_TRUE(buckets_with_prefix(env_, prefix_).empty());
  EXPECT_TRUE(admin(env_).users_with_prefix(prefix_).empty());
  EXPECT_EQ(call(http::verb::delete_, instance(iid) + query(kSmall)).status, 410u);

  // Neither key's secret nor the admin's reaches osbd's log, which is at debug level here.
  const std::string log = broker_->log();
  EXPECT_NE(log.find("org.osbd.object_storage"), std::string::npos);
  EXPECT_EQ(log.find(rw["secret_access_key"].get<std::string>()), std::string::npos);
  EXPECT_EQ(log.find(ro["secret_access_key"].get<std::string>()), std::string::npos);
  EXPECT_EQ(log.find(env_.secret_key), std::string::npos);
}

TEST_F(ObjectStorageThroughOsbd, ProtectedNonEmptyBucketGets422AndHostileIdsAreHarmless) {
  const std::string hostile = "x/../../admin?uid=osbd-admin&purge-data=true";
  const std::string encoded = percent_encoded(hostile);
  ASSERT_EQ(call(http::verb::put, instance(encoded), provision_body(kKeep)).status, 201u);
  auto bound = call(http::verb::put, binding(encoded, encoded), bind_body({}, kKeep));
  ASSERT_EQ(bound.status, 201u) << bound.body;
  const json key = bound.json()["credentials"];
  const std::string bucket = key["bucket"];
  ASSERT_EQ(client_of(key).put_object(bucket, "keep-me", "x").status(), 200u);
  ASSERT_EQ(call(http::verb::delete_, binding(encoded, encoded) + query(kKeep)).status, 200u);
  auto refused = call(http::verb::delete_, instance(encoded) + query(kKeep));
  EXPECT_EQ(refused.status, 422u) << refused.body;
  EXPECT_NE(refused.json().value("description", "").find("still holds 1 object"), std::string::npos)
      << refused.body;
  EXPECT_EQ(buckets_with_prefix(env_, prefix_).size(), 1u);
  // The admin can empty it; then deprovision succeeds.
  const S3Client admin_client = client(env_, {env_.access_key, env_.secret_key});
  (void)admin_client;
  RgwAdmin rgw = admin(env_);
  const auto names = osbd_object_storage::InstanceNames::of(prefix_, hostile);
  EXPECT_EQ(names.bucket, bucket);
  const auto owner_keys = rgw.user_keys(names.owner);
  ASSERT_TRUE(owner_keys && !owner_keys->empty());
  ASSERT_EQ(client(env_, owner_keys->front()).delete_object(bucket, "keep-me").status(), 204u);
  auto deleted = call(http::verb::delete_, instance(encoded) + query(kKeep));
  EXPECT_EQ(deleted.status, 200u) << deleted.body;
  EXPECT_TRUE(buckets_with_prefix(env_, prefix_).empty());
  EXPECT_TRUE(rgw.users_with_prefix(prefix_).empty());
  EXPECT_TRUE(rgw.user_keys("osbd-admin").has_value());
}

}  // namespace
}  // namespace osbd_rgw_test
