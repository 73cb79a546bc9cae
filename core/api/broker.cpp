#include "api/broker.hpp"

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <functional>
#include <sstream>

#include <boost/asio/post.hpp>

#include "api/http_util.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"

namespace osbd::api {

namespace bhttp = boost::beast::http;
using nlohmann::json;

namespace {

constexpr const char* kVersionHeader = "X-Broker-API-Version";
constexpr const char* kRequestIdentity = "X-Broker-API-Request-Identity";
constexpr const char* kOriginatingIdentity = "X-Broker-API-Originating-Identity";

http::Response to_response(const ApiReply& reply, unsigned version,
                           const std::string& request_identity) {
  http::Response res{static_cast<bhttp::status>(reply.status), version};
  res.set(bhttp::field::server, "osbd");
  res.set(bhttp::field::content_type, "application/json");
  if (!request_identity.empty()) {
    res.set(kRequestIdentity, request_identity);
  }
  for (const auto& [name, value] : reply.headers) {
    res.set(name, value);
  }
  res.body() = reply.body.dump(-1, ' ', false, json::error_handler_t::replace);
  return res;
}

// Parses "2.MINOR"; returns false on anything else.
bool parse_api_version(std::string_view text, unsigned& minor) {
  if (text.size() < 3 || text.substr(0, 2) != "2.") {
    return false;
  }
  text.remove_prefix(2);
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), minor);
  return ec == std::errc() && end == text.data() + text.size();
}

enum class Route {
  catalog,
  instance,
  instance_last_operation,
  binding,
  binding_last_operation,
  none
};

// 405 for a method other than GET on the operator's routes.
ApiReply get_only(std::string description) {
  ApiReply r = error_reply(405, "MethodNotAllowed", std::move(description));
  r.headers.emplace_back("Allow", "GET");
  return r;
}

// "Basic <base64>" of a credential pair, as a platform sends it.
std::string basic_header(const config::BasicCredentials& c) {
  return "Basic " + base64_encode(c.username + ":" + c.password);
}

// Store failures and bugs: the message may name files but never row contents.
ApiReply internal_error(const std::exception& e) {
  log::error("request failed", {{"error", e.what()}});
  return error_reply(500, "InternalError", "the broker could not complete the request");
}

// Update, fetch and last_operation: plain calls on the worker thread.
ApiReply run_plain(Lifecycle& lifecycle, Route route, bhttp::verb verb,
                   const std::vector<std::string>& seg, const ApiRequest& api) {
  ApiReply r;
  try {
    const std::string& iid = seg[2];
    switch (route) {
      case Route::instance:
        r = verb == bhttp::verb::patch ? lifecycle.update(iid, api)
                                       : lifecycle.fetch_instance(iid, api);
        break;
      case Route::instance_last_operation:
        r = lifecycle.instance_last_operation(iid, api);
        break;
      case Route::binding:
        r = lifecycle.fetch_binding(iid, seg[4], api);
        break;
      case Route::binding_last_operation:
        r = lifecycle.binding_last_operation(iid, seg[4], api);
        break;
      case Route::catalog:
      case Route::none:
        r = error_reply(404, "NotFound", "no such route");
        break;
    }
    if (!r.durable) {
      lifecycle.wait_durable();
    }
  } catch (const std::exception& e) {
    r = internal_error(e);
  }
  return r;
}

// Provision, deprovision (instance route) or bind, unbind (binding route), answered by finish.
util::Detached run_coroutine(Lifecycle& lifecycle, Route route, bhttp::verb verb,
                             std::vector<std::string> seg, ApiRequest api,
                             std::function<void(const ApiReply&)> finish) {
  ApiReply r;
  try {
    // One co_await per statement: GCC 12 mishandles temporaries of co_await inside ?:.
    std::string iid = std::move(seg[2]);
    const bool put = verb == bhttp::verb::put;
    if (route == Route::instance && put) {
      r = co_await lifecycle.provision(std::move(iid), std::move(api));
    } else if (route == Route::instance) {
      r = co_await lifecycle.deprovision(std::move(iid), std::move(api));
    } else if (put) {
      r = co_await lifecycle.bind(std::move(iid), std::move(seg[4]), std::move(api));
    } else {
      r = co_await lifecycle.unbind(std::move(iid), std::move(seg[4]), std::move(api));
    }
    if (!r.durable) {
      lifecycle.wait_durable();
    }
  } catch (const std::exception& e) {
    r = internal_error(e);
  }
  finish(r);
}

