#include "state/migrations.hpp"

#include <array>
#include <chrono>
#include <string>

namespace osbd::state::sqlite {

namespace {

// JSON columns hold json::dump() text, or SQL NULL for a JSON null. Enum columns hold the
// to_string() spellings from records.hpp; they carry no CHECK constraint so that a later build can
// add a spelling without rebuilding the table.
//
// operations keeps an explicit INTEGER PRIMARY KEY (seq): it is the insertion order that breaks
// ties between operations created in the same millisecond, and unlike an implicit rowid it is
// never renumbered by VACUUM. Operations have no foreign key to instances or bindings because
// last_operation must still answer after a deprovision or unbind removed the resource.
constexpr const char* kMigration1 = R"sql(
CREATE TABLE instances (
  id                   TEXT    NOT NULL PRIMARY KEY,
  service_id           TEXT    NOT NULL,
  plan_id              TEXT    NOT NULL,
  plugin               TEXT    NOT NULL,
  organization_guid    TEXT    NOT NULL DEFAULT '',
  space_guid           TEXT    NOT NULL DEFAULT '',
  parameters           TEXT,
  context              TEXT,
  originating_identity TEXT,
  maintenance_info     TEXT,
  dashboard_url        TEXT    NOT NULL DEFAULT '',
  metadata             TEXT,
  plugin_state         TEXT,
  status               TEXT    NOT NULL,
  active_operation     TEXT    NOT NULL DEFAULT '',
  last_operation       TEXT    NOT NULL DEFAULT '',
  created_at_ms        INTEGER NOT NULL,
  updated_at_ms        INTEGER NOT NULL
);

CREATE TABLE bindings (
  instance_id      TEXT    NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
  id               TEXT    NOT NULL,
  service_id       TEXT    NOT NULL,
  plan_id          TEXT    NOT NULL,
  app_guid         TEXT    NOT NULL DEFAULT '',
  parameters       TEXT,
  context          TEXT,
  bind_resource    TEXT,
  response         TEXT,
  plugin_state     TEXT,
  status           TEXT    NOT NULL,
  active_operation TEXT    NOT NULL DEFAULT '',
  last_operation   TEXT    NOT NULL DEFAULT '',
  created_at_ms    INTEGER NOT NULL,
  updated_at_ms    INTEGER NOT NULL,
  PRIMARY KEY (instance_id, id)
);

CREATE TABLE operations (
  seq              INTEGER PRIMARY KEY,
  id               TEXT    NOT NULL UNIQUE,
  instance_id      TEXT    NOT NULL,
  binding_id       TEXT    NOT NULL DEFAULT '',
  kind             TEXT    NOT NULL,
  state            TEXT    NOT NULL,
  description      TEXT    NOT NULL DEFAULT '',
  async            INTEGER NOT NULL DEFAULT 0,
  plugin_operation TEXT    NOT NULL DEFAULT '',
  request          TEXT,
  attempts         INTEGER NOT NULL DEFAULT 0,
  created_at_ms    INTEGER NOT NULL,
  updated_at_ms    INTEGER NOT NULL,
  deadline_ms      INTEGER NOT NULL DEFAULT 0
);

-- latest_operation: every index entry ends in seq, so ties on created_at_ms resolve by insertion.
CREATE INDEX operations_latest ON operations (instance_id, binding_id, created_at_ms);

-- Recovery after a restart scans only the unfinished operations, a small part of the table.
CREATE INDEX operations_unfinished ON operations (created_at_ms) WHERE state = 'in progress';
)sql";

// latest_operation follows the resource's last_operation instead of searching the operations by
// resource: operations_latest cost every new operation a write to a random page of a large index.
// A removed resource's last operation is kept in removed_resources, written once at removal; for
// the resources removed before this migration it is found once, with the old index, before that
// index goes.
constexpr const char* kMigration2 = R"sql(
CREATE TABLE removed_resources (
  instance_id    TEXT    NOT NULL,
  binding_id     TEXT    NOT NULL DEFAULT '',
  last_operation TEXT    NOT NULL,
  removed_at_ms  INTEGER NOT NULL,
  PRIMARY KEY (instance_id, binding_id)
) WITHOUT ROWID;

INSERT INTO removed_resources (instance_id, binding_id, last_operation, removed_at_ms)
SELECT o.instance_id, o.binding_id, o.id, o.updated_at_ms FROM operations o
WHERE o.seq = (SELECT l.seq FROM operations l
               WHERE l.instance_id = o.instance_id AND l.binding_id = o.binding_id
               ORDER BY l.created_at_ms DESC, l.seq DESC LIMIT 1)
  AND NOT EXISTS (SELECT 1 FROM instances i WHERE o.binding_id = '' AND i.id = o.instance_id)
  AND NOT EXISTS (SELECT 1 FROM bindings b WHERE o.binding_id <> '' AND
                  b.instance_id = o.instance_id AND b.id = o.binding_id);

DROP INDEX operations_latest;
)sql";

// Replicas: which osbd process owns an unfinished operation, and the processes' heartbeats (one
// row here: an SQLite store has a single replica, the shape is the PostgreSQL store's).
constexpr const char* kMigration3 = R"sql(
ALTER TABLE operations ADD COLUMN owner TEXT NOT NULL DEFAULT '';

