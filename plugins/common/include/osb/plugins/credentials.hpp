#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "osb/plugins/servers.hpp"

namespace osb::plugins {

/// Options appended to a database binding's URIs ("" for none): "k=v&k2=v2", already encoded.
struct UriOptions {
  std::string uri;   ///< query of uri
  std::string jdbc;  ///< appended to jdbcUrl after its user and password
};

/// The credentials of a binding to a database on server: host, port (the server's client_host
/// and client_port), database, name (both the database), username, password,
/// uri "<scheme>://user:password@host:port/database[?options.uri]" and
/// jdbcUrl "jdbc:<scheme>://host:port/database?user=...&password=...[&options.jdbc]", with user,
/// password and database percent-encoded and an IPv6 host in brackets.
nlohmann::json database_credentials(std::string_view scheme, const ServerInfo& server,
                                    const std::string& database, const std::string& username,
                                    const std::string& password, const UriOptions& options = {});

}  // namespace osb::plugins
