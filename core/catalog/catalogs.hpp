#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/registry.hpp"
#include "config/config.hpp"

namespace osbd::catalog {

/// The name of the catalog served under /v2/...
inline constexpr std::string_view kDefaultCatalog = "default";

/// The store's key of an instance created through a catalog. Instances of the default catalog
/// keep the platform's id; those of a named catalog get "NAME\x1fID". Valid ids hold no control
/// character, so keys of different catalogs never meet, and one platform id may name an instance
/// in each catalog. Plugins get this key as instance_id, so their resources differ too.
std::string scoped_id(std::string_view catalog, std::string_view id);

/// {catalog, platform id} of a store key made by scoped_id().
std::pair<std::string, std::string> split_scoped_id(std::string_view key);

/// One catalog as its platform sees it: its selection of the loaded services and plans, with
/// its display overrides applied, serialized once.
class View {
 public:
  /// "default" or the NAME of /catalogs/NAME/v2/...
  const std::string& name() const noexcept { return name_; }
  /// "" for the default catalog, else "/catalogs/NAME".
  const std::string& base_path() const noexcept { return base_path_; }
  /// The Basic credentials this catalog accepts.
  const std::vector<config::BasicCredentials>& credentials() const noexcept { return credentials_; }
  /// The GET .../v2/catalog body.
  const std::string& body() const noexcept { return body_; }
  /// Strong entity tag of body().
  const std::string& etag() const noexcept { return etag_; }
  /// The plan if this catalog shows it (with the plugin's own schemas and flags), else nullptr.
  const PlanEntry* find_plan(const std::string& service_id, const std::string& plan_id) const;
  /// True if this catalog shows the service.
  bool has_service(const std::string& service_id) const;
  /// The ids of the services it shows.
  const std::set<std::string>& service_ids() const noexcept { return services_; }

 private:
  friend class Catalogs;
  std::string name_;
  std::string base_path_;
  std::vector<config::BasicCredentials> credentials_;
  std::string body_;
  std::string etag_;
  std::map<std::pair<std::string, std::string>, const PlanEntry*> plans_;
  std::set<std::string> services_;
};

/// A plugin file in the plugin directory that is not served, and why.
struct Refusal {
  std::string file;   ///< path of the library
  std::string error;  ///< the message start-up would print for it
};

/// Every catalog over one registry; immutable, swapped whole when plugins or catalogs change.
class Catalogs {
 public:
  /// Builds each configured catalog's view (configs[0] is the default one). A selection naming
  /// a service or plan no loaded plugin offers is skipped with a warning (its plugin may be
  /// dropped in later); a view that is not a valid OSB catalog after its overrides throws
  /// CatalogError naming the catalog.
  static std::shared_ptr<const Catalogs> build(std::shared_ptr<const Registry> registry,
                                               const std::vector<config::CatalogConfig>& configs,
                                               std::vector<Refusal> refused = {});

  /// The merged registry of every loaded plugin.
  const Registry& registry() const noexcept { return *registry_; }
  /// Shared ownership of registry(), for the lifecycle.
  const std::shared_ptr<const Registry>& registry_ptr() const noexcept { return registry_; }
  /// The catalog with this name, or nullptr.
  const View* find(std::string_view name) const;
  /// Every catalog, the default one first.
  const std::vector<View>& views() const noexcept { return views_; }
  /// Selections that name nothing loaded, one sentence each.
  const std::vector<std::string>& warnings() const noexcept { return warnings_; }
  /// Plugin files that are in the directory but not served.
  const std::vector<Refusal>& refused() const noexcept { return refused_; }

 private:
  /// One catalog's view: its selection and overrides applied, validated, indexed and rendered.
  static View build_view(const Registry& reg, const config::CatalogConfig& config,
                         std::vector<std::string>& warnings);

  std::shared_ptr<const Registry> registry_;
  std::vector<View> views_;
  std::vector<std::string> warnings_;
  std::vector<Refusal> refused_;
};

}  // namespace osbd::catalog
