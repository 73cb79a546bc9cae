#include "state/sqlite_store.hpp"

#include <exception>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "state/migrations.hpp"
#include "state/sqlite_files.hpp"

namespace osbd::state::sqlite {

SqliteStore::SqliteStore(const std::string& path, SecretBox box)
    : path_(path),
      box_(std::move(box)),
      codec_("osbd state store " + path, box_),
      writer_(path),
      commit_(writer_, GroupCommit::kDefaultMaxBatch, /*sync_log=*/true),
      readers_(path) {
  configure(writer_);
  migrate(writer_);
  reseal_bindings();
  // From here on every write goes through commit_, which syncs the WAL after each COMMIT
  // itself, so that intents (AsyncWrite::intent_only) can go on while it syncs. Checkpoints
  // still sync the WAL before and the database after copying, as with FULL.
  writer_.exec("PRAGMA synchronous = NORMAL", "set synchronous");
  // One read connection now, so that a file the readers cannot use fails the open.
  readers_.acquire();
  opened_ = stat_file(path_);
}

void SqliteStore::write_async(AsyncWrite& write) noexcept {
  submit_async(write, true);
}

void SqliteStore::queue_write(AsyncWrite& write) noexcept {
  submit_async(write, false);
}

void SqliteStore::flush_writes() noexcept {
  commit_.lead_queued();
}

void SqliteStore::wait_durable() {
  commit_.wait_synced(commit_.committed());
}

int SqliteStore::schema_version() {
  return read([](Database& db) { return current_schema_version(db); });
}

void SqliteStore::check() {
  check_same_file(path_, opened_);
  if (const std::string failure = commit_.sync_failure(); !failure.empty()) {
    throw StoreError(failure);
  }
  check_free_space(path_);
  if (!commit_.commit_failure().empty()) {
    // The last transaction failed (a full disk, an I/O error): ready again only once a write
    // commits. The probe rewrites a header field of the file, which needs a new log frame.
    write([&] { writer_.exec("PRAGMA user_version = 0", "probe writes for readiness"); });
  }
  read([](Database& db) { return current_schema_version(db); });
}

// At start-up: seals binding responses written in plaintext (before sealing existed) or with a
// key that is no longer the current one, so that rotated-out keys can be dropped after one
// restart. Fails, naming the key, when a response was sealed with a key osbd was not given.
void SqliteStore::reseal_bindings() {
  Transaction tx(writer_);
  std::vector<std::tuple<std::string, std::string, std::string>> rewrites;
  {
    Statement sel(writer_,
                  "SELECT instance_id, id, response FROM bindings WHERE response IS NOT NULL",
                  "scan binding responses");
    while (sel.step()) {
      try {
        if (auto sealed = codec_.resealed(sel.text(2))) {
          rewrites.emplace_back(sel.text(0), sel.text(1), std::move(*sealed));
        }
      } catch (const std::exception& e) {
        throw StoreError("osbd state store " + writer_.path() + ": binding " + sel.text(0) + "/" +
                         sel.text(1) + ": " + e.what() +
                         " (credentials_encryption.key_file, previous_key_files)");
      }
    }
  }
  for (const auto& [instance_id, binding_id, sealed] : rewrites) {
    Statement upd(writer_,
                  "UPDATE bindings SET response = :response WHERE instance_id = :instance_id "
                  "AND id = :id",
                  "reseal binding response");
    upd.bind(":response", sealed).bind(":instance_id", instance_id).bind(":id", binding_id);
    upd.run();
  }
  tx.commit();
}

// Hands write to the group commit as an asynchronous unit; see write_async and queue_write.
void SqliteStore::submit_async(AsyncWrite& write, bool lead) noexcept {
  // Allocated here, freed by its done: the unit outlives this call when another thread leads.
  struct Job : GroupCommit::AsyncUnit {
    AsyncWrite* write = nullptr;
  };
  Job* job = nullptr;
  try {
    job = new Job;
  } catch (...) {
    write.done(std::current_exception());
    return;
  }
  job->write = &write;
  job->before_sync = write.intent_only();
  job->fn = [](GroupCommit::AsyncUnit& u) { static_cast<Job&>(u).write->run(); };
  job->done = [](GroupCommit::AsyncUnit& u, std::exception_ptr error) noexcept {
    auto* j = static_cast<Job*>(&u);
    AsyncWrite* w = j->write;
    delete j;
    w->done(std::move(error));
  };
  commit_.run_async(*job, lead);
}

}  // namespace osbd::state::sqlite

namespace osbd::state {

std::unique_ptr<Store> open_sqlite_store(const std::string& data_dir,
                                         const SealingOptions& sealing) {
  const std::string path = sqlite::prepare_files(data_dir);
  return std::make_unique<sqlite::SqliteStore>(path, open_secret_box(sealing, data_dir));
}

}  // namespace osbd::state
