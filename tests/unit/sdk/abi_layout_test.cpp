#include "abi_layout.h"

#include <cstddef>
#include <vector>

#include <gtest/gtest.h>

#include "osb/sdk/host.hpp"

namespace {

TEST(AbiLayout, CAndCppAgree) {
  std::vector<std::size_t> cpp;
#define OSB_TEST_PUSH(value) cpp.push_back(value);
  OSB_TEST_ABI_LAYOUT(OSB_TEST_PUSH)
#undef OSB_TEST_PUSH
  std::vector<std::size_t> c(cpp.size() + 1, 0);
  ASSERT_EQ(osb_test_abi_layout_c(c.data(), c.size()), cpp.size());
  c.resize(cpp.size());
  EXPECT_EQ(c, cpp);
  EXPECT_EQ(osb_test_internal_error_c(), static_cast<int>(OSB_STATUS_INTERNAL_ERROR));
}

TEST(AbiLayout, CurrentMinorSizesCoverTheWholeTables) {
  // The structs end with their last slot; a later minor only appends. ABI 1.1 appended
  // instance_usage to the plugin table; the host table is as in 1.0.
  EXPECT_EQ(osb::sdk::host_v1_0_size, sizeof(osb_host_v1));
  EXPECT_EQ(osb::sdk::plugin_v1_1_size, sizeof(osb_plugin_v1));
  EXPECT_EQ(osb::sdk::plugin_v1_0_size + sizeof(osb_operation_fn), osb::sdk::plugin_v1_1_size);
}

TEST(AbiLayout, StatusValuesAreStable) {
  EXPECT_EQ(OSB_STATUS_OK, 0);
  EXPECT_EQ(OSB_STATUS_IN_PROGRESS, 1);
  EXPECT_EQ(OSB_STATUS_BAD_REQUEST, 2);
  EXPECT_EQ(OSB_STATUS_UNPROCESSABLE, 3);
  EXPECT_EQ(OSB_STATUS_ASYNC_REQUIRED, 4);
  EXPECT_EQ(OSB_STATUS_REQUIRES_APP, 5);
  EXPECT_EQ(OSB_STATUS_BACKEND_ERROR, 6);
  EXPECT_EQ(OSB_STATUS_INTERNAL_ERROR, 7);
}

}  // namespace
