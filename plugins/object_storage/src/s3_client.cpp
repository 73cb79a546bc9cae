#include "s3_client.hpp"

#include <chrono>
#include <utility>

#include <osb/plugins/codec.hpp>
#include <osb/plugins/uri.hpp>

namespace osbd_object_storage {

std::string S3Response::summary() const {
  std::string out = std::to_string(http.status);
  if (!error.code.empty()) {
    out += " " + error.code;
  }
  return out;
}

S3Client::S3Client(HttpClient http, std::string region, Credentials credentials, RequestLog log)
    : http_(std::move(http)),
      region_(region.empty() ? "us-east-1" : std::move(region)),
      credentials_(std::move(credentials)),
      log_(std::move(log)) {}

std::string S3Client::object_path(std::string_view bucket, std::string_view key) {
  std::string path = "/" + osb::plugins::percent_encode(bucket);
  if (!key.empty()) {
    path += "/" + osb::plugins::percent_encode(key, "/");
  }
  return path;
}

S3Response S3Client::send(const std::string& method, const std::string& path,
                          const std::vector<QueryParam>& query, const std::string& body,
                          const std::vector<Header>& headers) const {
  SigningInput input;
  input.method = method;
  input.canonical_uri = path.empty() ? "/" : path;
  input.query = query;
  input.payload_hash = osb::plugins::sha256_hex(body);
  const std::string date = amz_date(std::chrono::system_clock::now());
  input.headers = headers;
  input.headers.emplace_back("host", http_.endpoint().host_header());
  input.headers.emplace_back("x-amz-content-sha256", input.payload_hash);
  input.headers.emplace_back("x-amz-date", date);
  const SignatureParts parts = sign_v4(input, credentials_, region_, "s3", date);

  HttpRequest request;
  request.method = method;
  request.target = input.canonical_uri;
  const std::string wire = wire_query(query);
  if (!wire.empty()) {
    request.target += "?" + wire;
  }
  request.headers = headers;
  request.headers.emplace_back("x-amz-content-sha256", input.payload_hash);
  request.headers.emplace_back("x-amz-date", date);
  request.headers.emplace_back("Authorization", parts.authorization);
  request.body = body;

  S3Response response;
  try {
    response.http = http_.send(request);
  } catch (const TransportError& e) {
    if (log_) {
      log_(method + " " + request.target + " failed: " + e.what());
    }
    throw;
  }
  if (!response.ok()) {
    response.error = parse_server_error(response.http.body);
  }
  if (log_) {
    // The scope and signed header names only: no key, no signature, no body.
    log_(method + " " + request.target + " (signed for " + parts.credential_scope + ", headers " +
         parts.signed_headers + ") -> " + response.summary());
  }
  return response;
}

S3Response S3Client::create_bucket(const std::string& bucket) const {
  return send("PUT", object_path(bucket));
}

S3Response S3Client::delete_bucket(const std::string& bucket) const {
  return send("DELETE", object_path(bucket));
}

S3Response S3Client::put_object(const std::string& bucket, const std::string& key,
                                const std::string& body) const {
  return send("PUT", object_path(bucket, key), {}, body);
}

S3Response S3Client::get_object(const std::string& bucket, const std::string& key) const {
  return send("GET", object_path(bucket, key));
}

S3Response S3Client::delete_object(const std::string& bucket, const std::string& key) const {
  return send("DELETE", object_path(bucket, key));
}

S3Response S3Client::list_objects(const std::string& bucket) const {
  return send("GET", object_path(bucket), {{"list-type", "2"}});
}

S3Response S3Client::list_buckets() const {
  return send("GET", "/");
}

S3Response S3Client::get_bucket_policy(const std::string& bucket) const {
  return send("GET", object_path(bucket), {{"policy", ""}});
}

S3Response S3Client::put_bucket_policy(const std::string& bucket, const std::string& policy) const {
  return send("PUT", object_path(bucket), {{"policy", ""}}, policy,
              {{"Content-Type", "application/json"}});
}

S3Response S3Client::delete_bucket_policy(const std::string& bucket) const {
  return send("DELETE", object_path(bucket), {{"policy", ""}});
}

std::vector<std::string> xml_elements(std::string_view xml, std::string_view tag) {
  std::vector<std::string> out;
  const std::string open = "<" + std::string(tag) + ">";
  std::size_t at = 0;
  while ((at = xml.find(open, at)) != std::string_view::npos) {
    std::string text = xml_element(xml.substr(at), tag);
    out.push_back(std::move(text));
    at += open.size();
  }
  return out;
}

}  // namespace osbd_object_storage
