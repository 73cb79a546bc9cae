// The metering report over a hand-made usage history: every expected figure below is worked out
// by hand in the comment beside it, from the events and samples of the test.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/metering.hpp"

namespace osbd::api {
namespace {

using nlohmann::json;
using state::UsageEvent;
using state::UsageEventKind;
using state::UsageSample;

constexpr int64_t kH = 3600LL * 1000;
constexpr int64_t kD = 24 * kH;
constexpr int64_t kGiB = 1LL << 30;
constexpr int64_t kNov1 = 1793491200000;  // 2026-11-01T00:00:00Z
constexpr int64_t kDec1 = kNov1 + 30 * kD;

UsageEvent event(const std::string& id, int64_t at, UsageEventKind kind, const std::string& plan,
                 const std::string& org) {
  return {id,
          at,
          kind,
          kind == UsageEventKind::deleted ? "" : "svc",
          kind == UsageEventKind::deleted ? "" : plan,
          org,
          org + "-space"};
}

// A: org-a, small, from 2026-10-15 on.           In November: 720 h small.
// B: org-a, small from Nov 10 12:00, large from Nov 20 00:00.
//                                                 228 h small + 264 h large = 492 h.
// C: org-b, small, from Oct 1, deleted Nov 5 06:00.  102 h small; deleted in the period.
// D: org-b, large, from Nov 30 18:00.              6 h large; created in the period.
// E: org-b, created Dec 2: after the period.  F: org-b, created and deleted in October.
std::vector<UsageEvent> history() {
  return {
      event("C", kNov1 - 31 * kD, UsageEventKind::created, "small", "org-b"),
      event("F", kNov1 - 20 * kD, UsageEventKind::created, "small", "org-b"),
      event("A", kNov1 - 17 * kD, UsageEventKind::created, "small", "org-a"),
      event("F", kNov1 - 10 * kD, UsageEventKind::deleted, "", "org-b"),
      event("C", kNov1 + 4 * kD + 6 * kH, UsageEventKind::deleted, "", "org-b"),
      event("B", kNov1 + 9 * kD + 12 * kH, UsageEventKind::created, "small", "org-a"),
      event("B", kNov1 + 19 * kD, UsageEventKind::updated, "large", "org-a"),
      event("D", kNov1 + 29 * kD + 18 * kH, UsageEventKind::created, "large", "org-b"),
      event("E", kDec1 + kD, UsageEventKind::created, "large", "org-b"),
  };
}

// A: a daily row for every day of November at 1 GiB (the 15th peaking at 3 GiB), and one for
// October 31 (outside). B: an hourly row at Nov 30 23:00 of 2 GiB, and a raw 15-minute sample
// at Dec 1 00:00 (outside).
std::vector<UsageSample> samples() {
  std::vector<UsageSample> out;
  out.push_back({"A", kNov1 - kD, kD, 5 * kGiB, 5 * kGiB, 0});
  for (int day = 0; day < 30; ++day) {
    const int64_t max = day == 14 ? 3 * kGiB : kGiB + kGiB / 2;
    out.push_back({"A", kNov1 + day * kD, kD, kGiB, max, 10});
    if (day == 29) {
      out.push_back({"B", kNov1 + day * kD + 23 * kH, kH, 2 * kGiB, 2 * kGiB, 0});
    }
  }
  out.push_back({"B", kDec1, 15 * 60 * 1000, 7 * kGiB, 7 * kGiB, 0});
  return out;
}

json report(int64_t from, int64_t to, UsageGrouping by) {
  const auto all = samples();
  const SampleScan scan = [&](int64_t f, int64_t t, const auto& visit) {
    for (const auto& s : all) {
      if (s.bucket_ms < t && s.bucket_ms + s.period_ms > f) {
        visit(s);
      }
    }
  };
  const PlanNamer namer = [](const std::string& service, const std::string& plan) {
    return service + "/" + plan;
  };
  auto events = history();
  std::erase_if(events, [&](const UsageEvent& e) { return e.at_ms >= to; });
  return usage_report({from, to, by, true}, events, scan, namer);
}

const json& group(const json& r, const std::string& key) {
  for (const auto& g : r.at("groups")) {
    if (g.at("key") == key) {
      return g;
    }
  }
  static const json none;
  ADD_FAILURE() << "no group " << key << " in " << r.dump();
  return none;
}

TEST(Metering, ByOrganizationCountsFromCreationUntilDeletionUnderEachPlan) {
  const json r = report(kNov1, kDec1, UsageGrouping::organization);
  ASSERT_EQ(r.at("groups").size(), 2u) << r.dump();
  const json& a = group(r, "org-a");
  EXPECT_DOUBLE_EQ(a.at("instance_hours").get<double>(), 1212.0);        // 720 + 492
  EXPECT_DOUBLE_EQ(a.at("plans").at("svc/small").get<double>(), 948.0);  // 720 + 228
  EXPECT_DOUBLE_EQ(a.at("plans").at("svc/large").get<double>(), 264.0);
  EXPECT_EQ(a.at("created"), 1);  // B
  EXPECT_EQ(a.at("deleted"), 0);
  // 30 days x 24 h x 1 GiB of A, plus 1 h x 2 GiB of B.
  EXPECT_DOUBLE_EQ(a.at("storage_gib_hours").get<double>(), 722.0);
  EXPECT_EQ(a.at("peak_storage_bytes"), 3 * kGiB);  // A on the 15th
  const json& b = group(r, "org-b");
  EXPECT_DOUBLE_EQ(b.at("instance_hours").get<double>(), 108.0);  // 102 + 6
  EXPECT_DOUBLE_EQ(b.at("plans").at("svc/small").get<double>(), 102.0);
  EXPECT_DOUBLE_EQ(b.at("plans").at("svc/large").get<double>(), 6.0);
  EXPECT_EQ(b.at("created"), 1);  // D (E is after the period)
  EXPECT_EQ(b.at("deleted"), 1);  // C (F is before it)
  EXPECT_DOUBLE_EQ(b.at("storage_gib_hours").get<double>(), 0.0);
  const json& t = r.at("totals");
  EXPECT_DOUBLE_EQ(t.at("instance_hours").get<double>(), 1320.0);
  EXPECT_EQ(t.at("created"), 2);
  EXPECT_EQ(t.at("deleted"), 1);
  EXPECT_EQ(r.at("from"), "2026-11-01T00:00:00.000Z");
  EXPECT_EQ(r.at("by"), "organization");
}

TEST(Metering, ByPlanFollowsThePlanChange) {
  const json r = report(kNov1, kDec1, UsageGrouping::plan);
  // small: A 720 + B 228 + C 102; large: B 264 + D 6.
  EXPECT_DOUBLE_EQ(group(r, "svc/small").at("instance_hours").get<double>(), 1050.0);
  EXPECT_DOUBLE_EQ(group(r, "svc/large").at("instance_hours").get<double>(), 270.0);
  // B's sample on Nov 30 is under large, after its change; A's days under small.
  EXPECT_DOUBLE_EQ(group(r, "svc/large").at("storage_gib_hours").get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(group(r, "svc/small").at("storage_gib_hours").get<double>(), 720.0);
}

TEST(Metering, APeriodInsideARowCountsItsShare) {
  // Nov 30 23:30 to Dec 1: B's hourly row counts half (1 GiB-hour); A's day row of Nov 30, half
  // an hour of 1 GiB; instance-hours 0.5 for A and for B.
  const json r = report(kDec1 - 30 * 60 * 1000, kDec1, UsageGrouping::instance);
  EXPECT_DOUBLE_EQ(group(r, "B").at("storage_gib_hours").get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(group(r, "A").at("storage_gib_hours").get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(group(r, "B").at("instance_hours").get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(group(r, "D").at("instance_hours").get<double>(), 0.5);
}

TEST(Metering, ALivingInstanceCountsUntilNowNotUntilTheEndOfAPeriodInTheFuture) {
  const int64_t now = kNov1 + 15 * kD;  // November 16, 00:00
  auto events = history();
  std::erase_if(events, [&](const UsageEvent& e) { return e.at_ms >= now; });
  const SampleScan none = [](int64_t, int64_t, const auto&) {};
  const PlanNamer namer = [](const std::string& s, const std::string& p) { return s + "/" + p; };
  const json r =
      usage_report({kNov1, kDec1, UsageGrouping::organization, false, now}, events, none, namer);
  // org-a: A 15 days (360 h) and B from Nov 10 12:00 (5.5 days, 132 h), both until now.
  EXPECT_DOUBLE_EQ(group(r, "org-a").at("instance_hours").get<double>(), 492.0);
  EXPECT_TRUE(r.at("series").is_null());
}

TEST(Metering, SeriesAverageInstancesAndBytesPerStep) {
  const json r = report(kNov1, kDec1, UsageGrouping::organization);
  const json& series = r.at("series");
  EXPECT_EQ(series.at("step_seconds"), 86400);  // 30 days: more than 240 hours, steps of a day
  ASSERT_EQ(series.at("points").size(), 30u);
  // Nov 5: C lived 6 of 24 hours.
  EXPECT_DOUBLE_EQ(series.at("points")[4].at("groups").at("org-b").at("instances").get<double>(),
                   0.25);
  // Nov 10: A all day, B from 12:00.
  EXPECT_DOUBLE_EQ(series.at("points")[9].at("groups").at("org-a").at("instances").get<double>(),
                   1.5);
  EXPECT_DOUBLE_EQ(series.at("points")[9].at("groups").at("org-a").at("bytes").get<double>(),
                   static_cast<double>(kGiB));
  // A 10-hour period has hourly steps.
  const json hourly = report(kNov1, kNov1 + 10 * kH, UsageGrouping::organization);
  EXPECT_EQ(hourly.at("series").at("step_seconds"), 3600);
  EXPECT_EQ(hourly.at("series").at("points").size(), 10u);
}

TEST(Metering, PeriodBoundsAreDatesOrUtcTimes) {
  EXPECT_EQ(parse_period_bound("2026-11-01"), kNov1);
  EXPECT_EQ(parse_period_bound("2026-11-10T12:00:00Z"), kNov1 + 9 * kD + 12 * kH);
  EXPECT_EQ(parse_period_bound("2026-11-10T12:00:00.250Z"), kNov1 + 9 * kD + 12 * kH + 250);
  EXPECT_EQ(parse_period_bound("2024-02-29"), 1709164800000);
  for (const char* bad :
       {"", "2026-11", "2026-02-29", "2026-13-01", "2026-11-01T24:00:00Z", "2026-11-01T12:00:00",
        "2026-11-01T12:00:00+01:00", "2026-11-01x", "1969-12-31", "２０２６-11-01"}) {
    EXPECT_FALSE(parse_period_bound(bad)) << bad;
  }
}

TEST(Metering, CsvQuotesEveryFieldAndDefusesFormulas) {
  json r = report(kNov1, kDec1, UsageGrouping::organization);
  r["groups"][0]["key"] = "=HYPERLINK(\"x\")";
  const std::string csv = usage_report_csv(r);
  EXPECT_EQ(csv.substr(0, csv.find("\r\n")),
            "\"organization\",\"instance_hours\",\"storage_gib_hours\",\"peak_storage_bytes\","
            "\"created\",\"deleted\",\"instance_hours:svc/large\",\"instance_hours:svc/small\"");
  EXPECT_NE(csv.find("\"'=HYPERLINK(\"\"x\"\")\",\"1212.0\",\"722.0\",\"3221225472\",\"1\",\"0\","
                     "\"264.0\",\"948.0\"\r\n"),
            std::string::npos)
      << csv;
}

}  // namespace
}  // namespace osbd::api
