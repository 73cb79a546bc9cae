#include <gtest/gtest.h>

#include "state/records.hpp"

namespace osbd::state {
namespace {

TEST(Records, ResourceStatusSpellingsRoundTrip) {
  for (auto s : {ResourceStatus::creating, ResourceStatus::ready, ResourceStatus::deleting,
                 ResourceStatus::failed}) {
    EXPECT_EQ(parse_resource_status(to_string(s)), s) << to_string(s);
  }
  EXPECT_STREQ(to_string(ResourceStatus::deleting), "deleting");
}

TEST(Records, OperationKindSpellingsRoundTrip) {
  for (auto k : {OperationKind::provision, OperationKind::update, OperationKind::deprovision,
                 OperationKind::bind, OperationKind::unbind}) {
    EXPECT_EQ(parse_operation_kind(to_string(k)), k) << to_string(k);
  }
  EXPECT_STREQ(to_string(OperationKind::deprovision), "deprovision");
}

TEST(Records, OperationStateUsesOsbSpellings) {
  EXPECT_STREQ(to_string(OperationState::in_progress), "in progress");
  EXPECT_STREQ(to_string(OperationState::succeeded), "succeeded");
  EXPECT_STREQ(to_string(OperationState::failed), "failed");
  for (auto s : {OperationState::in_progress, OperationState::succeeded, OperationState::failed}) {
    EXPECT_EQ(parse_operation_state(to_string(s)), s);
  }
}

TEST(Records, ParseRejectsAnythingElse) {
  EXPECT_FALSE(parse_resource_status(""));
  EXPECT_FALSE(parse_resource_status("Ready"));
  EXPECT_FALSE(parse_resource_status("ready "));
  EXPECT_FALSE(parse_operation_kind("unknown"));
  EXPECT_FALSE(parse_operation_kind(std::string_view("bind\0", 5)));
  EXPECT_FALSE(parse_operation_state("in_progress"));
  EXPECT_FALSE(parse_operation_state("in progress\n"));
}

}  // namespace
}  // namespace osbd::state
