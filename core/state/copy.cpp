#include "state/copy.hpp"

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace osbd::state {

namespace {

std::vector<BindingRecord> every_binding(Store& store,
                                         const std::vector<InstanceRecord>& instances) {
  std::vector<BindingRecord> out;
  for (const auto& instance : instances) {
    for (auto& binding : store.list_bindings(instance.id)) {
      out.push_back(std::move(binding));
    }
  }
  return out;
}

CopyCounts count(Store& store) {
  const auto instances = store.list_instances();
  return {instances.size(), every_binding(store, instances).size(), store.list_operations().size()};
}

void check_count(const char* what, std::size_t copied, std::size_t found) {
  if (copied != found) {
    throw StoreError("copying the state store: the target holds " + std::to_string(found) + " " +
                     what + " after copying " + std::to_string(copied));
  }
}

// Samples go over in transactions of this many.
constexpr std::size_t kSampleBatch = 5000;

// Every sample of every period, oldest first.
void scan_all_samples(Store& store, const std::function<void(const UsageSample&)>& visit) {
  store.scan_usage_samples(std::numeric_limits<int64_t>::min() / 2,
                           std::numeric_limits<int64_t>::max(), visit);
}

std::size_t count_samples(Store& store) {
  std::size_t n = 0;
  scan_all_samples(store, [&](const UsageSample&) { ++n; });
  return n;
}

// Copies the usage history: the events in one transaction, the samples in batches.
void copy_usage(Store& from, Store& to) {
  const auto events = from.list_usage_events(std::numeric_limits<int64_t>::max());
  to.append_usage_events(events);
  std::size_t samples = 0;
  std::vector<UsageSample> batch;
  batch.reserve(kSampleBatch);
  scan_all_samples(from, [&](const UsageSample& s) {
    batch.push_back(s);
    if (batch.size() == kSampleBatch) {
      to.record_usage_samples(batch);
      samples += batch.size();
      batch.clear();
    }
  });
  if (!batch.empty()) {
    to.record_usage_samples(batch);
    samples += batch.size();
  }
  check_count("usage events", events.size(),
              to.list_usage_events(std::numeric_limits<int64_t>::max()).size());
  check_count("usage samples", samples, count_samples(to));
}

}  // namespace

CopyCounts copy_store(Store& from, Store& to) {
  if (!to.empty()) {
    throw StoreError(
        "copying the state store: the target already holds instances, bindings or operations; "
        "refusing to copy into it");
  }
  const auto instances = from.list_instances();
  const auto bindings = every_binding(from, instances);
  const auto operations = from.list_operations();
  to.import_records(instances, bindings, operations);
  const CopyCounts found = count(to);
  check_count("instances", instances.size(), found.instances);
  check_count("bindings", bindings.size(), found.bindings);
  check_count("operations", operations.size(), found.operations);
  copy_usage(from, to);
  return found;
}

}  // namespace osbd::state
