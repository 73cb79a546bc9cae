#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "settings.hpp"

namespace osbd_postgresql {

/// The OSB catalog {"services": [...]} of the configured services and plans.
nlohmann::json make_catalog(const Settings& settings);

/// What the instance parameters ask for: the extensions to create, or why they are invalid.
struct InstanceParameters {
  std::vector<std::string> extensions;  ///< "extensions", each allowed by the plan
  std::string error;                    ///< non-empty when the parameters are invalid
};

/// Checks parameters (an object) against plan: only "extensions", a list of names from the
/// plan's allowed list, is accepted.
InstanceParameters read_instance_parameters(const nlohmann::json& parameters,
                                            const PlanSettings& plan);

}  // namespace osbd_postgresql
