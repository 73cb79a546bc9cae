#include "credentials.hpp"

#include <osb/plugins/credentials.hpp>

namespace osbd_postgresql {

namespace {

bool demands_tls(const std::string& sslmode) {
  return sslmode == "require" || sslmode == "verify-ca" || sslmode == "verify-full";
}

}  // namespace

nlohmann::json make_credentials(const ServerSettings& server, const std::string& database,
                                const std::string& username, const std::string& password) {
  osb::plugins::UriOptions options;
  if (demands_tls(server.sslmode)) {
    options.uri = "sslmode=" + server.sslmode;
    options.jdbc = options.uri;
  }
  return osb::plugins::database_credentials("postgresql", server, database, username, password,
                                            options);
}

}  // namespace osbd_postgresql
