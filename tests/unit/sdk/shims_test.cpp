#include "osb/sdk/plugin.hpp"

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "osb/sdk/fake_host.hpp"

namespace {

using nlohmann::json;
using osb::sdk::Backend;
using osb::sdk::ConfigError;
using osb::sdk::ConfigReader;
using osb::sdk::Host;
using osb::sdk::Result;
using osb::sdk::testing::BackendHandle;
using osb::sdk::testing::CallRecord;
using osb::sdk::testing::FakeHost;

// A backend whose behaviour is chosen by its configuration ("mode") and, for provision, by the
// instance id of the request.
class ScriptedBackend final : public Backend {
 public:
  ScriptedBackend(const json& config, Host& host) {
    ConfigReader reader(config);
    mode_ = reader.string("mode");
    reader.reject_unknown_keys();
    if (mode_ == "config_error") {
      throw ConfigError("mode: configured to fail");
    }
    if (mode_ == "runtime_error") {
      throw std::runtime_error("cannot reach backend at 10.0.0.1: refused");
    }
    if (mode_ == "int") {
      throw 7;
    }
    host.info("scripted backend created");
  }

  json catalog() override {
    if (mode_ == "bad_catalog") {
      return json::array();
    }
    if (mode_ == "throw_catalog") {
      throw std::runtime_error("catalog broke");
    }
    return {{"services", json::array()}};
  }

  Result provision(const osb::sdk::ProvisionRequest& request) override {
    const std::string& how = request.instance_id;
    if (how == "in_progress") {
      return Result::in_progress("tok-1");
    }
    if (how == "bad_request") {
      return Result::bad_request("size: too big");
    }
    if (how == "requires_app") {
      return Result::requires_app("needs an app");
    }
    if (how == "no_description") {
      return Result::backend_error("");
    }
    if (how == "not_object") {
      return Result::ok(json::array({1}));
    }
    if (how == "null_body") {
      return Result::ok(nullptr);
    }
    if (how == "bad_utf8") {
      return Result::ok({{"x", std::string("\xff")}});
    }
    if (how == "throw_std") {
      throw std::runtime_error("boom");
    }
    if (how == "throw_request") {
      throw osb::sdk::RequestError("size: must be positive");
    }
    if (how == "throw_int") {
      throw 5;
    }
    return Result::ok({{"echo", json(request)}});
  }

  Result deprovision(const osb::sdk::DeprovisionRequest& request) override {
    (void)request;
    return Result::ok();
  }

