#pragma once

// The Ceph RGW the tests run against: scripts/test-servers.sh starts it, and
// `scripts/test-servers.sh env rgw` prints the OSBD_RGW_* variables read here (the defaults are
// the script's). Under CI=true an unreachable server fails the tests; elsewhere they skip.

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "rgw_admin.hpp"
#include "s3_client.hpp"
#include "server_env.hpp"

namespace osbd_rgw_test {

using osbd_object_storage::Credentials;
using osbd_object_storage::Endpoint;
using osbd_object_storage::HttpClient;
using osbd_object_storage::RgwAdmin;
using osbd_object_storage::S3Client;

/// Where the test gateway listens and the admin key of its admin user.
struct RgwEnv {
  std::string endpoint;      ///< OSBD_RGW_ENDPOINT
  std::string access_key;    ///< OSBD_RGW_ACCESS_KEY
  std::string secret_key;    ///< OSBD_RGW_SECRET_KEY
  std::string region;        ///< OSBD_RGW_REGION
  std::string tls_endpoint;  ///< OSBD_RGW_TLS_ENDPOINT: the same gateway over HTTPS
  std::string ca_file;       ///< OSBD_RGW_CA_FILE: its self-signed certificate
};

using osbd_plugin_test::env_or;
using osbd_plugin_test::in_ci;

/// The test gateway (scripts/test-servers.d/rgw.sh).
inline RgwEnv rgw_env() {
  return {env_or("OSBD_RGW_ENDPOINT", "http://127.0.0.1:27480"),
          env_or("OSBD_RGW_ACCESS_KEY", "OSBDTESTADMIN0000000"),
          env_or("OSBD_RGW_SECRET_KEY", "osbd-test-admin-secret-key-000000000000"),
          env_or("OSBD_RGW_REGION", "us-east-1"),
          env_or("OSBD_RGW_TLS_ENDPOINT", "https://127.0.0.1:27443"),
          env_or("OSBD_RGW_CA_FILE", "/tmp/osbd-test-servers/rgw-27480/tls/cert.pem")};
}

/// An S3 client of env's gateway signing with key.
inline S3Client client(const RgwEnv& env, const Credentials& key) {
  return S3Client(HttpClient(*Endpoint::parse(env.endpoint), {}, std::chrono::seconds(10)),
                  env.region, key);
}

/// An S3 client with a binding's credentials (endpoint, region and keys from them).
inline S3Client client_of(const nlohmann::json& credentials) {
  return S3Client(HttpClient(*Endpoint::parse(credentials.at("endpoint").get<std::string>()), {},
                             std::chrono::seconds(10)),
                  credentials.at("region").get<std::string>(),
                  {credentials.at("access_key_id").get<std::string>(),
                   credentials.at("secret_access_key").get<std::string>()});
}

/// The Admin Ops API of env's gateway, as the admin.
inline RgwAdmin admin(const RgwEnv& env) {
  return RgwAdmin(client(env, {env.access_key, env.secret_key}));
}

/// "" when env's gateway answers an admin request, else why not.
inline std::string unreachable_reason(const RgwEnv& env) {
  try {
    const auto response = client(env, {env.access_key, env.secret_key}).list_buckets();
    if (!response.ok()) {
      return "the admin's ListBuckets answered " + response.summary();
    }
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

/// A name prefix of its own for one test ("t" + 8 random hex digits + "-"), so that tests
/// running in parallel never see each other's buckets and users.
inline std::string unique_prefix() {
  return osbd_plugin_test::random_prefix(8, '-');
}

/// Every bucket of the gateway whose name starts with prefix (as the admin sees them).
inline std::vector<std::string> buckets_with_prefix(const RgwEnv& env, const std::string& prefix) {
  const auto response = client(env, {env.access_key, env.secret_key})
                            .send("GET", "/admin/bucket", {{"format", "json"}});
  std::vector<std::string> out;
  const nlohmann::json list = nlohmann::json::parse(response.http.body, nullptr, false);
  if (list.is_array()) {
    for (const nlohmann::json& name : list) {
      if (name.is_string() && name.get_ref<const std::string&>().rfind(prefix, 0) == 0) {
        out.push_back(name.get<std::string>());
      }
    }
  }
  return out;
}

/// Deletes every bucket and user whose name starts with prefix.
inline void remove_everything(const RgwEnv& env, const std::string& prefix) {
  RgwAdmin rgw = admin(env);
  for (const std::string& bucket : buckets_with_prefix(env, prefix)) {
    rgw.remove_bucket(bucket);
  }
  for (const std::string& user : rgw.users_with_prefix(prefix)) {
    rgw.remove_user(user);
  }
}

}  // namespace osbd_rgw_test
