#include "state/store.hpp"

#include <map>

namespace osbd::state {

std::vector<Store::PlanInstances> Store::count_instances_by_plan() {
  std::map<std::pair<std::string, std::string>, uint64_t> counts;
  for (const auto& instance : list_instances()) {
    ++counts[{instance.service_id, instance.plan_id}];
  }
  std::vector<PlanInstances> out;
  for (const auto& [key, n] : counts) {
    out.push_back({key.first, key.second, n});
  }
  return out;
}

}  // namespace osbd::state
