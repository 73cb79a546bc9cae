#include "daemon/daemon.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <exception>
#include <functional>
#include <thread>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

#include "log/log.hpp"

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
  workers_->join();
  reloader_->stop();
  log::info("stopped");
  return 0;
}

std::string Daemon::open_store(const catalog::Registry& registry) {
  store_ = state::open_sqlite_store(
      cfg_.data_dir, {cfg_.credentials_key_file, cfg_.credentials_previous_key_files});
  // Instances whose plugin is gone would be dropped without a word: refuse to start instead.
  return reload::check_live_instances(*store_, registry, cfg_.plugin_dir);
}

void Daemon::start_services(std::vector<plugin_host::PluginSharedPtr> plugins,
                            std::shared_ptr<const catalog::Catalogs> catalogs) {
  workers_.emplace(cfg_.worker_threads);
  lifecycle_.emplace(*store_, catalogs->registry_ptr(),
                     api::LifecycleOptions{cfg_.accept_context_only},
                     [this](std::function<void()> fn) { net::post(*workers_, std::move(fn)); });
  if (const int failed = lifecycle_->recover(); failed > 0) {
    log::warn("recovered after an interrupted run", {{"failed_operations", failed}});
  }
  for (const auto& warning : catalogs->warnings()) {
    log::warn("catalog selection", {{"warning", warning}});
  }
  api::BrokerOptions options;
  options.admin = cfg_.admin;
  options.separate_operator_listener = cfg_.admin_listen.has_value();
  broker_.emplace(options, *lifecycle_, std::move(catalogs), *workers_);
  // Plugins dropped in (or removed) and, on SIGHUP, the catalogs of the configuration file.
  reloader_.emplace(cfg_, std::move(plugins), *store_,
                    [this](std::shared_ptr<const catalog::Catalogs> fresh) {
                      lifecycle_->set_registry(fresh->registry_ptr());
                      broker_->set_catalogs(std::move(fresh));
                    });
  reloader_->start();
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
