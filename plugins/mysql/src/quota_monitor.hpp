#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <osb/plugins/periodic.hpp>
#include <osb/plugins/usage.hpp>
#include <osb/sdk/host.hpp>

#include "settings.hpp"
#include "sql_steps.hpp"

namespace sql {
class Driver;
}  // namespace sql

namespace osbd_mysql {

using osb::plugins::bytes_per_mb;

/// The storage quota in bytes of an instance recorded as record (0 = none): the quota of its
/// plan in settings, else the quota_mb recorded with it.
std::int64_t quota_bytes(const Settings& settings, const InstanceRecord& record);

/// The privileges a binding loses while its database is over quota.
inline constexpr const char* quota_privileges = "INSERT, UPDATE, CREATE";

/// Enforces storage quotas in the background. At start and then every quota_check_seconds (or
/// at once after wake()), for every server: the size of every database the plugin made (data
/// plus index length from information_schema.TABLES) is compared with its plan's quota; the
/// users of a database over quota lose INSERT, UPDATE and CREATE on it, and get them back once
/// it is under again. Users whose privileges change have their sessions ended, so that the
/// change applies at once. The state lives in the server (the grants), so the monitor picks up
/// where it was after a restart, and a binding created meanwhile is brought in line.
class QuotaMonitor {
 public:
  /// Starts the thread; settings, host and driver must outlive the monitor, which stops
  /// (waiting for a pass in progress) when destroyed.
  QuotaMonitor(const Settings& settings, const osb::sdk::Host& host, sql::Driver& driver);

  /// Starts a pass now instead of at the end of the interval (after a plan change).
  void wake() { task_.wake(); }

 private:
  void check_server(const ServerSettings& server);

  const Settings& settings_;
  const osb::sdk::Host& host_;
  sql::Driver& driver_;
  std::map<std::string, std::string> last_error_;  // per server; only the thread touches it
  osb::plugins::PeriodicTask task_;                // last: stops before the rest goes
};

}  // namespace osbd_mysql
