#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "api/admin.hpp"
#include "api/http_util.hpp"
#include "api/lifecycle.hpp"
#include "api/readiness.hpp"
#include "catalog/catalogs.hpp"
#include "config/config.hpp"
#include "http/types.hpp"
#include "util/rate_limit.hpp"

namespace osbd::api {

class RequestLog;
struct RequestSubject;

/// Cross-cutting settings of the OSB front end.
struct BrokerOptions {
  /// /metrics and /admin/... are served by operator_handler() only (a listener of their own),
  /// and the OSB listener answers them 404.
  bool separate_operator_listener = false;
  /// Credentials of the operator's endpoints (/metrics); without them those answer 404.
  std::optional<config::BasicCredentials> admin;
  unsigned min_api_minor = 13;  ///< oldest accepted 2.x
  unsigned max_api_minor = 17;  ///< newest accepted 2.x
};

/// The OSB HTTP front end: authentication, X-Broker-API-Version, routing and percent-decoding on
/// the I/O thread. Each catalog is served under its base path (/v2/... for the default one,
/// /catalogs/NAME/v2/... for the others) with its own credentials; instances are keyed by the
/// catalog they were created through (catalog::scoped_id), so no catalog sees another's; everything
/// that touches the store or a plugin on the worker pool. Also the operator's endpoints: /healthz
/// (alive, no credentials), /readyz (state store usable and plugins loaded, no credentials),
/// /metrics (Prometheus text format) and /admin/... (AdminApi), the last two behind the admin
/// credentials.
class Broker : public http::Handler {
 public:
  /// All references must outlive the broker.
  Broker(BrokerOptions options, Lifecycle& lifecycle,
         std::shared_ptr<const catalog::Catalogs> catalogs, boost::asio::thread_pool& workers);

  /// Serves these catalogs from now on (a reload); requests already routed keep the old ones.
  void set_catalogs(std::shared_ptr<const catalog::Catalogs> catalogs);
  /// The catalogs served now.
  std::shared_ptr<const catalog::Catalogs> catalogs() const;

  /// Routes one request; see http::Handler.
  void handle(http::Request&& request, http::Reply reply) override;
  /// The catalog, pre-serialized, for a plain authorized GET /v2/catalog.
  std::shared_ptr<const std::string> cached_response(const http::Request& request) override;
  /// 413 in the OSB error format.
  http::Response too_large(unsigned version, std::size_t limit) override;
  /// 401 (or the operator endpoints' 404) on the headers alone, before any body is read.
  std::optional<http::Response> refuse_before_body(const http::Request& head) override;

  /// The handler of the operator's own listener: /healthz, /readyz, /metrics and /admin/...;
  /// 404 for anything else.
  http::Handler& operator_handler() noexcept { return operator_handler_; }

 private:
  // One catalog as the HTTP layer serves it.
  struct Entry {
    const catalog::View* view = nullptr;
    std::vector<std::string> expected_authorization;   // "Basic <base64>" per credential pair
    std::string catalog_target;                        // its GET .../v2/catalog target
    std::shared_ptr<const std::string> catalog_bytes;  // the whole 200 response of it
  };
  // Everything a request is routed with, swapped whole by set_catalogs().
  struct Front {
    std::shared_ptr<const catalog::Catalogs> catalogs;
    std::vector<Entry> entries;  // one per view, the default first
    const Entry* by_target(std::string_view target) const;
    const Entry* by_name(std::string_view name) const;
    // The catalog a parsed target addresses (/catalogs/NAME/v2/... or the default /v2/...),
    // removing its /catalogs/NAME prefix; null for an unknown NAME.
    const Entry* route(std::optional<Target>& parsed) const;
  };
  // Where an OSB request's target leads.
  struct Routed {
    std::optional<Target> target;  // nullopt: malformed percent-encoding
    const Entry* entry = nullptr;  // the catalog it addresses; null for an unknown one
    OsbPath path;                  // the route and the ids in the path
  };
  static Routed locate(const Front& front, std::string_view target);
  // What the request's log line names: the route, a catalog other than the default, the ids.
  static RequestSubject subject_of(const Routed& routed, const Front& front);
  // Why an OSB request may not go on to its handler: 401 (credentials, unknown catalog), 400
  // (percent-encoding), 404, 405, 412 (X-Broker-API-Version), 400 (ids, Content-Type); nullopt
  // when it may.
  std::optional<ApiReply> admit(const http::Request& request, const Routed& routed) const;
  // Hands an admitted request to its handler: the catalog at once, the lifecycle's routes on the
  // worker pool; log sends the reply.
  void dispatch(http::Request&& request, Routed routed, const Front& front, RequestLog log);
  // Runs a lifecycle route on the worker pool and finishes log with its reply.
  void post_lifecycle(OsbPath path, boost::beast::http::verb verb, ApiRequest api, RequestLog log);
  // /healthz, /readyz, /metrics and /admin/... on the OSB listener.
  void serve_operator_path(const std::string& target, const http::Request& request,
                           http::Reply reply);
  // The 412 for an X-Broker-API-Version outside the accepted range.
  ApiReply version_refusal() const;

  // The refusal of a request to /metrics or /admin/... on its headers alone, if any.
  std::optional<ApiReply> refuse_operator_head(std::string_view path,
                                               const http::Request& head) const;

  std::shared_ptr<const Front> make_front(std::shared_ptr<const catalog::Catalogs> catalogs) const;
  static bool authorized(const http::Request& request, const Entry& entry);
  bool admin_authorized(const http::Request& request) const;
  // /healthz, /readyz and /metrics.
  void handle_operator(std::string_view path, const http::Request& request, http::Reply reply);
  // /admin/...: the operator's inventory (AdminApi), behind the admin credentials.
  void handle_admin(const std::string& target, const http::Request& request, http::Reply reply);
  // Why an operator's request is refused (404 without admin credentials, 401 with wrong ones),
  // or nullopt when it may go on.
  std::optional<ApiReply> refuse_operator(const http::Request& request,
                                          std::string_view what) const;
  ApiReply readiness() const;
  std::string metrics_text() const;
  bool version_supported(const http::Request& request) const;
  static http::Response catalog_response(const http::Request& request, const catalog::View& view);
  // catalog_response(), timed and counted in the metrics.
  static http::Response timed_catalog_response(const http::Request& request,
                                               const catalog::View& view, const char* method,
                                               std::chrono::steady_clock::time_point started);

  std::string expected_admin_authorization_;  // "" when no admin credentials are set

  BrokerOptions options_;
  Lifecycle& lifecycle_;
  std::atomic<std::shared_ptr<const Front>> front_;
  boost::asio::thread_pool& workers_;
  AdminApi admin_api_;
  // The readiness check runs four times a second: its failures are logged every 10 s at most.
  mutable util::RateLimit readiness_log_{std::chrono::seconds(10)};
  // Last: its thread reads the members above, and stops first.
  std::unique_ptr<Readiness> readiness_;

  class OperatorHandler final : public http::Handler {
   public:
    explicit OperatorHandler(Broker& broker) : broker_(broker) {}
    void handle(http::Request&& request, http::Reply reply) override;
    http::Response too_large(unsigned version, std::size_t limit) override {
      return broker_.too_large(version, limit);
    }
    std::optional<http::Response> refuse_before_body(const http::Request& head) override;

   private:
    Broker& broker_;
  };
  OperatorHandler operator_handler_{*this};
};

}  // namespace osbd::api
