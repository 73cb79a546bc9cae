#pragma once

#include <nlohmann/json.hpp>

#include "settings.hpp"

namespace osbd_mysql {

/// The OSB catalog {"services": [...]} of the configured services and plans. Instances and
/// bindings take no parameters.
nlohmann::json make_catalog(const Settings& settings);

}  // namespace osbd_mysql
