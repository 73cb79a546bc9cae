#pragma once

// What the outage tests of every plugin share: stopping and starting the test server of their
// own (outage_server.sh), a call to osbd that runs while the test stops the server, and the
// checks of the answer a platform gets while a backend server is down.

#include <chrono>
#include <cstdlib>
#include <future>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http_client.hpp"
#include "osbd_over_http.hpp"
#include "server_env.hpp"

namespace osbd_outage_test {

/// True when the variable name is set and not empty (scripts/test.sh exports the test servers'
/// variables; without them the outage tests skip).
inline bool has_env(const char* name) {
  return !osbd_plugin_test::env_or(name, "").empty();
}

/// Runs `outage_server.sh action server`; whether it exited with 0.
inline bool outage_server(const std::string& action, const std::string& server) {
  const std::string command =
      std::string("bash '") + OSBD_OUTAGE_SCRIPT + "' " + action + " " + server + " >&2";
  return std::system(command.c_str()) == 0;
}

/// Words of a description that tell a platform it may send the request again.
inline bool says_retriable(const std::string& description) {
  for (const char* word : {"retry", "retried", "try again"}) {
    if (description.find(word) != std::string::npos) {
      return true;
    }
  }
  return false;
}

/// Expects the answer of a call made while the backend was down: 502 (or 503) with an OSB
/// error body whose description names backend (e.g. "PostgreSQL server") and says that the
/// request can be retried.
inline void expect_retriable_backend_error(const osbd::test::HttpResult& answer,
                                           const std::string& backend) {
  EXPECT_TRUE(answer.status == 502u || answer.status == 503u)
      << "status " << answer.status << ": " << answer.body;
  const nlohmann::json body = answer.json();
  ASSERT_TRUE(body.is_object()) << answer.body;
  EXPECT_TRUE(body.contains("error") && body["error"].is_string()) << answer.body;
  ASSERT_TRUE(body.contains("description") && body["description"].is_string()) << answer.body;
  const std::string description = body["description"].get<std::string>();
  EXPECT_NE(description.find(backend), std::string::npos) << description;
  EXPECT_TRUE(says_retriable(description)) << description;
}

/// The test of Suite's plugin through osbd with a server of its own that tests stop and start
/// (server(): its outage_server.sh name; env_variable(): the variable whose absence skips).
template <typename Suite>
class OutageTest : public osbd_plugin_test::OsbdTest<Suite> {
 protected:
  using json = nlohmann::json;
  using verb = boost::beast::http::verb;
  using Answer = std::future<osbd::test::HttpResult>;

  /// Skips without the server's variables, fails when its outage instance does not answer.
  void SetUp() override {
    if (!has_env(Suite::env_variable())) {
      GTEST_SKIP() << Suite::env_variable() << " is not set: export `scripts/test-servers.sh env "
                   << Suite::server() << "` (scripts/test.sh does) to run the outage tests";
    }
    ASSERT_TRUE(resume());
    const std::string reason = Suite::unreachable_reason(this->env_);
    ASSERT_TRUE(reason.empty()) << Suite::describe(this->env_) << ": " << reason;
    osbd_plugin_test::OsbdTest<Suite>::SetUp();
  }

  /// Starts the server again if a test left it stopped, then drops what the test left.
  void TearDown() override {
    if (has_env(Suite::env_variable())) {
      EXPECT_TRUE(resume());
    }
    osbd_plugin_test::OsbdTest<Suite>::TearDown();
  }

  /// Stops the server process, as a crash would.
  bool halt() { return outage_server("halt", Suite::server()); }
  /// Starts it again on the same data and waits until it answers.
  bool resume() { return outage_server("resume", Suite::server()); }

  /// The platform's orphan mitigation after a create answered with a 5xx (osbd keeps such an
  /// instance or binding as failed until then, and answers a repeat of the create with 409):
  /// the DELETE of target, which succeeds once the server is back.
  void mitigate_orphan(const std::string& target) {
    auto answer = this->call(verb::delete_, target + this->query());
    EXPECT_EQ(answer.status, 200u) << answer.body;
  }

  /// Calls osbd on another thread; the answer comes when osbd gives it.
  Answer call_async(verb method, const std::string& target, const json& body = nullptr) {
    return std::async(std::launch::async,
                      [this, method, target, body] { return this->call(method, target, body); });
  }

  /// The answer of pending, failing the test when osbd does not answer within 120 s.
  static osbd::test::HttpResult answer_of(Answer& pending) {
    if (pending.wait_for(std::chrono::seconds(120)) != std::future_status::ready) {
      ADD_FAILURE() << "osbd did not answer within 120 s";
      return {};
    }
    return pending.get();
  }
};

}  // namespace osbd_outage_test
