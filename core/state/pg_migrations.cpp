#include "state/pg_migrations.hpp"

#include <array>
#include <chrono>

#include "state/pg_rows.hpp"

namespace osbd::state::pg {

namespace {

// The schema of the SQLite store (see migrations.cpp) in PostgreSQL's types: BIGINT for
// milliseconds, BOOLEAN for async, TEXT for JSON (RecordCodec's compact text; SQL NULL for a
// JSON null) and for enum spellings (no CHECK, so that a later build can add a spelling). Keys
// compare and sort bytewise (COLLATE "C"), as SQLite's do, whatever the database's locale.
//
// Every table has a seq: insertion order, which breaks ties between records created in the same
// millisecond. Operations have no foreign key to their resource because last_operation must
// still answer after a deprovision or unbind removed it: latest_operation then finds the last
// one begun, the one with the highest seq, through operations_latest. Bindings go with their
// instance.
constexpr const char* kMigration1 = R"sql(
CREATE TABLE instances (
  id                   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  seq                  BIGSERIAL NOT NULL,
  service_id           TEXT COLLATE "C" NOT NULL,
  plan_id              TEXT COLLATE "C" NOT NULL,
  plugin               TEXT NOT NULL,
  organization_guid    TEXT NOT NULL DEFAULT '',
  space_guid           TEXT NOT NULL DEFAULT '',
  parameters           TEXT,
  context              TEXT,
  originating_identity TEXT,
  maintenance_info     TEXT,
  dashboard_url        TEXT NOT NULL DEFAULT '',
  metadata             TEXT,
  plugin_state         TEXT,
  status               TEXT NOT NULL,
  active_operation     TEXT COLLATE "C" NOT NULL DEFAULT '',
  last_operation       TEXT COLLATE "C" NOT NULL DEFAULT '',
  created_at_ms        BIGINT NOT NULL,
  updated_at_ms        BIGINT NOT NULL
);

CREATE TABLE bindings (
  instance_id      TEXT COLLATE "C" NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
  id               TEXT COLLATE "C" NOT NULL,
  seq              BIGSERIAL NOT NULL,
  service_id       TEXT COLLATE "C" NOT NULL,
  plan_id          TEXT COLLATE "C" NOT NULL,
  app_guid         TEXT NOT NULL DEFAULT '',
  parameters       TEXT,
  context          TEXT,
  bind_resource    TEXT,
  response         TEXT,
  plugin_state     TEXT,
  status           TEXT NOT NULL,
  active_operation TEXT COLLATE "C" NOT NULL DEFAULT '',
  last_operation   TEXT COLLATE "C" NOT NULL DEFAULT '',
  created_at_ms    BIGINT NOT NULL,
  updated_at_ms    BIGINT NOT NULL,
  PRIMARY KEY (instance_id, id)
);

CREATE TABLE operations (
  seq              BIGSERIAL PRIMARY KEY,
  id               TEXT COLLATE "C" NOT NULL UNIQUE,
  instance_id      TEXT COLLATE "C" NOT NULL,
  binding_id       TEXT COLLATE "C" NOT NULL DEFAULT '',
  kind             TEXT NOT NULL,
  state            TEXT NOT NULL,
  description      TEXT NOT NULL DEFAULT '',
  async            BOOLEAN NOT NULL DEFAULT FALSE,
  plugin_operation TEXT NOT NULL DEFAULT '',
  request          TEXT,
  attempts         INTEGER NOT NULL DEFAULT 0,
  created_at_ms    BIGINT NOT NULL,
  updated_at_ms    BIGINT NOT NULL,
  deadline_ms      BIGINT NOT NULL DEFAULT 0,
  owner            TEXT COLLATE "C" NOT NULL DEFAULT ''
);

-- latest_operation of a removed resource: the last entry of its range.
CREATE INDEX operations_latest ON operations (instance_id, binding_id, seq);

-- Recovery after a restart scans only the unfinished operations, a small part of the table.
CREATE INDEX operations_unfinished ON operations (created_at_ms, seq) WHERE state = 'in progress';

CREATE TABLE replicas (
  id                  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  host                TEXT NOT NULL DEFAULT '',
  version             TEXT NOT NULL DEFAULT '',
  listen              TEXT NOT NULL DEFAULT '',
  plugins             TEXT,
  catalog_fingerprint TEXT NOT NULL DEFAULT '',
  started_at_ms       BIGINT NOT NULL,
  heartbeat_at_ms     BIGINT NOT NULL
);
)sql";

// Usage history (the SQLite store's migration 4): lifecycle events per instance and samples of
// what each used. Samples name their instance through usage_series, an integer, to keep a year of
// them small; their key leads with the bucket, so that a period is one range of it. Every instance
// that exists already and whose provision succeeded (a failed one was never usable) gets a created
// event at its creation time, owned as owner_key and space_key say. A context holding \u0000, which
// PostgreSQL text cannot hold, is left out (as PgStore::insert_usage_event leaves out an owner with
// a NUL byte) rather than failing the migration.
constexpr const char* kMigration2 = R"sql(
CREATE TABLE usage_events (
  seq          BIGSERIAL PRIMARY KEY,
  instance_id  TEXT COLLATE "C" NOT NULL,
  at_ms        BIGINT NOT NULL,
  kind         TEXT NOT NULL,
  service_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
  plan_id      TEXT COLLATE "C" NOT NULL DEFAULT '',
  organization TEXT NOT NULL DEFAULT '',
  space        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX usage_events_at ON usage_events (at_ms);
CREATE INDEX usage_events_instance ON usage_events (instance_id);

CREATE TABLE usage_series (
  id          BIGSERIAL PRIMARY KEY,
  instance_id TEXT COLLATE "C" NOT NULL UNIQUE
);

CREATE TABLE usage_samples (
  bucket_ms   BIGINT NOT NULL,
  series      BIGINT NOT NULL,
  period_ms   BIGINT NOT NULL,
  bytes_avg   BIGINT NOT NULL,
  bytes_max   BIGINT NOT NULL,
  objects_max BIGINT NOT NULL,
  PRIMARY KEY (bucket_ms, series, period_ms)
);

INSERT INTO usage_events (instance_id, at_ms, kind, service_id, plan_id, organization, space)
SELECT id, created_at_ms, 'created', service_id, plan_id,
       COALESCE(NULLIF(organization_guid, ''), NULLIF(org, ''), ns, ''),
       COALESCE(NULLIF(space_guid, ''), NULLIF(space, ''), ns, '')
FROM (SELECT i.*,
             CASE json_typeof(c -> 'organization_guid') WHEN 'string'
               THEN c ->> 'organization_guid' END AS org,
             CASE json_typeof(c -> 'space_guid') WHEN 'string' THEN c ->> 'space_guid' END AS space,
             CASE json_typeof(c -> 'namespace') WHEN 'string' THEN c ->> 'namespace' END AS ns
      FROM instances i,
           LATERAL (SELECT CASE WHEN strpos(i.context, '\u0000') = 0 THEN i.context::json END
                    AS c) ctx
      WHERE i.status <> 'creating' AND EXISTS (
        SELECT 1 FROM operations o WHERE o.instance_id = i.id AND o.binding_id = '' AND
        o.kind = 'provision' AND o.state = 'succeeded')) seeded
ORDER BY created_at_ms, seq;
)sql";

constexpr std::array kMigrations = {
    Migration{1, kMigration1},
    Migration{2, kMigration2},
};

constexpr const char* kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, "
    "applied_at_ms BIGINT NOT NULL)";

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void check_known(int current, const std::string& label) {
  const int latest = latest_schema_version();
  if (current > latest) {
    throw StoreError(label + ": database schema version " + std::to_string(current) +
                     " is newer than this osbd build supports (version " + std::to_string(latest) +
                     "); refusing to open it");
  }
}

// Takes the migration lock for tx, creates schema_migrations if needed (concurrent CREATE TABLE
// IF NOT EXISTS can fail, hence under the lock) and returns the schema version, refusing one
// newer than this build.
int locked_version(Transaction& tx, const std::string& label) {
  lock_for_transaction(tx, kMigrationLock);
  exec(tx, kCreateMigrationsTable);
  const int current = current_schema_version(tx);
  check_known(current, label);
  return current;
}

}  // namespace

