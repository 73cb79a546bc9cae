#include "osb/plugins/credentials.hpp"

#include <utility>

#include "osb/plugins/uri.hpp"

namespace osb::plugins {

nlohmann::json database_credentials(std::string_view scheme, const ServerInfo& server,
                                    const std::string& database, const std::string& username,
                                    const std::string& password, const UriOptions& options) {
  const std::string host = server.client_host();
  const std::string authority = uri_host(host) + ":" + std::to_string(server.client_port());
  const std::string path = "/" + percent_encode(database);
  const std::string prefix(scheme);
  std::string uri = prefix + "://" + percent_encode(username) + ":" + percent_encode(password) +
                    "@" + authority + path;
  std::string jdbc = "jdbc:" + prefix + "://" + authority + path +
                     "?user=" + percent_encode(username) + "&password=" + percent_encode(password);
  if (!options.uri.empty()) {
    uri += "?" + options.uri;
  }
  if (!options.jdbc.empty()) {
    jdbc += "&" + options.jdbc;
  }
  return {{"host", host},          {"port", server.client_port()}, {"database", database},
          {"name", database},      {"username", username},         {"password", password},
          {"uri", std::move(uri)}, {"jdbcUrl", std::move(jdbc)}};
}

}  // namespace osb::plugins
