#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "api/broker.hpp"
#include "api/lifecycle.hpp"
#include "catalog/catalogs.hpp"
#include "config/config.hpp"
#include "daemon/exit_watchdog.hpp"
#include "daemon/heartbeat.hpp"
#include "daemon/usage_sampler.hpp"
#include "http/server.hpp"
#include "plugin_host/plugin.hpp"
#include "reload/reloader.hpp"
#include "state/store.hpp"
#include "util/rate_limit.hpp"

namespace osbd::daemon {

/// Exit code of a configuration osbd cannot serve (EX_CONFIG).
inline constexpr int kExitConfig = 78;

/// The serving broker: the state store, the worker pool, the OSB (and operator) listeners on
/// their I/O threads, the plugin reloader, the sweep of unfinished operations, and the signals.
///
/// SIGINT or SIGTERM stops accepting and closes idle connections; osbd stops once the last
/// busy connection has sent its reply. SIGHUP rereads the configuration file and rescans the
/// plugin directory. Every timer and signal handler runs on the first I/O thread.
class Daemon {
 public:
  /// cfg is the running configuration (after command-line overrides); tls is null for plain
  /// HTTP.
  Daemon(config::BrokerConfig cfg, std::shared_ptr<boost::asio::ssl::context> tls);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  /// Serves with the plugins and catalogs loaded at start-up until a stop signal; returns the
  /// exit code. It takes them: once a reload replaces them, nothing here keeps them loaded.
  /// Throws on failures to start (a port in use, a broken store).
  int run(std::vector<plugin_host::PluginSharedPtr> plugins,
          std::shared_ptr<const catalog::Catalogs> catalogs);

 private:
  boost::asio::io_context& first_context() { return *contexts_.front(); }
  // Opens the store; a message when live instances have no plugin among these, else "".
  std::string open_store(const catalog::Registry& registry);
  // Opens the configured store; a PostgreSQL one is retried, with a log line, until it connects.
  std::unique_ptr<state::Store> connect_store() const;
  // This replica as its heartbeat describes it.
  state::ReplicaRecord describe_replica(const catalog::Catalogs& catalogs) const;
  void start_services(std::vector<plugin_host::PluginSharedPtr> plugins,
                      std::shared_ptr<const catalog::Catalogs> catalogs);
  http::ServerOptions server_options() const;
  std::shared_ptr<http::Server> listen(const config::ListenAddress& address,
                                       http::Handler& handler);
  void start_listeners(std::size_t plugin_count, std::size_t catalog_count);
  void watch_signals();
  void wait_stop_signal();
  void wait_hangup();
  void schedule_poll();
  void on_poll_timer(const boost::system::error_code& ec);
  void sweep();
  void begin_shutdown(int signo);
  void server_drained();
  void stop_contexts();
  void run_io();

  // First, so that it is destroyed last: the bound covers releasing the plugins too.
  ExitWatchdog exit_watchdog_;
  const config::BrokerConfig cfg_;
  const std::shared_ptr<boost::asio::ssl::context> tls_;
  std::unique_ptr<state::Store> store_;
  // Store and plugin calls run here, never on an I/O thread; requests waiting for a group
  // commit continue here too.
  std::optional<boost::asio::thread_pool> workers_;
  std::optional<api::Lifecycle> lifecycle_;
  // One event loop per I/O thread; the first also runs the signals and timers.
  http::IoContexts contexts_;
  std::optional<api::Broker> broker_;
  // This replica's row in the store; reset on a clean stop, before the store closes.
  std::optional<Heartbeat> heartbeat_;
  // Samples what instances use for the usage history; stopped before the plugins are released.
  std::optional<UsageSampler> usage_sampler_;
  const std::string replica_id_;  // state.replica_id, or host name and OSB port
  const int64_t started_at_ms_;
  std::optional<reload::Reloader> reloader_;
  std::shared_ptr<http::Server> admin_server_;  // null without admin_listen
  std::shared_ptr<http::Server> server_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guards_;
  std::optional<boost::asio::signal_set> stop_signals_;  // SIGINT, SIGTERM
  std::optional<boost::asio::signal_set> hangup_;        // SIGHUP
  boost::asio::steady_timer poll_timer_;
  std::atomic<bool> sweeping_{false};  // one sweep of unfinished operations at a time
  util::RateLimit sweep_errors_{std::chrono::seconds(10)};
  int draining_ = 0;  // listeners with connections still open after a stop signal
};

}  // namespace osbd::daemon
