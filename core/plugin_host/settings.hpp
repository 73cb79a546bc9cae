#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace osbd::plugin_host {

/// Where a plugin's code runs.
enum class Isolation {
  process,     ///< in an osbd-plugin-host process of its own (the default)
  in_process,  ///< inside osbd: fastest, but a crash or hang of the plugin is osbd's
};

/// "process" or "in-process".
const char* to_string(Isolation isolation) noexcept;

/// How osbd calls one plugin: plugins.<name>.{isolation, call_timeout_seconds, ...}. These keys
/// are the broker's; the plugin's create() never sees them.
struct PluginSettings {
  Isolation isolation = Isolation::process;  ///< isolation
  unsigned call_timeout_seconds = 30;        ///< a call not answered by then fails (504)
  /// Calls in flight at once; more wait. Below limits.worker_threads, a slow plugin leaves
  /// workers to the others.
  unsigned max_concurrent_calls = 4;
  unsigned queue_timeout_ms = 250;      ///< how long a call waits for a slot, then 503
  std::uint64_t max_memory_mb = 4096;   ///< host address space (RLIMIT_AS); 0: no limit
  std::uint64_t max_open_files = 1024;  ///< host RLIMIT_NOFILE
};

/// The keys of plugins.<name> that PluginSettings reads.
const std::vector<std::string>& settings_keys();

/// The settings in a plugin's configuration subtree (types and ranges were checked against the
/// configuration schema), defaults for the keys it lacks, with isolation defaulting to
/// default_isolation.
PluginSettings settings_of(const nlohmann::json& subtree, Isolation default_isolation);

/// The subtree without the broker's keys: what the plugin's create() receives.
nlohmann::json plugin_config_of(const nlohmann::json& subtree);

/// plugin_trust: which plugin files osbd runs.
struct TrustSettings {
  /// Ed25519 public keys allowed to sign plugins: each a PEM file path or inline PEM text.
  std::vector<std::string> trusted_keys;
  /// Refuse a plugin without a valid signature (X.so.sig) by one of trusted_keys.
  bool require_signed = false;
};

/// How load_plugin() and load_plugin_dir() load plugins.
struct LoadOptions {
  /// Isolation of plugins whose configuration names none. A default-constructed LoadOptions
  /// loads in-process (libraries and unit tests); osbd itself uses process.
  Isolation default_isolation = Isolation::in_process;
  /// The osbd-plugin-host executable; "" finds it next to the running executable.
  std::string host_executable;
  /// Signature and permission checks for every plugin file.
  TrustSettings trust;
  /// limits.worker_threads: a plugin whose max_concurrent_calls reaches it is loaded with a
  /// warning (it could hold every worker). 0: unknown.
  unsigned worker_threads = 0;
};

}  // namespace osbd::plugin_host
