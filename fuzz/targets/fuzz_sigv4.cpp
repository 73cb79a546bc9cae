// fuzz_sigv4: SigV4 canonicalization and signing of the object storage plugin (sigv4.hpp,
// uri_encoding.hpp). The input's lines are a method, a path, query parameters ("name=value") up
// to an empty line, then headers ("Name: value") up to an empty line, then the payload. Checks
// that percent_encode emits only unreserved bytes and %XX and decodes back, that the canonical
// query is sorted and whole, that the canonical request lists each header once, lowercased and
// sorted, with trimmed values, and that a signature is 64 hex digits without the secret in it.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <osb/plugins/codec.hpp>
#include <osb/plugins/uri.hpp>

#include "check.hpp"
#include "sigv4.hpp"
#include "uri_encoding.hpp"

namespace {

namespace s3 = osbd_object_storage;

constexpr std::string_view kSecret = "fuzzSECRETkey/0123456789+abcdefghijklmnop";

// The next line of text (without '\n'); text moves past it.
std::string_view next_line(std::string_view& text) {
  const auto newline = text.find('\n');
  const std::string_view line = text.substr(0, newline);
  text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
  return line;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

// Decodes what percent_encode made, checking that it made nothing else.
std::string strict_decode(std::string_view encoded, bool keep_slash) {
  std::string out;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    const char c = encoded[i];
    if (c == '%') {
      OSBD_FUZZ_CHECK(i + 2 < encoded.size(), "an escape has two digits");
      const int hi = hex_digit(encoded[i + 1]);
      const int lo = hex_digit(encoded[i + 2]);
      OSBD_FUZZ_CHECK(hi >= 0 && lo >= 0, "escapes use uppercase hex");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
      continue;
    }
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                            c == '~' || (keep_slash && c == '/');
    OSBD_FUZZ_CHECK(unreserved, "only unreserved bytes stay unescaped");
    out.push_back(c);
  }
  return out;
}

void check_uri_encode(std::string_view text) {
  for (const bool keep_slash : {false, true}) {
    OSBD_FUZZ_CHECK(strict_decode(osb::plugins::percent_encode(text, keep_slash ? "/" : ""),
                                  keep_slash) == text,
                    "percent_encode decodes back");
  }
}

// The canonical query is the sorted encoded pairs, each as name=value.
void check_canonical_query(const std::vector<s3::QueryParam>& query) {
  std::vector<std::string> expected;
  for (const auto& [name, value] : query) {
    expected.push_back(osb::plugins::percent_encode(name) + "=" +
                       osb::plugins::percent_encode(value));
  }
  std::sort(expected.begin(), expected.end());
  std::string joined;
  for (const auto& pair : expected) {
    joined += (joined.empty() ? "" : "&") + pair;
  }
  const std::string canonical = s3::canonical_query(query);
  OSBD_FUZZ_CHECK(canonical.size() == joined.size(), "the canonical query holds every pair once");
}

// Lowercase header names, sorted and unique.
std::vector<std::string> expected_names(const std::vector<s3::Header>& headers) {
  std::vector<std::string> names;
  for (const auto& [name, value] : headers) {
    std::string lower = name;
    for (auto& c : lower) {
      c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    names.push_back(lower);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

// The header lines between the query line and the tail: "name:value", values trimmed, inner
// runs of blanks collapsed to one space.
void check_header_block(const std::string& request, std::size_t tail_size) {
  std::size_t start = 0;
  for (int line = 0; line < 3; ++line) {
    start = request.find('\n', start) + 1;
  }
  std::string_view block(request);
  block = block.substr(start, request.size() - tail_size + 1 - start);
  while (!block.empty()) {
    const std::string_view line = next_line(block);
    const std::string_view value = line.substr(line.find(':') + 1);
    OSBD_FUZZ_CHECK(value.find('\t') == std::string_view::npos &&
                        value.find("  ") == std::string_view::npos &&
                        (value.empty() || (value.front() != ' ' && value.back() != ' ')),
                    "header values are trimmed and their blanks collapsed");
  }
}

void check_canonical_request(const s3::SigningInput& input) {
  std::string signed_headers;
  const std::string request = s3::canonical_request(input, &signed_headers);
  std::string names;
  for (const auto& name : expected_names(input.headers)) {
    names += (names.empty() ? "" : ";") + name;
  }
  OSBD_FUZZ_CHECK(signed_headers == names, "signed headers are the sorted lowercase names");
  OSBD_FUZZ_CHECK(request.rfind(input.method + "\n" + input.canonical_uri + "\n", 0) == 0,
                  "the canonical request starts with method and path");
  const std::string tail = "\n\n" + names + "\n" + input.payload_hash;
  OSBD_FUZZ_CHECK(request.size() >= tail.size() &&
                      request.compare(request.size() - tail.size(), tail.size(), tail) == 0,
                  "the canonical request ends with the signed headers and the payload hash");
  check_header_block(request, tail.size());
}

void check_signature(const s3::SigningInput& input, std::string_view date) {
  const s3::Credentials credentials{"AKIDFUZZEXAMPLE", std::string(kSecret)};
  const auto parts = s3::sign_v4(input, credentials, "us-east-1", "s3", date);
  OSBD_FUZZ_CHECK(parts.signature.size() == 64 &&
                      parts.signature.find_first_not_of("0123456789abcdef") == std::string::npos,
                  "a signature is 64 lowercase hex digits");
  OSBD_FUZZ_CHECK(parts.authorization.find(kSecret) == std::string::npos,
                  "the secret never appears in the Authorization header");
  const auto again = s3::sign_v4(input, credentials, "us-east-1", "s3", date);
  OSBD_FUZZ_CHECK(again.signature == parts.signature, "signing is deterministic");
}

// Reads "name=value" lines up to an empty line.
std::vector<s3::QueryParam> read_query(std::string_view& text) {
  std::vector<s3::QueryParam> query;
  for (std::string_view line = next_line(text); !line.empty(); line = next_line(text)) {
    const auto eq = line.find('=');
    query.emplace_back(std::string(line.substr(0, eq)), eq == std::string_view::npos
                                                            ? std::string()
                                                            : std::string(line.substr(eq + 1)));
  }
  return query;
}

// Reads "Name: value" lines up to an empty line.
std::vector<s3::Header> read_headers(std::string_view& text) {
  std::vector<s3::Header> headers;
  for (std::string_view line = next_line(text); !line.empty(); line = next_line(text)) {
    const auto colon = line.find(':');
    headers.emplace_back(
        std::string(line.substr(0, colon)),
        colon == std::string_view::npos ? std::string() : std::string(line.substr(colon + 1)));
  }
  return headers;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check_uri_encode(text);
  s3::SigningInput input;
  input.method = std::string(next_line(text));
  const std::string_view path = next_line(text);
  input.canonical_uri = osb::plugins::percent_encode(path, "/");
  input.query = read_query(text);
  input.headers = read_headers(text);
  input.payload_hash = osb::plugins::sha256_hex(text);
  check_canonical_query(input.query);
  check_canonical_request(input);
  const std::string date = "20240229T120000Z";
  input.headers.emplace_back("x-amz-date", date);
  check_signature(input, size % 2 == 0 ? std::string_view(date) : path.substr(0, 16));
  return 0;
}
