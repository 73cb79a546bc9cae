#include "sigv4.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <map>
#include <stdexcept>

namespace osbd_object_storage {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Trims the value and collapses inner runs of spaces to one, as SigV4's canonical headers want.
std::string canonical_value(std::string_view value) {
  std::string out;
  bool space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) {
      out.push_back(' ');
      space = false;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    out.push_back(digits[byte >> 4]);
    out.push_back(digits[byte & 0x0f]);
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  return to_hex(std::string_view(reinterpret_cast<const char*>(digest.data()), length));
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(),
           &length) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<const char*>(mac.data()), length);
}

std::string signing_key(std::string_view secret_access_key, std::string_view date,
                        std::string_view region, std::string_view service) {
  std::string secret = "AWS4";
  secret += secret_access_key;
  const std::string k_date = hmac_sha256(secret, date);
  std::fill(secret.begin(), secret.end(), '\0');
  const std::string k_region = hmac_sha256(k_date, region);
  const std::string k_service = hmac_sha256(k_region, service);
  return hmac_sha256(k_service, "aws4_request");
}

std::string canonical_request(const SigningInput& input, std::string* signed_headers) {
  std::map<std::string, std::string> headers;
  for (const Header& header : input.headers) {
    std::string& value = headers[lower(header.first)];
    if (!value.empty()) {
      value.push_back(',');
    }
    value += canonical_value(header.second);
  }
  std::string names;
  std::string block;
  for (const auto& [name, value] : headers) {
    if (!names.empty()) {
      names.push_back(';');
    }
    names += name;
    block += name + ":" + value + "\n";
  }
  if (signed_headers != nullptr) {
    *signed_headers = names;
  }
  return input.method + "\n" + input.canonical_uri + "\n" + canonical_query(input.query) + "\n" +
         block + "\n" + names + "\n" + input.payload_hash;
}

SignatureParts sign_v4(const SigningInput& input, const Credentials& credentials,
                       std::string_view region, std::string_view service,
                       std::string_view amz_date_text) {
  SignatureParts parts;
  parts.canonical_request = canonical_request(input, &parts.signed_headers);
  const std::string_view date = amz_date_text.substr(0, 8);
  parts.credential_scope =
      std::string(date) + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  parts.string_to_sign = "AWS4-HMAC-SHA256\n" + std::string(amz_date_text) + "\n" +
                         parts.credential_scope + "\n" + sha256_hex(parts.canonical_request);
  const std::string key = signing_key(credentials.secret_access_key, date, region, service);
  parts.signature = to_hex(hmac_sha256(key, parts.string_to_sign));
  parts.authorization = "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" +
                        parts.credential_scope + ", SignedHeaders=" + parts.signed_headers +
                        ", Signature=" + parts.signature;
  return parts;
}

std::string amz_date(std::chrono::system_clock::time_point when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  gmtime_r(&t, &utc);
  std::array<char, 32> buffer{};
  const std::size_t n = std::strftime(buffer.data(), buffer.size(), "%Y%m%dT%H%M%SZ", &utc);
  return std::string(buffer.data(), n);
}

}  // namespace osbd_object_storage