Route match(const std::vector<std::string>& s) {
  if (s.size() == 2 && s[0] == "v2" && s[1] == "catalog") {
    return Route::catalog;
  }
  if (s.size() < 3 || s[0] != "v2" || s[1] != "service_instances") {
    return Route::none;
  }
  if (s.size() == 3) {
    return Route::instance;
  }
  if (s.size() == 4 && s[3] == "last_operation") {
    return Route::instance_last_operation;
  }
  if (s.size() == 5 && s[3] == "service_bindings") {
    return Route::binding;
  }
  if (s.size() == 6 && s[3] == "service_bindings" && s[5] == "last_operation") {
    return Route::binding_last_operation;
  }
  return Route::none;
}

// The route's name in logs and metrics.
const char* route_name(Route route) {
  switch (route) {
    case Route::catalog:
      return "catalog";
    case Route::instance:
      return "instance";
    case Route::instance_last_operation:
      return "instance_last_operation";
    case Route::binding:
      return "binding";
    case Route::binding_last_operation:
      return "binding_last_operation";
    case Route::none:
      break;
  }
  return "none";
}

// The method as a metrics label: the OSB methods by name, anything else as OTHER, so that
// requests (even unauthenticated ones) cannot create label values without bound.
const char* method_label(bhttp::verb verb) {
  switch (verb) {
    case bhttp::verb::get:
      return "GET";
    case bhttp::verb::put:
      return "PUT";
    case bhttp::verb::patch:
      return "PATCH";
    case bhttp::verb::delete_:
      return "DELETE";
    case bhttp::verb::post:
      return "POST";
    case bhttp::verb::head:
      return "HEAD";
    default:
      return "OTHER";
  }
}

// An identity for the log lines of a request that brought none: unique within this process and
// across restarts (it starts with the process's start time).
std::string generated_identity() {
  static const std::string prefix = [] {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    char buf[32];
    std::snprintf(buf, sizeof buf, "osbd-%llx-",
                  static_cast<unsigned long long>(
                      std::chrono::duration_cast<std::chrono::milliseconds>(now).count()));
    return std::string(buf);
  }();
  static std::atomic<uint64_t> next{0};
  return prefix + std::to_string(next.fetch_add(1, std::memory_order_relaxed));
}

const char* allowed_methods(Route route) {
  switch (route) {
    case Route::catalog:
    case Route::instance_last_operation:
    case Route::binding_last_operation:
      return "GET";
    case Route::instance:
      return "GET, PUT, PATCH, DELETE";
    case Route::binding:
      return "GET, PUT, DELETE";
    case Route::none:
      break;
  }
  return "";
}

bool method_allowed(Route route, bhttp::verb m) {
  switch (route) {
    case Route::catalog:
    case Route::instance_last_operation:
    case Route::binding_last_operation:
      return m == bhttp::verb::get;
    case Route::instance:
      return m == bhttp::verb::get || m == bhttp::verb::put || m == bhttp::verb::patch ||
             m == bhttp::verb::delete_;
    case Route::binding:
      return m == bhttp::verb::get || m == bhttp::verb::put || m == bhttp::verb::delete_;
    case Route::none:
      break;
  }
  return false;
}

}  // namespace

Broker::Broker(BrokerOptions options, Lifecycle& lifecycle,
               std::shared_ptr<const catalog::Catalogs> catalogs, boost::asio::thread_pool& workers)
    : options_(std::move(options)),
      lifecycle_(lifecycle),
      workers_(workers),
      admin_api_(lifecycle_) {
  if (options_.admin) {
    expected_admin_authorization_ = basic_header(*options_.admin);
  }
  front_.store(make_front(std::move(catalogs)));
}