std::span<const Migration> migrations() noexcept {
  return kMigrations;
}

int latest_schema_version() noexcept {
  return kMigrations.back().version;
}

int current_schema_version(Transaction& tx) {
  const pqxx::result r = exec(tx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  return static_cast<int>(integer_of(r[0][0]));
}

void lock_for_transaction(Transaction& tx, int64_t key) {
  exec(tx, "SELECT pg_advisory_xact_lock($1)", Params().integer(key));
}

void migrate(ConnectionPool& pool) {
  const int at_open = pool.transact(
      "read schema version", [&](Transaction& tx) { return locked_version(tx, pool.label()); });
  for (const Migration& m : kMigrations) {
    if (at_open >= m.version) {
      continue;
    }
    pool.transact("apply schema migration", [&](Transaction& tx) {
      // Another replica may have applied it since the version was read.
      if (locked_version(tx, pool.label()) >= m.version) {
        return;
      }
      // The lock was waited for under statement_timeout; the migration itself may take longer
      // on a large table, and cutting it short would fail every start-up.
      exec(tx, "SET LOCAL statement_timeout = 0");
      tx.exec(m.sql);
      exec(tx, "INSERT INTO schema_migrations (version, applied_at_ms) VALUES ($1, $2)",
           Params().integer(m.version).integer(now_ms()));
    });
  }
}

}  // namespace osbd::state::pg
