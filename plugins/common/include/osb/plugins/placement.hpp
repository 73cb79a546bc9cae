#pragma once

#include <chrono>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "osb/plugins/config.hpp"
#include "osb/plugins/offerings.hpp"
#include "osb/plugins/servers.hpp"

// Which server holds an instance, and which one a new instance goes to. The plugin supplies
// how to look at one server (a callback that connects and asks); Error is the exception its
// callbacks throw when a server cannot be reached.

namespace osb::plugins {

/// What a plugin's settings hold for placing instances: its servers and its services with their
/// plans. A plugin's Settings derives from it and adds its own keys.
template <typename Server, typename Plan>
struct Offerings {
  std::vector<Server> servers;          ///< "servers"
  std::vector<Service<Plan>> services;  ///< "services"

  /// The server called name, or nullptr.
  const Server* server(std::string_view name) const { return find_server(servers, name); }
  /// The plan with id plan_id, or nullopt; also when service_id is given and the plan is not
  /// one of that service.
  std::optional<PlanRef<Plan>> plan(std::string_view plan_id,
                                    std::string_view service_id = {}) const {
    return find_plan(services, plan_id, service_id);
  }
};

/// What the settings of a plugin that makes a database an instance hold beyond the offerings;
/// the plugin's Settings derives from it and adds its own keys.
template <typename Server, typename Plan>
struct DatabaseOfferings : Offerings<Server, Plan> {
  std::chrono::seconds quota_check_interval{10};  ///< "quota_check_seconds"
  std::string name_prefix = "osb_";  ///< "name_prefix": first characters of every name made

  /// What the plugin serves, for its start-up log line.
  std::string summary() const {
    if (this->services.empty()) {
      return "no services configured: this plugin offers nothing";
    }
    return "serving " + std::to_string(this->services.size()) + " service(s) on " +
           std::to_string(this->servers.size()) + " server(s); quota check every " +
           std::to_string(quota_check_interval.count()) + " s";
  }
};

/// The servers of plan, in its order, as pointers into servers (names it lists must exist, as
/// read_services checks).
template <typename Server>
std::vector<const Server*> plan_servers(const std::vector<Server>& servers, const PlanInfo& plan) {
  std::vector<const Server*> out;
  for (const std::string& name : plan.servers) {
    if (const Server* server = find_server(servers, name)) {
      out.push_back(server);
    }
  }
  return out;
}

/// The state that says where a binding is: binding_state when it names a "server", else
/// instance_state (bindings made before binding_state recorded it).
inline const nlohmann::json& binding_location(const nlohmann::json& binding_state,
                                              const nlohmann::json& instance_state) {
  return state_string(binding_state, "server").empty() ? instance_state : binding_state;
}

/// The servers an existing instance may be on: the one its state names ("server"), else those
/// of plan_id's plan, else every server.
template <typename Server, typename Plan>
std::vector<const Server*> candidate_servers(const std::vector<Server>& servers,
                                             const std::vector<Service<Plan>>& services,
                                             const nlohmann::json& state,
                                             std::string_view plan_id) {
  if (const Server* server = find_server(servers, state_string(state, "server"))) {
    return {server};
  }
  if (auto ref = find_plan(services, plan_id)) {
    return plan_servers(servers, *ref->plan);
  }
  std::vector<const Server*> out;
  for (const Server& server : servers) {
    out.push_back(&server);
  }
  return out;
}

/// The first of servers for which holds(server) is true, or nullptr. When none holds it and
/// some could not be asked (holds threw Error), that Error is thrown: the instance may be there.
template <typename Error, typename Server, typename Holds>
const Server* locate(const std::vector<const Server*>& servers, Holds&& holds) {
  std::optional<Error> unreachable;
  for (const Server* server : servers) {
    try {
      if (holds(*server)) {
        return server;
      }
    } catch (const Error& e) {
      unreachable.emplace(e);
    }
  }
  if (unreachable) {
    throw *unreachable;
  }
  return nullptr;
}

/// What placement learns about one server.
struct ServerLoad {
  bool holds_instance = false;  ///< the instance is there already (a repeated provision)
  long instances = 0;           ///< how many instances of the plugin it holds
};

/// Where a new instance goes: a server that holds it already, else the one with the fewest
/// instances (ties: the first). A server whose probe throws Error is skipped after
/// skipped(server, error); when every server was skipped, the last Error is thrown. nullptr for
/// an empty list.
template <typename Error, typename Server, typename Probe, typename Skipped>
const Server* place(const std::vector<const Server*>& servers, Probe&& probe, Skipped&& skipped) {
  const Server* best = nullptr;
  long best_count = std::numeric_limits<long>::max();
  std::optional<Error> unreachable;
  for (const Server* server : servers) {
    try {
      const ServerLoad load = probe(*server);
      if (load.holds_instance) {
        return server;  // a half-created instance: finish it where it is
      }
      if (load.instances < best_count) {
        best = server;
        best_count = load.instances;
      }
    } catch (const Error& e) {
      skipped(*server, e);
      unreachable.emplace(e);
    }
  }
  if (best == nullptr && unreachable) {
    throw *unreachable;
  }
  return best;
}

}  // namespace osb::plugins
