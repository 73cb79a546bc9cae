#include "http/tls.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <string>

namespace osbd::http {

namespace ssl = boost::asio::ssl;

namespace {

// OpenSSL's reason for the last failure, without the file contents.
std::string openssl_reason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) {
    return "unknown error";
  }
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

// The leaf certificate of a PEM file must be valid now: osbd refuses to start with one that a
// client would refuse anyway.
void check_validity(const std::string& file) {
  FILE* f = std::fopen(file.c_str(), "r");
  if (f == nullptr) {
    throw TlsError("tls.certificate_file " + file + ": cannot be read");
  }
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (cert == nullptr) {
    throw TlsError("tls.certificate_file " + file + ": no PEM certificate in it (" +
                   openssl_reason() + ")");
  }
  const int not_after = X509_cmp_current_time(X509_get0_notAfter(cert));
  const int not_before = X509_cmp_current_time(X509_get0_notBefore(cert));
  X509_free(cert);
  if (not_after <= 0) {
    throw TlsError("tls.certificate_file " + file + ": the certificate has expired");
  }
  if (not_before >= 0) {
    throw TlsError("tls.certificate_file " + file + ": the certificate is not valid yet");
  }
}

}  // namespace

std::shared_ptr<ssl::context> make_server_tls(const config::TlsFiles& files) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  boost::system::error_code ec;
  check_validity(files.certificate_file);
  ctx->use_certificate_chain_file(files.certificate_file, ec);
  if (ec) {
    throw TlsError("tls.certificate_file " + files.certificate_file + ": " + ec.message());
  }
  // The key's own bytes never reach a message: only the file name and OpenSSL's reason.
  ctx->use_private_key_file(files.private_key_file, ssl::context::pem, ec);
  if (ec) {
    const bool mismatch = ec.message().find("mismatch") != std::string::npos;
    throw TlsError("tls.private_key_file " + files.private_key_file +
                   (mismatch ? ": does not match the certificate in " + files.certificate_file
                             : ": cannot be used (" + ec.message() + ")"));
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    throw TlsError("tls.private_key_file " + files.private_key_file +
                   ": does not match the certificate in " + files.certificate_file);
  }
  if (!files.client_ca_file.empty()) {
    ctx->load_verify_file(files.client_ca_file, ec);
    if (ec) {
      throw TlsError("tls.client_ca_file " + files.client_ca_file + ": " + ec.message());
    }
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return ctx;
}

}  // namespace osbd::http
