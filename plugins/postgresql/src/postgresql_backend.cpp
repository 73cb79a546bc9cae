#include "postgresql_backend.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include <osb/plugins/config.hpp>
#include <osb/plugins/guarded.hpp>
#include <osb/plugins/secrets.hpp>
#include <osb/plugins/usage.hpp>
#include <osb/sdk/result.hpp>

#include "admin_session.hpp"
#include "catalog.hpp"
#include "credentials.hpp"
#include "secrets.hpp"
#include "sql_steps.hpp"

namespace osbd_postgresql {

using osb::sdk::Result;

namespace {

std::vector<std::string> strings_in(const nlohmann::json& state, const char* key) {
  std::vector<std::string> out;
  if (state.is_object() && state.contains(key) && state[key].is_array()) {
    for (const nlohmann::json& item : state[key]) {
      if (item.is_string()) {
        out.push_back(item.get<std::string>());
      }
    }
  }
  return out;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

nlohmann::json instance_state(const ServerSettings& server, const InstanceNames& names,
                              const PlanSettings& plan,
                              const std::vector<std::string>& extensions) {
  return {{"server", server.name},
          {"database", names.database},
          {"plan_id", plan.id},
          {"extensions", extensions}};
}

}  // namespace

PostgresqlBackend::PostgresqlBackend(const nlohmann::json& config, osb::sdk::Host& host)
    : settings_(Settings::from_json(config)),
      host_(host),
      fleet_(settings_, host_,
             [this](const ServerSettings& server, const std::string& database, bool count) {
               return census(server, database, count);
             }) {
  host_.info(settings_.summary());
  if (!settings_.servers.empty()) {
    quota_monitor_ = std::make_unique<QuotaMonitor>(settings_, host_);
  }
}

PostgresqlBackend::~PostgresqlBackend() = default;

nlohmann::json PostgresqlBackend::catalog() {
  return make_catalog(settings_);
}

template <typename F>
Result PostgresqlBackend::guarded(const std::string& what, F&& body) {
  return osb::plugins::guarded<DatabaseError>(host_, what, std::forward<F>(body));
}

osb::plugins::ServerLoad PostgresqlBackend::census(const ServerSettings& server,
                                                   const std::string& database, bool count) const {
  AdminSession session(server, server.maintenance_database, host_);
  if (database_exists(session, database)) {
    return {true, 0};
  }
  return {false, count ? count_databases(session, database_pattern(settings_.name_prefix)) : 0};
}

void PostgresqlBackend::create_database(const ServerSettings& server, const InstanceNames& names,
                                        const PlanSettings& plan,
                                        const std::vector<std::string>& extensions) const {
  {
    AdminSession admin(server, server.maintenance_database, host_);
    const std::string owner = admin.name(names.owner);
    const std::string database = admin.name(names.database);
    if (!role_exists(admin, names.owner)) {
      admin.exec_ignoring("CREATE ROLE " + owner + " NOLOGIN", sqlstate_duplicate_object);
    }
    admin.exec("COMMENT ON ROLE " + owner + " IS " +
               admin.literal(owner_role_comment(plan).dump()));
    const std::string limit = std::to_string(plan.connection_limit);
    if (!database_exists(admin, names.database)) {
      admin.exec_ignoring(
          "CREATE DATABASE " + database + " OWNER " + owner + " CONNECTION LIMIT " + limit,
          sqlstate_duplicate_database);
    }
    admin.exec("ALTER DATABASE " + database + " CONNECTION LIMIT " + limit);
    // Only members of the owner role (the bindings) and superusers may connect.
    admin.exec("REVOKE ALL ON DATABASE " + database + " FROM PUBLIC");
  }
  if (!extensions.empty()) {
    AdminSession inside(server, names.database, host_);
    for (const std::string& extension : extensions) {
      inside.exec("CREATE EXTENSION IF NOT EXISTS " + inside.name(extension));
    }
  }
}

Result PostgresqlBackend::provision(const osb::sdk::ProvisionRequest& request) {
  const std::optional<PlanRef> ref = settings_.plan(request.plan_id, request.service_id);
  if (!ref) {
    return Result::bad_request("unknown service_id or plan_id for this service");
  }
  const InstanceParameters parameters = read_instance_parameters(request.parameters, *ref->plan);
  if (!parameters.error.empty()) {
    return Result::bad_request(parameters.error);
  }
  const InstanceNames names = InstanceNames::of(settings_.name_prefix, request.instance_id);
  return guarded("provisioning", [&] {
    const ServerSettings* server = fleet_.place(*ref->plan, names.database);
    if (server == nullptr) {
      return Result::backend_error("no server of the plan is available");
    }
    host_.info("provisioning instance " + request.instance_id + " as database " + names.database +
               " on server " + server->name);
    create_database(*server, names, *ref->plan, parameters.extensions);
    return Result::ok(
        {{"instance_state", instance_state(*server, names, *ref->plan, parameters.extensions)}});
  });
}

void PostgresqlBackend::remove_instance(const ServerSettings& server,
                                        const InstanceNames& names) const {
  AdminSession admin(server, server.maintenance_database, host_);
  const std::vector<std::string> bindings = roles_matching(admin, names.binding_role_pattern());
  for (const std::string& role : bindings) {
    admin.exec("ALTER ROLE " + admin.name(role) + " NOLOGIN");
  }
  // WITH (FORCE) ends the sessions still connected to the database.
  admin.exec("DROP DATABASE IF EXISTS " + admin.name(names.database) + " WITH (FORCE)");
  const std::string pattern = database_pattern(settings_.name_prefix);
  for (const std::string& role : bindings) {
    terminate_sessions(admin, role);  // sessions in other databases, e.g. the maintenance one
    drop_role(admin, role, pattern, host_);
  }
  drop_role(admin, names.owner, pattern, host_);
}

Result PostgresqlBackend::deprovision(const osb::sdk::DeprovisionRequest& request) {
  const InstanceNames names = InstanceNames::of(settings_.name_prefix, request.instance_id);
  return guarded("deprovisioning", [&] {
    for (const ServerSettings* server :
         fleet_.candidates(request.instance_state, request.plan_id)) {
      remove_instance(*server, names);
    }
    host_.info("deprovisioned instance " + request.instance_id + " (database " + names.database +
               ")");
    return Result::ok();
  });
}

Result PostgresqlBackend::update(const osb::sdk::UpdateRequest& request) {
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
  const InstanceParameters parameters = read_instance_parameters(request.parameters, plan);
  if (!parameters.error.empty()) {
    return Result::bad_request(parameters.error);
  }
  std::vector<std::string> extensions = strings_in(request.instance_state, "extensions");
  for (const std::string& extension : extensions) {
    if (!contains(plan.extensions, extension)) {
      return Result::unprocessable("the instance uses the extension \"" + extension +
                                   "\", which the plan \"" + plan.name + "\" does not allow");
    }
  }
  for (const std::string& extension : parameters.extensions) {
    if (!contains(extensions, extension)) {
      extensions.push_back(extension);
    }
  }
  const InstanceNames names = InstanceNames::of(settings_.name_prefix, request.instance_id);
  return guarded("updating", [&] {
    const ServerSettings* server =
        fleet_.find(request.instance_state, previous_plan_id, names.database);
    if (server == nullptr) {
      return Result::unprocessable("the database of this instance does not exist");
    }
    if (!contains(plan.servers, server->name)) {
      return Result::unprocessable("the plan \"" + plan.name + "\" does not use the server \"" +
                                   server->name +
                                   "\" that holds this instance; moving is not supported");
    }
    create_database(*server, names, plan, parameters.extensions);
    host_.info("updated instance " + request.instance_id + " to plan " + plan.name);
    if (quota_monitor_) {
      quota_monitor_->wake();
    }
    return Result::ok({{"instance_state", instance_state(*server, names, plan, extensions)}});
  });
}

Result PostgresqlBackend::bind(const osb::sdk::BindRequest& request) {
  const std::optional<PlanRef> ref = settings_.plan(request.plan_id, request.service_id);
  if (!ref) {
    return Result::bad_request("unknown service_id or plan_id for this service");
  }
  if (!ref->plan->bindable.value_or(ref->service->bindable)) {
    return Result::unprocessable("the plan \"" + ref->plan->name + "\" is not bindable");
  }
  if (!request.parameters.empty()) {
    return Result::bad_request("bindings of this service take no parameters");
  }
  const InstanceNames names = InstanceNames::of(settings_.name_prefix, request.instance_id);
  const std::string role = names.binding_role(request.binding_id);
  return guarded("binding", [&] {
    const ServerSettings* server =
        fleet_.find(request.instance_state, request.plan_id, names.database);
    if (server == nullptr) {
      return Result::unprocessable("the database of this instance does not exist");
    }
    const std::string password = osb::plugins::random_password();
    AdminSession admin(*server, server->maintenance_database, host_);
    const std::string quoted = admin.name(role);
    const std::string secret = admin.literal(scram_sha256_verifier(password));
    const std::string attributes =
        " LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ";
    const std::string alter = "ALTER ROLE " + quoted + " WITH" + attributes;
    bool created = false;
    if (!role_exists(admin, role)) {
      try {
        admin.exec_secret("CREATE ROLE " + quoted + attributes + secret,
                          "CREATE ROLE " + quoted + attributes + "'<redacted>'");
        created = true;
      } catch (const DatabaseError& e) {
        if (e.sqlstate() != sqlstate_duplicate_object) {
          throw;
        }
      }
    }
    if (!created) {
      // A repeated or half-finished bind: the role gets a new password.
      admin.exec_secret(alter + secret, alter + "'<redacted>'");
    }
    admin.exec("GRANT " + admin.name(names.owner) + " TO " + quoted);
    // Sessions act as the owner role, so that every object belongs to the instance and every
    // binding of it can use it.
    admin.exec("ALTER ROLE " + quoted + " IN DATABASE " + admin.name(names.database) +
               " SET role = " + admin.literal(names.owner));
    host_.info("bound " + request.binding_id + " to instance " + request.instance_id + " as role " +
               role + " on server " + server->name);
    return Result::ok(
        {{"credentials", make_credentials(*server, names.database, role, password)},
         {"binding_state",
          {{"server", server->name}, {"database", names.database}, {"username", role}}}});
  });
}

bool PostgresqlBackend::remove_binding(const ServerSettings& server, const InstanceNames& names,
                                       const std::string& role) const {
  AdminSession admin(server, server.maintenance_database, host_);
  if (!role_exists(admin, role)) {
    return false;
  }
  const std::string quoted = admin.name(role);
  admin.exec("ALTER ROLE " + quoted + " NOLOGIN");
  terminate_sessions(admin, role);
  if (database_exists(admin, names.database)) {
    AdminSession inside(server, names.database, host_);
    if (role_exists(inside, names.owner)) {
      inside.exec("REASSIGN OWNED BY " + inside.name(role) + " TO " + inside.name(names.owner));
    }
    inside.exec("DROP OWNED BY " + inside.name(role));
  }
  drop_role(admin, role, database_pattern(settings_.name_prefix), host_);
  return true;
}

Result PostgresqlBackend::unbind(const osb::sdk::UnbindRequest& request) {
  const InstanceNames names = InstanceNames::of(settings_.name_prefix, request.instance_id);
  const std::string role = names.binding_role(request.binding_id);
  const nlohmann::json& state =
      osb::plugins::binding_location(request.binding_state, request.instance_state);
  return guarded("unbinding", [&] {
    for (const ServerSettings* server : fleet_.candidates(state, request.plan_id)) {
      if (remove_binding(*server, names, role)) {
        host_.info("unbound " + request.binding_id + " from instance " + request.instance_id +
                   " (role " + role + " dropped on server " + server->name + ")");
        return Result::ok();
      }
    }
    host_.info("unbind of " + request.binding_id + ": role " + role + " did not exist");
    return Result::ok();
  });
}

Result PostgresqlBackend::usage(const osb::sdk::UsageRequest& request) {
  const InstanceNames names = InstanceNames::of(settings_.name_prefix, request.instance_id);
  const std::string plan_id =
      osb::plugins::given_or_state(request.plan_id, request.instance_state, "plan_id");
  const std::optional<PlanRef> ref = settings_.plan(plan_id);
  return guarded("reading the usage", [&] {
    const ServerSettings* server = fleet_.find(request.instance_state, plan_id, names.database);
    if (server == nullptr) {
      return Result::ok();  // nothing to tell about an instance that does not exist
    }
    AdminSession admin(*server, server->maintenance_database, host_);
    const pqxx::result rows = admin.query(
        "SELECT pg_database_size(oid) FROM pg_database WHERE datname = $1", names.database);
    if (rows.empty()) {
      return Result::ok();  // dropped meanwhile
    }
    const auto size = rows[0][0].as<std::int64_t>();
    const std::int64_t quota_mb = ref ? ref->plan->quota_mb : 0;
    return Result::ok(osb::plugins::storage_usage(
        size, quota_mb, "read-only for its bindings until it is back under"));
  });
}

}  // namespace osbd_postgresql
