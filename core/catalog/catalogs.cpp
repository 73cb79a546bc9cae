#include "catalog/catalogs.hpp"

#include "catalog/validate.hpp"

namespace osbd::catalog {
namespace {

using nlohmann::json;

constexpr char kScopeSeparator = '\x1f';

// The element of list whose "id" or "name" is key, or nullptr.
const json* find_by_id_or_name(const json& list, const std::string& key) {
  for (const auto& item : list) {
    if (item.value("id", "") == key) {
      return &item;
    }
  }
  for (const auto& item : list) {
    if (item.value("name", "") == key) {
      return &item;
    }
  }
  return nullptr;
}

// Applies a catalog's overrides: name and description replace, metadata merges (RFC 7386).
void apply_overrides(json& entry, const json& overrides) {
  for (const char* key : {"name", "description"}) {
    if (overrides.contains(key)) {
      entry[key] = overrides.at(key);
    }
  }
  if (overrides.contains("metadata")) {
    if (!entry.contains("metadata") || !entry.at("metadata").is_object()) {
      entry["metadata"] = json::object();
    }
    entry["metadata"].merge_patch(overrides.at("metadata"));
  }
}

}  // namespace

std::string scoped_id(std::string_view catalog, std::string_view id) {
  if (catalog.empty() || catalog == kDefaultCatalog) {
    return std::string(id);
  }
  std::string key;
  key.reserve(catalog.size() + 1 + id.size());
  key.append(catalog).push_back(kScopeSeparator);
  key.append(id);
  return key;
}

std::pair<std::string, std::string> split_scoped_id(std::string_view key) {
  const auto sep = key.find(kScopeSeparator);
  if (sep == std::string_view::npos) {
    return {std::string(kDefaultCatalog), std::string(key)};
  }
  return {std::string(key.substr(0, sep)), std::string(key.substr(sep + 1))};
}

const PlanEntry* View::find_plan(const std::string& service_id, const std::string& plan_id) const {
  const auto it = plans_.find({service_id, plan_id});
  return it == plans_.end() ? nullptr : it->second;
}

bool View::has_service(const std::string& service_id) const {
  return services_.count(service_id) != 0;
}

namespace {

/// The selected plans of one selected service, overrides applied; nullopt (with a warning) when
/// none of them exists.
std::optional<json> select_plans(const json& service, const config::ServiceSelection& selection,
                                 const std::string& where, std::vector<std::string>& warnings) {
  json plans = json::array();
  for (const auto& plan_selection : *selection.plans) {
    const json* plan = find_by_id_or_name(service.at("plans"), plan_selection.plan);
    if (plan == nullptr) {
      warnings.push_back(where + ": service '" + selection.service + "' has no plan '" +
                         plan_selection.plan + "'; it is left out");
      continue;
    }
    json shown_plan = *plan;
    apply_overrides(shown_plan, plan_selection.overrides);
    plans.push_back(std::move(shown_plan));
  }
  if (plans.empty()) {
    warnings.push_back(where + ": service '" + selection.service +
                       "' has none of the selected plans; it is left out");
    return std::nullopt;
  }
  return plans;
}

/// The services a catalog's selection shows, overrides applied; selected services that no
/// loaded plugin offers are left out with a warning.
json select_services(const Registry& reg, const std::vector<config::ServiceSelection>& selections,
                     const std::string& where, std::vector<std::string>& warnings) {
  json services = json::array();
  for (const auto& selection : selections) {
    const json* service = find_by_id_or_name(reg.services(), selection.service);
    if (service == nullptr) {
      warnings.push_back(where + ": service '" + selection.service +
                         "' is offered by no loaded plugin; it is left out");
      continue;
    }
    json shown = *service;
    apply_overrides(shown, selection.overrides);
    if (selection.plans) {
      auto plans = select_plans(*service, selection, where, warnings);
      if (!plans) {
        continue;
      }
      shown["plans"] = std::move(*plans);
    }
    services.push_back(std::move(shown));
  }
  return services;
}

/// Throws unless a selected and overridden catalog is still one the platform accepts.
void check_selected(const json& document, const std::string& where) {
  std::string problem = validate_catalog(document);
  const json& services = document.at("services");
  std::set<std::string> ids;
  std::set<std::string> names;
  for (std::size_t i = 0; problem.empty() && i < services.size(); ++i) {
    const std::string prefix = "services[" + std::to_string(i) + "]";
    if (!ids.insert(services[i].at("id").get<std::string>()).second) {
      problem = prefix + ".id: the service is selected twice";
    } else if (!names.insert(services[i].at("name").get<std::string>()).second) {
      problem = prefix + ".name: another service of this catalog has the name '" +
                services[i].at("name").get<std::string>() + "'";
    }
  }
  if (!problem.empty()) {
    throw CatalogError(where +
                       ": the catalog after its selection and overrides is invalid: " + problem);
  }
}

}  // namespace

View Catalogs::build_view(const Registry& reg, const config::CatalogConfig& config,
                          std::vector<std::string>& warnings) {
  View view;
  view.name_ = config.name;
  view.base_path_ = config.name == kDefaultCatalog ? "" : "/catalogs/" + config.name;
  view.credentials_ = config.credentials;
  const std::string where = "catalogs." + config.name;
  json document = {{"services", config.services
                                    ? select_services(reg, *config.services, where, warnings)
                                    : reg.services()}};
  if (config.services) {
    check_selected(document, where);
    view.body_ = document.dump();
    view.etag_ = strong_etag(view.body_);
  } else {
    view.body_ = reg.body();
    view.etag_ = reg.etag();
  }
  for (const auto& service : document.at("services")) {
    const auto service_id = service.at("id").get<std::string>();
    view.services_.insert(service_id);
    for (const auto& plan : service.at("plans")) {
      const auto plan_id = plan.at("id").get<std::string>();
      view.plans_[{service_id, plan_id}] = reg.find_plan(service_id, plan_id);
    }
  }
  return view;
}

std::shared_ptr<const Catalogs> Catalogs::build(std::shared_ptr<const Registry> registry,
                                                const std::vector<config::CatalogConfig>& configs,
                                                std::vector<Refusal> refused) {
  auto out = std::make_shared<Catalogs>();
  out->registry_ = std::move(registry);
  out->refused_ = std::move(refused);
  for (const auto& config : configs) {
    out->views_.push_back(build_view(*out->registry_, config, out->warnings_));
  }
  return out;
}

const View* Catalogs::find(std::string_view name) const {
  for (const auto& view : views_) {
    if (view.name() == name) {
      return &view;
    }
  }
  return nullptr;
}

}  // namespace osbd::catalog
