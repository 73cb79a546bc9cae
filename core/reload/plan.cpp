#include "reload/plan.hpp"

#include <algorithm>

namespace osbd::reload {

namespace {

int64_t instances_of(const std::map<std::string, int64_t>& instances, const std::string& name) {
  const auto it = instances.find(name);
  return it == instances.end() ? 0 : it->second;
}

std::string hold_message(const std::string& file, const LoadedFile& plugin, bool removed,
                         int64_t instances) {
  return file + " (" + plugin.name + " " + plugin.version +
         "): " + (removed ? "removed" : "replaced") + " while " + std::to_string(instances) +
         " instance(s) use it; the loaded plugin keeps serving, and the change takes effect at "
         "the next restart, which refuses to start while live instances have no plugin";
}

// A changed file whose plugin instances use: the plugin stays, with a message that is new
// unless the same change was held back before.
void hold(const Known& known, const std::string& file, const LoadedFile& loaded, const FileId& now,
          int64_t instances, Plan& plan) {
  const auto held = known.held.find(file);
  if (held != known.held.end() && held->second.id == now) {
    plan.hold[file] = held->second;
    return;
  }
  plan.hold[file] = Mark{now, hold_message(file, loaded, now.device == 0, instances)};
  plan.newly_held.push_back(file);
  plan.changed = true;
}

// Each loaded file is unchanged (a change held back before has been undone), held, or released
// (and loaded again when it was replaced).
void plan_loaded(const Known& known, const Listing& files,
                 const std::map<std::string, int64_t>& instances, Plan& plan) {
  for (const auto& [file, loaded] : known.loaded) {
    const auto now = files.find(file);
    const bool removed = now == files.end();
    if (!removed && now->second == loaded.id) {
      plan.changed = plan.changed || known.held.count(file) != 0;
      continue;
    }
    if (const int64_t n = instances_of(instances, loaded.name); n > 0) {
      hold(known, file, loaded, removed ? FileId{} : now->second, n, plan);
      continue;
    }
    plan.release.push_back(file);
    if (!removed) {
      plan.load.push_back(file);
    }
    plan.changed = true;
  }
}

// A refused file is tried again once it changes, or after the configuration was reread.
void plan_refused(const Known& known, const Listing& files, bool config_reread, Plan& plan) {
  if (config_reread) {
    plan.changed = true;
    return;
  }
  for (const auto& [file, mark] : known.refused) {
    const auto now = files.find(file);
    if (now == files.end() || now->second != mark.id) {
      plan.changed = true;
    } else {
      plan.refused.emplace(file, mark);
    }
  }
}

}  // namespace

bool loaded_file_changed(const Known& known, const Listing& files) {
  return std::any_of(known.loaded.begin(), known.loaded.end(), [&](const auto& entry) {
    const auto now = files.find(entry.first);
    return now == files.end() || now->second != entry.second.id;
  });
}

Plan make_plan(const Known& known, const Listing& files,
               const std::map<std::string, int64_t>& instances, bool config_reread) {
  Plan plan;
  plan_loaded(known, files, instances, plan);
  plan_refused(known, files, config_reread, plan);
  for (const auto& [file, id] : files) {
    if (known.loaded.count(file) == 0 && plan.refused.count(file) == 0) {
      plan.load.push_back(file);
    }
  }
  std::sort(plan.load.begin(), plan.load.end());
  if (!plan.load.empty()) {
    plan.changed = true;
  }
  return plan;
}

}  // namespace osbd::reload
