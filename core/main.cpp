// osbd: an Open Service Broker API v2.17 server whose service offerings come from plugins.

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include <boost/asio/ssl/context.hpp>

#include "catalog/catalogs.hpp"
#include "catalog/registry.hpp"
#include "config/config.hpp"
#include "daemon/daemon.hpp"
#include "http/tls.hpp"
#include "log/log.hpp"
#include "plugin_host/loader.hpp"
#include "state/copy.hpp"
#include "version.hpp"

namespace {

namespace net = boost::asio;

constexpr int kExitUsage = 64;
constexpr int kExitConfig = osbd::daemon::kExitConfig;

struct Args {
  std::string config;
  std::optional<std::string> listen;
  std::optional<std::string> data_dir;
  std::optional<std::string> plugin_dir;
  bool check_config = false;
  std::optional<std::string> migrate_from;  // --migrate-state --from sqlite:DIR
  bool migrate_state = false;
};

void usage(std::FILE* out) {
  std::fprintf(
      out,
      "usage: osbd --config FILE [--listen HOST:PORT] [--data-dir DIR] [--plugin-dir DIR]\n"
      "            [--check-config]\n"
      "       osbd --config FILE --migrate-state --from sqlite:DIR\n"
      "       osbd --version\n"
      "\n"
      "  --config FILE       YAML configuration (see config/osbd.yaml)\n"
      "  --listen HOST:PORT  overrides 'listen' (port 0 picks a free port)\n"
      "  --data-dir DIR      overrides 'data_dir' (state store location)\n"
      "  --plugin-dir DIR    overrides 'plugin_dir' (every *.so in it is loaded)\n"
      "  --migrate-state     copy the SQLite store in DIR into the config's (empty)\n"
      "                      PostgreSQL store, verify the counts and exit\n"
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
    if (a == "--migrate-state") {
      args.migrate_state = true;
    } else if (a == "--from") {
      args.migrate_from = value("--from");
      if (!args.migrate_from) {
        return kExitUsage;
      }
    } else if (a == "--check-config") {
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
  if (args.migrate_state != args.migrate_from.has_value() ||
      (args.migrate_from && args.migrate_from->rfind("sqlite:", 0) != 0)) {
    std::fprintf(stderr, "osbd: --migrate-state needs --from sqlite:DIR (and --from needs it)\n");
    return kExitUsage;
  }
  return std::nullopt;
}

// The configuration file with the command line's overrides; false (with the reason on stderr)
// when it is invalid.
bool load_config(const Args& args, osbd::config::BrokerConfig& cfg) {
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
    return true;
  } catch (const osbd::config::ConfigError& e) {
    std::fprintf(stderr, "osbd: %s\n", e.what());
    return false;
  }
}

// What --check-config prints for a valid configuration.
void print_summary(const Args& args, const std::vector<osbd::plugin_host::PluginSharedPtr>& plugins,
                   const osbd::catalog::Catalogs& catalogs) {
  std::printf("osbd: configuration %s is valid: %zu plugin(s), %zu catalog(s)\n",
              args.config.c_str(), plugins.size(), catalogs.views().size());
  for (const auto& p : plugins) {
    std::printf("  %s %s (%s, ABI %s) from %s\n", p->name().c_str(), p->version().c_str(),
                p->vendor().c_str(), p->abi_version().c_str(), p->file().c_str());
  }
  for (const auto& warning : catalogs.warnings()) {
    std::printf("  warning: %s\n", warning.c_str());
  }
}

// --migrate-state: copies the SQLite store in the data directory of --from into the
// configuration's PostgreSQL store. The source opens with the configured keys and, if present,
// its own credentials.key, so that credentials sealed by an osbd that generated its key read.
int migrate_state(const Args& args, const osbd::config::BrokerConfig& cfg) {
  if (cfg.state.backend != osbd::config::StateBackend::postgresql) {
    std::fprintf(stderr, "osbd: --migrate-state: %s does not set state.backend: postgresql\n",
                 cfg.source.c_str());
    return kExitConfig;
  }
  const std::string dir = args.migrate_from->substr(std::string("sqlite:").size());
  osbd::state::SealingOptions source_keys = osbd::config::sealing_options(cfg);
  if (const std::string own = dir + "/credentials.key"; ::access(own.c_str(), R_OK) == 0) {
    source_keys.previous_key_files.push_back(own);
  }
  try {
    if (::access((dir + "/osbd.db").c_str(), R_OK) != 0) {
      throw osbd::state::StoreError(dir + "/osbd.db: no SQLite state store there");
    }
    auto from = osbd::state::open_sqlite_store(dir, source_keys);
    auto to = osbd::config::open_store(cfg);
    const auto copied = osbd::state::copy_store(*from, *to);
    std::printf(
        "osbd: migrated the state store in %s to PostgreSQL %s:%u/%s: %zu instances, %zu "
        "bindings, %zu operations (counts verified)\n",
        dir.c_str(), cfg.state.postgresql.host.c_str(), cfg.state.postgresql.port,
        cfg.state.postgresql.database.c_str(), copied.instances, copied.bindings,
        copied.operations);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "osbd: --migrate-state: %s\n", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (auto code = parse_args(argc, argv, args)) {
    return *code;
  }
  osbd::config::BrokerConfig cfg;
  if (!load_config(args, cfg)) {
    return kExitConfig;
  }
  osbd::log::set_min_level(cfg.log_level);
  if (args.migrate_state) {
    return migrate_state(args, cfg);
  }

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
    plugins = osbd::plugin_host::load_plugin_dir(cfg.plugin_dir, cfg.plugins,
                                                 osbd::config::plugin_load_options(cfg));
    catalogs =
        osbd::catalog::Catalogs::build(osbd::catalog::Registry::build(plugins), cfg.catalogs);
  } catch (const std::exception& e) {
    // Plugin and catalog errors already name the file, the symbol or field and the versions.
    std::fprintf(stderr, "osbd: %s\n", e.what());
    return kExitConfig;
  }
  if (args.check_config) {
    print_summary(args, plugins, *catalogs);
    return 0;
  }
  try {
    osbd::daemon::Daemon daemon(cfg, tls);
    return daemon.run(std::move(plugins), std::move(catalogs));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "osbd: %s\n", e.what());
    return 1;
  }
}
