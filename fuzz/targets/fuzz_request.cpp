// fuzz_request: the whole OSB request path without a socket. Each input becomes an HTTP request
// (parsed by Beast like the server does) for Broker::cached_response and Broker::handle, served by
// the example plugin over a SQLite store in /dev/shm; one broker serves every input. Every reply
// must come exactly once and in time, with a valid status, header values without line breaks,
// a JSON body of valid UTF-8 for application/json, and {"description", "error"?} on 4xx/5xx
// (but the {} of 410 Gone, as OSB specifies it).
//
// The server's checks run first: the cached catalog and the refusal on headers alone.
//
// Input: byte 0 picks the method, byte 1 the route template and flags (see Flags); then lines:
// instance id, binding id, query string, header lines ("Name: value") up to an empty line, and the
// rest is the body. Valid credentials and X-Broker-API-Version are added unless a flag says not.

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "api/broker.hpp"
#include "api/http_util.hpp"
#include "api/lifecycle.hpp"
#include "catalog/catalogs.hpp"
#include "catalog/registry.hpp"
#include "check.hpp"
#include "log/log.hpp"
#include "plugin_host/loader.hpp"
#include "state/store.hpp"
#include "utf8.hpp"

namespace {

namespace bhttp = boost::beast::http;
namespace http = osbd::http;

constexpr const char* kUser = "osbd";
constexpr const char* kPassword = "fuzz-password";
constexpr const char* kTeamUser = "team-a";
constexpr const char* kTeamPassword = "team-a-password";
constexpr const char* kAdminUser = "osbd-admin";
constexpr const char* kAdminPassword = "fuzz-admin-password";
constexpr auto kReplyDeadline = std::chrono::seconds(8);

// Bits of the input's second byte above the route template (bits 0-2).
enum Flags : unsigned {
  kTeamCatalog = 1u << 3,       // under /catalogs/team-a with its credentials
  kNoAuthorization = 1u << 4,   // no Authorization header
  kAdminCredentials = 1u << 5,  // the operator's credentials instead of the platform's
  kNoVersion = 1u << 6,         // no X-Broker-API-Version header
  kAcceptsIncomplete = 1u << 7,
};

// Everything a broker needs, created once and never destroyed (threads keep running until exit).
struct Context {
  std::string data_dir;
  std::unique_ptr<osbd::state::Store> store;
  std::shared_ptr<const osbd::catalog::Catalogs> catalogs;
  boost::asio::thread_pool workers{2};
  std::unique_ptr<osbd::api::Lifecycle> lifecycle;
  std::unique_ptr<osbd::api::Broker> broker;
};

std::vector<osbd::config::CatalogConfig> catalog_configs() {
  osbd::config::CatalogConfig fallback{"default", {{kUser, kPassword}}, std::nullopt};
  osbd::config::CatalogConfig team{
      "team-a", {{kTeamUser, kTeamPassword}}, std::vector<osbd::config::ServiceSelection>{{}}};
  (*team.services)[0].service = "example-service";
  return {fallback, team};
}

Context* make_context() {
  auto* ctx = new Context;
  char dir[] = "/dev/shm/osbd-fuzz-request-XXXXXX";
  OSBD_FUZZ_CHECK(::mkdtemp(dir) != nullptr, "a data directory can be created");
  ctx->data_dir = dir;
  ctx->store = osbd::state::open_sqlite_store(ctx->data_dir);
  const nlohmann::json configs = {{"org.osbd.example", {{"async_seconds", 0}}}};
  std::vector<osbd::plugin_host::PluginSharedPtr> plugins{
      osbd::plugin_host::load_plugin(OSBD_FUZZ_EXAMPLE_PLUGIN, configs)};
  ctx->catalogs =
      osbd::catalog::Catalogs::build(osbd::catalog::Registry::build(plugins), catalog_configs());
  auto& workers = ctx->workers;
  ctx->lifecycle = std::make_unique<osbd::api::Lifecycle>(
      *ctx->store, ctx->catalogs->registry_ptr(), osbd::api::LifecycleOptions{},
      [&workers](std::function<void()> fn) { boost::asio::post(workers, std::move(fn)); });
  osbd::api::BrokerOptions options;
  options.admin = osbd::config::BasicCredentials{kAdminUser, kAdminPassword};
  ctx->broker =
      std::make_unique<osbd::api::Broker>(options, *ctx->lifecycle, ctx->catalogs, ctx->workers);
  return ctx;
}

// The broker of every input; its data directory goes when the process ends normally.
Context& context() {
  static Context* ctx = [] {
    osbd::log::set_min_level(osbd::log::Level::error);
    Context* made = make_context();
    static const std::string dir = made->data_dir;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    });
    return made;
  }();
  return *ctx;
}

