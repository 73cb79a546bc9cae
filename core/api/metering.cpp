#include "api/metering.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <unordered_map>

#include "catalog/catalogs.hpp"
#include "log/log.hpp"
#include "util/csv.hpp"

namespace osbd::api {

using nlohmann::json;
using state::UsageEvent;
using state::UsageEventKind;
using state::UsageSample;

namespace {

constexpr double kHour = 3600.0 * 1000.0;
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr int64_t kMaxSteps = 240;
constexpr size_t kMaxSeriesGroups = 100;

// One stretch of an instance's life under one plan and owner: [start, end).
struct Segment {
  int64_t start = 0;
  int64_t end = 0;
  std::string key;   // the group it counts in
  std::string plan;  // "service/plan"
};

// What a group used in the period. Byte-time in byte-milliseconds, as a double: a year of a
// petabyte is 3e22, far beyond int64.
struct Totals {
  double instance_ms = 0;
  std::map<std::string, double> plan_ms;
  double byte_ms = 0;
  int64_t peak_bytes = 0;
  int64_t created = 0;
  int64_t deleted = 0;
};

// Per step of the series: instance-milliseconds and byte-milliseconds.
struct Steps {
  std::vector<double> instance_ms;
  std::vector<double> byte_ms;
};

int64_t overlap(int64_t a0, int64_t a1, int64_t b0, int64_t b1) {
  return std::max<int64_t>(0, std::min(a1, b1) - std::max(a0, b0));
}

// The report being computed: events first (each instance's segments), then the samples in
// bucket order. Groups are numbered as they appear, so that the per-sample work indexes vectors.
class Report {
 public:
  Report(const UsageQuery& q, const PlanNamer& plan_name) : q_(q), plan_name_(plan_name) {
    const int64_t span = q.to_ms - q.from_ms;
    const int64_t hour = 3600 * 1000;
    const int64_t day = 24 * hour;
    step_ = span <= kMaxSteps * hour ? hour : (span / kMaxSteps / day + 1) * day;
    steps_ = static_cast<size_t>((span + step_ - 1) / step_);
  }

  void add_events(const std::vector<UsageEvent>& events) {
    for (const UsageEvent& e : events) {
      if (e.kind == UsageEventKind::deleted) {
        close(e.instance_id, e.at_ms, true);
      } else {
        close(e.instance_id, e.at_ms, false);
        open(e);
      }
    }
    for (auto& [id, segments] : segments_) {
      if (!segments.empty() && segments.back().end == kOpen) {
        segments.back().end = std::max(segments.back().start, std::min(q_.to_ms, q_.now_ms));
        count_time(segments.back());
      }
    }
  }

  void add_sample(const UsageSample& s) {
    if (s.bucket_ms != bucket_) {
      flush_peaks();
      bucket_ = s.bucket_ms;
    }
    const size_t g = group(key_at(s.instance_id, s.bucket_ms + s.period_ms / 2));
    const int64_t inside = overlap(s.bucket_ms, s.bucket_ms + s.period_ms, q_.from_ms, q_.to_ms);
    totals_[g].byte_ms += static_cast<double>(s.bytes_avg) * static_cast<double>(inside);
    if (bucket_sums_[g] == 0) {
      touched_.push_back(g);
      bucket_sums_[g] = 1;
    }
    bucket_sums_[g] += s.bytes_max;
    bucket_total_ += s.bytes_max;
    if (charted()) {
      spread(steps_of_[g].byte_ms, s.bucket_ms, s.bucket_ms + s.period_ms,
             static_cast<double>(s.bytes_avg));
    }
  }

  json finish() {
    flush_peaks();
    json groups = json::array();
    Totals all;
    for (const auto& [key, g] : group_index_) {
      json figures_of_group = figures(totals_[g]);
      figures_of_group["key"] = key;
      groups.push_back(std::move(figures_of_group));
      add_into(all, totals_[g]);
    }
    all.peak_bytes = peak_total_;
    json out = {{"from", log::rfc3339_ms(q_.from_ms)},
                {"to", log::rfc3339_ms(q_.to_ms)},
                {"groups", std::move(groups)},
                {"totals", figures(all)}};
    // A chart of more groups than kMaxSeriesGroups is unreadable, and its JSON large: the table
    // serves.
    out["series"] = charted() ? series() : json(nullptr);
    return out;
  }

 private:
  static constexpr int64_t kOpen = INT64_MAX;

  bool charted() const { return q_.series && group_keys_.size() <= kMaxSeriesGroups; }

  // The index of the group named key, numbered when first seen.
  size_t group(const std::string& key) {
    auto [it, added] = group_index_.emplace(key, group_keys_.size());
    if (added) {
      group_keys_.push_back(key);
      totals_.emplace_back();
      bucket_sums_.push_back(0);
      steps_of_.emplace_back();
      if (charted()) {
        steps_of_.back().instance_ms.assign(steps_, 0.0);
        steps_of_.back().byte_ms.assign(steps_, 0.0);
      } else if (group_keys_.size() == kMaxSeriesGroups + 1) {
        steps_of_ = std::vector<Steps>(group_keys_.size());  // no chart: free the first groups'
      }
    }
    return it->second;
  }

