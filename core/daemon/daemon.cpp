#include "daemon/daemon.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <exception>
#include <functional>
#include <thread>

#include <unistd.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

#include "api/lifecycle_util.hpp"
#include "api/replicas.hpp"
#include "log/log.hpp"
#include "version.hpp"

namespace osbd::daemon {

namespace net = boost::asio;

namespace {

http::IoContexts make_contexts(unsigned io_threads) {
  http::IoContexts contexts;
  for (unsigned i = 0; i < std::max(1u, io_threads); ++i) {
    contexts.push_back(std::make_unique<net::io_context>(1));
  }
  return contexts;
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) {
    return "localhost";
  }
  return name;
}

// state.replica_id, or this machine's name and the OSB port: stable across restarts, so that a
// restarted replica takes back its own unfinished operations at once.
std::string replica_id_of(const config::BrokerConfig& cfg) {
  if (!cfg.state.replica_id.empty()) {
    return cfg.state.replica_id;
  }
  return host_name() + ":" + std::to_string(cfg.listen.port);
}

net::ip::tcp::endpoint endpoint_of(const config::ListenAddress& listen) {
  return net::ip::tcp::endpoint(
      net::ip::make_address(listen.host == "localhost" ? std::string("127.0.0.1") : listen.host),
      listen.port);
}

}  // namespace

Daemon::Daemon(config::BrokerConfig cfg, std::shared_ptr<net::ssl::context> tls)
    : cfg_(std::move(cfg)),
      tls_(std::move(tls)),
      contexts_(make_contexts(cfg_.io_threads)),
      replica_id_(replica_id_of(cfg_)),
      started_at_ms_(api::detail::now_ms()),
      poll_timer_(*contexts_.front()) {}

Daemon::~Daemon() = default;

int Daemon::run(std::vector<plugin_host::PluginSharedPtr> plugins,
                std::shared_ptr<const catalog::Catalogs> catalogs) {
  if (const std::string problem = open_store(catalogs->registry()); !problem.empty()) {
    std::fprintf(stderr, "osbd: %s\n", problem.c_str());
    return kExitConfig;
  }
  const std::size_t plugin_count = plugins.size();
  const std::size_t catalog_count = catalogs->views().size();
  start_services(std::move(plugins), std::move(catalogs));
  start_listeners(plugin_count, catalog_count);
  watch_signals();
  schedule_poll();
  run_io();
  usage_sampler_.reset();
  workers_->join();
  reloader_->stop();
  heartbeat_.reset();
  log::info("stopped");
  return 0;
}

std::string Daemon::open_store(const catalog::Registry& registry) {
  store_ = connect_store();
  // Instances whose plugin is gone would be dropped without a word: refuse to start instead.
  return reload::check_live_instances(*store_, registry, cfg_.plugin_dir);
}

std::unique_ptr<state::Store> Daemon::connect_store() const {
  if (cfg_.state.backend != config::StateBackend::postgresql) {
    return config::open_store(cfg_);
  }
  auto delay = std::chrono::seconds(1);
  for (;;) {
    try {
      return config::open_store(cfg_);
    } catch (const state::StoreError& e) {
      // A replica may start before its database: it waits (SIGTERM still stops it), and serves
      // nothing until it connects, so that a load balancer's health check keeps it out.
      log::warn("state store unreachable at start-up; retrying",
                {{"error", e.what()}, {"retry_in_seconds", delay.count()}});
      std::this_thread::sleep_for(delay);
      delay = std::min(delay * 2, std::chrono::seconds(15));
    }
  }
}

state::ReplicaRecord Daemon::describe_replica(const catalog::Catalogs& catalogs) const {
  state::ReplicaRecord self;
  self.id = replica_id_;
  self.host = host_name();
  self.version = kVersion;
  self.listen = cfg_.listen.host + ":" + std::to_string(cfg_.listen.port);
  for (const auto& plugin : catalogs.registry().plugins()) {
    self.plugins.push_back({{"name", plugin->name()}, {"version", plugin->version()}});
  }
  self.catalog_fingerprint = api::catalog_fingerprint(catalogs);
  self.started_at_ms = started_at_ms_;
  return self;
}

void Daemon::start_services(std::vector<plugin_host::PluginSharedPtr> plugins,
                            std::shared_ptr<const catalog::Catalogs> catalogs) {
  workers_.emplace(cfg_.worker_threads);
  const auto lease = std::chrono::seconds(cfg_.state.lease_seconds);
  lifecycle_.emplace(
      *store_, catalogs->registry_ptr(),
      api::LifecycleOptions{cfg_.accept_context_only, replica_id_,
                            std::chrono::duration_cast<std::chrono::milliseconds>(lease).count(),
                            cfg_.state.backend == config::StateBackend::postgresql},
      [this](std::function<void()> fn) { net::post(*workers_, std::move(fn)); });
  for (const auto& warning : catalogs->warnings()) {
    log::warn("catalog selection", {{"warning", warning}});
  }
  api::BrokerOptions options;
  options.admin = cfg_.admin;
  options.separate_operator_listener = cfg_.admin_listen.has_value();
  broker_.emplace(options, *lifecycle_, std::move(catalogs), *workers_);
  // Heartbeats first: recovery then leaves alone what live replicas own, and takes the rest.
  heartbeat_.emplace(
      *store_, [this] { return describe_replica(*broker_->catalogs()); },
      std::chrono::duration_cast<std::chrono::milliseconds>(lease) / 3, lease);
  if (const int failed = lifecycle_->recover(); failed > 0) {
    log::warn("recovered after an interrupted run", {{"failed_operations", failed}});
  }
  // Plugins dropped in (or removed) and, on SIGHUP, the catalogs of the configuration file.
  reloader_.emplace(cfg_, std::move(plugins), *store_,
                    [this](std::shared_ptr<const catalog::Catalogs> fresh) {
                      lifecycle_->set_registry(fresh->registry_ptr());
                      broker_->set_catalogs(std::move(fresh));
                    });
  reloader_->start();
  usage_sampler_.emplace(*store_, *lifecycle_, cfg_.usage,
                         cfg_.state.backend == config::StateBackend::postgresql);
  usage_sampler_->start();
}

