// The object storage plugin through its C ABI against a real Ceph RGW (scripts/test-servers.sh
// start rgw): buckets, keys, grants, quotas and clean-up as the server enforces them.

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "plugin_fixture.hpp"

namespace osbd_rgw_test {
namespace {

using nlohmann::json;

std::string bucket_of(const json& credentials) {
  return credentials.at("bucket").get<std::string>();
}

TEST_F(ObjectStoragePlugin, LifecycleConfinesEachBindingToItsBucket) {
  const json state = provision_ok("inst-a");
  const std::string bucket = state.value("bucket", "");
  EXPECT_TRUE(osbd_object_storage::is_valid_bucket_name(bucket)) << bucket;
  EXPECT_EQ(bucket.rfind(prefix_, 0), 0u);
  EXPECT_EQ(bucket.find("inst-a"), std::string::npos);
  EXPECT_EQ(buckets_with_prefix(env_, prefix_), std::vector<std::string>{bucket});

  // A read-write binding writes, reads, lists and deletes objects in its bucket.
  const json rw = bind_ok("inst-a", "bind-rw");
  ASSERT_TRUE(rw.is_object());
  EXPECT_EQ(bucket_of(rw), bucket);
  EXPECT_EQ(rw["endpoint"], env_.endpoint);
  EXPECT_EQ(rw["region"], env_.region);
  EXPECT_EQ(rw["uri"], "http://" + rw["access_key_id"].get<std::string>() + ":" +
                           rw["secret_access_key"].get<std::string>() + "@" +
                           env_.endpoint.substr(7) + "/" + bucket);
  EXPECT_NE(rw["access_key_id"], env_.access_key);
  const S3Client writer = client_of(rw);
  ASSERT_EQ(writer.put_object(bucket, "dir/hello.txt", "hello").status(), 200u);
  const auto got = writer.get_object(bucket, "dir/hello.txt");
  ASSERT_EQ(got.status(), 200u) << got.summary();
  EXPECT_EQ(got.http.body, "hello");
  const auto listed = writer.list_objects(bucket);
  ASSERT_EQ(listed.status(), 200u);
  EXPECT_EQ(osbd_object_storage::xml_elements(listed.http.body, "Key"),
            std::vector<std::string>{"dir/hello.txt"});
  ASSERT_EQ(writer.put_object(bucket, "tmp", "x").status(), 200u);
  EXPECT_EQ(writer.delete_object(bucket, "tmp").status(), 204u);

  // It may not create buckets, change the policy or delete its bucket.
  EXPECT_EQ(writer.create_bucket(prefix_ + "extra").status(), 403u);
  EXPECT_EQ(writer.put_bucket_policy(bucket, "{}").status(), 403u);
  EXPECT_EQ(writer.delete_bucket_policy(bucket).status(), 403u);
  EXPECT_EQ(writer.delete_bucket(bucket).status(), 403u);
  EXPECT_TRUE(buckets_with_prefix(env_, prefix_ + "extra").empty());

  // Another instance's bucket is refused to it, and the other way round.
  const json other_state = provision_ok("inst-b");
  const std::string other = other_state.value("bucket", "");
  ASSERT_NE(other, bucket);
  EXPECT_EQ(writer.put_object(other, "x", "x").status(), 403u);
  EXPECT_EQ(writer.get_object(other, "x").status(), 403u);
  EXPECT_EQ(writer.list_objects(other).status(), 403u);
  const json stranger = bind_ok("inst-b", "bind-b");
  EXPECT_EQ(client_of(stranger).get_object(bucket, "dir/hello.txt").status(), 403u);
  EXPECT_EQ(client_of(stranger).list_objects(bucket).status(), 403u);
  // Anonymous requests are refused too.
  const S3Client anonymous = client(env_, {"NOSUCHKEY00000000000", "nosuchsecret"});
  EXPECT_EQ(anonymous.get_object(bucket, "dir/hello.txt").status(), 403u);

  // A read-only binding reads and lists but cannot write or delete.
  const json ro = bind_ok("inst-a", "bind-ro", {{"access", "read-only"}});
  EXPECT_EQ(ro["access"], "read-only");
  const S3Client reader = client_of(ro);
  EXPECT_EQ(reader.get_object(bucket, "dir/hello.txt").http.body, "hello");
  EXPECT_EQ(reader.list_objects(bucket).status(), 200u);
  EXPECT_EQ(reader.put_object(bucket, "nope", "x").status(), 403u);
  EXPECT_EQ(reader.delete_object(bucket, "dir/hello.txt").status(), 403u);

  // Repeating a bind answers the same key.
  EXPECT_EQ(bind_ok("inst-a", "bind-ro", {{"access", "read-only"}})["access_key_id"],
            ro["access_key_id"]);

  // Unbind: the key is refused at once; the other binding keeps working.
  ASSERT_TRUE(unbind("inst-a", "bind-rw").ok());
  EXPECT_EQ(writer.get_object(bucket, "dir/hello.txt").status(), 403u);
  EXPECT_EQ(writer.put_object(bucket, "after", "x").status(), 403u);
  EXPECT_EQ(reader.get_object(bucket, "dir/hello.txt").status(), 200u);
  EXPECT_TRUE(unbind("inst-a", "bind-rw").ok()) << "repeated unbind";
  const json again = bind_ok("inst-a", "bind-rw-2");
  EXPECT_EQ(client_of(again).put_object(bucket, "again", "x").status(), 200u);

  // Deprovision empties and deletes the bucket and every user of the instance; repeating it
  // succeeds.
  ASSERT_TRUE(deprovision("inst-a").ok());
  EXPECT_EQ(buckets_with_prefix(env_, bucket), std::vector<std::string>{});
  EXPECT_TRUE(admin(env_).users_with_prefix(bucket).empty());
  EXPECT_EQ(reader.get_object(bucket, "dir/hello.txt").status(), 403u) << "its user is gone";
  EXPECT_TRUE(deprovision("inst-a").ok());
  EXPECT_EQ(client_of(stranger).put_object(other, "still", "ok").status(), 200u);
  ASSERT_TRUE(deprovision("inst-b").ok());
  EXPECT_TRUE(buckets_with_prefix(env_, prefix_).empty());
  EXPECT_TRUE(admin(env_).users_with_prefix(prefix_).empty());

  // No log line carries a secret.
  const std::string log = log_text();
  EXPECT_NE(log.find("s3: PUT"), std::string::npos) << "requests are logged at debug level";
  for (const json& credentials : {rw, ro, stranger, again}) {
    EXPECT_EQ(log.find(credentials["secret_access_key"].get<std::string>()), std::string::npos);
  }
  EXPECT_EQ(log.find(env_.secret_key), std::string::npos);
}

TEST_F(ObjectStoragePlugin, QuotaIsEnforcedByTheServerAndFollowsThePlan) {
  const json state = provision_ok("inst-q", kSmall);
  const std::string bucket = state.value("bucket", "");
  const json key = bind_ok("inst-q", "bind-q", json::object(), kSmall);
  const S3Client writer = client_of(key);
  // 1 MB: an object of 2 MB is refused.
  const auto big = writer.put_object(bucket, "big", std::string(2 * 1024 * 1024, 'x'));
  EXPECT_EQ(big.status(), 403u);
  EXPECT_EQ(big.error.code, "QuotaExceeded");
  // 3 objects: the fourth is refused.
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(writer.put_object(bucket, "o" + std::to_string(i), "data").status(), 200u) << i;
  }
  const auto fourth = writer.put_object(bucket, "o3", "data");
  EXPECT_EQ(fourth.status(), 403u);
  EXPECT_EQ(fourth.error.code, "QuotaExceeded");

