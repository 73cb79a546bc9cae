#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <osb/sdk/config.hpp>

#include "osb/plugins/config.hpp"

// The backend servers a plugin places instances on ("servers"): the keys every database server
// has; a plugin derives its server type from ServerInfo and reads its own keys in a callback.

namespace osb::plugins {

/// The keys every server has (an element of "servers").
struct ServerInfo {
  std::string name;                          ///< "name": how plans refer to the server
  std::string host;                          ///< "host": where the plugin connects
  std::int64_t port = 0;                     ///< "port"
  std::string admin_user;                    ///< "admin_user"
  std::string admin_password;                ///< "admin_password" or "admin_password_file"
  std::int64_t connect_timeout_seconds = 5;  ///< "connect_timeout_seconds" (1-300)
  std::string public_host;                   ///< "public_host": host in credentials ("" = host)
  std::int64_t public_port = 0;              ///< "public_port": port in credentials (0 = port)

  /// The host applications connect to.
  const std::string& client_host() const { return public_host.empty() ? host : public_host; }
  /// The port applications connect to.
  std::int64_t client_port() const { return public_port == 0 ? port : public_port; }
};

/// Reads the ServerInfo keys through reader; port defaults to default_port.
void read_server_info(osb::sdk::ConfigReader& reader, ServerInfo& server,
                      std::int64_t default_port);

/// The server called name in servers, or nullptr.
template <typename Server>
const Server* find_server(const std::vector<Server>& servers, std::string_view name) {
  for (const Server& server : servers) {
    if (server.name == name) {
      return &server;
    }
  }
  return nullptr;
}

/// Reads the "servers" list (config is the list): the ServerInfo keys with default_port, then
/// read_server(reader, server) for the server's own keys; unknown keys and names used twice are
/// refused.
template <typename Server, typename ReadServer>
std::vector<Server> read_servers(const nlohmann::json& config, std::int64_t default_port,
                                 ReadServer&& read_server) {
  std::vector<Server> servers;
  for (std::size_t i = 0; i < config.size(); ++i) {
    const std::string path = "servers[" + std::to_string(i) + "]";
    Server server = at_path(path, [&] {
      const nlohmann::json object = require_object(config[i]);
      osb::sdk::ConfigReader reader(object);
      Server read;
      read_server_info(reader, read, default_port);
      read_server(reader, read);
      reader.reject_unknown_keys();
      return read;
    });
    if (find_server(servers, server.name) != nullptr) {
      osb::sdk::ConfigReader::fail(path + ".name",
                                   "\"" + server.name + "\" is used by another server");
    }
    servers.push_back(std::move(server));
  }
  return servers;
}

}  // namespace osb::plugins
