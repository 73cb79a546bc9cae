#include "state/sqlite_files.hpp"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>

#include "state/store.hpp"

namespace osbd::state::sqlite {

namespace {

// Below this much free space in the data directory, writes are about to fail: not ready.
constexpr uint64_t kMinFreeBytes = 1 << 20;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw StoreError("osbd state store " + path + ": " + what);
}

std::string errno_text(int err) {
  return std::strerror(err);
}

// mkdir's mode is filtered through the umask; the directory must be exactly owner-only.
void make_private_dir(const std::string& data_dir) {
  namespace fs = std::filesystem;
  const fs::path dir(data_dir);
  std::error_code ec;
  if (dir.has_parent_path()) {
    fs::create_directories(dir.parent_path(), ec);
    if (ec) {
      fail(data_dir, "cannot create data directory: " + ec.message());
    }
  }
  if (::mkdir(dir.c_str(), 0700) == 0) {
    ::chmod(dir.c_str(), 0700);
  } else if (errno != EEXIST) {
    fail(data_dir, "cannot create data directory: " + errno_text(errno));
  }
}

void ensure_data_dir(const std::string& data_dir) {
  namespace fs = std::filesystem;
  if (data_dir.empty()) {
    throw StoreError("osbd state store: data directory is empty");
  }
  std::error_code ec;
  const auto st = fs::status(data_dir, ec);
  if (!fs::exists(st)) {
    make_private_dir(data_dir);
  } else if (!fs::is_directory(st)) {
    fail(data_dir, "data directory is not a directory");
  }
}

void create_private_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    fail(path, "cannot open database file: " + errno_text(errno));
  }
  struct stat sb {};
  const bool too_open = ::fstat(fd, &sb) == 0 && (sb.st_mode & 0077) != 0;
  const int chmod_rc = too_open ? ::fchmod(fd, 0600) : 0;
  const int chmod_errno = errno;
  ::close(fd);
  if (chmod_rc != 0) {
    fail(path, "cannot restrict database file to its owner: " + errno_text(chmod_errno));
  }
}

}  // namespace

std::string prepare_files(const std::string& data_dir) {
  ensure_data_dir(data_dir);
  const std::string path = (std::filesystem::path(data_dir) / "osbd.db").string();
  create_private_file(path);
  return path;
}

void configure(Database& db) {
  // busy_timeout first: switching to WAL needs a lock another process may hold.
  db.exec("PRAGMA busy_timeout = 5000", "set busy_timeout");
  {
    Statement st(db, "PRAGMA journal_mode = WAL", "enable WAL");
    if (!st.step() || st.text(0) != "wal") {
      db.fail("cannot enable WAL journal mode");
    }
  }
  db.exec("PRAGMA synchronous = FULL", "set synchronous");
  // Checkpoint after 8000 WAL pages (32 MiB) rather than SQLite's 1000: a page that many batches
  // rewrite (an index's last leaf, a table's last page) is copied into the database once per
  // checkpoint, so fewer, larger checkpoints copy far fewer pages per write.
  db.exec("PRAGMA wal_autocheckpoint = 8000", "set checkpoint interval");
  db.exec("PRAGMA foreign_keys = ON", "enable foreign keys");
  Statement st(db, "PRAGMA foreign_keys", "check foreign keys");
  if (!st.step() || st.integer(0) != 1) {
    db.fail("this SQLite build cannot enforce foreign keys");
  }
}

struct stat stat_file(const std::string& path) {
  struct stat now {};
  if (::stat(path.c_str(), &now) != 0) {
    fail(path, errno_text(errno));
  }
  return now;
}

void check_same_file(const std::string& path, const struct stat& opened) {
  const struct stat now = stat_file(path);
  if (now.st_dev != opened.st_dev || now.st_ino != opened.st_ino) {
    fail(path, "the file was replaced since osbd opened it");
  }
}

void check_free_space(const std::string& path) {
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) != 0) {
    fail(path, errno_text(errno));
  }
  const uint64_t free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  if (free_bytes < kMinFreeBytes) {
    fail(path,
         "the file system has " + std::to_string(free_bytes) + " bytes free (less than 1 MiB)");
  }
}

}  // namespace osbd::state::sqlite