  void open(const UsageEvent& e) {
    Segment s;
    s.start = e.at_ms;
    s.end = kOpen;
    s.plan = plan_name_(e.service_id, e.plan_id);
    s.key = group_key(e, s.plan);
    if (e.kind == UsageEventKind::created && e.at_ms >= q_.from_ms && e.at_ms < q_.to_ms) {
      totals_[group(s.key)].created += 1;
    }
    segments_[e.instance_id].push_back(std::move(s));
  }

  // Ends the instance's open segment at at_ms; a deletion inside the period is counted.
  void close(const std::string& id, int64_t at_ms, bool deleted) {
    auto it = segments_.find(id);
    if (it == segments_.end() || it->second.empty() || it->second.back().end != kOpen) {
      return;
    }
    Segment& s = it->second.back();
    s.end = std::max(at_ms, s.start);
    count_time(s);
    if (deleted && at_ms >= q_.from_ms && at_ms < q_.to_ms) {
      totals_[group(s.key)].deleted += 1;
    }
  }

  void count_time(const Segment& s) {
    const int64_t inside = overlap(s.start, s.end, q_.from_ms, q_.to_ms);
    if (inside == 0) {
      return;
    }
    const size_t g = group(s.key);
    Totals& t = totals_[g];
    t.instance_ms += static_cast<double>(inside);
    t.plan_ms[s.plan] += static_cast<double>(inside);
    if (charted()) {
      spread(steps_of_[g].instance_ms, s.start, s.end, 1.0);
    }
  }

  std::string group_key(const UsageEvent& e, const std::string& plan) const {
    switch (q_.by) {
      case UsageGrouping::organization:
        return e.organization;
      case UsageGrouping::plan:
        return plan;
      case UsageGrouping::catalog:
        return catalog::split_scoped_id(e.instance_id).first;
      case UsageGrouping::instance:
        return e.instance_id;
    }
    return e.organization;
  }

  // The group the instance counted in at at_ms (its first one before it was created).
  const std::string& key_at(const std::string& id, int64_t at_ms) const {
    static const std::string unknown = "(unknown)";
    auto it = segments_.find(id);
    if (it == segments_.end() || it->second.empty()) {
      return q_.by == UsageGrouping::instance ? id : unknown;
    }
    const auto& segments = it->second;
    auto after = std::upper_bound(segments.begin(), segments.end(), at_ms,
                                  [](int64_t t, const Segment& s) { return t < s.start; });
    return after == segments.begin() ? after->key : std::prev(after)->key;
  }

  // The bucket just read is complete: its sums are candidates for the peaks.
  void flush_peaks() {
    for (const size_t g : touched_) {
      totals_[g].peak_bytes = std::max(totals_[g].peak_bytes, bucket_sums_[g] - 1);
      bucket_sums_[g] = 0;
    }
    touched_.clear();
    peak_total_ = std::max(peak_total_, bucket_total_);
    bucket_total_ = 0;
  }

  // Adds weight * (overlap of [start, end) with each step) to the steps.
  void spread(std::vector<double>& into, int64_t start, int64_t end, double weight) const {
    start = std::max(start, q_.from_ms);
    end = std::min(end, q_.to_ms);
    for (int64_t t = start; t < end;) {
      const auto i = static_cast<size_t>((t - q_.from_ms) / step_);
      const int64_t step_end = std::min(q_.from_ms + static_cast<int64_t>(i + 1) * step_, end);
      into[i] += weight * static_cast<double>(step_end - t);
      t = step_end;
    }
  }

  static void add_into(Totals& all, const Totals& t) {
    all.instance_ms += t.instance_ms;
    for (const auto& [plan, ms] : t.plan_ms) {
      all.plan_ms[plan] += ms;
    }
    all.byte_ms += t.byte_ms;
    all.created += t.created;
    all.deleted += t.deleted;
  }

  static double rounded(double v) { return std::round(v * 1e6) / 1e6; }

  static json figures(const Totals& t) {
    json plans = json::object();
    for (const auto& [plan, ms] : t.plan_ms) {
      plans[plan] = rounded(ms / kHour);
    }
    return {{"instance_hours", rounded(t.instance_ms / kHour)},
            {"plans", std::move(plans)},
            {"storage_gib_hours", rounded(t.byte_ms / kHour / kGiB)},
            {"peak_storage_bytes", t.peak_bytes},
            {"created", t.created},
            {"deleted", t.deleted}};
  }