std::shared_ptr<const Broker::Front> Broker::make_front(
    std::shared_ptr<const catalog::Catalogs> catalogs) const {
  auto front = std::make_shared<Front>();
  for (const auto& view : catalogs->views()) {
    Entry entry;
    entry.view = &view;
    for (const auto& c : view.credentials()) {
      entry.expected_authorization.push_back(basic_header(c));
    }
    entry.catalog_target = view.base_path() + "/v2/catalog";
    // Serialized once with the same headers catalog_response() sets, keep-alive implied.
    http::Request plain{bhttp::verb::get, entry.catalog_target, 11};
    http::Response res = catalog_response(plain, view);
    res.keep_alive(true);
    res.prepare_payload();
    std::ostringstream out;
    out << res;
    entry.catalog_bytes = std::make_shared<const std::string>(out.str());
    front->entries.push_back(std::move(entry));
  }
  front->catalogs = std::move(catalogs);
  return front;
}

void Broker::set_catalogs(std::shared_ptr<const catalog::Catalogs> catalogs) {
  front_.store(make_front(std::move(catalogs)));
}

std::shared_ptr<const catalog::Catalogs> Broker::catalogs() const {
  return front_.load()->catalogs;
}

const Broker::Entry* Broker::Front::by_target(std::string_view target) const {
  for (const auto& entry : entries) {
    if (entry.catalog_target == target) {
      return &entry;
    }
  }
  return nullptr;
}

const Broker::Entry* Broker::Front::by_name(std::string_view name) const {
  for (const auto& entry : entries) {
    if (entry.view->name() == name) {
      return &entry;
    }
  }
  return nullptr;
}

const Broker::Entry* Broker::Front::route(std::optional<Target>& parsed) const {
  // /catalogs/NAME/v2/... is catalog NAME's; /v2/... the default catalog's.
  if (parsed && parsed->segments.size() >= 2 && parsed->segments[0] == "catalogs") {
    const Entry* entry = by_name(parsed->segments[1]);
    parsed->segments.erase(parsed->segments.begin(), parsed->segments.begin() + 2);
    return entry;
  }
  return &entries.front();
}

std::shared_ptr<const std::string> Broker::cached_response(const http::Request& request) {
  // Anything that changes the answer (identity echo, conditional request) takes the full path.
  if (request.method() != bhttp::verb::get || request.count(kRequestIdentity) != 0 ||
      request.count(bhttp::field::if_none_match) != 0) {
    return nullptr;
  }
  const auto front = front_.load();
  const Entry* entry =
      front->by_target(std::string_view(request.target().data(), request.target().size()));
  if (entry == nullptr || !authorized(request, *entry) || !version_supported(request)) {
    return nullptr;
  }
  metrics::global().count_cached_catalog();
  return entry->catalog_bytes;
}

namespace {

// True when the request's Authorization header carries one of the pairs. The canonical header
// form ("Basic <base64>", one per pair in expected) is compared whole; other spellings (scheme
// case, spaces) are decoded. Every pair is checked without an early exit, so timing does not tell
// which one matched.
bool credentials_match(const http::Request& request, const std::vector<std::string>& expected,
                       const std::vector<config::BasicCredentials>& pairs) {
  const auto it = request.find(bhttp::field::authorization);
  if (it == request.end() || pairs.empty()) {
    return false;
  }
  const std::string_view value(it->value().data(), it->value().size());
  bool exact = false;
  for (const auto& header : expected) {
    exact |= constant_time_equal(value, header);
  }
  if (exact) {
    return true;
  }
  const auto creds = parse_basic_auth(value);
  if (!creds) {
    return false;
  }
  bool ok = false;
  for (const auto& c : pairs) {
    const bool user_ok = constant_time_equal(creds->first, c.username);
    const bool pass_ok = constant_time_equal(creds->second, c.password);
    ok |= (user_ok & pass_ok);
  }
  return ok;
}

}  // namespace

