#include "mysql_backend.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include <osb/plugins/config.hpp>
#include <osb/plugins/credentials.hpp>
#include <osb/plugins/guarded.hpp>
#include <osb/plugins/secrets.hpp>
#include <osb/plugins/usage.hpp>
#include <osb/sdk/result.hpp>

#include "admin_session.hpp"
#include "catalog.hpp"
#include "sql_steps.hpp"

namespace osbd_mysql {

using osb::sdk::Result;

namespace {

nlohmann::json instance_state(const ServerSettings& server, const InstanceNames& names,
                              const PlanSettings& plan) {
  return {{"server", server.name}, {"database", names.database}, {"plan_id", plan.id}};
}

// Why parameters are refused, or "" when there are none (the only valid value).
std::string parameters_error(const nlohmann::json& parameters, const char* what) {
  if (parameters.is_null() || (parameters.is_object() && parameters.empty())) {
    return {};
  }
  return std::string(what) + " of this service take no parameters";
}

// The options of a binding's uri and jdbcUrl for the server's TLS mode.
osb::plugins::UriOptions tls_options(const ServerSettings& server) {
  switch (server.tls) {
    case TlsMode::required:
      return {"ssl-mode=REQUIRED", "sslMode=REQUIRED"};
    case TlsMode::verify_identity:
      return {"ssl-mode=VERIFY_IDENTITY", "sslMode=VERIFY_IDENTITY"};
    case TlsMode::disabled:
      break;
  }
  return {};
}

}  // namespace

MysqlBackend::MysqlBackend(const nlohmann::json& config, osb::sdk::Host& host)
    : settings_(Settings::from_json(config)),
      host_(host),
      driver_(mysql_driver()),
      fleet_(settings_, host_,
             [this](const ServerSettings& server, const std::string& database, bool count) {
               return census(server, database, count);
             }) {
  host_.info(settings_.summary());
  if (!settings_.servers.empty()) {
    quota_monitor_ = std::make_unique<QuotaMonitor>(settings_, host_, driver_);
  }
}

MysqlBackend::~MysqlBackend() = default;

nlohmann::json MysqlBackend::catalog() {
  return make_catalog(settings_);
}

template <typename F>
Result MysqlBackend::guarded(const std::string& what, F&& body) {
  ThreadScope thread(driver_);
  return osb::plugins::guarded<DatabaseError>(host_, what, std::forward<F>(body));
}

osb::plugins::ServerLoad MysqlBackend::census(const ServerSettings& server,
                                              const std::string& database, bool count) const {
  AdminSession session(driver_, server, host_);
  if (database_exists(session, database)) {
    return {true, 0};
  }
  return {false, count ? count_databases(session, database_pattern(settings_.name_prefix)) : 0};
}

Result MysqlBackend::provision(const osb::sdk::ProvisionRequest& request) {
  const std::optional<PlanRef> ref = settings_.plan(request.plan_id, request.service_id);
  if (!ref) {
    return Result::bad_request("unknown service_id or plan_id for this service");
  }
  if (std::string error = parameters_error(request.parameters, "instances"); !error.empty()) {
    return Result::bad_request(error);
  }
  const InstanceNames names = InstanceNames::of(settings_.name_prefix, request.instance_id);
  return guarded("provisioning", [&] {
    const ServerSettings* server = fleet_.place(*ref->plan, names.database);
    if (server == nullptr) {
      return Result::backend_error("no server of the plan is available");
    }
    host_.info("provisioning instance " + request.instance_id + " as database " + names.database +
               " on server " + server->name);
    AdminSession admin(driver_, *server, host_);
    // Recorded first, so that a half-created instance is already under the quota check.
    record_instance(admin, settings_.name_prefix, names.database, ref->plan->id,
                    ref->plan->quota_mb);
    admin.exec("CREATE DATABASE IF NOT EXISTS " + AdminSession::name(names.database) +
               " CHARACTER SET utf8mb4");
    return Result::ok({{"instance_state", instance_state(*server, names, *ref->plan)}});
  });
}

void MysqlBackend::drop_account(AdminSession& session, const Account& account) const {
  // Dropped first, so that no new session can start; then the open ones are ended.
  session.exec("DROP USER IF EXISTS " + session.account(account.user, account.host));
  kill_sessions(session, account.user);
}

Result MysqlBackend::deprovision(const osb::sdk::DeprovisionRequest& request) {
  const InstanceNames names = InstanceNames::of(settings_.name_prefix, request.instance_id);
  return guarded("deprovisioning", [&] {
    for (const ServerSettings* server :
         fleet_.candidates(request.instance_state, request.plan_id)) {
      AdminSession admin(driver_, *server, host_);
      for (const Account& account : accounts_matching(admin, names.binding_user_pattern())) {
        drop_account(admin, account);
      }
      admin.exec("DROP DATABASE IF EXISTS " + AdminSession::name(names.database));
      forget_instance(admin, settings_.name_prefix, names.database);
    }
    host_.info("deprovisioned instance " + request.instance_id + " (database " + names.database +
               ")");
    return Result::ok();
  });
}

Result MysqlBackend::update(const osb::sdk::UpdateRequest& request) {
  const std::string previous_plan_id =
      osb::plugins::given_or_state(request.previous_plan_id, request.instance_state, "plan_id");
  const std::string plan_id = request.plan_id.empty() ? previous_plan_id : request.plan_id;
  const std::optional<PlanRef> ref = settings_.plan(plan_id, request.service_id);
  if (!ref) {
    return Result::bad_request("unknown service_id or plan_id for this service");
  }
  const PlanSettings& plan = *ref->plan;
  if (!previous_plan_id.empty() && previous_plan_id != plan.id && !ref->service->plan_updateable) {
    return Result::unprocessable("the plan of this service cannot be changed");
  }
  if (std::string error = parameters_error(request.parameters, "instances"); !error.empty()) {
    return Result::bad_request(error);
  }
  const InstanceNames names = InstanceNames::of(settings_.name_prefix, request.instance_id);
  return guarded("updating", [&] {
    const ServerSettings* server =
        fleet_.find(request.instance_state, previous_plan_id, names.database);
    if (server == nullptr) {
      return Result::unprocessable("the database of this instance does not exist");
    }
    if (std::find(plan.servers.begin(), plan.servers.end(), server->name) == plan.servers.end()) {
      return Result::unprocessable("the plan \"" + plan.name + "\" does not use the server \"" +
                                   server->name +
                                   "\" that holds this instance; moving is not supported");
    }
    AdminSession admin(driver_, *server, host_);
    record_instance(admin, settings_.name_prefix, names.database, plan.id, plan.quota_mb);
    for (const Account& account : accounts_matching(admin, names.binding_user_pattern())) {
      admin.exec("ALTER USER " + admin.account(account.user, account.host) +
                 " WITH MAX_USER_CONNECTIONS " + std::to_string(plan.max_user_connections));
    }
    host_.info("updated instance " + request.instance_id + " to plan " + plan.name);
    if (quota_monitor_) {
      quota_monitor_->wake();
    }
    return Result::ok({{"instance_state", instance_state(*server, names, plan)}});
  });
}

Result MysqlBackend::bind(const osb::sdk::BindRequest& request) {
  const std::optional<PlanRef> ref = settings_.plan(request.plan_id, request.service_id);
  if (!ref) {
    return Result::bad_request("unknown service_id or plan_id for this service");
  }
  const PlanSettings& plan = *ref->plan;
  if (!plan.bindable.value_or(ref->service->bindable)) {
    return Result::unprocessable("the plan \"" + plan.name + "\" is not bindable");
  }
  if (std::string error = parameters_error(request.parameters, "bindings"); !error.empty()) {
    return Result::bad_request(error);
  }
  const InstanceNames names = InstanceNames::of(settings_.name_prefix, request.instance_id);
  const std::string user = names.binding_user(request.binding_id);
  return guarded("binding", [&] {
    const ServerSettings* server =
        fleet_.find(request.instance_state, request.plan_id, names.database);
    if (server == nullptr) {
      return Result::unprocessable("the database of this instance does not exist");
    }
    const std::string password = osb::plugins::random_password();
    AdminSession admin(driver_, *server, host_);
    const std::string account = admin.account(user, server->user_host);
    const std::string limit =
        " WITH MAX_USER_CONNECTIONS " + std::to_string(plan.max_user_connections);
    // A repeated or half-finished bind finds the user and gives it the new password.
    admin.exec_secret(
        "CREATE USER IF NOT EXISTS " + account + " IDENTIFIED BY " + admin.literal(password) +
            limit,
        "CREATE USER IF NOT EXISTS " + account + " IDENTIFIED BY '<redacted>'" + limit);
    admin.exec_secret("ALTER USER " + account + " IDENTIFIED BY " + admin.literal(password) + limit,
                      "ALTER USER " + account + " IDENTIFIED BY '<redacted>'" + limit);
    const std::string target = grant_target(names.database);
    admin.exec("GRANT ALL PRIVILEGES ON " + target + " TO " + account);
    const std::int64_t quota = plan.quota_mb * bytes_per_mb;
    if (quota > 0) {
      admin.fresh_statistics();
      if (database_size(admin, names.database) > quota) {
        admin.exec(std::string("REVOKE ") + quota_privileges + " ON " + target + " FROM " +
                   account);
      }
    }
    host_.info("bound " + request.binding_id + " to instance " + request.instance_id + " as user " +
               user + " on server " + server->name);
    return Result::ok(
        {{"credentials", osb::plugins::database_credentials("mysql", *server, names.database, user,
                                                            password, tls_options(*server))},
         {"binding_state",
          {{"server", server->name}, {"database", names.database}, {"username", user}}}});
  });
}

Result MysqlBackend::unbind(const osb::sdk::UnbindRequest& request) {
  const InstanceNames names = InstanceNames::of(settings_.name_prefix, request.instance_id);
  const std::string user = names.binding_user(request.binding_id);
  const nlohmann::json& state =
      osb::plugins::binding_location(request.binding_state, request.instance_state);
  return guarded("unbinding", [&] {
    for (const ServerSettings* server : fleet_.candidates(state, request.plan_id)) {
      AdminSession admin(driver_, *server, host_);
      const std::vector<Account> accounts = accounts_of(admin, user);
      for (const Account& account : accounts) {
        drop_account(admin, account);
      }
      if (!accounts.empty()) {
        host_.info("unbound " + request.binding_id + " from instance " + request.instance_id +
                   " (user " + user + " dropped on server " + server->name + ")");
        return Result::ok();
      }
    }
    host_.info("unbind of " + request.binding_id + ": user " + user + " did not exist");
    return Result::ok();
  });
}

Result MysqlBackend::usage(const osb::sdk::UsageRequest& request) {
  const InstanceNames names = InstanceNames::of(settings_.name_prefix, request.instance_id);
  const std::string plan_id =
      osb::plugins::given_or_state(request.plan_id, request.instance_state, "plan_id");
  const std::optional<PlanRef> ref = settings_.plan(plan_id);
  return guarded("reading the usage", [&] {
    const ServerSettings* server = fleet_.find(request.instance_state, plan_id, names.database);
    if (server == nullptr) {
      return Result::ok();  // nothing to tell about an instance that does not exist
    }
    AdminSession admin(driver_, *server, host_);
    admin.fresh_statistics();
    const std::int64_t size = database_size(admin, names.database);
    const std::int64_t quota_mb = ref ? ref->plan->quota_mb : 0;
    return Result::ok(osb::plugins::storage_usage(
        size, quota_mb,
        "read-only for its bindings (no INSERT, UPDATE or CREATE) until it is back under"));
  });
}

}  // namespace osbd_mysql
