#pragma once

// Drives a built plugin .so through its C ABI, as osbd does: loading it once per process,
// building the JSON requests of the Backend calls, and reading what its FakeHost recorded.

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <osb/sdk/fake_host.hpp>

#include "loaded_library.hpp"

namespace osbd_plugin_test {

/// The plugin table of library for host.
inline const osb_plugin_v1& plugin_table(const osb_sdk_test::LoadedLibrary& library,
                                         const osb::sdk::testing::FakeHost& host) {
  const osb_plugin_entry_fn entry = library.entry();
  if (entry == nullptr) {
    throw std::runtime_error("osb_plugin_entry missing");
  }
  const osb_plugin_v1* table = entry(host.table());
  if (table == nullptr) {
    throw std::runtime_error("osb_plugin_entry returned NULL");
  }
  return *table;
}

/// The request of a call on one instance: instance_id, service_id and plan_id.
inline nlohmann::json instance_request(const std::string& instance, const char* service,
                                       const char* plan) {
  return {{"instance_id", instance}, {"service_id", service}, {"plan_id", plan}};
}

/// The request of a call on one binding: instance_request plus binding_id.
inline nlohmann::json binding_request(const std::string& instance, const std::string& binding,
                                      const char* service, const char* plan) {
  nlohmann::json request = instance_request(instance, service, plan);
  request["binding_id"] = binding;
  return request;
}

/// request with key set to value.
inline nlohmann::json with(nlohmann::json request, const char* key, nlohmann::json value) {
  request[key] = std::move(value);
  return request;
}

/// The member key of the answer of call; fails the test (and is null) when call did not work.
inline nlohmann::json ok_member(const osb::sdk::testing::CallRecord& call, const char* key) {
  EXPECT_EQ(call.status, OSB_STATUS_OK) << call.error.value_or("");
  return call.ok() ? call.json().value(key, nlohmann::json()) : nlohmann::json();
}

/// Every log line host recorded so far, one per line.
inline std::string log_text(const osb::sdk::testing::FakeHost& host) {
  std::string text;
  for (const auto& record : host.logs()) {
    text += record.message + "\n";
  }
  return text;
}

}  // namespace osbd_plugin_test