  auto usage = backend_->usage({{"instance_id", "inst-q"},
                                {"service_id", kService},
                                {"plan_id", kSmall},
                                {"instance_state", state}});
  ASSERT_TRUE(usage.ok()) << usage.error.value_or("");
  const json used = usage.json();
  EXPECT_EQ(used["objects"], 3);
  EXPECT_EQ(used["bytes"], 12);
  EXPECT_EQ(used["quota_objects"], 3);
  EXPECT_EQ(used["quota_bytes"], 1024 * 1024);
  EXPECT_EQ(used["over_quota"], true);

  // A plan without quota lifts it.
  auto updated = backend_->update({{"instance_id", "inst-q"},
                                   {"service_id", kService},
                                   {"plan_id", kLarge},
                                   {"previous_plan_id", kSmall},
                                   {"instance_state", state}});
  ASSERT_TRUE(updated.ok()) << updated.error.value_or("");
  EXPECT_EQ(writer.put_object(bucket, "o3", "data").status(), 200u);
  usage = backend_->usage({{"instance_id", "inst-q"}});
  EXPECT_EQ(usage.json()["over_quota"], false);
  EXPECT_FALSE(usage.json().contains("quota_objects"));
  ASSERT_TRUE(deprovision("inst-q", kLarge).ok());
}

TEST_F(ObjectStoragePlugin, ConcurrentBindsAndUnbindsKeepEachOthersGrants) {
  const std::string bucket = provision_ok("inst-c").value("bucket", "");
  constexpr int kFirst = 6;
  std::vector<json> first(kFirst);
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kFirst; ++i) {
      threads.emplace_back([&, i] {
        first[i] = bind_ok("inst-c", "first-" + std::to_string(i),
                           i % 2 == 0 ? json::object() : json{{"access", "read-only"}});
      });
    }
    for (std::thread& t : threads) {
      t.join();
    }
  }
  // Unbind half of them while three more bind.
  std::vector<json> second(3);
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i) {
      threads.emplace_back(
          [&, i] { EXPECT_TRUE(unbind("inst-c", "first-" + std::to_string(i)).ok()); });
      threads.emplace_back(
          [&, i] { second[i] = bind_ok("inst-c", "second-" + std::to_string(i)); });
    }
    for (std::thread& t : threads) {
      t.join();
    }
  }
  for (int i = 0; i < kFirst; ++i) {
    ASSERT_TRUE(first[i].is_object()) << i;
    const auto response = client_of(first[i]).list_objects(bucket);
    EXPECT_EQ(response.status(), i < 3 ? 403u : 200u) << "first-" << i;
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(second[i].is_object()) << i;
    EXPECT_EQ(client_of(second[i]).put_object(bucket, "s" + std::to_string(i), "x").status(), 200u)
        << "second-" << i;
  }
  ASSERT_TRUE(deprovision("inst-c").ok());
  EXPECT_TRUE(admin(env_).users_with_prefix(prefix_).empty());
}