http::ServerOptions Daemon::server_options() const {
  http::ServerOptions options;
  options.max_body_bytes = cfg_.max_body_bytes;
  options.max_connections = cfg_.max_connections;
  options.max_body_bytes_in_flight = cfg_.max_body_bytes_in_flight;
  options.timeout = std::chrono::seconds(cfg_.request_timeout_seconds);
  options.tls = tls_;
  return options;
}

std::shared_ptr<http::Server> Daemon::listen(const config::ListenAddress& address,
                                             http::Handler& handler) {
  auto server =
      std::make_shared<http::Server>(contexts_, endpoint_of(address), handler, server_options());
  server->start();
  return server;
}

void Daemon::start_listeners(std::size_t plugin_count, std::size_t catalog_count) {
  // The operator's listener (same TLS settings), logged before "listening" so that whoever
  // waits for that line finds both.
  if (cfg_.admin_listen) {
    admin_server_ = listen(*cfg_.admin_listen, broker_->operator_handler());
    const auto admin_bound = admin_server_->local_endpoint();
    log::info("admin listening", {{"address", admin_bound.address().to_string()},
                                  {"port", admin_bound.port()},
                                  {"tls", tls_ != nullptr}});
  }
  server_ = listen(cfg_.listen, *broker_);
  const auto bound = server_->local_endpoint();
  log::info("listening", {{"address", bound.address().to_string()},
                          {"port", bound.port()},
                          {"tls", tls_ != nullptr},
                          {"data_dir", cfg_.data_dir},
                          {"plugins", plugin_count},
                          {"catalogs", catalog_count}});
}

void Daemon::watch_signals() {
  for (auto& context : contexts_) {
    guards_.push_back(net::make_work_guard(*context));
  }
  stop_signals_.emplace(first_context(), SIGINT, SIGTERM);
  hangup_.emplace(first_context(), SIGHUP);
  wait_stop_signal();
  wait_hangup();
}

void Daemon::wait_stop_signal() {
  stop_signals_->async_wait([this](const boost::system::error_code& ec, int signo) {
    if (!ec) {
      begin_shutdown(signo);
    }
  });
}

void Daemon::wait_hangup() {
  hangup_->async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) {
      return;
    }
    log::info("SIGHUP: rereading the configuration and rescanning the plugin directory");
    reloader_->trigger(true);
    wait_hangup();
  });
}

// Acknowledged asynchronous operations advance even when no platform polls.
void Daemon::schedule_poll() {
  poll_timer_.expires_after(std::chrono::milliseconds(cfg_.poll_interval_ms));
  poll_timer_.async_wait([this](const boost::system::error_code& ec) { on_poll_timer(ec); });
}

void Daemon::on_poll_timer(const boost::system::error_code& ec) {
  if (ec || server_->stopping()) {
    return;
  }
  // One sweep at a time, on the worker pool like every other store and plugin call.
  if (!sweeping_.exchange(true)) {
    net::post(*workers_, [this] { sweep(); });
  }
  schedule_poll();
}

void Daemon::sweep() {
  // Operations whose final write failed are settled once the store writes again.
  try {
    lifecycle_->poll_unfinished();
  } catch (const std::exception& e) {
    if (uint64_t suppressed = 0; sweep_errors_.allow(suppressed)) {
      log::error("polling operations failed", {{"error", e.what()}, {"suppressed", suppressed}});
    }
  }
  sweeping_ = false;
}

// Stops accepting, lets in-flight requests finish, then leaves the I/O threads' run().
void Daemon::begin_shutdown(int signo) {
  log::info("stopping", {{"signal", signo}, {"bound_seconds", cfg_.shutdown_timeout_seconds}});
  exit_watchdog_.arm(std::chrono::seconds(cfg_.shutdown_timeout_seconds));
  hangup_->cancel();
  poll_timer_.cancel();
  std::vector<std::shared_ptr<http::Server>> servers = {server_};
  if (admin_server_) {
    servers.push_back(admin_server_);
  }
  draining_ = static_cast<int>(servers.size());
  for (const auto& server : servers) {
    server->stop();
    // The last connection may close on any I/O thread: the count is kept on the first one.
    server->on_drained([this] { net::post(first_context(), [this] { server_drained(); }); });
  }
}

void Daemon::server_drained() {
  if (--draining_ == 0) {
    stop_contexts();
  }
}

void Daemon::stop_contexts() {
  for (auto& guard : guards_) {
    guard.reset();
  }
  for (auto& context : contexts_) {
    context->stop();
  }
}

void Daemon::run_io() {
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < contexts_.size(); ++i) {
    threads.emplace_back([&context = *contexts_[i]] { context.run(); });
  }
  first_context().run();
  for (auto& t : threads) {
    t.join();
  }
}

}  // namespace osbd::daemon
