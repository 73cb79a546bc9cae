#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace osbd::catalog {

/// Checks one plugin's catalog document ({"services": [...]}) against OSB v2.17 (checklist
/// section B). Returns "" when valid, else the first problem as "services[i].plans[j].field: why".
std::string validate_catalog(const nlohmann::json& catalog);

/// True for CLI-friendly names: non-empty, at most 255 of [A-Za-z0-9.-_].
bool is_cli_friendly(const std::string& name) noexcept;

}  // namespace osbd::catalog
