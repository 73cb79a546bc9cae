#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <osb/sdk/host.hpp>

#include "osb/plugins/placement.hpp"

namespace osb::plugins {

/// The servers of a plugin that makes one database an instance, and where its instances are:
/// which server holds one, and which one a new one goes to. The plugin tells how to look at one
/// server (a census callback that connects on its own); Error is what the callback throws when
/// the server cannot be reached.
template <typename Server, typename Plan, typename Error>
class ServerFleet {
 public:
  /// What server tells about database: whether it holds it and, when count is true and it does
  /// not, how many of the plugin's databases it holds. Throws Error when it cannot be asked.
  using Census =
      std::function<ServerLoad(const Server& server, const std::string& database, bool count)>;

  /// The fleet of offerings (which must outlive it); placement warnings go to host.
  ServerFleet(const Offerings<Server, Plan>& offerings, osb::sdk::Host& host, Census census)
      : offerings_(offerings), host_(host), census_(std::move(census)) {}

  /// The servers an existing instance may be on: the one its state names, else those of
  /// plan_id's plan, else every server.
  std::vector<const Server*> candidates(const nlohmann::json& state,
                                        std::string_view plan_id) const {
    return candidate_servers(offerings_.servers, offerings_.services, state, plan_id);
  }

  /// The first of servers that holds database, or nullptr; throws Error when none holds it and
  /// some could not be asked.
  const Server* locate(const std::vector<const Server*>& servers,
                       const std::string& database) const {
    return osb::plugins::locate<Error>(servers, [&](const Server& server) {
      return census_(server, database, false).holds_instance;
    });
  }

  /// The server of an existing instance (state and plan_id as for candidates), or nullptr.
  const Server* find(const nlohmann::json& state, std::string_view plan_id,
                     const std::string& database) const {
    return locate(candidates(state, plan_id), database);
  }

  /// Where database goes among plan's servers: the one that holds it already, else the least
  /// loaded; servers that cannot be asked are skipped with a warning. nullptr when the plan has
  /// no server; throws Error when none could be asked.
  const Server* place(const PlanInfo& plan, const std::string& database) const {
    return osb::plugins::place<Error>(
        plan_servers(offerings_.servers, plan),
        [&](const Server& server) { return census_(server, database, true); },
        [&](const Server&, const Error& e) {
          host_.warn(std::string("placement skips a server: ") + e.what());
        });
  }

 private:
  const Offerings<Server, Plan>& offerings_;
  osb::sdk::Host& host_;
  Census census_;
};

}  // namespace osb::plugins
