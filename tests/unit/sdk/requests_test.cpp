#include "osb/sdk/requests.hpp"

#include <string>

#include <gtest/gtest.h>

namespace {

using nlohmann::json;
using osb::sdk::BindRequest;
using osb::sdk::DeprovisionRequest;
using osb::sdk::OperationKind;
using osb::sdk::PollRequest;
using osb::sdk::ProvisionRequest;
using osb::sdk::RequestError;
using osb::sdk::UnbindRequest;
using osb::sdk::UpdateRequest;

// The message of the RequestError that parsing j as T throws, or "" when it parses.
template <class T>
std::string parse_error(const json& j) {
  try {
    (void)j.get<T>();
  } catch (const RequestError& e) {
    return e.what();
  }
  return {};
}

const json minimal_provision = {{"instance_id", "i"}, {"service_id", "s"}, {"plan_id", "p"}};

TEST(ProvisionRequest, ParsesEveryField) {
  const json j = {{"instance_id", "i"},
                  {"service_id", "s"},
                  {"plan_id", "p"},
                  {"parameters", {{"size", 3}}},
                  {"context", {{"platform", "cloudfoundry"}}},
                  {"organization_guid", "o"},
                  {"space_guid", "sp"},
                  {"maintenance_info", {{"version", "1.0.0"}}},
                  {"accepts_incomplete", true},
                  {"originating_identity", {{"platform", "cloudfoundry"}, {"value", {}}}},
                  {"a_field_from_a_newer_host", 1}};
  const auto r = j.get<ProvisionRequest>();
  EXPECT_EQ(r.instance_id, "i");
  EXPECT_EQ(r.service_id, "s");
  EXPECT_EQ(r.plan_id, "p");
  EXPECT_EQ(r.parameters, json({{"size", 3}}));
  EXPECT_EQ(r.context["platform"], "cloudfoundry");
  EXPECT_EQ(r.organization_guid, "o");
  EXPECT_EQ(r.space_guid, "sp");
  EXPECT_EQ(r.maintenance_info["version"], "1.0.0");
  EXPECT_TRUE(r.accepts_incomplete);
  EXPECT_EQ(r.originating_identity["platform"], "cloudfoundry");
}

TEST(ProvisionRequest, OptionalFieldsDefault) {
  const auto r = minimal_provision.get<ProvisionRequest>();
  EXPECT_EQ(r.parameters, json::object());
  EXPECT_EQ(r.context, json::object());
  EXPECT_EQ(r.organization_guid, "");
  EXPECT_EQ(r.space_guid, "");
  EXPECT_TRUE(r.maintenance_info.is_null());
  EXPECT_FALSE(r.accepts_incomplete);
  EXPECT_TRUE(r.originating_identity.is_null());
}

TEST(ProvisionRequest, NullObjectsCountAsAbsent) {
  json j = minimal_provision;
  j["parameters"] = nullptr;
  j["context"] = nullptr;
  j["maintenance_info"] = nullptr;
  const auto r = j.get<ProvisionRequest>();
  EXPECT_EQ(r.parameters, json::object());
  EXPECT_EQ(r.context, json::object());
  EXPECT_TRUE(r.maintenance_info.is_null());
}

TEST(ProvisionRequest, ErrorsNameTheField) {
  EXPECT_EQ(parse_error<ProvisionRequest>(json::array()), "request: expected a JSON object");
  json j = minimal_provision;
  j.erase("instance_id");
  EXPECT_EQ(parse_error<ProvisionRequest>(j), "instance_id: missing");
  j = minimal_provision;
  j["plan_id"] = "";
  EXPECT_EQ(parse_error<ProvisionRequest>(j), "plan_id: must not be empty");
  j = minimal_provision;
  j["service_id"] = 5;
  EXPECT_EQ(parse_error<ProvisionRequest>(j), "service_id: expected a string");
  j = minimal_provision;
  j["parameters"] = json::array();
  EXPECT_EQ(parse_error<ProvisionRequest>(j), "parameters: expected an object");
  j = minimal_provision;
  j["maintenance_info"] = "1.0";
  EXPECT_EQ(parse_error<ProvisionRequest>(j), "maintenance_info: expected an object or null");
  j = minimal_provision;
  j["accepts_incomplete"] = "true";
  EXPECT_EQ(parse_error<ProvisionRequest>(j), "accepts_incomplete: expected a boolean");
}

TEST(DeprovisionRequest, ParsesAndDefaults) {
  auto r = json({{"instance_id", "i"}}).get<DeprovisionRequest>();
  EXPECT_EQ(r.instance_id, "i");
  EXPECT_EQ(r.service_id, "");
  EXPECT_TRUE(r.instance_state.is_null());
  EXPECT_FALSE(r.accepts_incomplete);
  r = json({{"instance_id", "i"}, {"instance_state", {1, 2}}, {"accepts_incomplete", true}})
          .get<DeprovisionRequest>();
  EXPECT_EQ(r.instance_state, json({1, 2}));
  EXPECT_TRUE(r.accepts_incomplete);
  EXPECT_EQ(parse_error<DeprovisionRequest>(json::object()), "instance_id: missing");
}

TEST(UpdateRequest, ParsesAndDefaults) {
  const json j = {{"instance_id", "i"},        {"service_id", "s"},
                  {"plan_id", "new"},          {"previous_plan_id", "old"},
                  {"parameters", {{"a", 1}}},  {"previous_parameters", {{"a", 0}}},
                  {"instance_state", "opaque"}};
  const auto r = j.get<UpdateRequest>();
  EXPECT_EQ(r.plan_id, "new");
  EXPECT_EQ(r.previous_plan_id, "old");
  EXPECT_EQ(r.parameters["a"], 1);
  EXPECT_EQ(r.previous_parameters["a"], 0);
  EXPECT_EQ(r.context, json::object());
  EXPECT_TRUE(r.maintenance_info.is_null());
  EXPECT_EQ(r.instance_state, "opaque");
  EXPECT_EQ(parse_error<UpdateRequest>(json({{"instance_id", "i"}, {"previous_parameters", 1}})),
            "previous_parameters: expected an object");
}

TEST(BindRequest, ParsesAndDefaults) {
  json j = {{"instance_id", "i"}, {"binding_id", "b"}, {"service_id", "s"}, {"plan_id", "p"}};
  auto r = j.get<BindRequest>();
  EXPECT_EQ(r.binding_id, "b");
  EXPECT_TRUE(r.bind_resource.is_null());
  EXPECT_EQ(r.app_guid, "");
  EXPECT_EQ(r.predecessor_binding_id, "");
  j["bind_resource"] = {{"app_guid", "a"}};
  j["app_guid"] = "a";
  j["predecessor_binding_id"] = "old";
  r = j.get<BindRequest>();
  EXPECT_EQ(r.bind_resource["app_guid"], "a");
  EXPECT_EQ(r.app_guid, "a");
  EXPECT_EQ(r.predecessor_binding_id, "old");
  j.erase("binding_id");
  EXPECT_EQ(parse_error<BindRequest>(j), "binding_id: missing");
}

TEST(UnbindRequest, ParsesAndDefaults) {
  const auto r =
      json({{"instance_id", "i"}, {"binding_id", "b"}, {"binding_state", {{"user", "u"}}}})
          .get<UnbindRequest>();
  EXPECT_EQ(r.binding_state["user"], "u");
  EXPECT_TRUE(r.instance_state.is_null());
  EXPECT_EQ(parse_error<UnbindRequest>(json({{"instance_id", "i"}})), "binding_id: missing");
}

TEST(PollRequest, ParsesKinds) {
  for (const char* kind : {"provision", "deprovision", "update", "bind", "unbind"}) {
    const auto r =
        json({{"kind", kind}, {"instance_id", "i"}, {"binding_id", "b"}}).get<PollRequest>();
    EXPECT_EQ(osb::sdk::to_string(r.kind), kind);
  }
  const auto r =
      json({{"kind", "provision"}, {"instance_id", "i"}, {"operation", "tok"}}).get<PollRequest>();
  EXPECT_EQ(r.kind, OperationKind::provision);
  EXPECT_EQ(r.operation, "tok");
  EXPECT_EQ(r.binding_id, "");
}

TEST(PollRequest, Errors) {
  EXPECT_EQ(parse_error<PollRequest>(json({{"instance_id", "i"}})), "kind: missing");
  EXPECT_EQ(parse_error<PollRequest>(json({{"kind", "restore"}, {"instance_id", "i"}})),
            "kind: expected provision, deprovision, update, bind or unbind");
  EXPECT_EQ(parse_error<PollRequest>(json({{"kind", "bind"}, {"instance_id", "i"}})),
            "binding_id: missing");
}

TEST(Requests, RoundTripThroughJson) {
  ProvisionRequest provision;
  provision.instance_id = "i";
  provision.service_id = "s";
  provision.plan_id = "p";
  provision.parameters = {{"size", 2}};
  provision.accepts_incomplete = true;
  const auto provision_back = json(provision).get<ProvisionRequest>();
  EXPECT_EQ(json(provision_back), json(provision));

  BindRequest bind;
  bind.instance_id = "i";
  bind.binding_id = "b";
  bind.service_id = "s";
  bind.plan_id = "p";
  bind.bind_resource = {{"route", "r"}};
  EXPECT_EQ(json(json(bind).get<BindRequest>()), json(bind));

  PollRequest poll;
  poll.kind = OperationKind::unbind;
  poll.instance_id = "i";
  poll.binding_id = "b";
  poll.operation = "t";
  const auto poll_back = json(poll).get<PollRequest>();
  EXPECT_EQ(poll_back.kind, OperationKind::unbind);
  EXPECT_EQ(json(poll_back), json(poll));

  UpdateRequest update;
  update.instance_id = "i";
  update.previous_plan_id = "p0";
  EXPECT_EQ(json(json(update).get<UpdateRequest>()), json(update));
  DeprovisionRequest deprovision;
  deprovision.instance_id = "i";
  EXPECT_EQ(json(json(deprovision).get<DeprovisionRequest>()), json(deprovision));
  UnbindRequest unbind;
  unbind.instance_id = "i";
  unbind.binding_id = "b";
  EXPECT_EQ(json(json(unbind).get<UnbindRequest>()), json(unbind));
}

}  // namespace