CREATE TABLE replicas (
  id                  TEXT    NOT NULL PRIMARY KEY,
  host                TEXT    NOT NULL DEFAULT '',
  version             TEXT    NOT NULL DEFAULT '',
  listen              TEXT    NOT NULL DEFAULT '',
  plugins             TEXT,
  catalog_fingerprint TEXT    NOT NULL DEFAULT '',
  started_at_ms       INTEGER NOT NULL,
  heartbeat_at_ms     INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// Usage history: lifecycle events per instance and samples of what each used. Samples name their
// instance through usage_series, an integer, to keep a year of them small; their key leads with
// the bucket so that a period is one range. Every instance that exists already and whose provision
// succeeded (a failed one was never usable) gets a created event at its creation time, owned as
// usage_event_of would own it (a context value counts only when it is a non-empty string).
constexpr const char* kMigration4 = R"sql(
CREATE TABLE usage_events (
  seq          INTEGER PRIMARY KEY,
  instance_id  TEXT    NOT NULL,
  at_ms        INTEGER NOT NULL,
  kind         TEXT    NOT NULL,
  service_id   TEXT    NOT NULL DEFAULT '',
  plan_id      TEXT    NOT NULL DEFAULT '',
  organization TEXT    NOT NULL DEFAULT '',
  space        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX usage_events_at ON usage_events (at_ms);
CREATE INDEX usage_events_instance ON usage_events (instance_id);

CREATE TABLE usage_series (
  id          INTEGER PRIMARY KEY,
  instance_id TEXT    NOT NULL UNIQUE
);

CREATE TABLE usage_samples (
  bucket_ms   INTEGER NOT NULL,
  series      INTEGER NOT NULL,
  period_ms   INTEGER NOT NULL,
  bytes_avg   INTEGER NOT NULL,
  bytes_max   INTEGER NOT NULL,
  objects_max INTEGER NOT NULL,
  PRIMARY KEY (bucket_ms, series, period_ms)
) WITHOUT ROWID;

INSERT INTO usage_events (instance_id, at_ms, kind, service_id, plan_id, organization, space)
SELECT id, created_at_ms, 'created', service_id, plan_id,
       COALESCE(NULLIF(organization_guid, ''),
                NULLIF(CASE WHEN json_valid(context) THEN CASE WHEN json_type(context, '$.organization_guid') = 'text' THEN json_extract(context, '$.organization_guid') END END, ''),
                CASE WHEN json_valid(context) THEN CASE WHEN json_type(context, '$.namespace') = 'text' THEN json_extract(context, '$.namespace') END END, ''),
       COALESCE(NULLIF(space_guid, ''),
                NULLIF(CASE WHEN json_valid(context) THEN CASE WHEN json_type(context, '$.space_guid') = 'text' THEN json_extract(context, '$.space_guid') END END, ''),
                CASE WHEN json_valid(context) THEN CASE WHEN json_type(context, '$.namespace') = 'text' THEN json_extract(context, '$.namespace') END END, '')
FROM instances WHERE status <> 'creating' AND EXISTS (
  SELECT 1 FROM operations o WHERE o.instance_id = instances.id AND o.binding_id = '' AND
  o.kind = 'provision' AND o.state = 'succeeded')
ORDER BY created_at_ms, rowid;
)sql";

constexpr std::array kMigrations = {
    Migration{1, kMigration1},
    Migration{2, kMigration2},
    Migration{3, kMigration3},
    Migration{4, kMigration4},
};

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void check_known(Database& db, int current) {
  const int latest = latest_schema_version();
  if (current > latest) {
    db.fail("database schema version " + std::to_string(current) +
            " is newer than this osbd build supports (version " + std::to_string(latest) +
            "); refusing to open it");
  }
}

}  // namespace

std::span<const Migration> migrations() noexcept {
  return kMigrations;
}

int latest_schema_version() noexcept {
  return kMigrations.back().version;
}

int current_schema_version(Database& db) {
  Statement st(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
               "read schema version");
  if (!st.step()) {
    return 0;
  }
  return static_cast<int>(st.integer(0));
}

void migrate(Database& db) {
  db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      "version INTEGER PRIMARY KEY, applied_at_ms INTEGER NOT NULL)",
      "create schema_migrations");
  const int at_open = current_schema_version(db);
  check_known(db, at_open);

  for (const Migration& m : kMigrations) {
    if (at_open >= m.version) {
      continue;
    }
    Transaction tx(db);
    // Re-read under the write lock: another process opening the same file may have applied this
    // migration since the check above.
    const int current = current_schema_version(db);
    check_known(db, current);
    if (current >= m.version) {
      continue;
    }
    db.exec(m.sql, "apply schema migration " + std::to_string(m.version));
    Statement st(db, "INSERT INTO schema_migrations (version, applied_at_ms) VALUES (:v, :at)",
                 "record schema migration");
    st.bind(":v", static_cast<int64_t>(m.version)).bind(":at", now_ms()).run();
    tx.commit();
  }
}

}  // namespace osbd::state::sqlite
