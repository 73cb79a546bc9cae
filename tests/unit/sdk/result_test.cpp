#include "osb/sdk/result.hpp"

#include <gtest/gtest.h>

namespace {

using nlohmann::json;
using osb::sdk::PollResult;
using osb::sdk::Result;

TEST(Result, OkDefaultsToEmptyObject) {
  const Result result = Result::ok();
  EXPECT_EQ(result.status(), OSB_STATUS_OK);
  EXPECT_EQ(result.body(), json::object());
  EXPECT_TRUE(result.description().empty());
  EXPECT_TRUE(result.succeeded());
}

TEST(Result, OkCarriesBody) {
  const Result result = Result::ok({{"credentials", {{"user", "u"}}}});
  EXPECT_EQ(result.body()["credentials"]["user"], "u");
}

TEST(Result, InProgressAddsOperationToken) {
  const Result result = Result::in_progress("op-1", {{"dashboard_url", "https://x.invalid"}});
  EXPECT_EQ(result.status(), OSB_STATUS_IN_PROGRESS);
  EXPECT_TRUE(result.succeeded());
  EXPECT_EQ(result.body(), json({{"operation", "op-1"}, {"dashboard_url", "https://x.invalid"}}));
}

TEST(Result, InProgressWithoutExtraOrWithNull) {
  EXPECT_EQ(Result::in_progress("t").body(), json({{"operation", "t"}}));
  EXPECT_EQ(Result::in_progress("t", nullptr).body(), json({{"operation", "t"}}));
}

TEST(Result, ErrorFactoriesSetStatusAndDescription) {
  const struct {
    Result result;
    osb_status status;
  } cases[] = {
      {Result::bad_request("m"), OSB_STATUS_BAD_REQUEST},
      {Result::unprocessable("m"), OSB_STATUS_UNPROCESSABLE},
      {Result::async_required("m"), OSB_STATUS_ASYNC_REQUIRED},
      {Result::requires_app("m"), OSB_STATUS_REQUIRES_APP},
      {Result::backend_error("m"), OSB_STATUS_BACKEND_ERROR},
      {Result::internal_error("m"), OSB_STATUS_INTERNAL_ERROR},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(c.result.status(), c.status);
    EXPECT_EQ(c.result.description(), "m");
    EXPECT_FALSE(c.result.succeeded());
    EXPECT_EQ(c.result.body(), json::object());
  }
}

TEST(PollResult, InProgress) {
  EXPECT_EQ(PollResult::in_progress().body(), json({{"state", "in progress"}}));
  const Result result = PollResult::in_progress("copying");
  EXPECT_EQ(result.status(), OSB_STATUS_OK);
  EXPECT_EQ(result.body(), json({{"state", "in progress"}, {"description", "copying"}}));
}

TEST(PollResult, SucceededKeepsFields) {
  const Result result = PollResult::succeeded({{"credentials", {{"password", "p"}}}}, "done");
  EXPECT_EQ(result.status(), OSB_STATUS_OK);
  EXPECT_EQ(result.body(), json({{"state", "succeeded"},
                                 {"description", "done"},
                                 {"credentials", {{"password", "p"}}}}));
  EXPECT_EQ(PollResult::succeeded().body(), json({{"state", "succeeded"}}));
}

TEST(PollResult, Failed) {
  const Result result = PollResult::failed("disk full");
  EXPECT_EQ(result.status(), OSB_STATUS_OK);
  EXPECT_EQ(result.body(), json({{"state", "failed"}, {"description", "disk full"}}));
}

}  // namespace
