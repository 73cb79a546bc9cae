#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "util/mutex.hpp"

namespace osbd::metrics {

/// Upper bounds, in seconds, of the buckets of every latency histogram (+Inf is implied).
inline constexpr std::array<double, 14> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1,    0.25,  0.5,    1,     2.5,  5,     10};

/// A latency histogram in the Prometheus sense: cumulative buckets, sum and count.
struct Histogram {
  std::array<uint64_t, kBuckets.size()> buckets{};  ///< observations <= each bound (not cumulated)
  uint64_t count = 0;                               ///< every observation (the +Inf bucket)
  double sum = 0;                                   ///< in seconds

  void observe(double seconds) noexcept;
};

/// Instances of one plan, for the instances-per-plan gauge.
struct PlanCount {
  std::string service_id;
  std::string plan_id;
  std::string service_name;  ///< from the catalog; "" if the plan is no longer offered
  std::string plan_name;
  uint64_t instances = 0;
};

/// One plugin's host and calls, at scrape time.
struct PluginGauge {
  std::string plugin;            ///< plugin name
  bool up = true;                ///< its host process serves calls (always, in-process)
  uint64_t restarts = 0;         ///< host processes started after the first
  uint64_t call_timeouts = 0;    ///< calls past call_timeout_seconds
  uint64_t calls_in_flight = 0;  ///< calls holding one of max_concurrent_calls
};

/// What is read from the state store and the plugins at scrape time.
struct Gauges {
  std::vector<PluginGauge> plugins;  ///< one per loaded plugin
  std::vector<PlanCount> instances_per_plan;
  std::map<std::string, uint64_t> operations_in_progress;  ///< by kind
  uint64_t plugins_loaded = 0;
  uint64_t replicas_alive = 0;             ///< replicas with a fresh heartbeat in the store
  uint64_t replicas_catalog_mismatch = 0;  ///< live replicas serving other catalogs than this one
};

/// The broker's counters and histograms, rendered in the Prometheus text exposition format
/// (version 0.0.4). Thread-safe. Every label value is escaped; no label carries a secret (routes,
/// methods, statuses, plugin, operation and plan names and ids only).
class Metrics {
 public:
  /// One answered OSB request: route is the route's name ("catalog", "instance", ... "none").
  void count_request(std::string_view route, std::string_view method, int status, double seconds);
  /// One catalog request answered from the cached bytes on the I/O thread (200, not timed).
  void count_cached_catalog() noexcept { cached_catalog_.fetch_add(1, std::memory_order_relaxed); }
  /// One plugin call; failed when the plugin answered an error status.
  void observe_plugin_call(std::string_view plugin, std::string_view operation, double seconds,
                           bool failed);
  /// One operation that reached a final state (succeeded or failed).
  void count_operation_end(std::string_view kind, std::string_view state);

  /// The whole exposition: what was counted, then the gauges given.
  std::string render(const Gauges& gauges) const;

 private:
  using RouteKey = std::tuple<std::string, std::string, int>;  // route, method, status
  using PairKey = std::pair<std::string, std::string>;         // (route, method) and so on

  /// Writes the request counters and durations.
  void render_requests(std::ostringstream& out) const OSBD_REQUIRES(mu_);
  /// Writes the plugin call durations and failures.
  void render_plugin_calls(std::ostringstream& out) const OSBD_REQUIRES(mu_);
  /// Writes the operations that reached a final state.
  void render_operations(std::ostringstream& out) const OSBD_REQUIRES(mu_);

  mutable util::Mutex mu_;
  std::map<RouteKey, uint64_t> requests_ OSBD_GUARDED_BY(mu_);
  std::map<PairKey, Histogram> request_seconds_ OSBD_GUARDED_BY(mu_);
  std::map<PairKey, Histogram> plugin_seconds_ OSBD_GUARDED_BY(mu_);
  std::map<PairKey, uint64_t> plugin_failures_ OSBD_GUARDED_BY(mu_);
  std::map<PairKey, uint64_t> operations_ OSBD_GUARDED_BY(mu_);
  std::atomic<uint64_t> cached_catalog_{0};
};

/// The process's metrics (one broker per process).
Metrics& global();

/// A label value escaped for the exposition format (backslash, double quote, newline).
std::string escape_label(std::string_view value);

}  // namespace osbd::metrics
