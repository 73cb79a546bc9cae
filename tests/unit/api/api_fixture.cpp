#include "api_fixture.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>

#include <boost/asio/post.hpp>

#include "api/http_util.hpp"
#include "catalog/registry.hpp"

namespace osbd::test {

namespace {

std::string basic(const std::string& user, const std::string& password) {
  return "Basic " + api::base64_encode(user + ":" + password);
}

}  // namespace

std::string Reply::header(const std::string& name) const {
  const auto it = raw.find(name);
  return it == raw.end() ? std::string() : std::string(it->value());
}

::testing::AssertionResult IsOsbError(const Reply& reply, unsigned status,
                                      const std::string& code) {
  if (reply.status != status) {
    return ::testing::AssertionFailure()
           << "status " << reply.status << ", expected " << status << "; body " << reply.raw.body();
  }
  if (!reply.body.is_object() || reply.body.value("error", "") != code) {
    return ::testing::AssertionFailure()
           << "error is not \"" << code << "\"; body " << reply.raw.body();
  }
  if (!reply.body.contains("description") || !reply.body.at("description").is_string() ||
      reply.body.at("description").get<std::string>().empty()) {
    return ::testing::AssertionFailure() << "no description; body " << reply.raw.body();
  }
  if (reply.header("Content-Type") != "application/json") {
    return ::testing::AssertionFailure() << "Content-Type " << reply.header("Content-Type");
  }
  return ::testing::AssertionSuccess();
}

api::BrokerOptions ApiTest::default_options() {
  api::BrokerOptions options;
  options.admin = config::BasicCredentials{kAdminUser, kAdminPassword};
  return options;
}

void ApiTest::SetUp() {
  // On tmpfs when there is one: these tests are about status codes, not durability, and every
  // group commit syncs (about 100 ms a test on a busy disk, 5 ms in memory).
  std::error_code ec;
  const std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec)
                                         ? std::filesystem::path("/dev/shm")
                                         : std::filesystem::temp_directory_path();
  std::string pattern = (base / "osbd-api-test-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  data_dir_ = pattern;
  store_ = state::open_sqlite_store(data_dir_);

  // As main(): the registry of the loaded plugins, then the configured catalogs over it.
  config::CatalogConfig default_catalog;
  default_catalog.name = std::string(catalog::kDefaultCatalog);
  default_catalog.credentials = {{kUser, kPassword}};
  config::CatalogConfig partner;
  partner.name = "partner";
  partner.credentials = {{kPartnerUser, kPartnerPassword}};
  config::ServiceSelection db;
  db.service = FakePlugin::kService;
  partner.services = std::vector<config::ServiceSelection>{db};
  catalogs_ = catalog::Catalogs::build(catalog::Registry::build({fake_.make_plugin()}),
                                       {default_catalog, partner});
  rewire(default_options());
}

void ApiTest::stop() {
  if (workers_) {
    workers_->join();  // no request of the old wiring is left running
  }
  broker_.reset();
  lifecycle_.reset();
  workers_.reset();
}

void ApiTest::rewire(api::BrokerOptions broker_options, api::LifecycleOptions lifecycle_options) {
  stop();
  workers_ = std::make_unique<boost::asio::thread_pool>(2);
  lifecycle_ =
      std::make_unique<api::Lifecycle>(*store_, catalogs_->registry_ptr(), lifecycle_options,
                                       [pool = workers_.get()](std::function<void()> fn) {
                                         boost::asio::post(*pool, std::move(fn));
                                       });
  lifecycle_->recover();
  broker_ =
      std::make_unique<api::Broker>(std::move(broker_options), *lifecycle_, catalogs_, *workers_);
}

void ApiTest::TearDown() {
  stop();
  store_.reset();
  catalogs_.reset();
  if (!data_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
  }
}

http::Request ApiTest::platform_request(bhttp::verb method, const std::string& target,
                                        const std::string& body) {
  http::Request request{method, target, 11};
  request.set(bhttp::field::authorization, basic(kUser, kPassword));
  request.set("X-Broker-API-Version", "2.17");
  if (!body.empty()) {
    request.set(bhttp::field::content_type, "application/json");
    request.body() = body;
  }
  return request;
}

http::Request ApiTest::admin_request(bhttp::verb method, const std::string& target) {
  http::Request request{method, target, 11};
  request.set(bhttp::field::authorization, basic(kAdminUser, kAdminPassword));
  return request;
}

Reply ApiTest::send(http::Request request, http::Handler* handler) {
  auto promise = std::make_shared<std::promise<http::Response>>();
  auto future = promise->get_future();
  (handler != nullptr ? *handler : *broker_)
      .handle(std::move(request),
              [promise](http::Response&& response) { promise->set_value(std::move(response)); });
  Reply reply;
  if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    ADD_FAILURE() << "no reply within 10 s";
    return reply;
  }
  reply.raw = future.get();
  reply.status = reply.raw.result_int();
  reply.body = json::parse(reply.raw.body(), nullptr, false);
  return reply;
}

