#include "sigv4.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <map>

#include <osb/plugins/codec.hpp>

namespace osbd_object_storage {

namespace {

using osb::plugins::hmac_sha256;
using osb::plugins::sha256_hex;
using osb::plugins::to_hex;

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
