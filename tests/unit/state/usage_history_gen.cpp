// osbd_usage_history_gen: writes a generated usage history into an SQLite store, as a year of
// osbd sampling leaves it, to measure its size and the metering report's answer time
// (bench/usage_year.sh).
//
// Instances are created at random times over the year (uniform), a third of them deleted later,
// a fifth changing plan in between, spread over 200 organizations and three plans; each grows
// linearly from 100 MiB to a size of its own up to 20 GiB. Days older than the raw and hourly
// retention (16 days by default) are written as the daily rows the roll-up leaves; the last 16
// days as raw samples every sample_minutes, which Store::compact_usage then rolls into hours as
// osbd's sampler does.
//
// Usage: osbd_usage_history_gen DIRECTORY [instances] [days] [sample_minutes]
//   defaults: 10000 instances, 365 days, 15-minute samples

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include "state/store.hpp"

namespace {

using namespace osbd::state;

constexpr int64_t kMiB = 1LL << 20;
constexpr int64_t kGiB = 1LL << 30;
constexpr int64_t kRecentDays = 16;  // 48 h raw + 14 days hourly: the defaults of usage.*

struct Life {
  std::string id;
  std::string org;
  int64_t created = 0;
  int64_t deleted = INT64_MAX;  // INT64_MAX: still alive
  int64_t final_bytes = 0;
};

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string uuid_like(std::mt19937_64& rng) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-4%03llx-8%03llx-%012llx",
                static_cast<unsigned long long>(rng() & 0xffffffffULL),
                static_cast<unsigned long long>(rng() & 0xffffULL),
                static_cast<unsigned long long>(rng() & 0xfffULL),
                static_cast<unsigned long long>(rng() & 0xfffULL),
                static_cast<unsigned long long>(rng() & 0xffffffffffffULL));
  return buf;
}

// Linear growth from 100 MiB at creation to final_bytes at the end of the year.
int64_t bytes_at(const Life& l, int64_t t, int64_t year_end) {
  const double f = static_cast<double>(t - l.created) / static_cast<double>(year_end - l.created);
  return 100 * kMiB + static_cast<int64_t>(f * static_cast<double>(l.final_bytes - 100 * kMiB));
}

std::vector<UsageEvent> events_of(const Life& l, std::mt19937_64& rng) {
  static const char* plans[] = {"plan-small", "plan-medium", "plan-large"};
  std::vector<UsageEvent> out;
  const std::string plan = plans[rng() % 3];
  out.push_back({l.id, l.created, UsageEventKind::created, "svc-db", plan, l.org, l.org + "-dev"});
  const int64_t end = std::min(l.deleted, now_ms());
  if (rng() % 5 == 0 && end - l.created > 2 * kDayMs) {
    const int64_t at =
        l.created + static_cast<int64_t>(rng() % static_cast<uint64_t>(end - l.created));
    out.push_back(
        {l.id, at, UsageEventKind::updated, "svc-db", "plan-large", l.org, l.org + "-dev"});
  }
  if (l.deleted != INT64_MAX) {
    out.push_back({l.id, l.deleted, UsageEventKind::deleted, "", "", "", ""});
  }
  return out;
}

// The rows of [from, to) at one resolution: each bucket's mean over the whole bucket.
void rows_of(const Life& l, int64_t from, int64_t to, int64_t period, int64_t year_end,
             std::vector<UsageSample>& out) {
  const int64_t start = std::max(from, l.created);
  const int64_t end = std::min(to, l.deleted);
  for (int64_t b = start / period * period; b < end; b += period) {
    const int64_t covered = std::min(b + period, end) - std::max(b, start);
    const int64_t bytes = bytes_at(l, b + period / 2, year_end);
    const auto avg = static_cast<int64_t>(
        static_cast<double>(bytes) * static_cast<double>(covered) / static_cast<double>(period));
    out.push_back({l.id, b, period, avg, bytes, 0});
  }
}

void flush(Store& store, std::vector<UsageSample>& rows, size_t at_least) {
  if (rows.size() >= at_least) {
    store.record_usage_samples(rows);
    rows.clear();
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIRECTORY [instances] [days] [sample_minutes]\n", argv[0]);
    return 64;
  }
  const int instances = argc > 2 ? std::atoi(argv[2]) : 10000;
  const int64_t days = argc > 3 ? std::atoll(argv[3]) : 365;
  const int64_t sample_ms = (argc > 4 ? std::atoll(argv[4]) : 15) * 60 * 1000;
  try {
    auto store = open_sqlite_store(argv[1]);
    std::mt19937_64 rng(20261206);
    const int64_t now = now_ms() / sample_ms * sample_ms;
    const int64_t year_start = (now - days * kDayMs) / kDayMs * kDayMs;
    const int64_t recent = (now - kRecentDays * kDayMs) / kDayMs * kDayMs;
    std::vector<UsageEvent> events;
    std::vector<UsageSample> rows;
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < instances; ++i) {
      Life l{uuid_like(rng), "org-" + std::to_string(rng() % 200),
             year_start + static_cast<int64_t>(rng() % static_cast<uint64_t>(now - year_start)),
             INT64_MAX,
             100 * kMiB + static_cast<int64_t>(rng() % static_cast<uint64_t>(20 * kGiB))};
      if (rng() % 3 == 0) {
        l.deleted =
            l.created + static_cast<int64_t>(rng() % static_cast<uint64_t>(now - l.created));
      }
      const auto e = events_of(l, rng);
      events.insert(events.end(), e.begin(), e.end());
      rows_of(l, year_start, recent, kDayMs, now, rows);
      rows_of(l, recent, now, sample_ms, now, rows);
      flush(*store, rows, 200000);
    }
    flush(*store, rows, 0);
    std::sort(events.begin(), events.end(),
              [](const UsageEvent& a, const UsageEvent& b) { return a.at_ms < b.at_ms; });
    store->append_usage_events(events);
    const auto written = std::chrono::steady_clock::now();
    store->compact_usage(UsageRetention{}, now);
    const auto compacted = std::chrono::steady_clock::now();
    using ms = std::chrono::milliseconds;
    std::printf(
        "instances %d, events %zu, written in %lld ms, compact_usage took %lld ms\n", instances,
        events.size(),
        static_cast<long long>(std::chrono::duration_cast<ms>(written - started).count()),
        static_cast<long long>(std::chrono::duration_cast<ms>(compacted - written).count()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "osbd_usage_history_gen: %s\n", e.what());
    return 1;
  }
  return 0;
}