// The next line of text (without '\n'); text moves past it.
std::string_view next_line(std::string_view& text) {
  const auto newline = text.find('\n');
  const std::string_view line = text.substr(0, newline);
  text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
  return line;
}

// An id as a platform puts it into a path: visible ASCII stays (so '%' escapes may be malformed),
// '/', '?', '#' and every other byte become %XX.
std::string path_id(std::string_view id) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : id) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte > 0x20 && byte < 0x7F && c != '/' && c != '?' && c != '#') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0F];
    }
  }
  return out;
}

const char* method_for(std::uint8_t selector) {
  static constexpr const char* kMethods[] = {"GET", "PUT",    "PATCH", "DELETE",
                                             "GET", "DELETE", "POST",  "HEAD"};
  return kMethods[selector % 8];
}

// The request target of the input's route template.
std::string target_for(unsigned flags, std::string_view id, std::string_view binding,
                       std::string_view query) {
  const std::string base = (flags & kTeamCatalog) ? "/catalogs/team-a" : "";
  const std::string instance = base + "/v2/service_instances/" + path_id(id);
  const std::string bound = instance + "/service_bindings/" + path_id(binding);
  std::string target;
  switch (flags & 7u) {
    case 0:
      target = base + "/v2/catalog";
      break;
    case 1:
      target = instance;
      break;
    case 2:
      target = instance + "/last_operation";
      break;
    case 3:
      target = bound;
      break;
    case 4:
      target = bound + "/last_operation";
      break;
    case 5:
      return std::string(id);  // the raw target, as given
    case 6:
      target = id.size() % 3 == 0 ? "/readyz" : id.size() % 3 == 1 ? "/metrics" : "/healthz";
      break;
    default:
      target = "/admin/" + path_id(id);
      break;
  }
  std::string q(query);
  if (flags & kAcceptsIncomplete) {
    q += (q.empty() ? "" : "&") + std::string("accepts_incomplete=true");
  }
  return q.empty() ? target : target + "?" + q;
}

std::string authorization_for(unsigned flags) {
  if (flags & kAdminCredentials) {
    return "Basic " + osbd::api::base64_encode(std::string(kAdminUser) + ":" + kAdminPassword);
  }
  const bool team = (flags & kTeamCatalog) != 0;
  return "Basic " + osbd::api::base64_encode(std::string(team ? kTeamUser : kUser) + ":" +
                                             (team ? kTeamPassword : kPassword));
}

