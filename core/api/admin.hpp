#pragma once

#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "api/lifecycle.hpp"
#include "api/replicas.hpp"
#include "api/reply.hpp"
#include "catalog/catalogs.hpp"

namespace osbd::api {

/// The operator's inventory over the state store, behind the admin credentials (see Broker):
///   GET /admin/instances[?usage=true]  every instance: service and plan (ids and names), status,
///                                      owner (organization and space, or namespace, from the
///                                      request or its context), originating user, times, last
///                                      operation, bindings; with usage, what the plugin reports
///                                      the instance uses
///   GET /admin/bindings                every binding (never its credentials)
///   GET /admin/summary[?usage=true]    instances (and bytes) per plan and per owner
///   GET /admin/plugins                 each loaded plugin (name, version, vendor, ABI, file, the
///                                      services it contributes, the catalogs showing them, its
///                                      instances) and the plugin files refused, with why
///   GET /admin/replicas                the osbd processes sharing the store: their heartbeats,
///                                      versions, plugins, catalog fingerprints; which are alive
///                                      and which serve other catalogs than this one
///   GET /admin/usage?from&to&by[&format=csv]  the metering report (see usage_report): per
///                                      organization, plan, catalog or instance over a period
///                                      (default the last 30 days, at most 800)
///   GET /admin/operations?limit[&state] the latest operations (default 100, at most 1000),
///                                      newest first, with their descriptions
/// Runs on a worker thread: it reads the store and, with usage, calls plugins.
class AdminApi {
 public:
  explicit AdminApi(Lifecycle& lifecycle) : lifecycle_(lifecycle) {}

  /// Answers one admin request: path without the query, query decoded, over the catalogs served
  /// now.
  ApiReply handle(const std::string& path, const std::map<std::string, std::string>& query,
                  const catalog::Catalogs& catalogs) const;

 private:
  nlohmann::json instances(bool usage, const catalog::Registry& registry) const;
  nlohmann::json bindings() const;
  nlohmann::json summary(bool usage, const catalog::Registry& registry) const;
  nlohmann::json plugins(const catalog::Catalogs& catalogs) const;
  ApiReply metering(const std::map<std::string, std::string>& query,
                    const catalog::Registry& registry) const;
  ApiReply operations(const std::map<std::string, std::string>& query) const;
  ReplicaSelf replica_self(const catalog::Catalogs& catalogs) const;

  Lifecycle& lifecycle_;
};

}  // namespace osbd::api
