#include "object_storage_backend.hpp"

#include <functional>
#include <stdexcept>
#include <utility>

#include <osb/plugins/config.hpp>
#include <osb/plugins/guarded.hpp>
#include <osb/plugins/uri.hpp>
#include <osb/sdk/result.hpp>

#include "catalog.hpp"
#include "rgw_admin.hpp"

namespace osbd_object_storage {

using osb::sdk::Result;

namespace {

// How often a policy change is re-read and re-applied when another writer (another osbd
// process) overwrote it in between.
constexpr int policy_attempts = 5;

struct InstanceParameters {
  std::optional<bool> protect_non_empty;
  std::string error;
};

InstanceParameters read_instance_parameters(const nlohmann::json& parameters) {
  InstanceParameters out;
  if (!parameters.is_object()) {
    out.error = "parameters must be an object";
    return out;
  }
  for (const auto& item : parameters.items()) {
    if (item.key() == "protect_non_empty") {
      if (!item.value().is_boolean()) {
        out.error = "parameter \"protect_non_empty\" must be true or false";
        return out;
      }
      out.protect_non_empty = item.value().get<bool>();
    } else {
      out.error = "unknown parameter (this service takes only \"protect_non_empty\")";
      return out;
    }
  }
  return out;
}

bool state_flag(const nlohmann::json& state, const char* key) {
  if (state.is_object()) {
    auto it = state.find(key);
    return it != state.end() && it->is_boolean() && it->get<bool>();
  }
  return false;
}

nlohmann::json instance_state(const InstanceNames& names, const PlanSettings& plan,
                              bool protect_non_empty) {
  return {{"bucket", names.bucket},
          {"owner", names.owner},
          {"plan_id", plan.id},
          {"protect_non_empty", protect_non_empty}};
}

}  // namespace

ObjectStorageBackend::ObjectStorageBackend(const nlohmann::json& config, osb::sdk::Host& host)
    : settings_(Settings::from_json(config)), host_(host) {
  if (settings_.services.empty()) {
    host_.info("no services configured: this plugin offers nothing");
    return;
  }
  admin_ = std::make_unique<RgwAdmin>(client_for(settings_.admin));
  host_.info("serving " + std::to_string(settings_.services.size()) +
             " service(s) on the object storage at " + settings_.endpoint.url() + " (region " +
             settings_.region + ", names starting with \"" + settings_.name_prefix + "\")");
}

ObjectStorageBackend::~ObjectStorageBackend() = default;

nlohmann::json ObjectStorageBackend::catalog() {
  return make_catalog(settings_);
}

S3Client ObjectStorageBackend::client_for(const Credentials& credentials) const {
  osb::sdk::Host* host = &host_;
  return S3Client(HttpClient(settings_.endpoint, settings_.tls, settings_.timeout),
                  settings_.region, credentials,
                  [host](const std::string& line) { host->debug("s3: " + line); });
}

template <typename F>
Result ObjectStorageBackend::guarded(const std::string& what, F&& body) {
  return osb::plugins::guarded<AdminError, TransportError, std::invalid_argument>(
      host_, what, std::forward<F>(body));
}

std::mutex& ObjectStorageBackend::policy_lock(const std::string& bucket) {
  return policy_locks_[std::hash<std::string>{}(bucket) % policy_locks_.size()];
}

Credentials ObjectStorageBackend::owner_key(const InstanceNames& names) {
  std::optional<std::vector<Credentials>> keys = admin_->user_keys(names.owner);
  if (!keys) {
    throw AdminError("the owner of bucket " + names.bucket + " does not exist");
  }
  if (!keys->empty()) {
    return keys->front();
  }
  return admin_->create_key(names.owner);
}

void ObjectStorageBackend::change_grant(const InstanceNames& names, const std::string& principal,
                                        std::optional<Access> access) {
  // One writer per bucket in this process: read-modify-write of the policy cannot lose a
  // concurrent change made here. A change by another process between our read and write is
  // caught by reading again after writing.
  std::lock_guard<std::mutex> lock(policy_lock(names.bucket));
  const S3Client owner = client_for(owner_key(names));
  for (int attempt = 0; attempt < policy_attempts; ++attempt) {
    const S3Response current = owner.get_bucket_policy(names.bucket);
    std::string text;
    if (current.ok()) {
      text = current.http.body;
    } else if (current.status() == 404 && current.error.code == "NoSuchBucket") {
      if (!access) {
        return;  // no bucket, no grant
      }
      throw AdminError("bucket " + names.bucket + " does not exist");
    } else if (current.status() != 404) {
      throw AdminError("reading the policy of bucket " + names.bucket +
                       " failed: the server answered " + current.summary());
    }
    PolicyGrants grants = PolicyGrants::parse(text);
    auto it = grants.grants.find(principal);
    const bool done =
        access ? (it != grants.grants.end() && it->second == *access) : it == grants.grants.end();
    if (done) {
      return;
    }
    if (access) {
      grants.grants[principal] = *access;
    } else {
      grants.grants.erase(it);
    }
    const std::optional<std::string> policy = grants.render(names.bucket);
    const S3Response written = policy ? owner.put_bucket_policy(names.bucket, *policy)
                                      : owner.delete_bucket_policy(names.bucket);
    if (!written.ok() && !(written.status() == 404 && !policy)) {
      throw AdminError("writing the policy of bucket " + names.bucket +
                       " failed: the server answered " + written.summary());
    }
  }
  throw AdminError("the policy of bucket " + names.bucket +
                   " kept changing under concurrent writers; try again");
}

Result ObjectStorageBackend::provision(const osb::sdk::ProvisionRequest& request) {
  const std::optional<PlanRef> ref = settings_.plan(request.plan_id, request.service_id);
  if (!ref || !admin_) {
    return Result::bad_request("unknown service_id or plan_id for this service");
  }
  const InstanceParameters parameters = read_instance_parameters(request.parameters);
  if (!parameters.error.empty()) {
    return Result::bad_request(parameters.error);
  }
  const InstanceNames names = InstanceNames::of(settings_.name_prefix, request.instance_id);
  if (!is_valid_bucket_name(names.bucket)) {
    return Result::internal_error("generated an invalid bucket name");
  }
  return guarded("provisioning", [&] {
    const Result taken = Result::backend_error(
        "the bucket name " + names.bucket +
        " is taken by another user of the object storage; configure another name_prefix");
    const std::optional<BucketUsage> existing = admin_->bucket_usage(names.bucket);
    if (existing && existing->owner != names.owner) {
      return taken;
    }
    // The owner may create exactly one bucket: this one.
    admin_->ensure_user(names.owner, "osbd instance " + names.bucket, 1);
    if (!existing) {
      const S3Client owner = client_for(owner_key(names));
      const S3Response created = owner.create_bucket(names.bucket);
      if (!created.ok() && created.error.code != "BucketAlreadyOwnedByYou") {
        if (created.error.code == "BucketAlreadyExists") {
          return taken;
        }
        throw AdminError("creating bucket " + names.bucket + " failed: the server answered " +
                         created.summary());
      }
    }
    admin_->set_bucket_quota(names.owner, names.bucket, ref->plan->quota());
    const bool protect = parameters.protect_non_empty.value_or(false);
    host_.info("provisioned instance " + request.instance_id + " as bucket " + names.bucket +
               " (plan " + ref->plan->name + ")");
    return Result::ok({{"instance_state", instance_state(names, *ref->plan, protect)}});
  });
}

Result ObjectStorageBackend::deprovision(const osb::sdk::DeprovisionRequest& request) {
  if (!admin_) {
    return Result::ok();
  }
  const InstanceNames names = InstanceNames::of(settings_.name_prefix, request.instance_id);
  std::string plan_id = request.plan_id;
  if (plan_id.empty()) {
    plan_id = osb::plugins::state_string(request.instance_state, "plan_id");
  }
  const std::optional<PlanRef> ref = settings_.plan(plan_id);
  const bool plan_protects = ref && !ref->plan->delete_non_empty;
  const bool protect = plan_protects || state_flag(request.instance_state, "protect_non_empty");
  return guarded("deprovisioning", [&] {
    const std::optional<BucketUsage> usage = admin_->bucket_usage(names.bucket);
    const bool ours = usage && usage->owner == names.owner;
    if (usage && !ours) {
      host_.warn("bucket " + names.bucket + " belongs to another user; it is left alone");
    }
    if (ours && protect && usage->objects > 0) {
      return Result::unprocessable(
          "the bucket " + names.bucket + " still holds " + std::to_string(usage->objects) +
          " object(s), and " +
          (plan_protects ? std::string("this plan") : std::string("this instance")) +
          " keeps non-empty buckets: delete its objects, then deprovision again");
    }
    for (const std::string& user : admin_->users_with_prefix(names.binding_prefix())) {
      admin_->remove_user(user);
    }
    if (ours) {
      admin_->remove_bucket(names.bucket);
    }
    admin_->remove_user(names.owner);
    host_.info("deprovisioned instance " + request.instance_id + " (bucket " + names.bucket + ")");
    return Result::ok();
  });
}

Result ObjectStorageBackend::update(const osb::sdk::UpdateRequest& request) {
  std::string plan_id = request.plan_id;
  if (plan_id.empty()) {
    plan_id = !request.previous_plan_id.empty()
                  ? request.previous_plan_id
                  : osb::plugins::state_string(request.instance_state, "plan_id");
  }
  const std::optional<PlanRef> ref = settings_.plan(plan_id, request.service_id);
  if (!ref || !admin_) {
    return Result::bad_request("unknown service_id or plan_id for this service");
  }
  const std::string previous = !request.previous_plan_id.empty()
                                   ? request.previous_plan_id
                                   : osb::plugins::state_string(request.instance_state, "plan_id");
  if (!previous.empty() && previous != ref->plan->id && !ref->service->plan_updateable) {
    return Result::unprocessable("the plan of this service cannot be changed");
  }
  const InstanceParameters parameters = read_instance_parameters(request.parameters);
  if (!parameters.error.empty()) {
    return Result::bad_request(parameters.error);
  }
  const bool protect = parameters.protect_non_empty.value_or(
      state_flag(request.instance_state, "protect_non_empty"));
  const InstanceNames names = InstanceNames::of(settings_.name_prefix, request.instance_id);
  return guarded("updating", [&] {
    const std::optional<BucketUsage> usage = admin_->bucket_usage(names.bucket);
    if (!usage || usage->owner != names.owner) {
      return Result::unprocessable("the bucket of this instance does not exist");
    }
    admin_->set_bucket_quota(names.owner, names.bucket, ref->plan->quota());
    host_.info("updated instance " + request.instance_id + " to plan " + ref->plan->name);
    return Result::ok({{"instance_state", instance_state(names, *ref->plan, protect)}});
  });
}

Result ObjectStorageBackend::bind(const osb::sdk::BindRequest& request) {
  const std::optional<PlanRef> ref = settings_.plan(request.plan_id, request.service_id);
  if (!ref || !admin_) {
    return Result::bad_request("unknown service_id or plan_id for this service");
  }
  if (!ref->plan->bindable.value_or(ref->service->bindable)) {
    return Result::unprocessable("the plan \"" + ref->plan->name + "\" is not bindable");
  }
  Access access = Access::read_write;
  for (const auto& item : request.parameters.items()) {
    if (item.key() != "access") {
      return Result::bad_request("unknown parameter (bindings take only \"access\")");
    }
    std::optional<Access> parsed;
    if (item.value().is_string()) {
      parsed = access_from_string(item.value().get<std::string>());
    }
    if (!parsed) {
      return Result::bad_request("parameter \"access\" must be \"read-write\" or \"read-only\"");
    }
    access = *parsed;
  }
  const InstanceNames names = InstanceNames::of(settings_.name_prefix, request.instance_id);
  const std::string user = names.binding_user(request.binding_id);
  return guarded("binding", [&] {
    const std::optional<BucketUsage> usage = admin_->bucket_usage(names.bucket);
    if (!usage || usage->owner != names.owner) {
      return Result::unprocessable("the bucket of this instance does not exist");
    }
    // Bindings may not create buckets (max_buckets 0).
    admin_->ensure_user(user, "osbd binding of " + names.bucket, 0);
    const std::optional<std::vector<Credentials>> keys = admin_->user_keys(user);
    const Credentials key = keys && !keys->empty() ? keys->front() : admin_->create_key(user);
    change_grant(names, admin_->principal(user), access);
    const std::optional<Endpoint> endpoint = Endpoint::parse(settings_.public_endpoint);
    const std::string uri = std::string(endpoint->tls ? "https" : "http") + "://" +
                            osb::plugins::percent_encode(key.access_key_id) + ":" +
                            osb::plugins::percent_encode(key.secret_access_key) + "@" +
                            endpoint->host_header() + "/" + names.bucket;
    host_.info("bound " + request.binding_id + " to instance " + request.instance_id + " as user " +
               user + " (" + to_string(access) + ")");
    return Result::ok(
        {{"credentials",
          {{"endpoint", settings_.public_endpoint},
           {"region", settings_.region},
           {"bucket", names.bucket},
           {"access_key_id", key.access_key_id},
           {"secret_access_key", key.secret_access_key},
           {"uri", uri},
           {"access", to_string(access)}}},
         {"binding_state",
          {{"bucket", names.bucket}, {"user", user}, {"access", to_string(access)}}}});
  });
}

Result ObjectStorageBackend::unbind(const osb::sdk::UnbindRequest& request) {
  if (!admin_) {
    return Result::ok();
  }
  const InstanceNames names = InstanceNames::of(settings_.name_prefix, request.instance_id);
  const std::string user = names.binding_user(request.binding_id);
  return guarded("unbinding", [&] {
    // The user goes first: its key stops working at once, whatever happens next.
    const bool removed = admin_->remove_user(user);
    const std::optional<BucketUsage> usage = admin_->bucket_usage(names.bucket);
    if (usage && usage->owner == names.owner) {
      change_grant(names, admin_->principal(user), std::nullopt);
    }
    host_.info("unbound " + request.binding_id + " from instance " + request.instance_id +
               (removed ? " (user " + user + " deleted)" : " (user " + user + " did not exist)"));
    return Result::ok();
  });
}

Result ObjectStorageBackend::usage(const osb::sdk::UsageRequest& request) {
  if (!admin_) {
    return Result::ok();
  }
  const InstanceNames names = InstanceNames::of(settings_.name_prefix, request.instance_id);
  return guarded("reading usage", [&] {
    const std::optional<BucketUsage> usage = admin_->bucket_usage(names.bucket);
    if (!usage || usage->owner != names.owner) {
      return Result::ok({{"description", "the bucket of this instance does not exist"}});
    }
    nlohmann::json body = {{"bytes", usage->bytes}, {"objects", usage->objects}};
    bool full = false;
    if (usage->quota.max_bytes >= 0) {
      body["quota_bytes"] = usage->quota.max_bytes;
      full = full || usage->bytes >= usage->quota.max_bytes;
    }
    if (usage->quota.max_objects >= 0) {
      body["quota_objects"] = usage->quota.max_objects;
      full = full || usage->objects >= usage->quota.max_objects;
    }
    body["over_quota"] = full;
    body["description"] =
        "bucket " + names.bucket +
        (usage->quota.enabled()
             ? std::string(full ? ": at or over its quota, further writes are refused"
                                : ": within its quota")
             : std::string(": no quota")) +
        (usage->quota.enabled() ? " (enforced by the object storage server on every write)" : "");
    return Result::ok(body);
  });
}

}  // namespace osbd_object_storage
