#include "api/broker.hpp"

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <tuple>

#include <boost/asio/post.hpp>

#include "api/console.hpp"
#include "api/http_util.hpp"
#include "api/lifecycle_util.hpp"
#include "api/replicas.hpp"
#include "api/request_log.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"
#include "plugin_host/backend.hpp"

namespace osbd::api {

namespace bhttp = boost::beast::http;
using nlohmann::json;

namespace {

constexpr const char* kVersionHeader = "X-Broker-API-Version";
constexpr const char* kOriginatingIdentity = "X-Broker-API-Originating-Identity";

// Parses "2.MINOR"; returns false on anything else.
bool parse_api_version(std::string_view text, unsigned& minor) {
  if (text.size() < 3 || text.substr(0, 2) != "2.") {
    return false;
  }
  text.remove_prefix(2);
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), minor);
  return ec == std::errc() && end == text.data() + text.size();
}

// A route's name in logs and metrics and the methods it allows (its 405's Allow header).
struct RouteInfo {
  const char* name;
  const char* allow;
};

const RouteInfo& route_info(Route route) {
  static constexpr RouteInfo kRoutes[] = {
      {"catalog", "GET"},
      {"instance", "GET, PUT, PATCH, DELETE"},
      {"instance_last_operation", "GET"},
      {"binding", "GET, PUT, DELETE"},
      {"binding_last_operation", "GET"},
      {"none", ""},
  };
  return kRoutes[static_cast<std::size_t>(route)];
}

// True when the route's Allow list names the method.
bool method_allowed(Route route, bhttp::verb verb) {
  const std::string_view label = method_label(verb);
  std::string_view allow = route_info(route).allow;
  while (!allow.empty()) {
    const std::size_t comma = allow.find(", ");
    if (allow.substr(0, comma) == label) {
      return true;
    }
    allow.remove_prefix(comma == std::string_view::npos ? allow.size() : comma + 2);
  }
  return false;
}

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
  if (dynamic_cast<const state::StoreError*>(&e) != nullptr) {
    // The store could not read or write (its database is unreachable, its disk full): nothing
    // was acknowledged, and the same request succeeds once the store is back.
    log::error("request failed: state store unavailable", {{"error", e.what()}});
    ApiReply r = error_reply(503, "ServiceUnavailable",
                             "the broker's state store is unavailable; retry the request later");
    r.headers.emplace_back("Retry-After", "5");
    return r;
  }
  log::error("request failed", {{"error", e.what()}});
  return error_reply(500, "InternalError", "the broker could not complete the request");
}

