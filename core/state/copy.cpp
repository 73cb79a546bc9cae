#include "state/copy.hpp"

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
  return found;
}

}  // namespace osbd::state
