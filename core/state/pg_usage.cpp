// The PostgreSQL store's usage history: lifecycle events, samples and their roll-ups. See PgStore.

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "state/pg_store.hpp"

namespace osbd::state::pg {

namespace {

const std::string kInsertEvent = insert_into(
    "usage_events", "instance_id, at_ms, kind, service_id, plan_id, organization, space");

const std::string kListEvents =
    "SELECT instance_id, at_ms, kind, service_id, plan_id, organization, space "
    "FROM usage_events WHERE at_ms < $1 ORDER BY at_ms, seq";

// The samples of a batch arrive as arrays ($1 instance ids, then bucket, period, bytes_avg,
// bytes_max, objects_max), so that a batch of every instance is two statements. A series is
// inserted only when missing (a conflicting insert would still use up a sequence number); of two
// replicas adding one at once, the second waits for the first and then skips it.
const std::string kInsertSeries =
    "INSERT INTO usage_series (instance_id) SELECT DISTINCT t.instance_id "
    "FROM unnest($1::text[]) AS t(instance_id) WHERE NOT EXISTS "
    "(SELECT 1 FROM usage_series s WHERE s.instance_id = t.instance_id) "
    "ON CONFLICT (instance_id) DO NOTHING";

const std::string kInsertSamples =
    "INSERT INTO usage_samples (bucket_ms, series, period_ms, bytes_avg, bytes_max, objects_max) "
    "SELECT t.bucket_ms, s.id, t.period_ms, t.bytes_avg, t.bytes_max, t.objects_max "
    "FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], "
    "$6::bigint[]) AS t(instance_id, bucket_ms, period_ms, bytes_avg, bytes_max, objects_max) "
    "JOIN usage_series s ON s.instance_id = t.instance_id ON CONFLICT DO NOTHING";

// One page of the samples overlapping [$1, $2) after the key ($3, $4, $5), at most $6 rows: a
// range of the primary key.
const std::string kScanSamples =
    "SELECT p.bucket_ms, p.series, p.period_ms, p.bytes_avg, p.bytes_max, p.objects_max, "
    "s.instance_id FROM usage_samples p JOIN usage_series s ON s.id = p.series "
    "WHERE p.bucket_ms < $2 AND p.bucket_ms + p.period_ms > $1 "
    "AND (p.bucket_ms, p.series, p.period_ms) > ($3, $4, $5) "
    "ORDER BY p.bucket_ms, p.series, p.period_ms LIMIT $6";

constexpr int64_t kScanPage = 10000;
// The longest period a sample has (a day's roll-up): a scan starts this long before its period.
constexpr int64_t kLongestPeriodMs = kDayMs;

// Rows finer than $1 (a period) with buckets before $2 become rows of $1: the time-weighted mean
// of bytes (in numeric, as bytes times milliseconds exceed a bigint), the maxima kept. One
// statement moves exactly the rows it deletes, also while samples arrive. A row of $1 there
// already (a sample that came late) is added to.
const std::string kRollUp =
    "WITH rolled AS (DELETE FROM usage_samples WHERE period_ms < $1 AND bucket_ms < $2 "
    "AND bucket_ms >= $3 "
    "RETURNING bucket_ms, series, period_ms, bytes_avg, bytes_max, objects_max) "
    "INSERT INTO usage_samples (bucket_ms, series, period_ms, bytes_avg, bytes_max, objects_max) "
    "SELECT bucket_ms / $1 * $1, series, $1::bigint, "
    "div(SUM(bytes_avg::numeric * period_ms), $1)::bigint, MAX(bytes_max), MAX(objects_max) "
    "FROM rolled GROUP BY 1, 2 "
    "ON CONFLICT (bucket_ms, series, period_ms) DO UPDATE SET "
    "bytes_avg = usage_samples.bytes_avg + excluded.bytes_avg, "
    "bytes_max = GREATEST(usage_samples.bytes_max, excluded.bytes_max), "
    "objects_max = GREATEST(usage_samples.objects_max, excluded.objects_max)";

// The bound on bucket_ms alone lets the delete use the key.
const std::string kDropOldSamples =
    "DELETE FROM usage_samples WHERE bucket_ms < $1 AND bucket_ms + period_ms <= $1";

// The events of an instance up to its deleted event before $1. An instance that was created
// again with the same id keeps the events of its new life.
const std::string kDropOldEvents =
    "DELETE FROM usage_events e USING usage_events d WHERE d.kind = 'deleted' AND d.at_ms < $1 "
    "AND d.instance_id = e.instance_id AND (e.at_ms, e.seq) <= (d.at_ms, d.seq)";

// A series that neither a sample nor an event refers to.
const std::string kDropUnusedSeries =
    "DELETE FROM usage_series s WHERE NOT EXISTS (SELECT 1 FROM usage_events e "
    "WHERE e.instance_id = s.instance_id) AND NOT EXISTS (SELECT 1 FROM usage_samples p "
    "WHERE p.series = s.id)";

// Where a roll-up up to cutoff starts looking: lookback before it, or the beginning of time.
int64_t looked_back(int64_t cutoff, int64_t lookback) {
  return lookback >= cutoff - std::numeric_limits<int64_t>::min() / 2
             ? std::numeric_limits<int64_t>::min() / 2
             : cutoff - lookback;
}

// The largest multiple of unit at or below ms.
int64_t floor_to(int64_t ms, int64_t unit) {
  const int64_t q = ms / unit;
  return (ms % unit < 0 ? q - 1 : q) * unit;
}

// A PostgreSQL array literal of texts: each element quoted, its quotes and backslashes escaped.
std::string text_array(const std::vector<UsageSample>& samples) {
  std::string out = "{";
  for (const UsageSample& s : samples) {
    out += out.size() == 1 ? "\"" : ",\"";
    for (char c : s.instance_id) {
      if (c == '"' || c == '\\') {
        out += '\\';
      }
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

// A PostgreSQL array literal of one integer field of every sample.
std::string integer_array(const std::vector<UsageSample>& samples, int64_t UsageSample::*field) {
  std::string out = "{";
  for (const UsageSample& s : samples) {
    if (out.size() > 1) {
      out += ',';
    }
    out += std::to_string(s.*field);
  }
  return out + "}";
}

// PostgreSQL text holds no NUL byte: an owner taken from a context that holds one is left out,
// rather than failing the change the event goes with.
std::string_view storable_owner(const std::string& owner) {
  return owner.find('\0') == std::string::npos ? std::string_view(owner) : std::string_view();
}

UsageEvent read_event(const pqxx::row& row, const RecordCodec&) {
  UsageEvent e;
  e.instance_id = text_of(row[0]);
  e.at_ms = integer_of(row[1]);
  const std::string kind = text_of(row[2]);
  const auto parsed = parse_usage_event_kind(kind);
  if (!parsed) {
    // Reported with the store's name by ConnectionPool::transact.
    throw std::runtime_error("usage_events: unknown kind '" + kind + "' for instance " +
                             e.instance_id);
  }
  e.kind = *parsed;
  e.service_id = text_of(row[3]);
  e.plan_id = text_of(row[4]);
  e.organization = text_of(row[5]);
  e.space = text_of(row[6]);
  return e;
}

UsageSample read_sample(const pqxx::row& row) {
  UsageSample s;
  s.bucket_ms = integer_of(row[0]);
  s.period_ms = integer_of(row[2]);
  s.bytes_avg = integer_of(row[3]);
  s.bytes_max = integer_of(row[4]);
  s.objects_max = integer_of(row[5]);
  s.instance_id = text_of(row[6]);
  return s;
}

// Where a scan goes on: the key of the last row read.
struct ScanKey {
  int64_t bucket_ms;
  int64_t series = -1;
  int64_t period_ms = -1;
};

}  // namespace

void PgStore::insert_usage_event(Transaction& tx, const UsageEvent& e) {
  exec(tx, kInsertEvent,
       Params()
           .text(e.instance_id)
           .integer(e.at_ms)
           .text(to_string(e.kind))
           .text(e.service_id)
           .text(e.plan_id)
           .text(storable_owner(e.organization))
           .text(storable_owner(e.space)));
}

std::vector<UsageEvent> PgStore::list_usage_events(int64_t before_ms) {
  return read_all(kListEvents, "list usage events", Params().integer(before_ms), read_event);
}

void PgStore::append_usage_events(const std::vector<UsageEvent>& events) {
  pool_.transact("append usage events", [&](Transaction& tx) {
    for (const UsageEvent& e : events) {
      insert_usage_event(tx, e);
    }
  });
}

void PgStore::record_usage_samples(const std::vector<UsageSample>& samples) {
  if (samples.empty()) {
    return;
  }
  const std::string ids = text_array(samples);
  pool_.transact("record usage samples", [&](Transaction& tx) {
    exec(tx, kInsertSeries, Params().text(ids));
    exec(tx, kInsertSamples,
         Params()
             .text(ids)
             .text(integer_array(samples, &UsageSample::bucket_ms))
             .text(integer_array(samples, &UsageSample::period_ms))
             .text(integer_array(samples, &UsageSample::bytes_avg))
             .text(integer_array(samples, &UsageSample::bytes_max))
             .text(integer_array(samples, &UsageSample::objects_max)));
  });
}

// Pages of kScanPage rows, each read in a transaction of its own and visited after it ended, so
// that neither the rows nor a snapshot are held across the whole scan.
void PgStore::scan_usage_samples(int64_t from_ms, int64_t to_ms,
                                 const std::function<void(const UsageSample&)>& visit) {
  constexpr int64_t kEarliest = std::numeric_limits<int64_t>::min();
  ScanKey after{from_ms < kEarliest + kLongestPeriodMs ? kEarliest : from_ms - kLongestPeriodMs};
  for (bool more = true; more;) {
    const pqxx::result rows = pool_.transact("read usage samples", [&](Transaction& tx) {
      return exec(tx, kScanSamples,
                  Params()
                      .integer(from_ms)
                      .integer(to_ms)
                      .integer(after.bucket_ms)
                      .integer(after.series)
                      .integer(after.period_ms)
                      .integer(kScanPage));
    });
    for (const auto& row : rows) {
      visit(read_sample(row));
    }
    more = static_cast<int64_t>(rows.size()) == kScanPage;
    if (more) {
      const auto& last = rows.back();
      after = {integer_of(last[0]), integer_of(last[1]), integer_of(last[2])};
    }
  }
}

void PgStore::compact_usage(const UsageRetention& retention, int64_t now_ms) {
  const int64_t hours_before = floor_to(now_ms - retention.raw_ms, kHourMs);
  const int64_t days_before = floor_to(now_ms - retention.hourly_ms, kDayMs);
  const int64_t dropped_before = now_ms - retention.daily_ms;
  pool_.transact("compact usage history", [&](Transaction& tx) {
    exec(tx, kRollUp,
         Params()
             .integer(kHourMs)
             .integer(hours_before)
             .integer(looked_back(hours_before, retention.lookback_ms)));
    exec(tx, kRollUp,
         Params()
             .integer(kDayMs)
             .integer(days_before)
             .integer(looked_back(days_before, retention.lookback_ms)));
    const auto samples = exec(tx, kDropOldSamples, Params().integer(dropped_before));
    const auto events = exec(tx, kDropOldEvents, Params().integer(dropped_before));
    // Only what was just dropped can leave a series unused: most rounds skip the scan.
    if (samples.affected_rows() != 0 || events.affected_rows() != 0) {
      exec(tx, kDropUnusedSeries);
    }
  });
}

}  // namespace osbd::state::pg