// Update, fetch and last_operation: plain calls on the worker thread.
ApiReply run_plain(Lifecycle& lifecycle, const OsbPath& path, bhttp::verb verb,
                   const ApiRequest& api) {
  ApiReply r;
  try {
    switch (path.route) {
      case Route::instance:
        r = verb == bhttp::verb::patch ? lifecycle.update(path.instance_id, api)
                                       : lifecycle.fetch_instance(path.instance_id, api);
        break;
      case Route::instance_last_operation:
        r = lifecycle.instance_last_operation(path.instance_id, api);
        break;
      case Route::binding:
        r = lifecycle.fetch_binding(path.instance_id, path.binding_id, api);
        break;
      case Route::binding_last_operation:
        r = lifecycle.binding_last_operation(path.instance_id, path.binding_id, api);
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

// Provision, deprovision (instance route) or bind, unbind (binding route), finishing log.
util::Detached run_coroutine(Lifecycle& lifecycle, OsbPath path, bhttp::verb verb, ApiRequest api,
                             RequestLog log) {
  ApiReply r;
  try {
    // One co_await per statement: GCC 12 mishandles temporaries of co_await inside ?:.
    const bool put = verb == bhttp::verb::put;
    if (path.route == Route::instance && put) {
      r = co_await lifecycle.provision(std::move(path.instance_id), std::move(api));
    } else if (path.route == Route::instance) {
      r = co_await lifecycle.deprovision(std::move(path.instance_id), std::move(api));
    } else if (put) {
      r = co_await lifecycle.bind(std::move(path.instance_id), std::move(path.binding_id),
                                  std::move(api));
    } else {
      r = co_await lifecycle.unbind(std::move(path.instance_id), std::move(path.binding_id),
                                    std::move(api));
    }
    if (!r.durable) {
      lifecycle.wait_durable();
    }
  } catch (const std::exception& e) {
    r = internal_error(e);
  }
  log.finish(r);
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
  readiness_ = std::make_unique<Readiness>([this] { return readiness(); });
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

// 400 for an id in the path the broker does not accept (see is_valid_id), or nullopt.
std::optional<ApiReply> refuse_ids(const OsbPath& path) {
  for (const auto& [name, id, present] :
       {std::tuple{"instance_id", &path.instance_id, path.has_instance()},
        std::tuple{"binding_id", &path.binding_id, path.has_binding()}}) {
    if (present && !is_valid_id(*id)) {
      return error_reply(
          400, "BadRequest",
          std::string(name) + " must be 1 to 255 characters of UTF-8 without control characters");
    }
  }
  return std::nullopt;
}

// 400 for a PUT or PATCH whose Content-Type is not application/json (absent is accepted), or
// nullopt.
std::optional<ApiReply> refuse_content_type(const http::Request& request) {
  const bool has_body =
      request.method() == bhttp::verb::put || request.method() == bhttp::verb::patch;
  const auto ct = request.find(bhttp::field::content_type);
  if (!has_body || ct == request.end()) {
    return std::nullopt;
  }
  std::string type(ct->value());
  for (auto& ch : type) {
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  if (type.rfind("application/json", 0) != 0) {
    return error_reply(400, "BadRequest", "Content-Type must be application/json");
  }
  return std::nullopt;
}

// GET /admin/ui[/NAME]: a file of the operator console (see console_reply), or the redirect of
// /admin/ui to /admin/ui/ so that the pages' relative links resolve under it.
http::Response console_response(std::string_view path, const http::Request& request) {
  http::Response res{bhttp::status::moved_permanently, request.version()};
  res.set(bhttp::field::server, "osbd");
  if (path == "/admin/ui") {
    for (const auto& [name, value] : console_security_headers()) {
      res.set(name, value);
    }
    res.set(bhttp::field::location, "ui/");
    return res;
  }
  const auto& if_none_match = request[bhttp::field::if_none_match];
  ConsoleReply r = console_reply(path.substr(std::string_view("/admin/ui/").size()),
                                 std::string_view(if_none_match.data(), if_none_match.size()));
  res.result(static_cast<bhttp::status>(r.status));
  for (const auto& [name, value] : r.headers) {
    res.set(name, value);
  }
  res.body() = std::move(r.body);
  return res;
}

// X-Broker-API-Originating-Identity decoded: null when absent, nullopt when malformed.
std::optional<json> originating_identity(const http::Request& request) {
  const auto header = request.find(kOriginatingIdentity);
  if (header == request.end()) {
    return json();
  }
  return decode_originating_identity(
      std::string_view(header->value().data(), header->value().size()));
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
    const Route route = parsed ? match_osb_path(parsed->segments).route : Route::none;
    metrics::global().count_request(route_info(route).name, method_label(head.method()), 401, 0.0);
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
  const std::string_view target_view(request.target().data(), request.target().size());
  // The catalog is the hot read: answered from the cached body without parsing the target.
  if (request.method() == bhttp::verb::get) {
    const Entry* entry = front->by_target(target_view);
    if (entry != nullptr && authorized(request, *entry) && version_supported(request)) {
      return reply(timed_catalog_response(request, *entry->view, "GET", started));
    }
  }
  const std::string target(target_view);
  const std::string_view path = path_of(request);
  if (path == "/healthz" || path == "/readyz" || behind_admin_credentials(path)) {
    return serve_operator_path(target, request, std::move(reply));
  }
  Routed routed = locate(*front, target);
  RequestLog log(request, started, std::move(reply));
  log.set_subject(subject_of(routed, *front));
  if (auto refused = admit(request, routed)) {
    return log.finish(*refused);
  }
  dispatch(std::move(request), std::move(routed), *front, std::move(log));
}

void Broker::serve_operator_path(const std::string& target, const http::Request& request,
                                 http::Reply reply) {
  const std::string path = target.substr(0, target.find('?'));
  if (path == "/healthz" || path == "/readyz") {
    return handle_operator(path, request, std::move(reply));
  }
  if (options_.separate_operator_listener) {
    return reply(to_response(
        error_reply(404, "NotFound", path + " is served on the admin listener (admin.listen)"),
        request.version(), ""));
  }
  if (path == "/metrics") {
    return handle_operator(path, request, std::move(reply));
  }
  handle_admin(target, request, std::move(reply));
}

Broker::Routed Broker::locate(const Front& front, std::string_view target) {
  Routed routed;
  routed.target = parse_target(target);
  routed.entry = front.route(routed.target);
  if (routed.target) {
    routed.path = match_osb_path(routed.target->segments);
  }
  return routed;
}

RequestSubject Broker::subject_of(const Routed& routed, const Front& front) {
  RequestSubject subject;
  subject.route = route_info(routed.path.route).name;
  if (routed.entry != nullptr && routed.entry != &front.entries.front()) {
    subject.catalog = routed.entry->view->name();
  }
  if (routed.path.has_instance()) {
    subject.instance_id = routed.path.instance_id;
  }
  if (routed.path.has_binding()) {
    subject.binding_id = routed.path.binding_id;
  }
  return subject;
}

std::optional<ApiReply> Broker::admit(const http::Request& request, const Routed& routed) const {
  // An unknown catalog is refused like wrong credentials: no pair could open it.
  if (routed.entry == nullptr || !authorized(request, *routed.entry)) {
    return unauthorized();
  }
  if (!routed.target) {
    return error_reply(400, "BadRequest", "malformed percent-encoding in the URL");
  }
  const Route route = routed.path.route;
  const std::string path(path_of(request));
  if (route == Route::none) {
    return error_reply(404, "NotFound", "no such route: " + path);
  }
  if (!method_allowed(route, request.method())) {
    ApiReply r = error_reply(405, "MethodNotAllowed",
                             std::string(request.method_string()) + " is not allowed on " + path);
    r.headers.emplace_back("Allow", route_info(route).allow);
    return r;
  }
  if (!version_supported(request)) {
    return version_refusal();
  }
  if (auto bad = refuse_ids(routed.path)) {
    return bad;
  }
  return refuse_content_type(request);
}

ApiReply Broker::version_refusal() const {
  return error_reply(412, "PreconditionFailed",
                     std::string(kVersionHeader) + " must be 2." +
                         std::to_string(options_.min_api_minor) + " to 2." +
                         std::to_string(options_.max_api_minor) + " (this broker speaks 2." +
                         std::to_string(options_.max_api_minor) + ")");
}

void Broker::dispatch(http::Request&& request, Routed routed, const Front& front, RequestLog log) {
  const catalog::View& view = *routed.entry->view;
  if (routed.path.route == Route::catalog) {
    return log.send(timed_catalog_response(request, view, log.method_label(), log.started()));
  }
  auto identity = originating_identity(request);
  if (!identity) {
    return log.finish(
        error_reply(400, "BadRequest",
                    std::string(kOriginatingIdentity) + " must be 'PLATFORM BASE64(JSON object)'"));
  }
  ApiRequest api;
  api.catalogs = front.catalogs;
  api.view = &view;
  api.query = std::move(routed.target->query);
  api.body = std::move(request.body());
  api.originating_identity = std::move(*identity);
  // The store knows instances by their catalog-scoped key.
  routed.path.instance_id = catalog::scoped_id(view.name(), routed.path.instance_id);
  post_lifecycle(std::move(routed.path), request.method(), std::move(api), std::move(log));
}

void Broker::post_lifecycle(OsbPath path, bhttp::verb verb, ApiRequest api, RequestLog log) {
  const bool mutating = verb == bhttp::verb::put || verb == bhttp::verb::delete_;
  if (mutating && (path.route == Route::instance || path.route == Route::binding)) {
    // Provision, deprovision, bind and unbind are coroutines: they leave the worker thread free
    // while their writes wait for a group commit.
    boost::asio::post(workers_, [this, path = std::move(path), verb, api = std::move(api),
                                 log = std::move(log)]() mutable {
      run_coroutine(lifecycle_, std::move(path), verb, std::move(api), std::move(log));
    });
    return;
  }
  boost::asio::post(
      workers_, [this, path = std::move(path), verb, api = std::move(api), log = std::move(log)] {
        log.finish(run_plain(lifecycle_, path, verb, api));
      });
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
    // Kept current by its own thread: never waits behind the workers or a plugin call.
    return reply(to_response(readiness_->current(), version, ""));
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
  const std::string_view target_path = std::string_view(target).substr(0, target.find('?'));
  if (target_path == "/admin/ui" || target_path.rfind("/admin/ui/", 0) == 0) {
    // The console's files, compiled in: answered here, without a worker.
    http::Response res = console_response(target_path, request);
    log::info("admin request", {{"path", target_path}, {"status", res.result_int()}});
    return reply(std::move(res));
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
    if (uint64_t suppressed = 0; readiness_log_.allow(suppressed)) {
      log::warn("not ready: the state store cannot serve",
                {{"error", e.what()}, {"suppressed", suppressed}});
    }
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
  const auto& options = lifecycle_.options();
  const auto replicas = count_replicas(
      store.list_replicas(),
      {options.replica_id, catalog_fingerprint(*catalogs()), detail::now_ms(), options.lease_ms});
  gauges.replicas_alive = replicas.alive;
  gauges.replicas_catalog_mismatch = replicas.mismatched;
  for (const auto& plugin : registry->plugins()) {
    const auto host = plugin->host_status();
    const auto calls = plugin->counters();
    gauges.plugins.push_back(
        {plugin->name(), host.state == "up", host.restarts, calls.timeouts, calls.in_flight});
  }
  return metrics::global().render(gauges);
}

}  // namespace osbd::api
