#include "rgw_admin.hpp"

#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>

namespace osbd_object_storage {

namespace {

nlohmann::json parse_json(const S3Response& response, const std::string& what) {
  nlohmann::json json = nlohmann::json::parse(response.http.body, nullptr, false);
  if (json.is_discarded()) {
    throw AdminError(what + ": the server's answer is not JSON");
  }
  return json;
}

std::int64_t integer_at(const nlohmann::json& object, const char* key, std::int64_t fallback) {
  if (object.is_object()) {
    auto it = object.find(key);
    if (it != object.end() && it->is_number_integer()) {
      return it->get<std::int64_t>();
    }
  }
  return fallback;
}

std::vector<Credentials> keys_of(const nlohmann::json& keys, const std::string& uid) {
  std::vector<Credentials> out;
  if (!keys.is_array()) {
    return out;
  }
  for (const nlohmann::json& key : keys) {
    if (key.is_object() && key.value("user", "") == uid && key.contains("access_key") &&
        key["access_key"].is_string() && key.contains("secret_key") &&
        key["secret_key"].is_string()) {
      out.push_back({key["access_key"].get<std::string>(), key["secret_key"].get<std::string>()});
    }
  }
  return out;
}

}  // namespace

RgwAdmin::RgwAdmin(S3Client client) : client_(std::move(client)) {}

S3Response RgwAdmin::call(const std::string& method, const std::string& path,
                          std::vector<QueryParam> query) const {
  query.emplace_back("format", "json");
  try {
    return client_.send(method, path, query);
  } catch (const TransportError& e) {
    // The server's state, not the request's: the description tells users that the same
    // request can work later (as ObjectStorageBackend::guarded does for S3 calls).
    throw AdminError(std::string("the object storage server is unreachable: ") + e.what() +
                     "; the request can be retried once the server is available");
  }
}

void RgwAdmin::fail(const std::string& what, const S3Response& response) {
  std::string message = what + " failed: the server answered " + response.summary();
  if (response.status() == 403) {
    message += " (does the admin key's user have the caps users=*, buckets=*, metadata=*?)";
  }
  throw AdminError(message);
}

void RgwAdmin::ensure_user(const std::string& uid, const std::string& display_name,
                           int max_buckets) {
  // RGW: a negative max-buckets forbids creating buckets, 0 would mean "no limit".
  const std::string limit = std::to_string(max_buckets <= 0 ? -1 : max_buckets);
  const S3Response response = call("PUT", "/admin/user",
                                   {{"uid", uid},
                                    {"display-name", display_name},
                                    {"max-buckets", limit},
                                    {"generate-key", "false"}});
  if (response.ok() || (response.status() == 409 && response.error.code == "UserAlreadyExists")) {
    return;
  }
  fail("creating user " + uid, response);
}

std::optional<std::vector<Credentials>> RgwAdmin::user_keys(const std::string& uid) {
  const S3Response response = call("GET", "/admin/user", {{"uid", uid}});
  if (response.status() == 404) {
    return std::nullopt;
  }
  if (!response.ok()) {
    fail("reading user " + uid, response);
  }
  const nlohmann::json json = parse_json(response, "reading user " + uid);
  return keys_of(json.value("keys", nlohmann::json::array()), uid);
}

Credentials RgwAdmin::create_key(const std::string& uid) {
  std::optional<std::vector<Credentials>> before = user_keys(uid);
  if (!before) {
    throw AdminError("creating a key: user " + uid + " does not exist");
  }
  const S3Response response =
      call("PUT", "/admin/user",
           {{"key", ""}, {"uid", uid}, {"key-type", "s3"}, {"generate-key", "true"}});
  if (!response.ok()) {
    fail("creating a key for user " + uid, response);
  }
  const std::vector<Credentials> after =
      keys_of(parse_json(response, "creating a key for user " + uid), uid);
  for (const Credentials& key : after) {
    const bool known = std::any_of(before->begin(), before->end(), [&](const Credentials& old) {
      return old.access_key_id == key.access_key_id;
    });
    if (!known) {
      return key;
    }
  }
  throw AdminError("creating a key for user " + uid + ": the server returned no new key");
}

bool RgwAdmin::remove_user(const std::string& uid) {
  const S3Response response = call("DELETE", "/admin/user", {{"uid", uid}, {"purge-data", "true"}});
  if (response.status() == 404) {
    return false;
  }
  if (!response.ok()) {
    fail("deleting user " + uid, response);
  }
  return true;
}

std::vector<std::string> RgwAdmin::users_with_prefix(const std::string& prefix) {
  std::vector<std::string> out;
  std::string marker;
  for (int page = 0; page < 100000; ++page) {
    std::vector<QueryParam> query = {{"max-entries", "1000"}};
    if (!marker.empty()) {
      query.emplace_back("marker", marker);
    }
    const S3Response response = call("GET", "/admin/metadata/user", query);
    if (!response.ok()) {
      fail("listing users", response);
    }
    const nlohmann::json json = parse_json(response, "listing users");
    const nlohmann::json keys = json.is_array() ? json : json.value("keys", nlohmann::json());
    if (keys.is_array()) {
      for (const nlohmann::json& key : keys) {
        if (key.is_string() && key.get_ref<const std::string&>().rfind(prefix, 0) == 0) {
          out.push_back(key.get<std::string>());
        }
      }
    }
    const nlohmann::json truncated =
        json.is_object() ? json.value("truncated", nlohmann::json()) : nlohmann::json();
    const bool more = (truncated.is_string() && truncated == "true") ||
                      (truncated.is_boolean() && truncated.get<bool>());
    marker = json.is_object() ? json.value("marker", std::string()) : std::string();
    if (!more || marker.empty()) {
      break;
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

void RgwAdmin::set_bucket_quota(const std::string& owner, const std::string& bucket,
                                const Quota& quota) {
  // RGW 16 reads the size of a bucket quota in KiB (max-size is ignored there).
  const std::int64_t kib = quota.max_bytes < 0 ? -1 : (quota.max_bytes + 1023) / 1024;
  const S3Response response = call("PUT", "/admin/bucket",
                                   {{"quota", ""},
                                    {"uid", owner},
                                    {"bucket", bucket},
                                    {"max-size-kb", std::to_string(kib)},
                                    {"max-objects", std::to_string(quota.max_objects)},
                                    {"enabled", quota.enabled() ? "true" : "false"}});
  if (!response.ok()) {
    fail("setting the quota of bucket " + bucket, response);
  }
}

std::optional<BucketUsage> RgwAdmin::bucket_usage(const std::string& bucket) {
  const S3Response response = call("GET", "/admin/bucket", {{"bucket", bucket}, {"stats", "true"}});
  if (response.status() == 404) {
    return std::nullopt;
  }
  if (!response.ok()) {
    fail("reading bucket " + bucket, response);
  }
  const nlohmann::json json = parse_json(response, "reading bucket " + bucket);
  BucketUsage usage;
  usage.owner = json.value("owner", std::string());
  const nlohmann::json stats = json.value("usage", nlohmann::json::object());
  if (stats.is_object()) {
    for (const auto& item : stats.items()) {
      // rgw.main holds the objects; rgw.multimeta counts unfinished multipart uploads.
      usage.bytes += integer_at(item.value(), "size", 0);
      usage.objects += item.key() == "rgw.main" ? integer_at(item.value(), "num_objects", 0) : 0;
    }
  }
  const nlohmann::json quota = json.value("bucket_quota", nlohmann::json::object());
  if (quota.is_object() && quota.value("enabled", false)) {
    const std::int64_t kib = integer_at(quota, "max_size_kb", 0);
    const std::int64_t bytes = integer_at(quota, "max_size", -1);
    usage.quota.max_bytes = bytes >= 0 ? bytes : (kib > 0 ? kib * 1024 : -1);
    usage.quota.max_objects = integer_at(quota, "max_objects", -1);
  }
  return usage;
}

bool RgwAdmin::remove_bucket(const std::string& bucket) {
  const S3Response response =
      call("DELETE", "/admin/bucket", {{"bucket", bucket}, {"purge-objects", "true"}});
  if (response.status() == 404) {
    return false;
  }
  if (!response.ok()) {
    fail("deleting bucket " + bucket, response);
  }
  return true;
}

std::string RgwAdmin::principal(const std::string& uid) const {
  return "arn:aws:iam:::user/" + uid;
}

}  // namespace osbd_object_storage
