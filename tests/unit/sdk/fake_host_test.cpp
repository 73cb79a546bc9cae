#include "osb/sdk/fake_host.hpp"

#include <stdexcept>

#include <gtest/gtest.h>

#include "osb/sdk/host.hpp"

namespace {

using osb::sdk::Host;
using osb::sdk::LogLevel;
using osb::sdk::testing::CallRecord;
using osb::sdk::testing::FakeHost;

TEST(FakeHost, TableIsUsable) {
  FakeHost host;
  EXPECT_TRUE(osb::sdk::host_is_usable(host.table()));
  EXPECT_EQ(host.table()->struct_size, sizeof(osb_host_v1));
}

TEST(FakeHost, RecordsLogLinesThroughHost) {
  FakeHost fake;
  const Host host(fake.table());
  host.debug("d");
  host.info("i");
  host.warn("w");
  host.error("e");
  host.log(LogLevel::info, "direct");
  const auto logs = fake.logs();
  ASSERT_EQ(logs.size(), 5U);
  EXPECT_EQ(logs[0].level, OSB_LOG_DEBUG);
  EXPECT_EQ(logs[1].level, OSB_LOG_INFO);
  EXPECT_EQ(logs[2].level, OSB_LOG_WARN);
  EXPECT_EQ(logs[3].level, OSB_LOG_ERROR);
  EXPECT_EQ(logs[3].message, "e");
  EXPECT_EQ(logs[4].message, "direct");
  EXPECT_EQ(host.abi_minor(), static_cast<std::uint32_t>(OSB_PLUGIN_ABI_VERSION_MINOR));
}

TEST(FakeHost, HostWithoutLogSlotIsSilent) {
  FakeHost fake;
  fake.mutable_table().log = nullptr;
  const Host host(fake.table());
  host.info("dropped");
  EXPECT_TRUE(fake.logs().empty());
}

TEST(FakeHost, CallbacksFillTheCallRecord) {
  FakeHost fake;
  CallRecord record;
  const osb_host_v1* table = fake.table();
  table->set_result(FakeHost::call_handle(record), osb_buffer{"{\"a\":1}", 7});
  table->set_error(FakeHost::call_handle(record), osb_buffer{"bad", 3});
  EXPECT_EQ(record.result, "{\"a\":1}");
  EXPECT_EQ(record.json()["a"], 1);
  EXPECT_EQ(record.error, "bad");
}

TEST(FakeHost, JsonWithoutResultThrows) {
  CallRecord record;
  record.error = "went wrong";
  EXPECT_THROW((void)record.json(), std::runtime_error);
}

}  // namespace