bool Broker::authorized(const http::Request& request, const Entry& entry) {
  return credentials_match(request, entry.expected_authorization, entry.view->credentials());
}

bool Broker::admin_authorized(const http::Request& request) const {
  if (!options_.admin) {
    return false;
  }
  return credentials_match(request, {expected_admin_authorization_}, {*options_.admin});
}

bool Broker::version_supported(const http::Request& request) const {
  const auto it = request.find(kVersionHeader);
  unsigned minor = 0;
  return it != request.end() &&
         parse_api_version(std::string_view(it->value().data(), it->value().size()), minor) &&
         minor >= options_.min_api_minor && minor <= options_.max_api_minor;
}

http::Response Broker::catalog_response(const http::Request& request, const catalog::View& view) {
  ApiReply r;
  r.headers.emplace_back("ETag", view.etag());
  const auto inm = request.find(bhttp::field::if_none_match);
  const auto identity = request[kRequestIdentity];
  http::Response res = to_response(r, request.version(), std::string(identity));
  if (inm != request.end() && inm->value() == view.etag()) {
    res.result(bhttp::status::not_modified);
    res.body().clear();
    res.erase(bhttp::field::content_type);
  } else {
    res.body() = view.body();
  }
  if (log::enabled(log::Level::debug)) {
    log::debug("request", {{"method", "GET"},
                           {"path", std::string(request.target())},
                           {"catalog", view.name()},
                           {"status", res.result_int()}});
  }
  return res;
}

http::Response Broker::timed_catalog_response(const http::Request& request,
                                              const catalog::View& view, const char* method,
                                              std::chrono::steady_clock::time_point started) {
  http::Response res = catalog_response(request, view);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  metrics::global().count_request("catalog", method, res.result_int(), took.count());
  return res;
}

http::Response Broker::too_large(unsigned version, std::size_t limit) {
  return to_response(error_reply(413, "PayloadTooLarge",
                                 "the request body exceeds " + std::to_string(limit) + " bytes"),
                     version, "");
}

namespace {

// The path of a request target, without its query.
std::string_view path_of(const http::Request& request) {
  const std::string_view target(request.target().data(), request.target().size());
  return target.substr(0, target.find('?'));
}

// The operator's routes behind the admin credentials.
bool behind_admin_credentials(std::string_view path) {
  return path == "/metrics" || path.rfind("/admin/", 0) == 0;
}

ApiReply unauthorized() {
  ApiReply r = error_reply(401, "Unauthorized", "valid HTTP Basic credentials are required");
  r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"osbd\"");
  return r;
}

}  // namespace

std::optional<ApiReply> Broker::refuse_operator_head(std::string_view path,
                                                     const http::Request& head) const {
  if (!behind_admin_credentials(path)) {
    return std::nullopt;
  }
  return refuse_operator(head, path == "/metrics" ? "/metrics" : "/admin/");
}

std::optional<http::Response> Broker::refuse_before_body(const http::Request& head) {
  const std::string_view path = path_of(head);
  if (path == "/healthz" || path == "/readyz") {
    return std::nullopt;
  }
  if (behind_admin_credentials(path)) {
    if (options_.separate_operator_listener) {
      return std::nullopt;  // answered 404 by handle(), whatever the credentials
    }
    auto refused = refuse_operator_head(path, head);
    return refused ? std::optional(to_response(*refused, head.version(), "")) : std::nullopt;
  }
  const auto front = front_.load();
  // /v2/... is the default catalog's without decoding anything: the common case stays cheap.
  if (path.rfind("/v2/", 0) == 0 && authorized(head, front->entries.front())) {
    return std::nullopt;
  }
  auto parsed = parse_target(std::string_view(head.target().data(), head.target().size()));
  const Entry* entry = front->route(parsed);
  if (entry == nullptr || !authorized(head, *entry)) {
    const Route route = parsed ? match(parsed->segments) : Route::none;
    metrics::global().count_request(route_name(route), method_label(head.method()), 401, 0.0);
    return to_response(unauthorized(), head.version(), std::string(head[kRequestIdentity]));
  }
  return std::nullopt;
}

