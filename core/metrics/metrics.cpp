#include "metrics/metrics.hpp"

#include <cstdio>
#include <sstream>

namespace osbd::metrics {

namespace {

// Seconds as Prometheus expects them: plain decimal, enough digits for microseconds.
std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void header(std::ostringstream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << ' ' << help << '\n' << "# TYPE " << name << ' ' << type << '\n';
}

// Writes one histogram's series: name_bucket{labels,le=...}, name_sum, name_count.
void histogram(std::ostringstream& out, const char* name, const std::string& labels,
               const Histogram& h) {
  uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    cumulative += h.buckets[i];
    out << name << "_bucket{" << labels << ",le=\"" << number(kBuckets[i]) << "\"} " << cumulative
        << '\n';
  }
  out << name << "_bucket{" << labels << ",le=\"+Inf\"} " << h.count << '\n';
  out << name << "_sum{" << labels << "} " << number(h.sum) << '\n';
  out << name << "_count{" << labels << "} " << h.count << '\n';
}

std::string label(const char* name, std::string_view value) {
  return std::string(name) + "=\"" + escape_label(value) + "\"";
}

// Writes each plugin's host state and call counters.
void render_plugin_gauges(std::ostringstream& out, const std::vector<PluginGauge>& plugins) {
  struct Family {
    const char* name;
    const char* type;
    const char* help;
    uint64_t PluginGauge::*field;
  };
  const Family families[] = {
      {"osbd_plugin_restarts_total", "counter",
       "Host processes of the plugin started after the first.", &PluginGauge::restarts},
      {"osbd_plugin_call_timeouts_total", "counter",
       "Plugin calls not answered within call_timeout_seconds.", &PluginGauge::call_timeouts},
      {"osbd_plugin_calls_in_flight", "gauge",
       "Plugin calls in flight (max_concurrent_calls bounds them).",
       &PluginGauge::calls_in_flight}};
  header(out, "osbd_plugin_up", "gauge", "1 while the plugin's host process serves calls.");
  for (const auto& p : plugins) {
    out << "osbd_plugin_up{" << label("plugin", p.plugin) << "} " << (p.up ? 1 : 0) << '\n';
  }
  for (const auto& family : families) {
    header(out, family.name, family.type, family.help);
    for (const auto& p : plugins) {
      out << family.name << '{' << label("plugin", p.plugin) << "} " << p.*family.field << '\n';
    }
  }
}

// Writes the gauges the caller measured: operations in progress, instances, plugins loaded.
void render_gauges(std::ostringstream& out, const Gauges& gauges) {
  header(out, "osbd_operations_in_progress", "gauge",
         "Operations in progress in the state store, by kind.");
  for (const auto& [kind, n] : gauges.operations_in_progress) {
    out << "osbd_operations_in_progress{" << label("kind", kind) << "} " << n << '\n';
  }

  header(out, "osbd_instances", "gauge", "Service instances in the state store, by plan.");
  for (const auto& p : gauges.instances_per_plan) {
    out << "osbd_instances{" << label("service_id", p.service_id) << ','
        << label("plan_id", p.plan_id) << ',' << label("service", p.service_name) << ','
        << label("plan", p.plan_name) << "} " << p.instances << '\n';
  }

  header(out, "osbd_plugins_loaded", "gauge", "Plugins loaded.");
  out << "osbd_plugins_loaded " << gauges.plugins_loaded << '\n';
  render_plugin_gauges(out, gauges.plugins);
  header(out, "osbd_replicas_alive", "gauge",
         "osbd replicas sharing the state store with a fresh heartbeat (this one included).");
  out << "osbd_replicas_alive " << gauges.replicas_alive << '\n';
  header(out, "osbd_replica_catalog_mismatch", "gauge",
         "Live replicas whose catalogs differ from this replica's (a platform may reach any).");
  out << "osbd_replica_catalog_mismatch " << gauges.replicas_catalog_mismatch << '\n';
}

}  // namespace

void Histogram::observe(double seconds) noexcept {
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      ++buckets[i];
      break;
    }
  }
  ++count;
  sum += seconds;
}

std::string escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void Metrics::count_request(std::string_view route, std::string_view method, int status,
                            double seconds) {
  util::MutexLock lock(mu_);
  ++requests_[RouteKey(route, method, status)];
  request_seconds_[PairKey(route, method)].observe(seconds);
}

void Metrics::observe_plugin_call(std::string_view plugin, std::string_view operation,
                                  double seconds, bool failed) {
  util::MutexLock lock(mu_);
  PairKey key(plugin, operation);
  plugin_seconds_[key].observe(seconds);
  if (failed) {
    ++plugin_failures_[std::move(key)];
  }
}

void Metrics::count_operation_end(std::string_view kind, std::string_view state) {
  util::MutexLock lock(mu_);
  ++operations_[PairKey(kind, state)];
}

std::string Metrics::render(const Gauges& gauges) const {
  std::ostringstream out;
  util::MutexLock lock(mu_);
  render_requests(out);
  render_plugin_calls(out);
  render_operations(out);
  render_gauges(out, gauges);
  return out.str();
}

void Metrics::render_requests(std::ostringstream& out) const {
  header(out, "osbd_http_requests_total", "counter",
         "OSB requests answered, by route, method and HTTP status.");
  auto requests = requests_;
  if (const uint64_t cached = cached_catalog_.load(std::memory_order_relaxed); cached > 0) {
    requests[RouteKey("catalog", "GET", 200)] += cached;
  }
  for (const auto& [key, n] : requests) {
    const auto& [route, method, status] = key;
    out << "osbd_http_requests_total{" << label("route", route) << ',' << label("method", method)
        << ",status=\"" << status << "\"} " << n << '\n';
  }

  header(out, "osbd_http_request_duration_seconds", "histogram",
         "Time from a request's arrival at the router to its answer, by route and method "
         "(catalog answers served from the cached bytes are not timed).");
  for (const auto& [key, h] : request_seconds_) {
    histogram(out, "osbd_http_request_duration_seconds",
              label("route", key.first) + ',' + label("method", key.second), h);
  }
}

void Metrics::render_plugin_calls(std::ostringstream& out) const {
  header(out, "osbd_plugin_call_duration_seconds", "histogram",
         "Duration of plugin calls, by plugin and operation.");
  for (const auto& [key, h] : plugin_seconds_) {
    histogram(out, "osbd_plugin_call_duration_seconds",
              label("plugin", key.first) + ',' + label("operation", key.second), h);
  }

  header(out, "osbd_plugin_call_failures_total", "counter",
         "Plugin calls that answered an error, by plugin and operation.");
  for (const auto& [key, n] : plugin_failures_) {
    out << "osbd_plugin_call_failures_total{" << label("plugin", key.first) << ','
        << label("operation", key.second) << "} " << n << '\n';
  }
}

void Metrics::render_operations(std::ostringstream& out) const {
  header(out, "osbd_operations_total", "counter",
         "Operations that reached a final state, by kind and state.");
  for (const auto& [key, n] : operations_) {
    out << "osbd_operations_total{" << label("kind", key.first) << ',' << label("state", key.second)
        << "} " << n << '\n';
  }
}

Metrics& global() {
  static Metrics metrics;
  return metrics;
}

}  // namespace osbd::metrics
