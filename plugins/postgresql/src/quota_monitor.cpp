#include "quota_monitor.hpp"

#include "admin_session.hpp"
#include "names.hpp"

namespace osbd_postgresql {

namespace {

constexpr std::int64_t bytes_per_mb = 1024 * 1024;

}  // namespace

nlohmann::json owner_role_comment(const PlanSettings& plan) {
  return {{"osbd", {{"plan_id", plan.id}, {"quota_mb", plan.quota_mb}}}};
}

std::int64_t quota_bytes(const Settings& settings, const std::string& comment) {
  const nlohmann::json parsed = nlohmann::json::parse(comment, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("osbd") || !parsed["osbd"].is_object()) {
    return 0;
  }
  const nlohmann::json& meta = parsed["osbd"];
  if (meta.contains("plan_id") && meta["plan_id"].is_string()) {
    if (auto plan = settings.plan(meta["plan_id"].get<std::string>())) {
      return plan->plan->quota_mb * bytes_per_mb;
    }
  }
  if (meta.contains("quota_mb") && meta["quota_mb"].is_number_integer()) {
    const std::int64_t mb = meta["quota_mb"].get<std::int64_t>();
    return mb > 0 && mb <= (std::int64_t{1} << 30) ? mb * bytes_per_mb : 0;
  }
  return 0;
}

QuotaMonitor::QuotaMonitor(const Settings& settings, const osb::sdk::Host& host)
    : settings_(settings), host_(host), task_(settings.quota_check_interval, [this] {
        for (const ServerSettings& server : settings_.servers) {
          check_server(server);
        }
      }) {}

void QuotaMonitor::check_server(const ServerSettings& server) {
  osb::plugins::logged_check<DatabaseError>(
      host_, "quota check", server.name, last_error_[server.name], [&] {
        AdminSession session(server, server.maintenance_database, host_);
        const pqxx::result rows = session.query(
            "SELECT d.datname, pg_database_size(d.oid), "
            "coalesce(shobj_description(r.oid, 'pg_authid'), ''), "
            "EXISTS (SELECT 1 FROM pg_db_role_setting s WHERE s.setdatabase = d.oid "
            "AND s.setrole = 0 AND 'default_transaction_read_only=on' = ANY (s.setconfig)) "
            "FROM pg_database d LEFT JOIN pg_roles r ON r.rolname = d.datname || '_owner' "
            "WHERE d.datname ~ $1",
            database_pattern(settings_.name_prefix));
        for (const pqxx::row& row : rows) {
          if (row[1].is_null()) {
            continue;  // dropped while the query ran: pg_database_size has nothing to say
          }
          const std::string database = row[0].as<std::string>();
          const auto size = row[1].as<std::int64_t>();
          const std::int64_t quota = quota_bytes(settings_, row[2].as<std::string>());
          const bool read_only = row[3].as<bool>();
          const bool over = quota > 0 && size > quota;
          if (over == read_only) {
            continue;
          }
          const std::string db = session.name(database);
          if (over) {
            session.exec("ALTER DATABASE " + db + " SET default_transaction_read_only = on");
            host_.warn("database " + database + " on server " + server.name + " uses " +
                       std::to_string(size) + " bytes, over its quota of " + std::to_string(quota) +
                       " bytes: it is read-only for its bindings until it is back under");
          } else {
            session.exec("ALTER DATABASE " + db + " RESET default_transaction_read_only");
            host_.info("database " + database + " on server " + server.name + " uses " +
                       std::to_string(size) + " bytes, within its quota of " +
                       std::to_string(quota) + " bytes: it is writable again");
          }
          // Sessions keep the default they started with; ending them makes the change apply now.
          session.query(
              "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
              "WHERE datname = $1 AND usename ~ $2 AND pid <> pg_backend_pid()",
              database, InstanceNames{database, database + "_owner"}.binding_role_pattern());
        }
      });
}

}  // namespace osbd_postgresql
