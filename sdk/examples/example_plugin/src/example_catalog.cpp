#include "example_catalog.hpp"

#include <utility>

namespace osb_example {

namespace {

constexpr std::int64_t min_size = 1;
constexpr std::int64_t max_size = 10;

// The JSON Schema (draft-04) of the parameters accepted on create and update. The plugin checks
// the same rules itself in parse_size_parameter; platforms may use the schema to build forms.
nlohmann::json instance_parameters_schema() {
  return {{"$schema", "http://json-schema.org/draft-04/schema#"},
          {"type", "object"},
          {"additionalProperties", false},
          {"properties",
           {{"size",
             {{"type", "integer"},
              {"minimum", min_size},
              {"maximum", max_size},
              {"description", "Capacity units of the instance"}}}}}};
}

nlohmann::json plan_schemas() {
  const nlohmann::json parameters = {{"parameters", instance_parameters_schema()}};
  return {{"service_instance", {{"create", parameters}, {"update", parameters}}}};
}

}  // namespace

std::optional<Plan> plan_from_id(std::string_view plan_id) {
  if (plan_id == sync_plan_id) {
    return Plan::sync;
  }
  if (plan_id == async_plan_id) {
    return Plan::async;
  }
  if (plan_id == async_only_plan_id) {
    return Plan::async_only;
  }
  return std::nullopt;
}

bool requires_async(Plan plan, bool binding) {
  return plan == Plan::async_only || (plan == Plan::async && !binding);
}

nlohmann::json make_catalog(const std::string& service_name) {
  nlohmann::json sync_plan = {
      {"id", sync_plan_id},
      {"name", "sync"},
      {"description", "Answers every request immediately"},
      {"free", true},
      {"binding_rotatable", true},
      {"maintenance_info", {{"version", "1.0.0"}, {"description", "Initial release"}}},
      {"metadata", {{"displayName", "Synchronous"}, {"bullets", {"Instant provisioning"}}}},
      {"schemas", plan_schemas()}};
  nlohmann::json async_plan = {
      {"id", async_plan_id},
      {"name", "async"},
      {"description",
       "Provisions and deprovisions asynchronously; binds asynchronously when allowed"},
      {"free", true},
      {"maximum_polling_duration", 600},
      {"metadata", {{"displayName", "Asynchronous"}, {"bullets", {"Polled operations"}}}},
      {"schemas", plan_schemas()}};
  nlohmann::json async_only_plan = {
      {"id", async_only_plan_id},
      {"name", "async-only"},
      {"description", "Runs every call asynchronously; refuses platforms that do not allow it"},
      {"free", true},
      {"maximum_polling_duration", 600},
      {"metadata", {{"displayName", "Asynchronous only"}, {"bullets", {"Polled operations"}}}},
      {"schemas", plan_schemas()}};
  nlohmann::json service = {
      {"id", service_id},
      {"name", service_name},
      {"description", "An in-memory example service of osbd"},
      {"bindable", true},
      {"instances_retrievable", true},
      {"bindings_retrievable", true},
      {"plan_updateable", true},
      {"tags", {"example", "in-memory"}},
      {"metadata",
       {{"displayName", "Example Service"},
        {"longDescription", "Keeps instances and bindings in memory; for trying osbd out"},
        {"providerDisplayName", "osbd"}}},
      {"plans", {std::move(sync_plan), std::move(async_plan), std::move(async_only_plan)}}};
  return {{"services", {std::move(service)}}};
}

Parameters read_parameters(const nlohmann::json& parameters) {
  Parameters result;
  for (const auto& item : parameters.items()) {
    if (item.key() != "size") {
      result.error = "unknown parameter \"" + item.key() + "\"; this service accepts only \"size\"";
      return result;
    }
    const nlohmann::json& value = item.value();
    // Checked as unsigned first: a value above INT64_MAX would wrap in get<std::int64_t>().
    const bool in_range = value.is_number_integer() &&
                          (value.is_number_unsigned()
                               ? value.get<std::uint64_t>() <= static_cast<std::uint64_t>(max_size)
                               : value.get<std::int64_t>() <= max_size) &&
                          value.get<std::int64_t>() >= min_size;
    if (!in_range) {
      result.error = "parameter \"size\" must be an integer from 1 to 10";
      return result;
    }
    result.size = value.get<std::int64_t>();
  }
  return result;
}

}  // namespace osb_example
