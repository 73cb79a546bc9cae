#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "http_transport.hpp"
#include "s3_errors.hpp"
#include "sigv4.hpp"
#include "uri_encoding.hpp"

namespace osbd_object_storage {

/// A response of an S3-compatible server, with its error (if any) parsed.
struct S3Response {
  HttpResponse http;  ///< status, headers, body
  ServerError error;  ///< code and message when the status is not 2xx

  /// True for 2xx.
  bool ok() const { return http.status >= 200 && http.status < 300; }
  /// The status.
  unsigned status() const { return http.status; }
  /// "404 NoSuchBucket" or "503" (for descriptions and logs; never holds a secret).
  std::string summary() const;
};

/// Receives one line per request for the log, e.g. "PUT /bucket?policy -> 204". Lines never
/// contain keys, signatures or bodies.
using RequestLog = std::function<void(const std::string&)>;

/// Path-style requests to an S3-compatible server (https://host/bucket/key), signed with
/// SigV4 for one key and region. Generic: the RGW Admin Ops API is reached through the same
/// signed requests (path "/admin/..."). Thread-safe.
class S3Client {
 public:
  /// A client that signs as credentials for region ("us-east-1" if empty).
  S3Client(HttpClient http, std::string region, Credentials credentials, RequestLog log = {});

  /// Sends method to path (already URI-encoded, e.g. from object_path) with query, headers
  /// and body, signed; throws TransportError when no response arrives.
  S3Response send(const std::string& method, const std::string& path,
                  const std::vector<QueryParam>& query = {}, const std::string& body = {},
                  const std::vector<Header>& headers = {}) const;

  /// "/bucket" or "/bucket/key" with each part URI-encoded (slashes kept in the key).
  static std::string object_path(std::string_view bucket, std::string_view key = {});

  /// CreateBucket (PUT /bucket).
  S3Response create_bucket(const std::string& bucket) const;
  /// DeleteBucket.
  S3Response delete_bucket(const std::string& bucket) const;
  /// PutObject with body.
  S3Response put_object(const std::string& bucket, const std::string& key,
                        const std::string& body) const;
  /// GetObject (body in the response).
  S3Response get_object(const std::string& bucket, const std::string& key) const;
  /// DeleteObject.
  S3Response delete_object(const std::string& bucket, const std::string& key) const;
  /// ListObjectsV2 of up to 1000 keys.
  S3Response list_objects(const std::string& bucket) const;
  /// ListBuckets (GET /).
  S3Response list_buckets() const;
  /// GetBucketPolicy (404 NoSuchBucketPolicy when there is none).
  S3Response get_bucket_policy(const std::string& bucket) const;
  /// PutBucketPolicy with policy (a JSON document).
  S3Response put_bucket_policy(const std::string& bucket, const std::string& policy) const;
  /// DeleteBucketPolicy.
  S3Response delete_bucket_policy(const std::string& bucket) const;

  /// The access key id this client signs with (public).
  const std::string& access_key_id() const { return credentials_.access_key_id; }
  /// The endpoint.
  const Endpoint& endpoint() const { return http_.endpoint(); }

 private:
  HttpClient http_;
  std::string region_;
  Credentials credentials_;
  RequestLog log_;
};

/// The keys of a ListObjectsV2 or ListBuckets (<Name>) answer, in order: every text of tag.
std::vector<std::string> xml_elements(std::string_view xml, std::string_view tag);

}  // namespace osbd_object_storage
