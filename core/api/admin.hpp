#pragma once

#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "api/lifecycle.hpp"
#include "api/reply.hpp"
#include "catalog/registry.hpp"

namespace osbd::api {

/// The operator's inventory over the state store, behind the admin credentials (see Broker):
///   GET /admin/instances[?usage=true]  every instance: service and plan (ids and names), status,
///                                      owner (organization and space, or namespace, from the
///                                      request or its context), originating user, times, last
///                                      operation, bindings; with usage, what the plugin reports
///                                      the instance uses
///   GET /admin/bindings                every binding (never its credentials)
///   GET /admin/summary[?usage=true]    instances (and bytes) per plan and per owner
/// Runs on a worker thread: it reads the store and, with usage, calls plugins.
class AdminApi {
 public:
  AdminApi(Lifecycle& lifecycle, std::shared_ptr<const catalog::Registry> registry)
      : lifecycle_(lifecycle), registry_(std::move(registry)) {}

  /// Answers one admin request: path without the query, query decoded.
  ApiReply handle(const std::string& path, const std::map<std::string, std::string>& query) const;

 private:
  nlohmann::json instances(bool usage) const;
  nlohmann::json bindings() const;
  nlohmann::json summary(bool usage) const;

  Lifecycle& lifecycle_;
  std::shared_ptr<const catalog::Registry> registry_;
};

}  // namespace osbd::api
