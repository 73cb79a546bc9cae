#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>
#include <osb/plugins/periodic.hpp>
#include <osb/sdk/host.hpp>

#include "settings.hpp"

namespace osbd_postgresql {

/// The comment the plugin puts on an instance's owner role: {"osbd": {"plan_id", "quota_mb"}}.
/// Only roles with CREATEROLE may change it, so bindings cannot raise their own quota.
nlohmann::json owner_role_comment(const PlanSettings& plan);

/// The storage quota in bytes of a database whose owner role carries comment (0 = none): the
/// quota of its plan in settings, else the quota_mb recorded in the comment.
std::int64_t quota_bytes(const Settings& settings, const std::string& comment);

/// Enforces storage quotas in the background. Every quota_check_seconds it reads
/// pg_database_size of every database the plugin made on every server; a database over its
/// plan's quota gets `ALTER DATABASE ... SET default_transaction_read_only = on` and its
/// bindings' sessions are ended, so that they reconnect read-only; once it is back under, the
/// setting is reset and the sessions are ended again. The state lives in the server, so the
/// monitor picks up where it was after a restart and re-applies a setting a binding removed.
class QuotaMonitor {
 public:
  /// Starts the thread; settings and host must outlive the monitor. Stopped (waiting for a pass
  /// in progress) when destroyed.
  QuotaMonitor(const Settings& settings, const osb::sdk::Host& host);

  /// Starts a pass now instead of at the end of the interval (after a plan change).
  void wake() { task_.wake(); }

 private:
  void check_server(const ServerSettings& server);

  const Settings& settings_;
  const osb::sdk::Host& host_;
  std::map<std::string, std::string> last_error_;  // per server; only the thread touches it
  osb::plugins::PeriodicTask task_;                // last: stops before the rest goes
};

}  // namespace osbd_postgresql