// The raw HTTP/1.1 request text of an input; empty when the input is too short.
std::string raw_request(std::string_view input) {
  if (input.size() < 2) {
    return {};
  }
  const auto method = static_cast<std::uint8_t>(input[0]);
  const auto flags = static_cast<std::uint8_t>(input[1]);
  input.remove_prefix(2);
  const std::string_view id = next_line(input);
  const std::string_view binding = next_line(input);
  const std::string_view query = next_line(input);
  std::string headers;
  bool content_type = false;
  for (std::string_view line = next_line(input); !line.empty(); line = next_line(input)) {
    std::string lower(line.substr(0, line.find(':')));
    for (auto& c : lower) {
      c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    content_type = content_type || lower == "content-type";
    headers += std::string(line) + "\r\n";
  }
  std::string out = std::string(method_for(method)) + " " + target_for(flags, id, binding, query) +
                    " HTTP/1.1\r\nHost: osbd\r\n";
  if (!(flags & kNoAuthorization)) {
    out += "Authorization: " + authorization_for(flags) + "\r\n";
  }
  if (!(flags & kNoVersion)) {
    out += "X-Broker-API-Version: 2.17\r\n";
  }
  if (!content_type && !input.empty()) {
    out += "Content-Type: application/json\r\n";
  }
  return out + headers + "Content-Length: " + std::to_string(input.size()) + "\r\n\r\n" +
         std::string(input);
}

// The request Beast reads from raw, as the server would; false when Beast refuses it.
bool parse_request(const std::string& raw, http::Request& request) {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.eager(true);
  parser.body_limit(1024 * 1024);
  boost::beast::error_code ec;
  const std::size_t used = parser.put(boost::asio::buffer(raw), ec);
  if (ec || !parser.is_done() || used != raw.size()) {
    return false;
  }
  request = parser.release();
  return true;
}

// The response as the server would write it.
void check_serializes(http::Response response) {
  response.prepare_payload();
  std::ostringstream out;
  out << response;
  OSBD_FUZZ_CHECK(out.str().rfind("HTTP/1.", 0) == 0, "the response serializes");
}

void check_response(const http::Response& response) {
  const unsigned status = response.result_int();
  OSBD_FUZZ_CHECK(status >= 200 && status <= 599, "a final HTTP status");
  OSBD_FUZZ_CHECK(!bhttp::obsolete_reason(response.result()).empty(), "a known status");
  for (const auto& field : response) {
    const std::string_view value(field.value().data(), field.value().size());
    OSBD_FUZZ_CHECK(value.find_first_of("\r\n") == std::string_view::npos,
                    "header values hold no line breaks");
  }
  const auto type = response[bhttp::field::content_type];
  const bool is_json = type.starts_with("application/json");
  const std::string& body = response.body();
  if (is_json && !body.empty()) {
    OSBD_FUZZ_CHECK(osbd_fuzz::strict_utf8(body), "a JSON body is valid UTF-8");
    OSBD_FUZZ_CHECK(nlohmann::json::accept(body), "a JSON body parses");
  }
  if (status >= 400) {
    OSBD_FUZZ_CHECK(is_json, "errors are JSON");
    const auto error = nlohmann::json::parse(body, nullptr, false);
    if (status == 410 && error == nlohmann::json::object()) {
      return check_serializes(response);  // OSB: 410 Gone answers {} (already deleted)
    }
    OSBD_FUZZ_CHECK(
        error.is_object() && error.contains("description") && error["description"].is_string(),
        "an error body has a description");
    OSBD_FUZZ_CHECK(!error.contains("error") || error["error"].is_string(),
                    "an error code is a string");
  }
  check_serializes(response);
}

// Broker::handle, waiting (bounded) for its one reply.
http::Response handle(osbd::api::Broker& broker, http::Request&& request) {
  auto promise = std::make_shared<std::promise<http::Response>>();
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto future = promise->get_future();
  broker.handle(std::move(request), [promise, calls](http::Response&& response) {
    OSBD_FUZZ_CHECK(calls->fetch_add(1) == 0, "a request is answered once");
    promise->set_value(std::move(response));
  });
  OSBD_FUZZ_CHECK(future.wait_for(kReplyDeadline) == std::future_status::ready,
                  "a request is answered in time");
  return future.get();
}

// The server's fast path: a cached catalog is a whole 200 response.
void check_cached(osbd::api::Broker& broker, const http::Request& request) {
  if (request.version() != 11 || !request.keep_alive()) {
    return;
  }
  if (const auto cached = broker.cached_response(request)) {
    OSBD_FUZZ_CHECK(cached->rfind("HTTP/1.1 200 ", 0) == 0, "a cached response is a 200");
  }
}

// The server's check on the headers alone, before it reads a body; true when it refused.
bool refused_on_head(osbd::api::Broker& broker, const http::Request& request) {
  http::Request head = request;
  head.body().clear();
  const auto refusal = broker.refuse_before_body(head);
  if (refusal) {
    check_response(*refusal);
  }
  return refusal.has_value();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Context& ctx = context();
  const std::string raw = raw_request(std::string_view(reinterpret_cast<const char*>(data), size));
  http::Request request;
  if (raw.empty() || !parse_request(raw, request)) {
    return 0;
  }
  check_cached(*ctx.broker, request);
  if (refused_on_head(*ctx.broker, request)) {
    return 0;
  }
  check_response(handle(*ctx.broker, std::move(request)));
  return 0;
}
