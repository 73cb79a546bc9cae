// The SQLite store's usage history: lifecycle events, samples and their roll-ups. See Store.

#include <limits>
#include <string>
#include <vector>

#include "state/sqlite_store.hpp"

namespace osbd::state::sqlite {

namespace {

constexpr const char* kInsertEvent =
    "INSERT INTO usage_events (instance_id, at_ms, kind, service_id, plan_id, organization, "
    "space) VALUES (:instance_id, :at_ms, :kind, :service_id, :plan_id, :organization, :space)";

constexpr const char* kListEvents =
    "SELECT instance_id, at_ms, kind, service_id, plan_id, organization, space "
    "FROM usage_events WHERE at_ms < :before ORDER BY at_ms, seq";

constexpr const char* kInsertSeries =
    "INSERT INTO usage_series (instance_id) VALUES (:instance_id) ON CONFLICT DO NOTHING";

constexpr const char* kInsertSample =
    "INSERT INTO usage_samples (bucket_ms, series, period_ms, bytes_avg, bytes_max, objects_max) "
    "SELECT :bucket_ms, id, :period_ms, :bytes_avg, :bytes_max, :objects_max FROM usage_series "
    "WHERE instance_id = :instance_id ON CONFLICT DO NOTHING";

// Keyset pages of a period's samples: one page of rows after (:bucket, :series, :period).
constexpr const char* kScanSamples =
    "SELECT s.bucket_ms, s.series, s.period_ms, s.bytes_avg, s.bytes_max, s.objects_max, "
    "r.instance_id FROM usage_samples s JOIN usage_series r ON r.id = s.series "
    "WHERE s.bucket_ms < :to AND s.bucket_ms + s.period_ms > :from AND "
    "(s.bucket_ms, s.series, s.period_ms) > (:bucket, :series, :period) "
    "ORDER BY s.bucket_ms, s.series, s.period_ms LIMIT 10000";

// The longest a sample's period may be: the first bucket that can overlap a period starts this
// much before it.
constexpr int64_t kLongestPeriodMs = kDayMs;

// Rows of a finer resolution than :period, older than :cutoff, summed into rows of :period. A
// row of :period there already (a late sample) is added to. The byte-time is summed as REAL:
// bytes times milliseconds passes int64 for a terabyte-day, and SUM() would fail on it.
constexpr const char* kRollUp =
    "INSERT INTO usage_samples (bucket_ms, series, period_ms, bytes_avg, bytes_max, objects_max) "
    "SELECT (bucket_ms / :period) * :period AS b, series, :period, "
    "CAST(TOTAL(CAST(bytes_avg AS REAL) * period_ms) / :period AS INTEGER), MAX(bytes_max), "
    "MAX(objects_max) FROM usage_samples "
    "WHERE period_ms < :period AND bucket_ms < :cutoff AND bucket_ms >= :since GROUP BY b, series "
    "ON CONFLICT DO UPDATE SET bytes_avg = bytes_avg + excluded.bytes_avg, "
    "bytes_max = MAX(bytes_max, excluded.bytes_max), "
    "objects_max = MAX(objects_max, excluded.objects_max)";

constexpr const char* kDropRolled =
    "DELETE FROM usage_samples WHERE period_ms < :period AND bucket_ms < :cutoff AND "
    "bucket_ms >= :since";

// The bound on bucket_ms alone lets the delete use the key.
constexpr const char* kDropOldDays =
    "DELETE FROM usage_samples WHERE bucket_ms < :before AND bucket_ms + period_ms <= :before";

// Every event up to a deletion before :before; a later life of a reused id keeps its own.
constexpr const char* kDropOldEvents =
    "DELETE FROM usage_events WHERE EXISTS (SELECT 1 FROM usage_events d WHERE "
    "d.kind = 'deleted' AND d.at_ms < :before AND d.instance_id = usage_events.instance_id AND "
    "(usage_events.at_ms, usage_events.seq) <= (d.at_ms, d.seq))";

// Each subquery is read once (not once per series).
constexpr const char* kDropOldSeries =
    "DELETE FROM usage_series WHERE instance_id NOT IN (SELECT instance_id FROM usage_events) "
    "AND id NOT IN (SELECT series FROM usage_samples)";

// Where a roll-up up to cutoff starts looking: lookback before it, or the beginning of time.
int64_t looked_back(int64_t cutoff, int64_t lookback) {
  constexpr int64_t kBeginning = std::numeric_limits<int64_t>::min() / 2;
  return lookback >= cutoff - kBeginning ? kBeginning : cutoff - lookback;
}

int64_t floor_to(int64_t ms, int64_t unit) {
  return ms >= 0 ? ms / unit * unit : -((-ms + unit - 1) / unit) * unit;
}

UsageEvent read_event(const Statement& st, const RecordCodec&) {
  UsageEvent e;
  e.instance_id = st.text(0);
  e.at_ms = st.integer(1);
  const auto kind = parse_usage_event_kind(st.text(2));
  if (!kind) {
    throw StoreError("usage_events: unknown kind '" + st.text(2) + "' for instance " +
                     e.instance_id);
  }
  e.kind = *kind;
  e.service_id = st.text(3);
  e.plan_id = st.text(4);
  e.organization = st.text(5);
  e.space = st.text(6);
  return e;
}

}  // namespace

void SqliteStore::insert_usage_event(const UsageEvent& event) {
  Statement st(writer_, kInsertEvent, "record usage event");
  st.bind(":instance_id", event.instance_id)
      .bind(":at_ms", event.at_ms)
      .bind(":kind", to_string(event.kind))
      .bind(":service_id", event.service_id)
      .bind(":plan_id", event.plan_id)
      .bind(":organization", event.organization)
      .bind(":space", event.space)
      .run();
}

std::vector<UsageEvent> SqliteStore::list_usage_events(int64_t before_ms) {
  return read_all(
      kListEvents, "list usage events", [&](Statement& st) { st.bind(":before", before_ms); },
      read_event);
}

void SqliteStore::append_usage_events(const std::vector<UsageEvent>& events) {
  write([&] {
    for (const UsageEvent& e : events) {
      insert_usage_event(e);
    }
  });
}

void SqliteStore::record_usage_samples(const std::vector<UsageSample>& samples) {
  write([&] {
    for (const UsageSample& s : samples) {
      Statement series(writer_, kInsertSeries, "record usage series");
      series.bind(":instance_id", s.instance_id).run();
      Statement st(writer_, kInsertSample, "record usage sample");
      st.bind(":instance_id", s.instance_id)
          .bind(":bucket_ms", s.bucket_ms)
          .bind(":period_ms", s.period_ms)
          .bind(":bytes_avg", s.bytes_avg)
          .bind(":bytes_max", s.bytes_max)
          .bind(":objects_max", s.objects_max)
          .run();
    }
  });
}

void SqliteStore::scan_usage_samples(int64_t from_ms, int64_t to_ms,
                                     const std::function<void(const UsageSample&)>& visit) {
  // Pages on a read connection each, so that no snapshot is held across the whole scan.
  int64_t bucket = from_ms - kLongestPeriodMs;
  int64_t series = -1;
  int64_t period = -1;
  for (bool more = true; more;) {
    more = read([&](Database& db) {
      Statement st(db, kScanSamples, "read usage samples");
      st.bind(":from", from_ms).bind(":to", to_ms);
      st.bind(":bucket", bucket).bind(":series", series).bind(":period", period);
      int rows = 0;
      UsageSample s;
      while (st.step()) {
        ++rows;
        bucket = s.bucket_ms = st.integer(0);
        series = st.integer(1);
        period = s.period_ms = st.integer(2);
        s.bytes_avg = st.integer(3);
        s.bytes_max = st.integer(4);
        s.objects_max = st.integer(5);
        s.instance_id = st.text(6);
        visit(s);
      }
      return rows == 10000;
    });
  }
}

void SqliteStore::compact_usage(const UsageRetention& retention, int64_t now_ms) {
  const int64_t hour_cutoff = floor_to(now_ms - retention.raw_ms, kHourMs);
  const int64_t day_cutoff = floor_to(now_ms - retention.hourly_ms, kDayMs);
  write([&] {
    for (auto [period, cutoff] : {std::pair{kHourMs, hour_cutoff}, std::pair{kDayMs, day_cutoff}}) {
      const int64_t since = looked_back(cutoff, retention.lookback_ms);
      Statement roll(writer_, kRollUp, "roll up usage samples");
      roll.bind(":period", period).bind(":cutoff", cutoff).bind(":since", since).run();
      Statement drop(writer_, kDropRolled, "drop rolled-up usage samples");
      drop.bind(":period", period).bind(":cutoff", cutoff).bind(":since", since).run();
    }
    const int64_t before = now_ms - retention.daily_ms;
    Statement days(writer_, kDropOldDays, "drop expired usage samples");
    days.bind(":before", before).run();
    int dropped = writer_.changes();
    Statement events(writer_, kDropOldEvents, "drop expired usage events");
    events.bind(":before", before).run();
    dropped += writer_.changes();
    // Only what was just dropped can leave a series unused: most rounds skip the scan.
    if (dropped != 0) {
      writer_.exec(kDropOldSeries, "drop unused usage series");
    }
  });
}

}  // namespace osbd::state::sqlite