Reply ApiTest::call(bhttp::verb method, const std::string& target, const std::string& body) {
  return send(platform_request(method, target, body));
}

std::string ApiTest::instance_url(const std::string& id, const std::string& query) {
  return "/v2/service_instances/" + id + (query.empty() ? "" : "?" + query);
}

std::string ApiTest::binding_url(const std::string& id, const std::string& binding,
                                 const std::string& query) {
  return "/v2/service_instances/" + id + "/service_bindings/" + binding +
         (query.empty() ? "" : "?" + query);
}

json ApiTest::provision_body(const std::string& plan, json parameters) {
  return {{"service_id", FakePlugin::kService},
          {"plan_id", plan},
          {"organization_guid", "org-1"},
          {"space_guid", "space-1"},
          {"parameters", std::move(parameters)},
          {"context", {{"platform", "cloudfoundry"}, {"organization_guid", "org-1"}}}};
}

json ApiTest::bind_body(const std::string& plan, json parameters) {
  return {{"service_id", FakePlugin::kService},
          {"plan_id", plan},
          {"app_guid", "app-1"},
          {"parameters", std::move(parameters)}};
}

Reply ApiTest::provision(const std::string& id, const json& body, bool async) {
  return call(bhttp::verb::put, instance_url(id, async ? "accepts_incomplete=true" : ""),
              body.dump());
}

Reply ApiTest::update(const std::string& id, const json& body, bool async) {
  return call(bhttp::verb::patch, instance_url(id, async ? "accepts_incomplete=true" : ""),
              body.dump());
}

Reply ApiTest::deprovision(const std::string& id, bool async, const std::string& plan) {
  return call(bhttp::verb::delete_,
              instance_url(id, std::string("service_id=") + FakePlugin::kService +
                                   "&plan_id=" + plan + (async ? "&accepts_incomplete=true" : "")));
}

Reply ApiTest::fetch_instance(const std::string& id) {
  return call(bhttp::verb::get, instance_url(id));
}

Reply ApiTest::instance_last_operation(const std::string& id, const std::string& operation) {
  return call(bhttp::verb::get, "/v2/service_instances/" + id + "/last_operation" +
                                    (operation.empty() ? "" : "?operation=" + operation));
}

Reply ApiTest::bind(const std::string& id, const std::string& binding, const json& body,
                    bool async) {
  return call(bhttp::verb::put, binding_url(id, binding, async ? "accepts_incomplete=true" : ""),
              body.dump());
}

Reply ApiTest::unbind(const std::string& id, const std::string& binding, bool async,
                      const std::string& plan) {
  return call(bhttp::verb::delete_,
              binding_url(id, binding,
                          std::string("service_id=") + FakePlugin::kService + "&plan_id=" + plan +
                              (async ? "&accepts_incomplete=true" : "")));
}

Reply ApiTest::fetch_binding(const std::string& id, const std::string& binding) {
  return call(bhttp::verb::get, binding_url(id, binding));
}

Reply ApiTest::binding_last_operation(const std::string& id, const std::string& binding,
                                      const std::string& operation) {
  return call(bhttp::verb::get, binding_url(id, binding) + "/last_operation" +
                                    (operation.empty() ? "" : "?operation=" + operation));
}

void ApiTest::provisioned(const std::string& id, const std::string& plan) {
  const Reply r = provision(id, provision_body(plan));
  ASSERT_EQ(r.status, 201u) << r.raw.body();
}

std::string ApiTest::provisioning(const std::string& id) {
  fake_.script(Operation::provision, Answer::in_progress("token-" + id));
  const Reply r = provision(id, provision_body(), true);
  EXPECT_EQ(r.status, 202u) << r.raw.body();
  return r.body.value("operation", "");
}

void ApiTest::bound(const std::string& id, const std::string& binding) {
  const Reply r = bind(id, binding);
  ASSERT_EQ(r.status, 201u) << r.raw.body();
}

}  // namespace osbd::test
