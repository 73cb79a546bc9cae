#pragma once

// What every plugin test suite needs of its test server's environment: variables with the
// defaults of scripts/test-servers.sh, CI detection, a name prefix of its own per test, and
// skipping (or, under CI=true, failing) a test whose server does not answer.

#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>

#include <gtest/gtest.h>

/// In SetUp(): skips the test (fails it under CI=true) when reason (the result of a suite's
/// unreachable_reason) is not empty; what names the server, server its scripts/test-servers.sh
/// name.
#define OSBD_REQUIRE_SERVER(reason, what, server)                                        \
  do {                                                                                   \
    const std::string osbd_server_reason = (reason);                                     \
    if (!osbd_server_reason.empty()) {                                                   \
      const std::string osbd_server_message =                                            \
          ::osbd_plugin_test::unreachable_message((what), osbd_server_reason, (server)); \
      if (::osbd_plugin_test::in_ci()) {                                                 \
        FAIL() << osbd_server_message;                                                   \
      }                                                                                  \
      GTEST_SKIP() << osbd_server_message;                                               \
    }                                                                                    \
  } while (false)

namespace osbd_plugin_test {

/// The variable name, or fallback when it is unset or empty.
inline std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

/// True when running in CI, where a missing server is a failure rather than a reason to skip.
inline bool in_ci() {
  return env_or("CI", "") == "true";
}

/// A name prefix of its own for one test ("t" + digits random hex digits + separator), so that
/// tests running in parallel never see each other's objects on the server.
inline std::string random_prefix(std::size_t digits, char separator) {
  std::random_device random;
  static constexpr char hex[] = "0123456789abcdef";
  std::string prefix = "t";
  for (std::size_t i = 0; i < digits; ++i) {
    prefix.push_back(hex[random() % 16]);
  }
  return prefix + separator;
}

/// The message of an unreachable test server: what (e.g. "PostgreSQL at host:port"), why, and
/// how to start the server named server of scripts/test-servers.sh.
inline std::string unreachable_message(const std::string& what, const std::string& reason,
                                       const std::string& server) {
  return what + " is unreachable (" + reason + "); start it with `scripts/test-servers.sh start " +
         server + "` and export `scripts/test-servers.sh env " + server + "`";
}

/// A test against the test server of Suite, which gives
///   Env; static Env env(); static const char* server() (its scripts/test-servers.sh name);
///   static std::string describe(const Env&) ("MariaDB at host:port");
///   static std::string unreachable_reason(const Env&) ("" when it answers);
///   static std::string unique_prefix();
///   static void drop_everything(const Env&, const std::string& prefix).
/// SetUp() skips the test (fails it under CI=true) without the server, else gives it a name
/// prefix of its own; TearDown() drops whatever has that prefix. A derived SetUp() calls this
/// one first and returns at once when prefix_ is still empty.
template <typename Suite>
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OSBD_REQUIRE_SERVER(Suite::unreachable_reason(env_), Suite::describe(env_), Suite::server());
    prefix_ = Suite::unique_prefix();
  }

  void TearDown() override {
    if (!prefix_.empty() && Suite::unreachable_reason(env_).empty()) {
      Suite::drop_everything(env_, prefix_);
    }
  }

  typename Suite::Env env_ = Suite::env();  ///< the server
  std::string prefix_;                      ///< this test's name_prefix ("" when skipped)
};

/// Polls check every 200 ms until it is true or timeout passes; whether it became true.
template <typename F>
bool eventually(F&& check, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (check()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return check();
}

}  // namespace osbd_plugin_test
