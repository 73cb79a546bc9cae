#pragma once

// The fixture of the in-process API suites: Broker, Lifecycle and the admin API wired as
// core/main.cpp wires them (worker pool, group-commit post, catalogs built from the plugins), over
// FakePlugin and a real SQLite store in a temporary directory. Requests are http::Request values
// handed to Broker::handle(); the test waits for the reply the worker pool sends.

#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "api/broker.hpp"
#include "api/lifecycle.hpp"
#include "catalog/catalogs.hpp"
#include "fake_plugin.hpp"
#include "http/types.hpp"
#include "state/store.hpp"

namespace osbd::test {

namespace bhttp = boost::beast::http;
using nlohmann::json;

/// A reply as the platform sees it.
struct Reply {
  unsigned status = 0;  ///< HTTP status, 0 when no reply came
  json body;            ///< parsed body, discarded when it is not JSON
  http::Response raw;   ///< the whole response
  /// The value of a header, "" when absent.
  std::string header(const std::string& name) const;
};

/// Asserts an OSB error reply: status, {"error": code} and a non-empty description.
::testing::AssertionResult IsOsbError(const Reply& reply, unsigned status, const std::string& code);

class ApiTest : public ::testing::Test {
 public:
  static constexpr const char* kUser = "platform";
  static constexpr const char* kPassword = "platform-secret";
  static constexpr const char* kPartnerUser = "partner";
  static constexpr const char* kPartnerPassword = "partner-secret";
  static constexpr const char* kAdminUser = "operator";
  static constexpr const char* kAdminPassword = "operator-secret";

  /// The broker options SetUp uses: admin credentials on the OSB listener.
  static api::BrokerOptions default_options();
  /// A request as the platform sends it: Basic credentials of the default catalog,
  /// X-Broker-API-Version 2.17, and a JSON Content-Type when there is a body.
  static http::Request platform_request(bhttp::verb method, const std::string& target,
                                        const std::string& body = "");
  /// A request with the admin credentials and no OSB headers.
  static http::Request admin_request(bhttp::verb method, const std::string& target);

 protected:
  void SetUp() override;
  void TearDown() override;

  /// Rebuilds the worker pool, Lifecycle and Broker with these options over the same store and
  /// catalogs (as a restart of osbd with another configuration would).
  void rewire(api::BrokerOptions broker_options, api::LifecycleOptions lifecycle_options = {});
  /// Hands request to handler (the broker by default) and waits for its reply.
  Reply send(http::Request request, http::Handler* handler = nullptr);
  /// send(platform_request(...)).
  Reply call(bhttp::verb method, const std::string& target, const std::string& body = "");

  /// OSB helpers on the default catalog; async adds accepts_incomplete=true.
  static std::string instance_url(const std::string& id, const std::string& query = "");
  static std::string binding_url(const std::string& id, const std::string& binding,
                                 const std::string& query = "");
  static json provision_body(const std::string& plan = FakePlugin::kSmallPlan,
                             json parameters = json::object());
  static json bind_body(const std::string& plan = FakePlugin::kSmallPlan,
                        json parameters = json::object());
  Reply provision(const std::string& id, const json& body = provision_body(), bool async = false);
  Reply update(const std::string& id, const json& body, bool async = false);
  Reply deprovision(const std::string& id, bool async = false,
                    const std::string& plan = FakePlugin::kSmallPlan);
  Reply fetch_instance(const std::string& id);
  Reply instance_last_operation(const std::string& id, const std::string& operation = "");
  Reply bind(const std::string& id, const std::string& binding, const json& body = bind_body(),
             bool async = false);
  Reply unbind(const std::string& id, const std::string& binding, bool async = false,
               const std::string& plan = FakePlugin::kSmallPlan);
  Reply fetch_binding(const std::string& id, const std::string& binding);
  Reply binding_last_operation(const std::string& id, const std::string& binding,
                               const std::string& operation = "");

  /// An instance provisioned synchronously (201 checked).
  void provisioned(const std::string& id, const std::string& plan = FakePlugin::kSmallPlan);
  /// An instance whose asynchronous provision is in progress; returns the operation (202 checked).
  std::string provisioning(const std::string& id);
  /// A binding created synchronously (201 checked) on a provisioned instance.
  void bound(const std::string& id, const std::string& binding);

  FakePlugin fake_;  // first: outlives every Plugin that points at it
  std::string data_dir_;
  std::unique_ptr<state::Store> store_;
  std::shared_ptr<const catalog::Catalogs> catalogs_;
  std::unique_ptr<boost::asio::thread_pool> workers_;
  std::unique_ptr<api::Lifecycle> lifecycle_;
  std::unique_ptr<api::Broker> broker_;

 private:
  void stop();
};

}  // namespace osbd::test