TEST_F(ObjectStoragePlugin, DeprovisionOfUnknownAndHalfCreatedInstancesSucceeds) {
  EXPECT_TRUE(deprovision("never-provisioned").ok());
  // Half-created: the owner user and a binding user exist, the bucket does not.
  const auto names = osbd_object_storage::InstanceNames::of(prefix_, "half");
  RgwAdmin rgw = admin(env_);
  rgw.ensure_user(names.owner, "half", 1);
  rgw.ensure_user(names.binding_user("b"), "half binding", 0);
  EXPECT_EQ(rgw.users_with_prefix(prefix_).size(), 2u);
  auto call = deprovision("half");
  EXPECT_TRUE(call.ok()) << call.error.value_or("");
  EXPECT_TRUE(rgw.users_with_prefix(prefix_).empty());
  // Binding a half-created instance is refused without creating anything.
  rgw.ensure_user(names.owner, "half", 1);
  auto refused = bind("half", "b");
  EXPECT_EQ(refused.status, OSB_STATUS_UNPROCESSABLE);
  EXPECT_EQ(rgw.users_with_prefix(prefix_).size(), 1u);
  // Provisioning it again finishes it.
  const json state = provision_ok("half");
  EXPECT_EQ(state.value("bucket", ""), names.bucket);
  const auto repeated = provision("half");
  EXPECT_TRUE(repeated.ok()) << "repeated provision: " << repeated.error.value_or("");
  ASSERT_TRUE(deprovision("half").ok());
  EXPECT_TRUE(rgw.users_with_prefix(prefix_).empty());
  EXPECT_TRUE(buckets_with_prefix(env_, prefix_).empty());
}

TEST_F(ObjectStoragePlugin, NonEmptyBucketIsKeptWhenThePlanOrTheInstanceSaysSo) {
  // By plan flag.
  const json state = provision_ok("inst-k", kKeep);
  const std::string bucket = state.value("bucket", "");
  const S3Client writer = client_of(bind_ok("inst-k", "b", json::object(), kKeep));
  ASSERT_EQ(writer.put_object(bucket, "precious", "x").status(), 200u);
  auto refused = deprovision("inst-k", kKeep, state);
  EXPECT_EQ(refused.status, OSB_STATUS_UNPROCESSABLE);
  EXPECT_NE(refused.error.value_or("").find("still holds 1 object"), std::string::npos)
      << refused.error.value_or("");
  EXPECT_EQ(buckets_with_prefix(env_, bucket).size(), 1u);
  EXPECT_EQ(writer.get_object(bucket, "precious").status(), 200u) << "nothing was removed";
  ASSERT_EQ(writer.delete_object(bucket, "precious").status(), 204u);
  EXPECT_TRUE(deprovision("inst-k", kKeep, state).ok());
  EXPECT_TRUE(buckets_with_prefix(env_, bucket).empty());

  // By instance parameter.
  const json protected_state = provision_ok("inst-p", kLarge, {{"protect_non_empty", true}});
  EXPECT_EQ(protected_state["protect_non_empty"], true);
  const std::string pbucket = protected_state.value("bucket", "");
  const S3Client pwriter = client_of(bind_ok("inst-p", "b"));
  ASSERT_EQ(pwriter.put_object(pbucket, "precious", "x").status(), 200u);
  EXPECT_EQ(deprovision("inst-p", kLarge, protected_state).status, OSB_STATUS_UNPROCESSABLE);
  EXPECT_TRUE(deprovision("inst-p", kLarge).ok()) << "without the state nothing protects it";
  EXPECT_TRUE(buckets_with_prefix(env_, pbucket).empty());
}

