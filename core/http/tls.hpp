#pragma once

#include <memory>
#include <stdexcept>

#include <boost/asio/ssl/context.hpp>

#include "config/config.hpp"

namespace osbd::http {

/// A TLS set-up that cannot serve; the message names the file and what is wrong with it.
class TlsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The server side of HTTPS: TLS 1.2 or newer, the certificate chain and key of files, and with
/// client_ca_file, clients must present a certificate that CA signed. Throws TlsError when a file
/// cannot be read or parsed, the key does not match the certificate, or the certificate has
/// expired or is not valid yet.
std::shared_ptr<boost::asio::ssl::context> make_server_tls(const config::TlsFiles& files);

}  // namespace osbd::http
