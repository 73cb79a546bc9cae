#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace osbd::reload {

/// What tells one version of a plugin file from another: a file with another FileId than the
/// loaded plugin's is a replaced plugin.
struct FileId {
  uint64_t device = 0;  ///< 0 for a file that is not in the directory
  uint64_t inode = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileId& o) const {
    return device == o.device && inode == o.inode && size == o.size && mtime_ns == o.mtime_ns;
  }
  bool operator!=(const FileId& o) const { return !(*this == o); }
};

/// The plugin files of the directory, path → identity.
using Listing = std::map<std::string, FileId>;

/// A file whose plugin is not (re)loaded, and why: a change held back because instances use the
/// loaded plugin, or a load that failed.
struct Mark {
  FileId id;            ///< what the file was when marked (device 0: removed)
  std::string message;  ///< the sentence logged and shown to the operator
};

/// A loaded plugin as a rescan sees it.
struct LoadedFile {
  FileId id;            ///< the file the plugin was loaded from
  std::string name;     ///< plugin name (instances are counted per plugin)
  std::string version;  ///< plugin version, for messages
};

/// What the reloader holds before a rescan, each map keyed by file path.
struct Known {
  std::map<std::string, LoadedFile> loaded;
  std::map<std::string, Mark> held;     ///< loaded files whose change waits for a restart
  std::map<std::string, Mark> refused;  ///< files that failed to load
};

/// What one rescan does.
struct Plan {
  /// Loaded files to unload: removed, or replaced (then in load too). Their plugins have no
  /// instances.
  std::vector<std::string> release;
  /// Files to load, in name order: new files, replaced ones, and refused ones that changed.
  std::vector<std::string> load;
  /// Every loaded file whose change is held back after this rescan (it stays loaded).
  std::map<std::string, Mark> hold;
  /// The files of hold whose message is new (logged once, when the change is first seen).
  std::vector<std::string> newly_held;
  /// Refused files that are unchanged since they failed: not tried again.
  std::map<std::string, Mark> refused;
  /// The catalogs (or the refusals shown with them) change, even if nothing loads.
  bool changed = false;
};

/// True when a loaded plugin's file changed or went away: only then does make_plan() read the
/// instance counts.
bool loaded_file_changed(const Known& known, const Listing& files);

/// Compares what is loaded with what the directory holds now. instances maps a plugin name to
/// its live instances (read only for loaded files that changed; a missing name has none).
/// config_reread: the configuration was read again, so every refused file is tried again.
Plan make_plan(const Known& known, const Listing& files,
               const std::map<std::string, int64_t>& instances, bool config_reread);

}  // namespace osbd::reload