TEST_F(ObjectStoragePlugin, HostileIdsAndParametersChangeNothingOutsideTheirInstance) {
  const std::vector<std::string> hostile = {"../../admin",
                                            "a/b?c=d&e#f",
                                            "x' OR 1=1 --",
                                            std::string(300, 'A'),
                                            "\xc3\xa9t\xc3\xa9 \t\n",
                                            "UPPER.case..dots",
                                            "%2F%2e%2e"};
  std::vector<std::string> buckets;
  for (const std::string& id : hostile) {
    const json state = provision_ok(id);
    const std::string bucket = state.value("bucket", "");
    EXPECT_TRUE(osbd_object_storage::is_valid_bucket_name(bucket)) << bucket;
    buckets.push_back(bucket);
    const json key = bind_ok(id, id);
    ASSERT_TRUE(key.is_object());
    EXPECT_EQ(client_of(key).put_object(bucket, id, "x").status(), 200u);
  }
  EXPECT_EQ(buckets_with_prefix(env_, prefix_).size(), hostile.size());
  // Bad parameters are refused (400) and create nothing.
  EXPECT_EQ(provision("bad-1", kLarge, {{"protect_non_empty", "yes"}}).status,
            OSB_STATUS_BAD_REQUEST);
  EXPECT_EQ(provision("bad-2", kLarge, {{"bucket_name", "victim"}}).status, OSB_STATUS_BAD_REQUEST);
  EXPECT_EQ(bind(hostile[0], "bad-b", {{"access", "admin"}}).status, OSB_STATUS_BAD_REQUEST);
  EXPECT_EQ(bind(hostile[0], "bad-b", {{"access", 1}}).status, OSB_STATUS_BAD_REQUEST);
  EXPECT_EQ(bind(hostile[0], "bad-b", {{"bucket", "osbd-admin"}}).status, OSB_STATUS_BAD_REQUEST);
  auto unknown_plan = backend_->provision(
      {{"instance_id", "bad-3"}, {"service_id", kService}, {"plan_id", "no-such-plan"}});
  EXPECT_EQ(unknown_plan.status, OSB_STATUS_BAD_REQUEST);
  EXPECT_EQ(buckets_with_prefix(env_, prefix_).size(), hostile.size());
  EXPECT_EQ(admin(env_).users_with_prefix(prefix_).size(), 2 * hostile.size());
  for (const std::string& id : hostile) {
    EXPECT_TRUE(unbind(id, id).ok());
    EXPECT_TRUE(deprovision(id).ok());
  }
  EXPECT_TRUE(buckets_with_prefix(env_, prefix_).empty());
  EXPECT_TRUE(admin(env_).users_with_prefix(prefix_).empty());
  // The admin user is untouched.
  EXPECT_TRUE(admin(env_).user_keys("osbd-admin").has_value());
}

TEST_F(ObjectStoragePlugin, AdminKeysAreNeverReturned) {
  const json state = provision_ok("inst-s");
  const auto call = backend_->bind({{"instance_id", "inst-s"},
                                    {"binding_id", "b"},
                                    {"service_id", kService},
                                    {"plan_id", kLarge}});
  ASSERT_TRUE(call.ok());
  const std::string text = call.result.value_or("");
  EXPECT_EQ(text.find(env_.access_key), std::string::npos);
  EXPECT_EQ(text.find(env_.secret_key), std::string::npos);
  // Neither the instance state nor the binding state holds a secret.
  const json bound = call.json();
  EXPECT_EQ(bound["binding_state"].dump().find(
                bound["credentials"]["secret_access_key"].get<std::string>()),
            std::string::npos);
  EXPECT_FALSE(state.dump().empty());
  for (const auto& item : state.items()) {
    EXPECT_TRUE(item.key() == "bucket" || item.key() == "owner" || item.key() == "plan_id" ||
                item.key() == "protect_non_empty")
        << item.key();
  }
  ASSERT_TRUE(deprovision("inst-s").ok());
}

