// osbd: an Open Service Broker API v2.17 server whose service offerings come from plugins.

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "api/broker.hpp"
#include "api/lifecycle.hpp"
#include "catalog/catalogs.hpp"
#include "catalog/registry.hpp"
#include "config/config.hpp"
#include "http/server.hpp"
#include "http/tls.hpp"
#include "log/log.hpp"
#include "plugin_host/loader.hpp"
#include "reload/reloader.hpp"
#include "state/store.hpp"
#include "util/rate_limit.hpp"
#include "version.hpp"

namespace {

namespace net = boost::asio;

constexpr int kExitUsage = 64;
constexpr int kExitConfig = 78;

struct Args {
  std::string config;
  std::optional<std::string> listen;
  std::optional<std::string> data_dir;
  std::optional<std::string> plugin_dir;
  bool check_config = false;
};

void usage(std::FILE* out) {
  std::fprintf(
      out,
      "usage: osbd --config FILE [--listen HOST:PORT] [--data-dir DIR] [--plugin-dir DIR]\n"
      "            [--check-config]\n"
      "       osbd --version\n"
      "\n"
      "  --config FILE       YAML configuration (see config/osbd.yaml)\n"
      "  --listen HOST:PORT  overrides 'listen' (port 0 picks a free port)\n"
      "  --data-dir DIR      overrides 'data_dir' (state store location)\n"
      "  --plugin-dir DIR    overrides 'plugin_dir' (every *.so in it is loaded)\n"
      "  --check-config      load the config and every plugin, validate the catalog,\n"
      "                      print a summary and exit (non-zero with the reason)\n");
}

// Returns an exit code to stop with, or nullopt to go on.
std::optional<int> parse_args(int argc, char** argv, Args& args) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* name) -> std::optional<std::string> {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "osbd: %s needs a value\n", name);
        return std::nullopt;
      }
      return std::string(argv[++i]);
    };
    if (a == "--version") {
      std::printf("osbd %s (plugin ABI %d.%d, OSB API 2.13-2.17)\n", osbd::kVersion,
                  OSB_PLUGIN_ABI_VERSION_MAJOR, OSB_PLUGIN_ABI_VERSION_MINOR);
      return 0;
    }
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    }
    if (a == "--check-config") {
      args.check_config = true;
    } else if (a == "--config") {
      auto v = value("--config");
      if (!v) {
        return kExitUsage;
      }
      args.config = *v;
    } else if (a == "--listen") {
      args.listen = value("--listen");
      if (!args.listen) {
        return kExitUsage;
      }
    } else if (a == "--data-dir") {
      args.data_dir = value("--data-dir");
      if (!args.data_dir) {
        return kExitUsage;
      }
    } else if (a == "--plugin-dir") {
      args.plugin_dir = value("--plugin-dir");
      if (!args.plugin_dir) {
        return kExitUsage;
      }
    } else {
      std::fprintf(stderr, "osbd: unknown argument '%s'\n", a.c_str());
      usage(stderr);
      return kExitUsage;
    }
  }
  if (args.config.empty()) {
    std::fprintf(stderr, "osbd: --config FILE is required\n");
    usage(stderr);
    return kExitUsage;
  }
  return std::nullopt;
}

