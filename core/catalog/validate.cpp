#include "catalog/validate.hpp"

#include <set>

namespace osbd::catalog {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxIdLength = 255;
constexpr std::size_t kMaxSchemaBytes = 64 * 1024;

// Collects the first problem; later checks are skipped once one is found.
class Checker {
 public:
  bool ok() const { return problem_.empty(); }
  const std::string& problem() const { return problem_; }
  void fail(const std::string& path, const std::string& why) {
    if (problem_.empty()) {
      problem_ = path + ": " + why;
    }
  }

  void require_string(const json& obj, const std::string& path, const char* key, bool cli_name) {
    if (!obj.contains(key)) {
      fail(path + "." + key, "required field is missing");
      return;
    }
    const json& v = obj.at(key);
    if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
      fail(path + "." + key, "must be a non-empty string");
      return;
    }
    const auto& s = v.get_ref<const std::string&>();
    if (s.size() > kMaxIdLength && std::string(key) != "description") {
      fail(path + "." + key, "longer than 255 characters");
    }
    if (cli_name && !is_cli_friendly(s)) {
      fail(path + "." + key,
           "'" + s + "' is not CLI-friendly (use letters, digits, '.', '-', '_')");
    }
  }

  void optional_type(const json& obj, const std::string& path, const char* key, json::value_t type,
                     const char* type_name) {
    if (obj.contains(key) && obj.at(key).type() != type) {
      fail(path + "." + key, std::string("must be ") + type_name);
    }
  }

  void optional_bool(const json& obj, const std::string& path, const char* key) {
    optional_type(obj, path, key, json::value_t::boolean, "a boolean");
  }

  void check_schema(const json& schemas, const std::string& path, const char* group,
                    const char* action) {
    if (!schemas.contains(group)) {
      return;
    }
    const json& g = schemas.at(group);
    const std::string gpath = path + "." + group;
    if (!g.is_object()) {
      fail(gpath, "must be an object");
      return;
    }
    for (const char* act : {"create", "update"}) {
      if (!g.contains(act)) {
        continue;
      }
      if (std::string(group) == "service_binding" && std::string(act) == "update") {
        fail(gpath + ".update", "bindings have no update schema");
        return;
      }
      const json& a = g.at(act);
      const std::string apath = gpath + "." + act;
      if (!a.is_object()) {
        fail(apath, "must be an object");
        return;
      }
      if (!a.contains("parameters")) {
        continue;
      }
      const json& p = a.at("parameters");
      if (!p.is_object()) {
        fail(apath + ".parameters", "must be a JSON Schema object");
      } else if (!p.contains("$schema") || !p.at("$schema").is_string()) {
        fail(apath + ".parameters.$schema", "required field is missing");
      } else if (p.dump().size() > kMaxSchemaBytes) {
        fail(apath + ".parameters", "schema larger than 64 kB");
      }
    }
    (void)action;
  }

  void check_plan(const json& plan, const std::string& path) {
    if (!plan.is_object()) {
      fail(path, "must be an object");
      return;
    }
    require_string(plan, path, "id", false);
    require_string(plan, path, "name", true);
    require_string(plan, path, "description", false);
    optional_type(plan, path, "metadata", json::value_t::object, "an object");
    optional_bool(plan, path, "free");
    optional_bool(plan, path, "bindable");
    optional_bool(plan, path, "binding_rotatable");
    optional_bool(plan, path, "plan_updateable");
    if (plan.contains("maximum_polling_duration") &&
        !(plan.at("maximum_polling_duration").is_number_integer() &&
          plan.at("maximum_polling_duration").get<int64_t>() > 0)) {
      fail(path + ".maximum_polling_duration", "must be a positive integer (seconds)");
    }
    if (plan.contains("maintenance_info")) {
      const json& m = plan.at("maintenance_info");
      if (!m.is_object() || !m.contains("version") || !m.at("version").is_string() ||
          m.at("version").get_ref<const std::string&>().empty()) {
        fail(path + ".maintenance_info.version", "required (semantic version string)");
      }
    }
    if (plan.contains("schemas")) {
      const json& s = plan.at("schemas");
      if (!s.is_object()) {
        fail(path + ".schemas", "must be an object");
      } else {
        check_schema(s, path + ".schemas", "service_instance", "create");
        check_schema(s, path + ".schemas", "service_binding", "create");
      }
    }
  }

