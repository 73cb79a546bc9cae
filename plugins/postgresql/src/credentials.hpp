#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "settings.hpp"

namespace osbd_postgresql {

/// The credentials of a binding: host, port, database, name, username, password, uri
/// ("postgresql://user:password@host:port/database") and jdbcUrl, with the host and port
/// applications use (public_host/public_port when configured) and the server's sslmode when it
/// demands TLS.
nlohmann::json make_credentials(const ServerSettings& server, const std::string& database,
                                const std::string& username, const std::string& password);

}  // namespace osbd_postgresql
