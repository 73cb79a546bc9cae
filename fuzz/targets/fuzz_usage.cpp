// fuzz_usage: the metering report's inputs (api/metering.hpp). The first line is a period bound,
// checked to parse exactly when it is a real date or UTC time and to round-trip through the
// RFC 3339 text osbd prints; the rest of the input becomes a usage history (events and samples
// of a few instances, in any order and at any times) whose report must keep its invariants: no
// negative figure, the groups summing to the totals, a peak no lower than any one sample, and CSV
// with one line per group.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "api/metering.hpp"
#include "check.hpp"
#include "log/log.hpp"

namespace {

namespace api = osbd::api;
namespace state = osbd::state;

void check_bound(std::string_view text) {
  const auto ms = api::parse_period_bound(text);
  if (!ms) {
    return;
  }
  OSBD_FUZZ_CHECK(*ms >= 0, "a period bound is not before 1970");
  const std::string printed = osbd::log::rfc3339_ms(*ms);
  OSBD_FUZZ_CHECK(api::parse_period_bound(printed) == ms, "a bound round-trips through RFC 3339");
}

// Reads the input as fixed-size records; each byte pulls one field.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool more() const { return at_ + 8 <= data_.size(); }
  uint8_t byte() { return static_cast<uint8_t>(data_[at_++]); }
  int64_t time() {  // within a few days of an arbitrary origin, in minutes
    const auto hi = byte();
    const auto lo = byte();
    return 1'790'000'000'000LL + (static_cast<int64_t>(hi) << 8 | lo) * 60'000;
  }

 private:
  std::string_view data_;
  size_t at_ = 0;
};

struct History {
  std::vector<state::UsageEvent> events;
  std::vector<state::UsageSample> samples;
};

History history_of(std::string_view data) {
  static const char* ids[] = {"a", "b", "c", "team~d"};
  static const char* plans[] = {"small", "large"};
  static const char* orgs[] = {"org-1", "org-2", ""};
  History h;
  Reader r(data);
  while (r.more()) {
    const auto kind = r.byte();
    const std::string id = ids[r.byte() % 4];
    const int64_t at = r.time();
    if (kind % 2 == 0) {
      const auto what = static_cast<state::UsageEventKind>(r.byte() % 3);
      h.events.push_back({id, at, what, "svc", plans[r.byte() % 2], orgs[r.byte() % 3], "s"});
    } else {
      const int64_t period = (r.byte() % 2 == 0) ? 3'600'000 : 900'000;
      const int64_t bytes = static_cast<int64_t>(r.byte()) << (r.byte() % 40);
      h.samples.push_back({id, at / period * period, period, bytes, bytes, 0});
    }
  }
  std::stable_sort(h.events.begin(), h.events.end(),
                   [](const auto& a, const auto& b) { return a.at_ms < b.at_ms; });
  std::stable_sort(h.samples.begin(), h.samples.end(),
                   [](const auto& a, const auto& b) { return a.bucket_ms < b.bucket_ms; });
  return h;
}

void check_report(const History& h, int64_t from, int64_t to, api::UsageGrouping by) {
  const api::SampleScan scan = [&](int64_t f, int64_t t, const auto& visit) {
    for (const auto& s : h.samples) {
      if (s.bucket_ms < t && s.bucket_ms + s.period_ms > f) {
        visit(s);
      }
    }
  };
  const api::PlanNamer namer = [](const std::string& s, const std::string& p) {
    return s + "/" + p;
  };
  std::vector<state::UsageEvent> before;
  for (const auto& e : h.events) {
    if (e.at_ms < to) {
      before.push_back(e);
    }
  }
  const auto report = api::usage_report({from, to, by, true, INT64_MAX}, before, scan, namer);
  double hours = 0;
  int64_t peak = 0;
  for (const auto& g : report.at("groups")) {
    const double gh = g.at("instance_hours").get<double>();
    OSBD_FUZZ_CHECK(gh >= 0 && g.at("storage_gib_hours").get<double>() >= 0, "no negative figure");
    OSBD_FUZZ_CHECK(gh <= static_cast<double>(to - from) / 3.6e6 * 4 + 1e-6,
                    "at most four instances for the whole period");
    hours += gh;
    peak = std::max(peak, g.at("peak_storage_bytes").get<int64_t>());
  }
  const double total = report.at("totals").at("instance_hours").get<double>();
  OSBD_FUZZ_CHECK(std::fabs(total - hours) < 1e-3, "groups sum to the totals");
  OSBD_FUZZ_CHECK(report.at("totals").at("peak_storage_bytes").get<int64_t>() >= peak,
                  "the total peak is no lower than a group's");
  const std::string csv = api::usage_report_csv(report);
  size_t lines = 0;
  for (size_t at = csv.find("\r\n"); at != std::string::npos; at = csv.find("\r\n", at + 2)) {
    ++lines;
  }
  OSBD_FUZZ_CHECK(lines == report.at("groups").size() + 1, "a CSV line per group and a header");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto line = text.find('\n');
  check_bound(text.substr(0, line));
  if (line == std::string_view::npos || size > 4096) {
    return 0;
  }
  const History h = history_of(text.substr(line + 1));
  const int64_t from = 1'790'000'000'000LL + 60'000LL * (size % 5000);
  for (auto by : {api::UsageGrouping::organization, api::UsageGrouping::plan,
                  api::UsageGrouping::catalog, api::UsageGrouping::instance}) {
    check_report(h, from, from + 3 * 86'400'000LL, by);
  }
  return 0;
}
