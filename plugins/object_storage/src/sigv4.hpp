#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "uri_encoding.hpp"

namespace osbd_object_storage {

/// An access key: the id is public, the secret never leaves the signer (and is never logged).
struct Credentials {
  std::string access_key_id;      ///< e.g. "AKIAIOSFODNN7EXAMPLE"
  std::string secret_access_key;  ///< the HMAC key material
};

/// A header as it is sent (any case, untrimmed value).
using Header = std::pair<std::string, std::string>;

/// What AWS Signature Version 4 signs of a request.
struct SigningInput {
  std::string method;             ///< "GET", "PUT", ...
  std::string canonical_uri;      ///< the path, already URI-encoded ("/bucket/a%20key")
  std::vector<QueryParam> query;  ///< unencoded query parameters
  std::vector<Header> headers;    ///< every header to sign, including host and x-amz-date
  std::string payload_hash;       ///< lowercase hex SHA-256 of the body
};

/// The pieces of a signature; none of them contains the secret key.
struct SignatureParts {
  std::string canonical_request;  ///< step 1 of SigV4
  std::string string_to_sign;     ///< step 2
  std::string credential_scope;   ///< "20130524/us-east-1/s3/aws4_request"
  std::string signed_headers;     ///< "host;range;x-amz-content-sha256;x-amz-date"
  std::string signature;          ///< lowercase hex HMAC-SHA256
  std::string authorization;      ///< the Authorization header value
};

/// The SigV4 signing key for date (YYYYMMDD), region and service, raw bytes.
std::string signing_key(std::string_view secret_access_key, std::string_view date,
                        std::string_view region, std::string_view service);

/// The canonical request of SigV4 (headers lowercased, values trimmed with inner runs of spaces
/// collapsed, sorted by name; the query as canonical_query).
std::string canonical_request(const SigningInput& input, std::string* signed_headers = nullptr);

/// Signs input at amz_date ("YYYYMMDDTHHMMSSZ", which must equal its x-amz-date header) for
/// region and service.
SignatureParts sign_v4(const SigningInput& input, const Credentials& credentials,
                       std::string_view region, std::string_view service,
                       std::string_view amz_date);

/// The x-amz-date form of a time: "20130524T000000Z" (UTC).
std::string amz_date(std::chrono::system_clock::time_point when);

/// The hash of an empty payload.
inline constexpr std::string_view empty_payload_sha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

}  // namespace osbd_object_storage