  void check_service(const json& service, const std::string& path) {
    if (!service.is_object()) {
      fail(path, "must be an object");
      return;
    }
    check_service_fields(service, path);
    check_tags(service, path);
    check_requires(service, path);
    check_plans(service, path);
  }

  /// The scalar and object fields of a service object.
  void check_service_fields(const json& service, const std::string& path) {
    require_string(service, path, "id", false);
    require_string(service, path, "name", true);
    require_string(service, path, "description", false);
    if (!service.contains("bindable")) {
      fail(path + ".bindable", "required field is missing");
    }
    optional_bool(service, path, "bindable");
    optional_bool(service, path, "instances_retrievable");
    optional_bool(service, path, "bindings_retrievable");
    optional_bool(service, path, "allow_context_updates");
    optional_bool(service, path, "plan_updateable");
    optional_type(service, path, "metadata", json::value_t::object, "an object");
    optional_type(service, path, "dashboard_client", json::value_t::object, "an object");
  }

  /// tags: optional, an array of strings.
  void check_tags(const json& service, const std::string& path) {
    if (!service.contains("tags")) {
      return;
    }
    const json& tags = service.at("tags");
    if (!tags.is_array()) {
      fail(path + ".tags", "must be an array of strings");
      return;
    }
    for (const auto& t : tags) {
      if (!t.is_string()) {
        fail(path + ".tags", "must be an array of strings");
      }
    }
  }

  /// requires: optional, an array of the permissions the specification defines.
  void check_requires(const json& service, const std::string& path) {
    if (!service.contains("requires")) {
      return;
    }
    static const std::set<std::string> allowed{"syslog_drain", "route_forwarding", "volume_mount"};
    const json& req = service.at("requires");
    if (!req.is_array()) {
      fail(path + ".requires", "must be an array");
      return;
    }
    for (const auto& r : req) {
      if (!r.is_string() || allowed.count(r.get<std::string>()) == 0) {
        fail(path + ".requires", "only syslog_drain, route_forwarding and volume_mount");
      }
    }
  }

  /// plans: at least one, each valid, with names and ids unique within the service.
  void check_plans(const json& service, const std::string& path) {
    if (!service.contains("plans") || !service.at("plans").is_array() ||
        service.at("plans").empty()) {
      fail(path + ".plans", "required: an array with at least one plan");
      return;
    }
    std::set<std::string> plan_names;
    std::set<std::string> plan_ids;
    const json& plans = service.at("plans");
    for (std::size_t i = 0; i < plans.size() && ok(); ++i) {
      const std::string ppath = path + ".plans[" + std::to_string(i) + "]";
      check_plan(plans[i], ppath);
      if (!ok()) {
        return;
      }
      if (!plan_names.insert(plans[i].at("name").get<std::string>()).second) {
        fail(ppath + ".name", "'" + plans[i].at("name").get<std::string>() +
                                  "' is used by another plan of this service");
      }
      if (!plan_ids.insert(plans[i].at("id").get<std::string>()).second) {
        fail(ppath + ".id", "'" + plans[i].at("id").get<std::string>() +
                                "' is used by another plan of this service");
      }
    }
  }

 private:
  std::string problem_;
};

}  // namespace

bool is_cli_friendly(const std::string& name) noexcept {
  if (name.empty() || name.size() > kMaxIdLength) {
    return false;
  }
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

std::string validate_catalog(const json& catalog) {
  Checker c;
  if (!catalog.is_object() || !catalog.contains("services") || !catalog.at("services").is_array()) {
    c.fail("services", "required: the catalog must be an object with a \"services\" array");
    return c.problem();
  }
  const json& services = catalog.at("services");
  for (std::size_t i = 0; i < services.size() && c.ok(); ++i) {
    c.check_service(services[i], "services[" + std::to_string(i) + "]");
  }
  return c.problem();
}

}  // namespace osbd::catalog
