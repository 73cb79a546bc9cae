#pragma once

#include <nlohmann/json.hpp>

#include "settings.hpp"

namespace osbd_object_storage {

/// The JSON schema of a provision's or update's parameters: {"protect_non_empty": bool}.
nlohmann::json instance_parameters_schema();
/// The JSON schema of a bind's parameters: {"access": "read-only" | "read-write"}.
nlohmann::json binding_parameters_schema();
/// The OSB catalog of the configured services: {"services": [...]}.
nlohmann::json make_catalog(const Settings& settings);

}  // namespace osbd_object_storage
