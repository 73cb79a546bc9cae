#include "credentials.hpp"

namespace osbd_postgresql {

namespace {

bool is_unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// An IPv6 literal goes into brackets in a URI authority.
std::string uri_host(const std::string& host) {
  if (host.find(':') != std::string::npos && host.front() != '[') {
    return "[" + host + "]";
  }
  return host;
}

bool demands_tls(const std::string& sslmode) {
  return sslmode == "require" || sslmode == "verify-ca" || sslmode == "verify-full";
}

}  // namespace

std::string percent_encode(std::string_view text) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0x0f]);
    }
  }
  return out;
}

nlohmann::json make_credentials(const ServerSettings& server, const std::string& database,
                                const std::string& username, const std::string& password) {
  const std::string host = server.client_host();
  const std::string port = std::to_string(server.client_port());
  const std::string authority = uri_host(host) + ":" + port;
  const std::string path = "/" + percent_encode(database);
  std::string uri = "postgresql://" + percent_encode(username) + ":" + percent_encode(password) +
                    "@" + authority + path;
  std::string jdbc = "jdbc:postgresql://" + authority + path + "?user=" + percent_encode(username) +
                     "&password=" + percent_encode(password);
  if (demands_tls(server.sslmode)) {
    uri += "?sslmode=" + server.sslmode;
    jdbc += "&sslmode=" + server.sslmode;
  }
  return {{"host", host},          {"port", server.client_port()}, {"database", database},
          {"name", database},      {"username", username},         {"password", password},
          {"uri", std::move(uri)}, {"jdbcUrl", std::move(jdbc)}};
}

}  // namespace osbd_postgresql