std::optional<http::Response> Broker::OperatorHandler::refuse_before_body(
    const http::Request& head) {
  auto refused = broker_.refuse_operator_head(path_of(head), head);
  return refused ? std::optional(to_response(*refused, head.version(), "")) : std::nullopt;
}

void Broker::handle(http::Request&& request, http::Reply reply) {
  const auto started = std::chrono::steady_clock::now();
  const auto front = front_.load();
  // The catalog is the hot read: answered from the cached body without parsing the target.
  if (request.method() == bhttp::verb::get) {
    const Entry* entry =
        front->by_target(std::string_view(request.target().data(), request.target().size()));
    if (entry != nullptr && authorized(request, *entry) && version_supported(request)) {
      return reply(timed_catalog_response(request, *entry->view, "GET", started));
    }
  }
  const unsigned version = request.version();
  const std::string method(request.method_string());
  const std::string target(request.target());
  // Logs carry the path only: query strings are the platform's and ids are not secrets.
  const std::string path = target.substr(0, target.find('?'));
  if (path == "/healthz" || path == "/readyz") {
    return handle_operator(path, request, std::move(reply));
  }
  if (behind_admin_credentials(path)) {
    if (options_.separate_operator_listener) {
      return reply(to_response(
          error_reply(404, "NotFound", path + " is served on the admin listener (admin.listen)"),
          version, ""));
    }
    if (path == "/metrics") {
      return handle_operator(path, request, std::move(reply));
    }
    return handle_admin(target, request, std::move(reply));
  }
  std::string identity(request[kRequestIdentity]);
  auto parsed = parse_target(std::string_view(target));
  const Entry* entry = front->route(parsed);
  const Route route = parsed ? match(parsed->segments) : Route::none;
  // The ids of the request's log line, kept as text: JSON is built only for a line written.
  struct LogIds {
    std::optional<std::string> catalog;
    std::optional<std::string> instance_id;
    std::optional<std::string> binding_id;
  } ids;
  if (entry != nullptr && entry != &front->entries.front()) {
    ids.catalog = entry->view->name();
  }
  if (parsed && route != Route::none && route != Route::catalog) {
    ids.instance_id = parsed->segments[2];
    if (parsed->segments.size() > 4) {
      ids.binding_id = parsed->segments[4];
    }
  }
  const char* const label = method_label(request.method());
  auto finish = [reply, version, identity, method, label, path, started, route,
                 ids](const ApiReply& r) {
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    metrics::global().count_request(route_name(route), label, r.status, took.count());
    const log::Level level = r.status >= 500 ? log::Level::error : log::Level::info;
    if (log::enabled(level)) {
      json fields = {{"method", method},
                     {"path", path},
                     {"route", route_name(route)},
                     {"status", r.status},
                     {"duration_ms", took.count() * 1000.0},
                     {"request_identity", identity.empty() ? generated_identity() : identity}};
      for (const auto& [key, value] :
           {std::pair{"catalog", &ids.catalog}, std::pair{"instance_id", &ids.instance_id},
            std::pair{"binding_id", &ids.binding_id}}) {
        if (*value) {
          fields[key] = **value;
        }
      }
      log::write(level, "request", fields);
    }
    reply(to_response(r, version, identity));
  };

  // An unknown catalog is refused like wrong credentials: no pair could open it.
  if (entry == nullptr || !authorized(request, *entry)) {
    return finish(unauthorized());
  }
  if (!parsed) {
    return finish(error_reply(400, "BadRequest", "malformed percent-encoding in the URL"));
  }
  if (route == Route::none) {
    return finish(error_reply(404, "NotFound", "no such route: " + path));
  }
  if (!method_allowed(route, request.method())) {
    ApiReply r = error_reply(405, "MethodNotAllowed", method + " is not allowed on " + path);
    r.headers.emplace_back("Allow", allowed_methods(route));
    return finish(r);
  }
  if (!version_supported(request)) {
    return finish(error_reply(
        412, "PreconditionFailed",
        std::string(kVersionHeader) + " must be 2." + std::to_string(options_.min_api_minor) +
            " to 2." + std::to_string(options_.max_api_minor) + " (this broker speaks 2." +
            std::to_string(options_.max_api_minor) + ")"));
  }

  const auto& seg = parsed->segments;
  for (std::size_t i : {std::size_t{2}, std::size_t{4}}) {
    if (route != Route::catalog && i < seg.size() && !is_valid_id(seg[i])) {
      return finish(error_reply(400, "BadRequest",
                                std::string(i == 2 ? "instance_id" : "binding_id") +
                                    " must be 1 to 255 characters of UTF-8 without control "
                                    "characters"));
    }
  }

  if (route == Route::catalog) {
    return reply(timed_catalog_response(request, *entry->view, label, started));
  }

  const bool has_body =
      request.method() == bhttp::verb::put || request.method() == bhttp::verb::patch;
  if (has_body) {
    const auto ct = request.find(bhttp::field::content_type);
    if (ct != request.end()) {
      std::string type(ct->value());
      for (auto& ch : type) {
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      }
      if (type.rfind("application/json", 0) != 0) {
        return finish(error_reply(400, "BadRequest", "Content-Type must be application/json"));
      }
    }
  }

  ApiRequest api;
  api.catalogs = front->catalogs;
  api.view = entry->view;
  // The store knows instances by their catalog-scoped key.
  parsed->segments[2] = catalog::scoped_id(entry->view->name(), parsed->segments[2]);
  api.query = std::move(parsed->query);
  api.body = std::move(request.body());
  if (const auto oi = request.find(kOriginatingIdentity); oi != request.end()) {
    auto decoded =
        decode_originating_identity(std::string_view(oi->value().data(), oi->value().size()));
    if (!decoded) {
      return finish(error_reply(
          400, "BadRequest",
          std::string(kOriginatingIdentity) + " must be 'PLATFORM BASE64(JSON object)'"));
    }
    api.originating_identity = std::move(*decoded);
  }

  const bhttp::verb verb = request.method();
  const bool mutating = verb == bhttp::verb::put || verb == bhttp::verb::delete_;
  if (mutating && (route == Route::instance || route == Route::binding)) {
    // Provision, deprovision, bind and unbind are coroutines: they leave the worker thread free
    // while their writes wait for a group commit.
    boost::asio::post(workers_, [this, route, verb, seg = parsed->segments, api = std::move(api),
                                 finish]() mutable {
      run_coroutine(lifecycle_, route, verb, std::move(seg), std::move(api), std::move(finish));
    });
    return;
  }
  boost::asio::post(workers_, [this, route, verb, seg = parsed->segments, api = std::move(api),
                               finish]() { finish(run_plain(lifecycle_, route, verb, seg, api)); });
}