// Takes the plugins and catalogs: once a reload replaces them, nothing here keeps them loaded.
int serve(const osbd::config::BrokerConfig& cfg,
          std::vector<osbd::plugin_host::PluginSharedPtr> plugins,
          std::shared_ptr<const osbd::catalog::Catalogs> catalogs,
          const std::shared_ptr<net::ssl::context>& tls) {
  auto store = osbd::state::open_sqlite_store(
      cfg.data_dir, {cfg.credentials_key_file, cfg.credentials_previous_key_files});
  // Instances whose plugin is gone would be dropped without a word: refuse to start instead.
  if (const std::string problem =
          osbd::reload::check_live_instances(*store, catalogs->registry(), cfg.plugin_dir);
      !problem.empty()) {
    std::fprintf(stderr, "osbd: %s\n", problem.c_str());
    return kExitConfig;
  }
  // Store and plugin calls run here, never on an I/O thread; requests waiting for a group commit
  // continue here too.
  net::thread_pool workers(cfg.worker_threads);
  osbd::api::Lifecycle lifecycle(
      *store, catalogs->registry_ptr(), osbd::api::LifecycleOptions{cfg.accept_context_only},
      [&workers](std::function<void()> fn) { net::post(workers, std::move(fn)); });
  if (const int failed = lifecycle.recover(); failed > 0) {
    osbd::log::warn("recovered after an interrupted run", {{"failed_operations", failed}});
  }

  // One event loop per I/O thread; the first also runs the signals and timers below.
  osbd::http::IoContexts contexts;
  for (unsigned i = 0; i < std::max(1u, cfg.io_threads); ++i) {
    contexts.push_back(std::make_unique<net::io_context>(1));
  }
  net::io_context& ioc = *contexts.front();
  osbd::api::BrokerOptions options;
  options.admin = cfg.admin;
  options.separate_operator_listener = cfg.admin_listen.has_value();
  for (const auto& warning : catalogs->warnings()) {
    osbd::log::warn("catalog selection", {{"warning", warning}});
  }
  const std::size_t plugin_count = plugins.size();
  const std::size_t catalog_count = catalogs->views().size();
  osbd::api::Broker broker(options, lifecycle, std::move(catalogs), workers);

  // Plugins dropped in (or removed) and, on SIGHUP, the catalogs of the configuration file.
  osbd::reload::Reloader reloader(cfg, std::move(plugins), *store,
                                  [&](std::shared_ptr<const osbd::catalog::Catalogs> fresh) {
                                    lifecycle.set_registry(fresh->registry_ptr());
                                    broker.set_catalogs(std::move(fresh));
                                  });
  reloader.start();

  osbd::http::ServerOptions server_options;
  server_options.max_body_bytes = cfg.max_body_bytes;
  server_options.max_connections = cfg.max_connections;
  server_options.max_body_bytes_in_flight = cfg.max_body_bytes_in_flight;
  server_options.timeout = std::chrono::seconds(cfg.request_timeout_seconds);
  server_options.tls = tls;
  const auto endpoint_of = [](const osbd::config::ListenAddress& listen) {
    return net::ip::tcp::endpoint(
        net::ip::make_address(listen.host == "localhost" ? std::string("127.0.0.1") : listen.host),
        listen.port);
  };
  // The operator's listener (same TLS settings), logged before "listening" so that whoever waits
  // for that line finds both.
  std::shared_ptr<osbd::http::Server> admin_server;
  if (cfg.admin_listen) {
    admin_server = std::make_shared<osbd::http::Server>(contexts, endpoint_of(*cfg.admin_listen),
                                                        broker.operator_handler(), server_options);
    admin_server->start();
    const auto admin_bound = admin_server->local_endpoint();
    osbd::log::info("admin listening", {{"address", admin_bound.address().to_string()},
                                        {"port", admin_bound.port()},
                                        {"tls", tls != nullptr}});
  }
  auto server = std::make_shared<osbd::http::Server>(contexts, endpoint_of(cfg.listen), broker,
                                                     server_options);
  server->start();
  const auto bound = server->local_endpoint();
  osbd::log::info("listening", {{"address", bound.address().to_string()},
                                {"port", bound.port()},
                                {"tls", tls != nullptr},
                                {"data_dir", cfg.data_dir},
                                {"plugins", plugin_count},
                                {"catalogs", catalog_count}});

  // Stop accepting on SIGINT/SIGTERM, let in-flight requests finish, then leave run().
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  for (auto& context : contexts) {
    guards.push_back(net::make_work_guard(*context));
  }
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  net::steady_timer drain_timer(ioc);
  std::function<void()> wait_drained = [&] {
    if (server->open_sessions() == 0 && (!admin_server || admin_server->open_sessions() == 0)) {
      for (auto& guard : guards) {
        guard.reset();
      }
      for (auto& context : contexts) {
        context->stop();
      }
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(20));
    drain_timer.async_wait([&](const boost::system::error_code&) { wait_drained(); });
  };
  // Acknowledged asynchronous operations advance even when no platform polls; one sweep at a
  // time, on the worker pool like every other store and plugin call.
  std::atomic<bool> sweeping{false};
  osbd::util::RateLimit sweep_errors(std::chrono::seconds(10));
  net::steady_timer poll_timer(ioc);
  std::function<void()> schedule_poll = [&] {
    poll_timer.expires_after(std::chrono::milliseconds(cfg.poll_interval_ms));
    poll_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec || server->stopping()) {
        return;
      }
      if (!sweeping.exchange(true)) {
        net::post(workers, [&] {
          // Operations whose final write failed are settled once the store writes again.
          try {
            lifecycle.poll_unfinished();
          } catch (const std::exception& e) {
            if (uint64_t suppressed = 0; sweep_errors.allow(suppressed)) {
              osbd::log::error("polling operations failed",
                               {{"error", e.what()}, {"suppressed", suppressed}});
            }
          }
          sweeping = false;
        });
      }
      schedule_poll();
    });
  };
  schedule_poll();

  net::signal_set hangup(ioc, SIGHUP);
  std::function<void()> wait_hangup = [&] {
    hangup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) {
        return;
      }
      osbd::log::info("SIGHUP: rereading the configuration and rescanning the plugin directory");
      reloader.trigger(true);
      wait_hangup();
    });
  };
  wait_hangup();

  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) {
      return;
    }
    osbd::log::info("stopping", {{"signal", signo}});
    hangup.cancel();
    server->stop();
    if (admin_server) {
      admin_server->stop();
    }
    poll_timer.cancel();
    wait_drained();
  });

  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < contexts.size(); ++i) {
    threads.emplace_back([&context = *contexts[i]] { context.run(); });
  }
  ioc.run();
  for (auto& t : threads) {
    t.join();
  }
  workers.join();
  reloader.stop();
  osbd::log::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (auto code = parse_args(argc, argv, args)) {
    return *code;
  }
  osbd::config::BrokerConfig cfg;
  try {
    cfg = osbd::config::load_file(args.config);
    if (args.listen) {
      cfg.listen = osbd::config::parse_listen(*args.listen, "--listen");
    }
    if (args.data_dir) {
      cfg.data_dir = *args.data_dir;
    }
    if (args.plugin_dir) {
      cfg.plugin_dir = *args.plugin_dir;
    }
  } catch (const osbd::config::ConfigError& e) {
    std::fprintf(stderr, "osbd: %s\n", e.what());
    return kExitConfig;
  }
  osbd::log::set_min_level(cfg.log_level);

  // Certificates are checked before anything else starts, so that a broken or expired one
  // stops osbd (and --check-config) with the file's name.
  std::shared_ptr<net::ssl::context> tls;
  if (cfg.tls) {
    try {
      tls = osbd::http::make_server_tls(*cfg.tls);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "osbd: %s: %s\n", cfg.source.c_str(), e.what());
      return kExitConfig;
    }
  }

  std::vector<osbd::plugin_host::PluginSharedPtr> plugins;
  std::shared_ptr<const osbd::catalog::Catalogs> catalogs;
  try {
    plugins = osbd::plugin_host::load_plugin_dir(cfg.plugin_dir, cfg.plugins);
    catalogs =
        osbd::catalog::Catalogs::build(osbd::catalog::Registry::build(plugins), cfg.catalogs);
  } catch (const std::exception& e) {
    // Plugin and catalog errors already name the file, the symbol or field and the versions.
    std::fprintf(stderr, "osbd: %s\n", e.what());
    return kExitConfig;
  }
  if (args.check_config) {
    std::printf("osbd: configuration %s is valid: %zu plugin(s), %zu catalog(s)\n",
                args.config.c_str(), plugins.size(), catalogs->views().size());
    for (const auto& p : plugins) {
      std::printf("  %s %s (%s, ABI %s) from %s\n", p->name().c_str(), p->version().c_str(),
                  p->vendor().c_str(), p->abi_version().c_str(), p->file().c_str());
    }
    for (const auto& warning : catalogs->warnings()) {
      std::printf("  warning: %s\n", warning.c_str());
    }
    return 0;
  }
  try {
    return serve(cfg, std::move(plugins), std::move(catalogs), tls);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "osbd: %s\n", e.what());
    return 1;
  }
}
