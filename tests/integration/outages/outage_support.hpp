#pragma once

// What the outage tests of every plugin share: stopping and starting the test server of their
// own (outage_server.sh), a call to osbd that runs while the test stops the server, the checks
// of the answer a platform gets while a backend server is down, and the flows of the tests (a
// call made while the server is down, a call cut in the middle, the platform's retry), which a
// plugin's fixture fills in with what it finds on its server.

#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <future>
#include <string>
#include <utility>

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

/// The port in variable, or fallback when it is not set: where an outage instance listens.
inline int outage_port(const char* variable, const char* fallback) {
  return std::stoi(osbd_plugin_test::env_or(variable, fallback));
}

/// env (a database server's) with the port of variable, or fallback when it is not set.
template <typename Env>
Env on_outage_port(Env env, const char* variable, const char* fallback) {
  env.port = outage_port(variable, fallback);
  return env;
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

/// config (a database plugin's) with its periodic quota check put off for a day, so that the
/// check never waits on the locks a test holds.
inline nlohmann::json without_quota_check(nlohmann::json config) {
  config["quota_check_seconds"] = 86400;
  return config;
}

/// One request of the plugin to its server that the test holds back until it has stopped the
/// server; set up before osbd is called.
class Hold {
 public:
  explicit Hold(std::string point) : point_(std::move(point)) {}
  virtual ~Hold() = default;

  /// Whether the plugin's request got to the hold (within 30 s).
  virtual bool reached() = 0;
  /// Lets the request go on once the server is stopped.
  virtual void release() {}
  /// Where the request is held: how its statement or request line starts.
  const std::string& point() const { return point_; }

 private:
  std::string point_;
};

/// A hold by a lock that a session of the test keeps until the server stops: the plugin's
/// statement starting with point() waits for it.
class LockHold : public Hold {
 public:
  using Hold::Hold;

  bool reached() override {
    return osbd_plugin_test::eventually([this] { return statement_waits(); },
                                        std::chrono::seconds(30));
  }

 protected:
  /// Whether a statement of the plugin starting with point() waits for a lock now.
  virtual bool statement_waits() = 0;
};

/// The test of Suite's plugin through osbd with a server of its own that tests stop and start
/// (server(): its outage_server.sh name; env_variable(): the variable whose absence skips;
/// backend_name(): how osbd's error descriptions name the server, e.g. "PostgreSQL server").
/// A plugin's fixture tells what it finds on the server (instances(), accounts(), works()).
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

  // --- what the plugin's fixture finds on its server ---------------------------------------

  /// The instances of this test on the server (databases, buckets).
  virtual std::size_t instances() = 0;
  /// The accounts of this test on the server (roles, users).
  virtual std::size_t accounts() = 0;
  /// The accounts an instance without bindings has (its owner's, if it has one).
  virtual std::size_t owner_accounts() const = 0;
  /// Whether a binding's credentials work on the server.
  virtual bool works(const json& credentials) = 0;
  /// Expects nothing of this test on the server; a plugin with more to look at extends it.
  virtual void expect_nothing_left() {
    EXPECT_EQ(instances(), 0u);
    EXPECT_EQ(accounts(), 0u);
  }

  // --- the server and osbd ---------------------------------------------------------------

  /// Stops the server process, as a crash would.
  bool halt() { return outage_server("halt", Suite::server()); }
  /// Starts it again on the same data and waits until it answers.
  bool resume() { return outage_server("resume", Suite::server()); }

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

  /// Calls osbd until the plugin's request gets to hold, stops the server then, lets the
  /// request go on, and returns osbd's answer.
  osbd::test::HttpResult cut_at(Hold& hold, verb method, const std::string& target,
                                const json& body = nullptr) {
    Answer pending = call_async(method, target, body);
    EXPECT_TRUE(hold.reached()) << "the plugin never got to " << hold.point();
    EXPECT_TRUE(halt());
    hold.release();
    return answer_of(pending);
  }

  /// Expects answer to be osbd's retriable error naming the server.
  static void expect_down_error(const osbd::test::HttpResult& answer) {
    expect_retriable_backend_error(answer, Suite::backend_name());
  }

  // --- the platform's calls ---------------------------------------------------------------

  void provision_ok(const std::string& iid) {
    auto answer = this->call(verb::put, this->instance(iid), this->provision_body());
    ASSERT_EQ(answer.status, 201u) << answer.body;
  }

  json bind_ok(const std::string& iid, const std::string& bid) {
    auto answer = this->call(verb::put, this->binding(iid, bid), this->bind_body());
    EXPECT_EQ(answer.status, 201u) << answer.body;
    return answer.json().value("credentials", json::object());
  }

  /// The DELETE of target (a route) with the service and plan.
  osbd::test::HttpResult remove(const std::string& target) {
    return this->call(verb::delete_, target + this->query());
  }

  /// The platform's orphan mitigation after a create answered with a 5xx (osbd keeps such an
  /// instance or binding as failed until then, and answers a repeat of the create with 409):
  /// the DELETE of target, which succeeds once the server is back.
  void mitigate_orphan(const std::string& target) {
    auto answer = remove(target);
    EXPECT_EQ(answer.status, 200u) << answer.body;
  }

  /// Unbinds (when bid is not empty) and deprovisions iid, then expects nothing of this test
  /// left on the server.
  void remove_and_expect_nothing_left(const std::string& iid, const std::string& bid = "") {
    if (!bid.empty()) {
      auto unbound = remove(this->binding(iid, bid));
      EXPECT_EQ(unbound.status, 200u) << unbound.body;
    }
    auto deleted = remove(this->instance(iid));
    EXPECT_EQ(deleted.status, 200u) << deleted.body;
    expect_nothing_left();
  }

  // --- a call while the server is down, or cut by its stop ---------------------------------

  /// The PUT of target (a provision or bind with body) while the server is down: the retriable
  /// error, and nothing of it in osbd; then the server starts again.
  void create_while_down(const std::string& target, const json& body) {
    ASSERT_TRUE(halt());
    expect_down_error(this->call(verb::put, target, body));
    EXPECT_EQ(this->call(verb::get, target).status, 404u);
    ASSERT_TRUE(resume());
  }

  /// The DELETE of target while the server is down: the retriable error; once the server is
  /// back, target is still there.
  void delete_while_down(const std::string& target) {
    ASSERT_TRUE(halt());
    expect_down_error(remove(target));
    ASSERT_TRUE(resume());
    EXPECT_EQ(this->call(verb::get, target).status, 200u);
  }

  /// The PUT of target (a provision or bind with body) cut at hold: the retriable error; once
  /// the server is back, osbd knows nothing of target.
  void create_cut(Hold&& hold, const std::string& target, const json& body) {
    expect_down_error(cut_at(hold, verb::put, target, body));
    ASSERT_TRUE(resume());
    EXPECT_EQ(this->call(verb::get, target).status, 404u);
  }

  /// The DELETE of target cut at hold: the retriable error; once the server is back, target is
  /// still there.
  void delete_cut(Hold&& hold, const std::string& target) {
    expect_down_error(cut_at(hold, verb::delete_, target + this->query()));
    ASSERT_TRUE(resume());
    EXPECT_EQ(this->call(verb::get, target).status, 200u);
  }

  // --- the platform's retry after the error -----------------------------------------------

  /// After a failed provision of iid: the orphan mitigation leaves nothing on the server, the
  /// provision then makes the instance, and its removal leaves nothing again.
  void expect_provision_converges(const std::string& iid) {
    mitigate_orphan(this->instance(iid));
    expect_nothing_left();
    ASSERT_NO_FATAL_FAILURE(provision_ok(iid));
    EXPECT_EQ(instances(), 1u);
    remove_and_expect_nothing_left(iid);
  }

  /// After a failed bind of bid to iid: the orphan mitigation leaves the instance's accounts
  /// only, the bind then gives credentials that work, and the removal leaves nothing.
  void expect_bind_converges(const std::string& iid, const std::string& bid) {
    mitigate_orphan(this->binding(iid, bid));
    EXPECT_EQ(accounts(), owner_accounts());
    EXPECT_TRUE(works(bind_ok(iid, bid)));
    remove_and_expect_nothing_left(iid, bid);
  }

  /// After a failed unbind of bid (whose credentials were credentials) from iid: the unbind
  /// again removes the binding, its credentials work no more, and the removal of iid leaves
  /// nothing.
  void expect_unbind_converges(const std::string& iid, const std::string& bid,
                               const json& credentials) {
    EXPECT_EQ(remove(this->binding(iid, bid)).status, 200u);
    EXPECT_FALSE(works(credentials));
    EXPECT_EQ(accounts(), owner_accounts());
    remove_and_expect_nothing_left(iid);
  }

  // --- the tests of a call made while the server is down ------------------------------------

  /// Provision while down is a retriable error and leaves nothing; the retry succeeds.
  void provision_while_down() {
    ASSERT_NO_FATAL_FAILURE(create_while_down(this->instance("i-1"), this->provision_body()));
    expect_nothing_left();
    expect_provision_converges("i-1");
  }

  /// Bind while down is a retriable error and makes no account; the retry succeeds.
  void bind_while_down() {
    ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
    ASSERT_NO_FATAL_FAILURE(create_while_down(this->binding("i-1", "b-1"), this->bind_body()));
    EXPECT_EQ(accounts(), owner_accounts());
    expect_bind_converges("i-1", "b-1");
  }

  /// Unbind while down is a retriable error and leaves the credentials working; the retry
  /// succeeds.
  void unbind_while_down() {
    ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
    const json credentials = bind_ok("i-1", "b-1");
    ASSERT_NO_FATAL_FAILURE(delete_while_down(this->binding("i-1", "b-1")));
    EXPECT_TRUE(works(credentials));
    expect_unbind_converges("i-1", "b-1", credentials);
  }

  /// Deprovision while down is a retriable error and leaves the instance; the retry succeeds.
  void deprovision_while_down() {
    ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
    ASSERT_NO_FATAL_FAILURE(delete_while_down(this->instance("i-1")));
    EXPECT_EQ(instances(), 1u);
    remove_and_expect_nothing_left("i-1");
  }
};

}  // namespace osbd_outage_test