 private:
  std::string mode_;
};

// A backend that relies on every default of Backend.
class MinimalBackend final : public Backend {
 public:
  MinimalBackend(const json& config, Host& host) {
    (void)config;
    (void)host;
  }
  json catalog() override { return {{"services", json::array()}}; }
  Result provision(const osb::sdk::ProvisionRequest& request) override {
    (void)request;
    return Result::ok();
  }
  Result deprovision(const osb::sdk::DeprovisionRequest& request) override {
    (void)request;
    return Result::ok();
  }
};

constexpr osb_plugin_v1 scripted_table =
    osb::sdk::detail::make_plugin_table<ScriptedBackend>("org.osbd.test.scripted", "0.1.0", "t");
constexpr osb_plugin_v1 minimal_table =
    osb::sdk::detail::make_plugin_table<MinimalBackend>("org.osbd.test.minimal", "0.2.0", "t");

json provision_request(const std::string& instance_id) {
  return {{"instance_id", instance_id}, {"service_id", "s"}, {"plan_id", "p"}};
}

TEST(PluginTable, CarriesVersionAndIdentity) {
  EXPECT_EQ(scripted_table.struct_size, sizeof(osb_plugin_v1));
  EXPECT_EQ(scripted_table.abi_major, static_cast<std::uint32_t>(OSB_PLUGIN_ABI_VERSION_MAJOR));
  EXPECT_EQ(scripted_table.abi_minor, static_cast<std::uint32_t>(OSB_PLUGIN_ABI_VERSION_MINOR));
  EXPECT_STREQ(scripted_table.name, "org.osbd.test.scripted");
  EXPECT_STREQ(scripted_table.version, "0.1.0");
  EXPECT_STREQ(scripted_table.vendor, "t");
  for (const void* slot : {reinterpret_cast<const void*>(scripted_table.create),
                           reinterpret_cast<const void*>(scripted_table.destroy),
                           reinterpret_cast<const void*>(scripted_table.get_catalog),
                           reinterpret_cast<const void*>(scripted_table.provision),
                           reinterpret_cast<const void*>(scripted_table.deprovision),
                           reinterpret_cast<const void*>(scripted_table.update),
                           reinterpret_cast<const void*>(scripted_table.bind),
                           reinterpret_cast<const void*>(scripted_table.unbind),
                           reinterpret_cast<const void*>(scripted_table.poll),
                           reinterpret_cast<const void*>(scripted_table.instance_usage)}) {
    EXPECT_NE(slot, nullptr);
  }
}

TEST(Shims, OkResultGoesThroughSetResult) {
  FakeHost host;
  BackendHandle backend(host, scripted_table);
  const CallRecord call = backend.provision(provision_request("i-1"));
  EXPECT_EQ(call.status, OSB_STATUS_OK);
  EXPECT_FALSE(call.error);
  EXPECT_EQ(call.json()["echo"]["instance_id"], "i-1");
  EXPECT_EQ(call.json()["echo"]["parameters"], json::object());
}

TEST(Shims, InProgressCarriesToken) {
  FakeHost host;
  BackendHandle backend(host, scripted_table);
  const CallRecord call = backend.provision(provision_request("in_progress"));
  EXPECT_EQ(call.status, OSB_STATUS_IN_PROGRESS);
  EXPECT_EQ(call.json(), json({{"operation", "tok-1"}}));
}

TEST(Shims, ErrorResultGoesThroughSetError) {
  FakeHost host;
  BackendHandle backend(host, scripted_table);
  CallRecord call = backend.provision(provision_request("bad_request"));
  EXPECT_EQ(call.status, OSB_STATUS_BAD_REQUEST);
  EXPECT_EQ(call.error, "size: too big");
  EXPECT_FALSE(call.result);
  call = backend.provision(provision_request("requires_app"));
  EXPECT_EQ(call.status, OSB_STATUS_REQUIRES_APP);
  EXPECT_EQ(call.error, "needs an app");
}

TEST(Shims, FailureWithoutDescriptionGetsOne) {
  FakeHost host;
  BackendHandle backend(host, scripted_table);
  const CallRecord call = backend.provision(provision_request("no_description"));
  EXPECT_EQ(call.status, OSB_STATUS_BACKEND_ERROR);
  EXPECT_EQ(call.error, "the plugin reported a failure without a description");
}

TEST(Shims, ResultThatIsNoObjectIsAnInternalError) {
  FakeHost host;
  BackendHandle backend(host, scripted_table);
  CallRecord call = backend.provision(provision_request("not_object"));
  EXPECT_EQ(call.status, OSB_STATUS_INTERNAL_ERROR);
  EXPECT_EQ(call.error, "the plugin returned a result that is not a JSON object");
  EXPECT_FALSE(call.result);
  call = backend.provision(provision_request("null_body"));
  EXPECT_EQ(call.status, OSB_STATUS_OK);
  EXPECT_EQ(call.result, "{}");
}

TEST(Shims, ResultThatIsNoUtf8IsAnInternalError) {
  FakeHost host;
  BackendHandle backend(host, scripted_table);
  const CallRecord call = backend.provision(provision_request("bad_utf8"));
  EXPECT_EQ(call.status, OSB_STATUS_INTERNAL_ERROR);
  ASSERT_TRUE(call.error);
  EXPECT_NE(call.error->find("UTF-8"), std::string::npos) << *call.error;
  EXPECT_FALSE(call.result);
}

TEST(Shims, StdExceptionBecomesInternalError) {
  FakeHost host;
  BackendHandle backend(host, scripted_table);
  const CallRecord call = backend.provision(provision_request("throw_std"));
  EXPECT_EQ(call.status, OSB_STATUS_INTERNAL_ERROR);
  EXPECT_EQ(call.error, "boom");
  EXPECT_FALSE(call.result);
}

TEST(Shims, OtherExceptionBecomesInternalError) {
  FakeHost host;
  BackendHandle backend(host, scripted_table);
  const CallRecord call = backend.provision(provision_request("throw_int"));
  EXPECT_EQ(call.status, OSB_STATUS_INTERNAL_ERROR);
  EXPECT_EQ(call.error, "the plugin failed with an exception that is not a std::exception");
}

TEST(Shims, RequestErrorFromBackendIsBadRequest) {
  FakeHost host;
  BackendHandle backend(host, scripted_table);
  const CallRecord call = backend.provision(provision_request("throw_request"));
  EXPECT_EQ(call.status, OSB_STATUS_BAD_REQUEST);
  EXPECT_EQ(call.error, "size: must be positive");
}

TEST(Shims, UnparsableRequestIsBadRequest) {
  FakeHost host;
  BackendHandle backend(host, scripted_table);
  CallRecord call = host.call(scripted_table.provision, backend.get(), "{\"instance_id\": ");
  EXPECT_EQ(call.status, OSB_STATUS_BAD_REQUEST);
  ASSERT_TRUE(call.error);
  EXPECT_EQ(call.error->rfind("request is not valid JSON: ", 0), 0U) << *call.error;
  call = host.call(scripted_table.provision, backend.get(), "");
  EXPECT_EQ(call.status, OSB_STATUS_BAD_REQUEST);
  EXPECT_EQ(call.error, "invalid request: instance_id: missing");
}

TEST(Shims, InvalidFieldIsBadRequestNamingIt) {
  FakeHost host;
  BackendHandle backend(host, scripted_table);
  json request = provision_request("i");
  request["parameters"] = "size=3";
  const CallRecord call = backend.provision(request);
  EXPECT_EQ(call.status, OSB_STATUS_BAD_REQUEST);
  EXPECT_EQ(call.error, "invalid request: parameters: expected an object");
}

TEST(Shims, NullBackendIsInternalError) {
  FakeHost host;
  const CallRecord call = host.call(scripted_table.provision, nullptr, "{}");
  EXPECT_EQ(call.status, OSB_STATUS_INTERNAL_ERROR);
}

TEST(Shims, BackendDefaults) {
  FakeHost host;
  BackendHandle backend(host, minimal_table);
  const json ids = {
      {"instance_id", "i"}, {"binding_id", "b"}, {"service_id", "s"}, {"plan_id", "p"}};
  CallRecord call = backend.update(ids);
  EXPECT_EQ(call.status, OSB_STATUS_UNPROCESSABLE);
  EXPECT_EQ(call.error, "updating instances is not supported by this service");
  call = backend.bind(ids);
  EXPECT_EQ(call.status, OSB_STATUS_UNPROCESSABLE);
  EXPECT_EQ(call.error, "bindings are not supported by this service");
  call = backend.unbind(ids);
  EXPECT_EQ(call.status, OSB_STATUS_OK);
  EXPECT_EQ(call.json(), json::object());
  json poll = ids;
  poll["kind"] = "provision";
  call = backend.poll(poll);
  EXPECT_EQ(call.status, OSB_STATUS_OK);
  EXPECT_EQ(call.json()["state"], "failed");
  // ABI 1.1: the usage slot is always filled and tells nothing by default.
  call = backend.usage(ids);
  EXPECT_EQ(call.status, OSB_STATUS_OK);
  EXPECT_EQ(call.json(), json::object());
  call = backend.usage(json{{"plan_id", "p"}});
  EXPECT_EQ(call.status, OSB_STATUS_BAD_REQUEST);
  EXPECT_NE(call.error->find("instance_id"), std::string::npos);
}

TEST(Shims, CatalogIsDelivered) {
  FakeHost host;
  BackendHandle backend(host, scripted_table);
  const CallRecord call = backend.catalog();
  EXPECT_EQ(call.status, OSB_STATUS_OK);
  EXPECT_EQ(call.json(), json({{"services", json::array()}}));
}

TEST(Shims, CatalogErrors) {
  FakeHost host;
  BackendHandle bad(host, scripted_table, {{"mode", "bad_catalog"}});
  CallRecord call = bad.catalog();
  EXPECT_EQ(call.status, OSB_STATUS_INTERNAL_ERROR);
  EXPECT_EQ(call.error, "the plugin's catalog is not a JSON object");
  BackendHandle throwing(host, scripted_table, {{"mode", "throw_catalog"}});
  call = throwing.catalog();
  EXPECT_EQ(call.status, OSB_STATUS_INTERNAL_ERROR);
  EXPECT_EQ(call.error, "catalog broke");
}

// Calls create() with config text; returns whether a backend came back, and the record.
bool try_create(const FakeHost& host, std::string_view config, CallRecord& record) {
  osb_backend* backend = host.create(scripted_table, config, record);
  if (backend != nullptr) {
    scripted_table.destroy(backend);
    return true;
  }
  return false;
}

TEST(CreateShim, ConfigErrorIsReported) {
  FakeHost host;
  CallRecord record;
  EXPECT_FALSE(try_create(host, R"({"mode": "config_error"})", record));
  EXPECT_EQ(record.error, "invalid configuration: mode: configured to fail");
  record = {};
  EXPECT_FALSE(try_create(host, R"({"mood": "happy"})", record));
  EXPECT_EQ(record.error, "invalid configuration: mood: unknown configuration key");
}

TEST(CreateShim, OtherExceptionsAreReported) {
  FakeHost host;
  CallRecord record;
  EXPECT_FALSE(try_create(host, R"({"mode": "runtime_error"})", record));
  EXPECT_EQ(record.error, "cannot reach backend at 10.0.0.1: refused");
  record = {};
  EXPECT_FALSE(try_create(host, R"({"mode": "int"})", record));
  EXPECT_EQ(record.error, "the plugin failed with an exception that is not a std::exception");
}

TEST(CreateShim, ConfigMustBeAJsonObject) {
  FakeHost host;
  CallRecord record;
  EXPECT_FALSE(try_create(host, "[1]", record));
  EXPECT_EQ(record.error, "invalid configuration: expected a JSON object");
  record = {};
  EXPECT_FALSE(try_create(host, "{mode:", record));
  ASSERT_TRUE(record.error);
  EXPECT_EQ(record.error->rfind("invalid configuration: not valid JSON: ", 0), 0U);
}

TEST(CreateShim, EmptyConfigCountsAsEmptyObject) {
  FakeHost host;
  CallRecord record;
  EXPECT_TRUE(try_create(host, "", record));
  EXPECT_FALSE(record.error);
  const auto logs = host.logs();
  ASSERT_EQ(logs.size(), 1U);
  EXPECT_EQ(logs[0].level, OSB_LOG_INFO);
  EXPECT_EQ(logs[0].message, "scripted backend created");
}

TEST(CreateShim, RefusesHostOfAnotherMajorVersion) {
  FakeHost host;
  host.mutable_table().abi_major = OSB_PLUGIN_ABI_VERSION_MAJOR + 1;
  CallRecord record;
  EXPECT_FALSE(try_create(host, "{}", record));
  // The table of another major version may have another layout: nothing was called.
  EXPECT_FALSE(record.error);
  EXPECT_TRUE(host.logs().empty());
}

TEST(CreateShim, RefusesHostTableThatIsTooSmall) {
  FakeHost host;
  host.mutable_table().struct_size = static_cast<std::uint32_t>(offsetof(osb_host_v1, set_error));
  CallRecord record;
  EXPECT_FALSE(try_create(host, "{}", record));
  EXPECT_FALSE(record.error);
}

TEST(CreateShim, AcceptsNewerHostMinorAndBiggerTable) {
  FakeHost host;
  host.mutable_table().abi_minor = OSB_PLUGIN_ABI_VERSION_MINOR + 3;
  host.mutable_table().struct_size = static_cast<std::uint32_t>(sizeof(osb_host_v1) + 64);
  CallRecord record;
  EXPECT_TRUE(try_create(host, "{}", record));
}

}  // namespace

// The macro as a vendor uses it, once per binary.
OSB_DECLARE_PLUGIN(MinimalBackend, "org.osbd.test.declared", "3.2.1", "osbd tests")

namespace {

TEST(DeclarePlugin, EntryReturnsStaticTable) {
  FakeHost host;
  const osb_plugin_v1* table = osb_plugin_entry(host.table());
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table, osb_plugin_entry(host.table()));
  EXPECT_STREQ(table->name, "org.osbd.test.declared");
  EXPECT_STREQ(table->version, "3.2.1");
  EXPECT_STREQ(table->vendor, "osbd tests");
  EXPECT_EQ(table->struct_size, sizeof(osb_plugin_v1));
  BackendHandle backend(host, *table);
  EXPECT_EQ(backend.catalog().status, OSB_STATUS_OK);
}

TEST(DeclarePlugin, EntryWithoutHostReturnsNull) {
  EXPECT_EQ(osb_plugin_entry(nullptr), nullptr);
}

}  // namespace