void Broker::OperatorHandler::handle(http::Request&& request, http::Reply reply) {
  const std::string target(request.target());
  const std::string path = target.substr(0, target.find('?'));
  if (path == "/healthz" || path == "/readyz" || path == "/metrics") {
    return broker_.handle_operator(path, request, std::move(reply));
  }
  if (path.rfind("/admin/", 0) == 0) {
    return broker_.handle_admin(target, request, std::move(reply));
  }
  reply(to_response(error_reply(404, "NotFound",
                                "the admin listener serves /healthz, /readyz, /metrics and "
                                "/admin/... only"),
                    request.version(), ""));
}

void Broker::handle_operator(std::string_view path, const http::Request& request,
                             http::Reply reply) {
  const unsigned version = request.version();
  if (request.method() != bhttp::verb::get) {
    return reply(to_response(get_only("only GET is allowed on " + std::string(path)), version, ""));
  }
  if (path == "/healthz") {
    ApiReply r;
    r.body = {{"status", "alive"}};
    return reply(to_response(r, version, ""));
  }
  if (path == "/readyz") {
    // The store check reads the database: on a worker, never on the I/O thread.
    boost::asio::post(workers_,
                      [this, version, reply] { reply(to_response(readiness(), version, "")); });
    return;
  }
  if (auto refused = refuse_operator(request, path)) {
    return reply(to_response(*refused, version, ""));
  }
  boost::asio::post(workers_, [this, version, reply] {
    http::Response res{bhttp::status::ok, version};
    res.set(bhttp::field::server, "osbd");
    res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    try {
      res.body() = metrics_text();
    } catch (const std::exception& e) {
      return reply(to_response(internal_error(e), version, ""));
    }
    reply(std::move(res));
  });
}

