#include "osb/plugins/servers.hpp"

namespace osb::plugins {

using osb::sdk::ConfigReader;

void read_server_info(ConfigReader& reader, ServerInfo& server, std::int64_t default_port) {
  server.name = reader.required_string("name");
  if (!is_cli_friendly(server.name)) {
    ConfigReader::fail("name", "use letters, digits, '-', '.' and '_'");
  }
  server.host = reader.required_string("host");
  server.port = integer_in(reader, "port", default_port, 1, 65535);
  server.admin_user = reader.required_string("admin_user");
  server.admin_password = read_secret(reader, "admin_password");
  server.connect_timeout_seconds = integer_in(reader, "connect_timeout_seconds", 5, 1, 300);
  server.public_host = reader.string("public_host");
  server.public_port = integer_in(reader, "public_port", 0, 0, 65535);
}

}  // namespace osb::plugins
