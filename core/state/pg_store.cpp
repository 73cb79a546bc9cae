// The PostgreSQL store as a whole (opening, schema, resealing, copying) and its replicas: see
// PgStore.

#include "state/pg_store.hpp"

#include <exception>
#include <memory>
#include <utility>

#include "state/pg_migrations.hpp"

namespace osbd::state::pg {

namespace {

// Bindings resealed per transaction: a start-up interrupted in the middle leaves responses
// sealed with the old key or the new one, both readable, and the next start-up goes on.
constexpr int64_t kResealBatch = 500;

const std::string kScanFirstResponses =
    "SELECT instance_id, id, response FROM bindings WHERE response IS NOT NULL "
    "ORDER BY instance_id, id LIMIT $1";
const std::string kScanNextResponses =
    "SELECT instance_id, id, response FROM bindings WHERE response IS NOT NULL "
    "AND (instance_id, id) > ($2, $3) ORDER BY instance_id, id LIMIT $1";

// Another replica may have finished an unbind or a bind on the row since it was read: the new
// response stays as that replica sealed it.
const std::string kResealResponse =
    "UPDATE bindings SET response = $1 WHERE instance_id = $2 AND id = $3 AND response = $4";

const std::string kUpsertReplica = insert_into(
    "replicas", kReplicaColumns,
    "ON CONFLICT (id) DO UPDATE SET host = excluded.host, version = excluded.version, "
    "listen = excluded.listen, plugins = excluded.plugins, "
    "catalog_fingerprint = excluded.catalog_fingerprint, "
    "started_at_ms = excluded.started_at_ms, heartbeat_at_ms = excluded.heartbeat_at_ms");

}  // namespace

PgStore::PgStore(const PostgresOptions& options, SecretBox box)
    : box_(std::move(box)), pool_(options), codec_(pool_.label(), box_) {
  migrate(pool_);
  reseal_bindings();
}

// Store's default would commit each call of write.run() on its own, and a failure half-way would
// keep the calls before it.
void PgStore::write_async(AsyncWrite& write) noexcept {
  std::exception_ptr error;
  try {
    pool_.transact_together("write", [&] { write.run(); });
  } catch (...) {
    error = std::current_exception();
  }
  write.done(std::move(error));
}

int PgStore::schema_version() {
  return pool_.transact("read schema version", current_schema_version);
}

// A pooled connection answers the schema version: the database is reachable, the session can
// run a transaction, and the schema is there. A broken pooled connection fails this check once
// and is replaced by the next call.
void PgStore::check() {
  schema_version();
}

// At start-up: seals binding responses written with a key that is no longer the current one, so
// that rotated-out keys can be dropped after one restart of every replica. Fails, naming the
// binding, when a response was sealed with a key osbd was not given.
void PgStore::reseal_bindings() {
  std::optional<BindingKey> after;
  while (pool_.transact("reseal binding responses",
                        [&](Transaction& tx) { return reseal_batch(tx, after); })) {
  }
}

// Reseals the next kResealBatch responses in key order after `after` (from the first when
// nullopt) and moves `after` to the last one read. False once no more follow. Under an advisory
// lock, so that replicas starting together take turns rather than rewrite the same rows.
bool PgStore::reseal_batch(Transaction& tx, std::optional<BindingKey>& after) {
  lock_for_transaction(tx, kResealLock);
  const pqxx::result rows =
      after ? exec(tx, kScanNextResponses,
                   Params().integer(kResealBatch).text(after->first).text(after->second))
            : exec(tx, kScanFirstResponses, Params().integer(kResealBatch));
  for (const auto& row : rows) {
    const std::string instance_id = text_of(row[0]);
    const std::string binding_id = text_of(row[1]);
    const std::string stored = text_of(row[2]);
    if (auto sealed = resealed(instance_id, binding_id, stored)) {
      exec(tx, kResealResponse,
           Params().text(*sealed).text(instance_id).text(binding_id).text(stored));
    }
  }
  if (rows.empty()) {
    return false;
  }
  after = BindingKey{text_of(rows.back()[0]), text_of(rows.back()[1])};
  return static_cast<int64_t>(rows.size()) == kResealBatch;
}

std::optional<std::string> PgStore::resealed(const std::string& instance_id,
                                             const std::string& binding_id,
                                             const std::string& stored) const {
  try {
    return codec_.resealed(stored);
  } catch (const std::exception& e) {
    throw StoreError(pool_.label() + ": binding " + instance_id + "/" + binding_id + ": " +
                     e.what() + " (credentials_encryption.key_file, previous_key_files)");
  }
}

bool PgStore::empty() {
  return pool_.transact("check whether the store is empty", [](Transaction& tx) {
    const pqxx::result r =
        exec(tx,
             "SELECT NOT EXISTS (SELECT 1 FROM instances) AND NOT EXISTS (SELECT 1 FROM bindings) "
             "AND NOT EXISTS (SELECT 1 FROM operations)");
    return r[0][0].as<bool>();
  });
}

// Plain inserts in the order given (operations get their seq, and with it their order, from
// it): a record that is there already breaks a unique key, and the whole transaction with it.
void PgStore::import_records(const std::vector<InstanceRecord>& instances,
                             const std::vector<BindingRecord>& bindings,
                             const std::vector<OperationRecord>& operations) {
  static const std::string insert_instance = insert_into("instances", kInstanceColumns);
  static const std::string insert_binding = insert_into("bindings", kBindingColumns);
  static const std::string insert_operation_row = insert_into("operations", kOperationColumns);
  pool_.transact("import records", [&](Transaction& tx) {
    for (const InstanceRecord& r : instances) {
      Params p;
      add_instance(p, codec_, r, as_recorded(r));
      exec(tx, insert_instance, p);
    }
    for (const BindingRecord& r : bindings) {
      Params p;
      add_binding(p, codec_, r, as_recorded(r));
      exec(tx, insert_binding, p);
    }
    for (const OperationRecord& op : operations) {
      Params p;
      add_operation(p, codec_, op, {op.instance_id, op.binding_id});
      exec(tx, insert_operation_row, p);
    }
  });
}

void PgStore::heartbeat(const ReplicaRecord& replica) {
  pool_.transact("write replica heartbeat", [&](Transaction& tx) {
    Params p;
    add_replica(p, codec_, replica);
    exec(tx, kUpsertReplica, p);
  });
}

std::vector<ReplicaRecord> PgStore::list_replicas() {
  static const std::string sql = select_from(kReplicaColumns, "FROM replicas ORDER BY id");
  return read_all(sql, "list replicas", Params(), read_replica);
}

void PgStore::remove_replica(const std::string& replica_id) {
  pool_.transact("remove replica", [&](Transaction& tx) {
    exec(tx, "DELETE FROM replicas WHERE id = $1", Params().text(replica_id));
  });
}

}  // namespace osbd::state::pg

namespace osbd::state {

std::unique_ptr<Store> open_postgres_store(const PostgresOptions& options,
                                           const SealingOptions& sealing) {
  if (sealing.key_file.empty()) {
    // Without a configured file every replica would seal with a key of its own, and none could
    // open what the others sealed.
    throw StoreError(pg::store_label(options) +
                     ": credentials_encryption.key_file must be set for a PostgreSQL store, and "
                     "every osbd replica sharing it needs the same key");
  }
  // Never created here: a replica given a missing file would seal with a key no other has.
  return std::make_unique<pg::PgStore>(options,
                                       open_secret_box(sealing, "", /*create_missing=*/false));
}

}  // namespace osbd::state
