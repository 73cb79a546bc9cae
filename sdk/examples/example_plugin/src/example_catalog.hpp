#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace osb_example {

/// Id of the one service offering. Fixed forever: platforms store it.
inline constexpr std::string_view service_id = "9bf6d9ad-db1c-479b-ba8e-648564c66a55";
/// Id of the plan "sync", which answers every call synchronously.
inline constexpr std::string_view sync_plan_id = "700556d0-4a22-4ed7-8a5c-004d693b5286";
/// Id of the plan "async", whose provision, update and deprovision run asynchronously only, and
/// whose bind and unbind run asynchronously when the platform allows it, synchronously otherwise
/// (as platforms that bind synchronously, such as Kubernetes clients, need).
inline constexpr std::string_view async_plan_id = "234546ec-7332-4da8-86fd-58acefc3580b";
/// Id of the plan "async-only": every call runs asynchronously, and is refused (422
/// AsyncRequired) when the platform does not allow it.
inline constexpr std::string_view async_only_plan_id = "5f0c5a4e-1c1b-4c59-9a52-3a61f1f0a7d2";
/// Service name unless the configuration overrides it.
inline constexpr std::string_view default_service_name = "example-service";

/// The plans of the service.
enum class Plan { sync, async, async_only };

/// True when the plan runs a call asynchronously only (binding: bind or unbind).
bool requires_async(Plan plan, bool binding);

/// The plan with id plan_id, or nullopt for an id that is not ours.
std::optional<Plan> plan_from_id(std::string_view plan_id);

/// The catalog {"services": [...]} with the service called service_name.
nlohmann::json make_catalog(const std::string& service_name);

/// What the user's parameters say: the size they set (nullopt if none) or why they are invalid.
struct Parameters {
  std::optional<std::int64_t> size;  ///< the "size" parameter, if given
  std::string error;                 ///< non-empty when the parameters are invalid
};

/// Checks parameters (an object) against the schema published in the catalog.
Parameters read_parameters(const nlohmann::json& parameters);

/// Size of an instance whose parameters do not set one.
inline constexpr std::int64_t default_size = 1;

}  // namespace osb_example