  json series() const {
    json points = json::array();
    for (size_t i = 0; i < steps_; ++i) {
      const int64_t start = q_.from_ms + static_cast<int64_t>(i) * step_;
      const double length = static_cast<double>(std::min(start + step_, q_.to_ms) - start);
      json groups = json::object();
      for (const auto& [key, g] : group_index_) {
        const Steps& s = steps_of_[g];
        groups[key] = {{"instances", rounded(s.instance_ms[i] / length)},
                       {"bytes", std::round(s.byte_ms[i] / length)}};
      }
      points.push_back({{"at", log::rfc3339_ms(start)}, {"groups", std::move(groups)}});
    }
    return {{"step_seconds", step_ / 1000}, {"points", std::move(points)}};
  }

  const UsageQuery& q_;
  const PlanNamer& plan_name_;
  int64_t step_ = 0;
  size_t steps_ = 0;
  std::unordered_map<std::string, std::vector<Segment>> segments_;  // by instance id
  std::map<std::string, size_t> group_index_;  // group key -> index, in key order
  std::vector<std::string> group_keys_;        // by index
  std::vector<Totals> totals_;                 // by index
  std::vector<Steps> steps_of_;                // by index, while charted()
  int64_t bucket_ = INT64_MIN;                 // the bucket being read
  // The bucket's bytes per group, plus one once touched (so that 0 means untouched), and the
  // groups touched.
  std::vector<int64_t> bucket_sums_;
  std::vector<size_t> touched_;
  int64_t bucket_total_ = 0;  // the bucket's bytes over all groups
  int64_t peak_total_ = 0;
};

}  // namespace

std::optional<UsageGrouping> parse_usage_grouping(std::string_view s) noexcept {
  if (s == "organization")
    return UsageGrouping::organization;
  if (s == "plan")
    return UsageGrouping::plan;
  if (s == "catalog")
    return UsageGrouping::catalog;
  if (s == "instance")
    return UsageGrouping::instance;
  return std::nullopt;
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool digits(std::string_view s, size_t at, size_t n, int& out) {
  if (at + n > s.size()) {
    return false;
  }
  out = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

bool valid_date(int y, int m, int d) {
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return y >= 1970 && m >= 1 && m <= 12 && d >= 1 && d <= kDays[m - 1] &&
         (m != 2 || d < 29 || leap);
}

}  // namespace

std::optional<int64_t> parse_period_bound(std::string_view s) noexcept {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, ms = 0;
  if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || !valid_date(y, mo, d)) {
    return std::nullopt;
  }
  const int64_t day_ms =
      days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 * 1000;
  if (s.size() == 10) {
    return day_ms;
  }
  if (s.size() < 20 || s[10] != 'T' || !digits(s, 11, 2, h) || s[13] != ':' ||
      !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec) || h > 23 || mi > 59 ||
      sec > 59) {
    return std::nullopt;
  }
  std::string_view rest = s.substr(19);
  if (rest.size() == 5 && rest[0] == '.' && digits(rest, 1, 3, ms) && rest[4] == 'Z') {
    rest = "Z";
  }
  if (rest != "Z") {
    return std::nullopt;
  }
  return day_ms + ((h * 60 + mi) * 60 + sec) * 1000LL + ms;
}

json usage_report(const UsageQuery& q, const std::vector<UsageEvent>& events,
                  const SampleScan& scan, const PlanNamer& plan_name) {
  Report report(q, plan_name);
  report.add_events(events);
  scan(q.from_ms, q.to_ms, [&](const UsageSample& s) { report.add_sample(s); });
  json out = report.finish();
  out["by"] = q.by == UsageGrouping::organization ? "organization"
              : q.by == UsageGrouping::plan       ? "plan"
              : q.by == UsageGrouping::catalog    ? "catalog"
                                                  : "instance";
  return out;
}

namespace {

std::string csv_field(std::string v) {
  if (!v.empty() &&
      (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r')) {
    v.insert(0, "'");
  }
  return util::csv_quoted(v);
}

std::string number(const json& v) {
  return v.is_number_integer() ? std::to_string(v.get<int64_t>()) : v.dump();
}

}  // namespace

std::string usage_report_csv(const json& report) {
  std::vector<std::string> plans;
  for (const auto& [plan, hours] : report.at("totals").at("plans").items()) {
    plans.push_back(plan);
  }
  std::string out = csv_field(report.value("by", "group"));
  for (const char* column :
       {"instance_hours", "storage_gib_hours", "peak_storage_bytes", "created", "deleted"}) {
    out += "," + csv_field(column);
  }
  for (const auto& plan : plans) {
    out += "," + csv_field("instance_hours:" + plan);
  }
  out += "\r\n";
  for (const auto& g : report.at("groups")) {
    out += csv_field(g.at("key").get<std::string>());
    for (const char* column :
         {"instance_hours", "storage_gib_hours", "peak_storage_bytes", "created", "deleted"}) {
      out += "," + csv_field(number(g.at(column)));
    }
    for (const auto& plan : plans) {
      out += "," + csv_field(number(g.at("plans").value(plan, json(0))));
    }
    out += "\r\n";
  }
  return out;
}

}  // namespace osbd::api