std::optional<ApiReply> Broker::refuse_operator(const http::Request& request,
                                                std::string_view what) const {
  if (!options_.admin) {
    return error_reply(
        404, "NotFound",
        std::string(what) + " is served only when admin credentials are configured (admin:)");
  }
  if (!admin_authorized(request)) {
    ApiReply r = error_reply(401, "Unauthorized", "valid admin credentials are required");
    r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"osbd admin\"");
    return r;
  }
  return std::nullopt;
}

void Broker::handle_admin(const std::string& target, const http::Request& request,
                          http::Reply reply) {
  const unsigned version = request.version();
  if (auto refused = refuse_operator(request, "/admin/")) {
    return reply(to_response(*refused, version, ""));
  }
  if (request.method() != bhttp::verb::get) {
    return reply(to_response(get_only("the admin API is read-only: use GET"), version, ""));
  }
  auto parsed = parse_target(std::string_view(target));
  if (!parsed) {
    return reply(to_response(
        error_reply(400, "BadRequest", "malformed percent-encoding in the URL"), version, ""));
  }
  const std::string path = target.substr(0, target.find('?'));
  boost::asio::post(workers_, [this, version, reply, path, query = std::move(parsed->query)] {
    ApiReply r;
    try {
      r = admin_api_.handle(path, query, *front_.load()->catalogs);
    } catch (const std::exception& e) {
      r = internal_error(e);
    }
    log::info("admin request", {{"path", path}, {"status", r.status}});
    reply(to_response(r, version, ""));
  });
}

ApiReply Broker::readiness() const {
  ApiReply r;
  std::string reason;
  try {
    lifecycle_.store().check();
  } catch (const std::exception& e) {
    log::warn("not ready: the state store cannot serve", {{"error", e.what()}});
    reason = "the state store cannot serve requests";
  }
  const auto registry = lifecycle_.registry();
  if (reason.empty() && registry->plugins().empty()) {
    reason = "no plugin is loaded";
  }
  if (reason.empty()) {
    r.body = {{"status", "ready"}, {"plugins", registry->plugins().size()}};
  } else {
    r.status = 503;
    r.body = {{"status", "not ready"}, {"reason", reason}};
  }
  return r;
}

std::string Broker::metrics_text() const {
  metrics::Gauges gauges;
  auto& store = lifecycle_.store();
  const auto registry = lifecycle_.registry();
  for (const auto& plan : store.count_instances_by_plan()) {
    metrics::PlanCount count;
    count.service_id = plan.service_id;
    count.plan_id = plan.plan_id;
    count.instances = plan.instances;
    if (const auto* entry = registry->find_plan(plan.service_id, plan.plan_id)) {
      count.service_name = entry->service.value("name", "");
      count.plan_name = entry->plan.value("name", "");
    }
    gauges.instances_per_plan.push_back(std::move(count));
  }
  for (const auto& op : store.list_unfinished_operations()) {
    ++gauges.operations_in_progress[state::to_string(op.kind)];
  }
  gauges.plugins_loaded = registry->plugins().size();
  return metrics::global().render(gauges);
}

}  // namespace osbd::api