// HTTPS: the gateway's self-signed certificate is accepted only with its CA (ca_file) and for
// the name it was made for; then the whole lifecycle works over TLS.
TEST_F(ObjectStoragePlugin, HttpsVerifiesTheServerCertificate) {
  const Credentials admin_key{env_.access_key, env_.secret_key};
  auto tls_client = [&](const std::string& url, osbd_object_storage::TlsOptions tls) {
    return S3Client(HttpClient(*Endpoint::parse(url), std::move(tls), std::chrono::seconds(10)),
                    env_.region, admin_key);
  };
  EXPECT_EQ(tls_client(env_.tls_endpoint, {true, env_.ca_file}).list_buckets().status(), 200u);
  // The system's CAs do not know the test certificate.
  EXPECT_THROW(tls_client(env_.tls_endpoint, {true, ""}).list_buckets(),
               osbd_object_storage::TransportError);
  // The certificate is for 127.0.0.1, not for "localhost".
  const std::string port = env_.tls_endpoint.substr(env_.tls_endpoint.rfind(':'));
  EXPECT_THROW(tls_client("https://localhost" + port, {true, env_.ca_file}).list_buckets(),
               osbd_object_storage::TransportError);
  EXPECT_EQ(tls_client("https://localhost" + port, {false, ""}).list_buckets().status(), 200u);

  // The plugin over HTTPS.
  json config = test_config(env_, prefix_);
  config["endpoint"] = env_.tls_endpoint;
  config["ca_file"] = env_.ca_file;
  osb::sdk::testing::BackendHandle tls_backend(host_, plugin_table(host_), config);
  auto provisioned = tls_backend.provision(
      {{"instance_id", "tls"}, {"service_id", kService}, {"plan_id", kLarge}});
  ASSERT_TRUE(provisioned.ok()) << provisioned.error.value_or("");
  auto bound = tls_backend.bind(
      {{"instance_id", "tls"}, {"binding_id", "b"}, {"service_id", kService}, {"plan_id", kLarge}});
  ASSERT_TRUE(bound.ok()) << bound.error.value_or("");
  const json credentials = bound.json()["credentials"];
  EXPECT_EQ(credentials["endpoint"], env_.tls_endpoint);
  EXPECT_EQ(credentials["uri"].get<std::string>().rfind("https://", 0), 0u);
  const S3Client writer(HttpClient(*Endpoint::parse(env_.tls_endpoint), {true, env_.ca_file},
                                   std::chrono::seconds(10)),
                        env_.region,
                        {credentials["access_key_id"].get<std::string>(),
                         credentials["secret_access_key"].get<std::string>()});
  EXPECT_EQ(writer.put_object(credentials["bucket"], "over-tls", "x").status(), 200u);
  EXPECT_TRUE(
      tls_backend
          .deprovision({{"instance_id", "tls"}, {"service_id", kService}, {"plan_id", kLarge}})
          .ok());
  EXPECT_TRUE(buckets_with_prefix(env_, prefix_).empty());

  // Without the CA the plugin reports the failed verification as a backend error.
  config["ca_file"] = nullptr;
  osb::sdk::testing::BackendHandle untrusting(host_, plugin_table(host_), config);
  auto refused = untrusting.provision(
      {{"instance_id", "tls2"}, {"service_id", kService}, {"plan_id", kLarge}});
  EXPECT_EQ(refused.status, OSB_STATUS_BACKEND_ERROR);
  EXPECT_NE(refused.error.value_or("").find("certificate"), std::string::npos)
      << refused.error.value_or("");
}

TEST(ObjectStoragePluginUnreachable, ServerDownIsABackendErrorThatNamesNoSecret) {
  osb::sdk::testing::FakeHost host;
  RgwEnv env = rgw_env();
  env.endpoint = "http://127.0.0.1:1";
  osb::sdk::testing::BackendHandle backend(host, plugin_table(host), test_config(env, "t-down-"));
  const auto call =
      backend.provision({{"instance_id", "i"}, {"service_id", kService}, {"plan_id", kLarge}});
  EXPECT_EQ(call.status, OSB_STATUS_BACKEND_ERROR);
  EXPECT_NE(call.error.value_or("").find("unreachable"), std::string::npos)
      << call.error.value_or("");
  EXPECT_EQ(call.error.value_or("").find(env.secret_key), std::string::npos);
}

TEST(ObjectStoragePluginConfig, BadConfigurationStopsTheLoadNamingTheKey) {
  osb::sdk::testing::FakeHost host;
  json config = test_config(rgw_env(), "t-cfg-");
  config["services"][0]["plans"][0]["max_objects"] = "many";
  try {
    osb::sdk::testing::BackendHandle backend(host, plugin_table(host), config);
    ADD_FAILURE() << "the backend was created";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("services[0].plans[0].max_objects"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace osbd_rgw_test
