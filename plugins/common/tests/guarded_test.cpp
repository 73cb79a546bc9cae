// osb/plugins/guarded.hpp: which exceptions become a backend error, and with which description.

#include <osb/plugins/guarded.hpp>

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

namespace guarded_test {

struct Unreachable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The description a plugin gives its own error type.
std::string failure_description(const Unreachable& error) {
  return std::string("unreachable (") + error.what() + "), try again later";
}

}  // namespace guarded_test

namespace {

using guarded_test::Unreachable;
using osb::sdk::Result;

struct GuardedTest : ::testing::Test {
  osb_host_v1 table{};  // no log slot: log lines are dropped
  osb::sdk::Host host{&table};
};

TEST_F(GuardedTest, ReturnsWhatTheBodyReturns) {
  const Result result =
      osb::plugins::guarded<std::runtime_error>(host, "binding", [] { return Result::ok(); });
  EXPECT_EQ(result.status(), OSB_STATUS_OK);
}

TEST_F(GuardedTest, EachListedErrorBecomesABackendError) {
  const Result logic = osb::plugins::guarded<Unreachable, std::invalid_argument>(
      host, "binding", []() -> Result { throw std::invalid_argument("bad key"); });
  EXPECT_EQ(logic.status(), OSB_STATUS_BACKEND_ERROR);
  EXPECT_EQ(logic.description(), "binding failed: bad key");
  const Result down = osb::plugins::guarded<Unreachable, std::invalid_argument>(
      host, "binding", []() -> Result { throw Unreachable("s3.example"); });
  EXPECT_EQ(down.description(), "binding failed: unreachable (s3.example), try again later");
}

TEST_F(GuardedTest, OtherErrorsPassThrough) {
  EXPECT_THROW(static_cast<void>(osb::plugins::guarded<Unreachable>(
                   host, "binding", []() -> Result { throw std::logic_error("bug"); })),
               std::logic_error);
}

}  // namespace
