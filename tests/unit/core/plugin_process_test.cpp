// Plugins in host processes of their own (plugin_host/process.hpp) and the limits every call
// passes (plugin_host/plugin.hpp): the frames on the channel, the settings, a crash contained
// and restarted, a deadline, max_concurrent_calls, and the host's least privilege, read from
// /proc. The fixtures are the broken plugins of tests/fixtures.

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "plugin_host/backend.hpp"
#include "plugin_host/frame.hpp"
#include "plugin_host/loader.hpp"
#include "plugin_host/settings.hpp"

namespace osbd::plugin_host {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::string kExample = OSBD_PLUGIN_DIR "/osb_example.so";

std::string fixture(const std::string& name) {
  return std::string(OSBD_FIXTURE_DIR) + "/" + name + "/" + name + ".so";
}

// How a host that dereferenced NULL ends: by the signal, or, in sanitizer builds, however the
// sanitizer's report ends it (an exit status, or SIGABRT with abort_on_error).
#if defined(OSBD_SANITIZED)
constexpr const char* kSegvExit = "";
#else
constexpr const char* kSegvExit = "killed by signal 11 (SIGSEGV)";
#endif

LoadOptions in_hosts() {
  LoadOptions options;
  options.default_isolation = Isolation::process;
  options.host_executable = OSBD_PLUGIN_HOST;
  return options;
}

json provision_request(json parameters = json::object()) {
  return {{"instance_id", "i-1"},
          {"service_id", "s"},
          {"plan_id", "p"},
          {"parameters", std::move(parameters)}};
}

// Waits up to limit for the plugin's host to be up again.
bool up_within(const Plugin& plugin, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (plugin.host_status().state == "up") {
      return true;
    }
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(PluginFrame, HeaderAndDocumentRoundTrip) {
  const std::string payload = make_frame({{"id", 7}, {"op", "bind"}}, R"({"a":"x\ny"})");
  const auto frame = parse_frame(payload);
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->header, (json{{"id", 7}, {"op", "bind"}}));
  EXPECT_EQ(frame->document, R"({"a":"x\ny"})");
  EXPECT_FALSE(parse_frame("[1,2]"));
  EXPECT_FALSE(parse_frame("not json\n{}"));
}

TEST(PluginFrame, SocketPairCarriesFramesAndRefusesOversizedOnes) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  ASSERT_TRUE(write_frame(fds[0], "hello"));
  ASSERT_TRUE(write_frame(fds[0], ""));
  std::string got;
  EXPECT_EQ(read_frame(fds[1], got), ReadStatus::ok);
  EXPECT_EQ(got, "hello");
  EXPECT_EQ(read_frame(fds[1], got), ReadStatus::ok);
  EXPECT_EQ(got, "");
  const unsigned char huge[4] = {0xff, 0xff, 0xff, 0xff};  // 4 GiB announced
  ASSERT_EQ(write(fds[0], huge, sizeof huge), 4);
  EXPECT_EQ(read_frame(fds[1], got), ReadStatus::error);
  close(fds[0]);
  EXPECT_EQ(read_frame(fds[1], got), ReadStatus::closed);
  close(fds[1]);
}

TEST(PluginFrame, ReaderTakesSeveralFramesFromOneReadAndWaitsForASplitOne) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  ASSERT_TRUE(write_frame(fds[0], "one"));
  ASSERT_TRUE(write_frame(fds[0], "two"));
  const char split[] = {0, 0, 0, 5, 't', 'h'};
  ASSERT_EQ(write(fds[0], split, sizeof split), static_cast<ssize_t>(sizeof split));
  FrameReader reader(fds[1]);
  std::string got;
  EXPECT_EQ(reader.next(got), ReadStatus::ok);
  EXPECT_EQ(got, "one");
  EXPECT_EQ(reader.next(got), ReadStatus::ok);
  EXPECT_EQ(got, "two");
  std::thread rest([&] { ASSERT_EQ(write(fds[0], "ree", 3), 3); });
  EXPECT_EQ(reader.next(got), ReadStatus::ok);
  EXPECT_EQ(got, "three");
  rest.join();
  const char cut[] = {0, 0, 0, 9, 'x'};
  ASSERT_EQ(write(fds[0], cut, sizeof cut), static_cast<ssize_t>(sizeof cut));
  close(fds[0]);
  EXPECT_EQ(reader.next(got), ReadStatus::error);  // closed inside a frame
  close(fds[1]);
}

TEST(PluginSettings, DefaultsValuesAndThePluginsOwnSubtree) {
  const json subtree = {{"isolation", "in-process"}, {"call_timeout_seconds", 3},
                        {"max_concurrent_calls", 2}, {"max_memory_mb", 64},
                        {"queue_timeout_ms", 0},     {"servers", json::array()}};
  const PluginSettings s = settings_of(subtree, Isolation::process);
  EXPECT_EQ(s.isolation, Isolation::in_process);
  EXPECT_EQ(s.call_timeout_seconds, 3u);
  EXPECT_EQ(s.max_concurrent_calls, 2u);
  EXPECT_EQ(s.max_memory_mb, 64u);
  EXPECT_EQ(s.queue_timeout_ms, 0u);
  EXPECT_EQ(s.max_open_files, 1024u);
  EXPECT_EQ(plugin_config_of(subtree), (json{{"servers", json::array()}}));
  EXPECT_EQ(settings_of(json::object(), Isolation::process).isolation, Isolation::process);
  EXPECT_EQ(settings_of(json::object(), Isolation::process).call_timeout_seconds, 30u);
}

TEST(PluginProcess, ExampleRunsInAHostOfItsOwn) {
  const auto plugin = load_plugin(kExample, json::object(), in_hosts());
  EXPECT_EQ(plugin->name(), "org.osbd.example");
  EXPECT_EQ(plugin->settings().isolation, Isolation::process);
  const HostStatus host = plugin->host_status();
  ASSERT_TRUE(host.pid);
  EXPECT_NE(*host.pid, getpid());
  EXPECT_EQ(host.state, "up");
  const CallResult catalog = plugin->call(Operation::get_catalog, json::object());
  EXPECT_EQ(catalog.status, OSB_STATUS_OK);
  EXPECT_FALSE(catalog.body.at("services").empty());
  EXPECT_TRUE(plugin->supports(Operation::usage));
}

TEST(PluginProcess, InProcessWhenItsConfigurationSaysSo) {
  const auto plugin =
      load_plugin(kExample, {{"org.osbd.example", {{"isolation", "in-process"}}}}, in_hosts());
  EXPECT_EQ(plugin->settings().isolation, Isolation::in_process);
  EXPECT_FALSE(plugin->host_status().pid);
  EXPECT_EQ(plugin->call(Operation::get_catalog, json::object()).status, OSB_STATUS_OK);
}

TEST(PluginProcess, HostRunsWithLeastPrivilege) {
  const auto plugin = load_plugin(
      kExample, {{"org.osbd.example", {{"max_open_files", 64}, {"max_memory_mb", 512}}}},
      in_hosts());
  const std::string proc = "/proc/" + std::to_string(*plugin->host_status().pid);
  const std::string environ = read_text(proc + "/environ");
  EXPECT_NE(environ.find("PATH=/usr/local/bin:/usr/bin:/bin"), std::string::npos);
  EXPECT_EQ(environ.find("HOME="), std::string::npos) << environ;
  std::vector<std::string> fds;
  for (const auto& entry : std::filesystem::directory_iterator(proc + "/fd")) {
    fds.push_back(entry.path().filename().string());
  }
  std::sort(fds.begin(), fds.end());
  EXPECT_EQ(fds, (std::vector<std::string>{"0", "1", "2", "3"}));
  const std::string status = read_text(proc + "/status");
  EXPECT_NE(status.find("NoNewPrivs:\t1"), std::string::npos);
  const std::string limits = read_text(proc + "/limits");
  EXPECT_NE(limits.find("Max open files            64                   64"), std::string::npos)
      << limits;
#if !defined(OSBD_SANITIZED)
  EXPECT_NE(limits.find("Max address space         536870912            536870912"),
            std::string::npos)
      << limits;
#endif
}

TEST(PluginProcess, CrashAnswersCrashedThenUnavailableThenRestarts) {
  const auto plugin = load_plugin(fixture("crash_on_param"), json::object(), in_hosts());
  const long first_pid = *plugin->host_status().pid;
  const CallResult crashed =
      plugin->call(Operation::provision, provision_request({{"crash", true}}));
  EXPECT_EQ(crashed.status, kStatusCrashed);
  EXPECT_NE(crashed.description.find("org.osbd.fixture.crash_on_param"), std::string::npos);
  EXPECT_NE(crashed.description.find("can be retried"), std::string::npos);
  // Until the host is back (0.5 s after its first crash): 503 with a Retry-After.
  const CallResult unavailable = plugin->call(Operation::provision, provision_request());
  if (unavailable.status == kStatusUnavailable) {
    EXPECT_GE(unavailable.retry_after_seconds, 1u);
    EXPECT_NE(unavailable.description.find(kSegvExit), std::string::npos);
  }
  ASSERT_TRUE(up_within(*plugin, 5s));
  const HostStatus host = plugin->host_status();
  EXPECT_EQ(host.restarts, 1u);
  EXPECT_NE(host.last_exit.find(kSegvExit), std::string::npos) << host.last_exit;
  EXPECT_NE(*host.pid, first_pid);
  EXPECT_EQ(plugin->call(Operation::provision, provision_request()).status, OSB_STATUS_OK);
}

TEST(PluginProcess, AbortIsContainedLikeACrash) {
  const auto plugin = load_plugin(fixture("abort_call"), json::object(), in_hosts());
  EXPECT_EQ(plugin->call(Operation::provision, provision_request()).status, kStatusCrashed);
  ASSERT_TRUE(up_within(*plugin, 5s));
  EXPECT_NE(plugin->host_status().last_exit.find("SIGABRT"), std::string::npos);
  EXPECT_EQ(plugin->call(Operation::deprovision, provision_request()).status, OSB_STATUS_OK);
}

TEST(PluginProcess, CallPastItsDeadlineAnswersTimedOutAndTheHostIsKilled) {
  const auto plugin =
      load_plugin(fixture("spin_forever"),
                  {{"org.osbd.fixture.spin_forever", {{"call_timeout_seconds", 1}}}}, in_hosts());
  const auto started = std::chrono::steady_clock::now();
  const CallResult late = plugin->call(Operation::provision, provision_request());
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(late.status, kStatusTimedOut);
  EXPECT_LT(took, 3s);
  EXPECT_NE(late.description.find("did not answer within 1 s"), std::string::npos);
  EXPECT_EQ(plugin->counters().timeouts, 1u);
  // Still spinning kKillGrace after the deadline: killed, then started again.
  const auto until = std::chrono::steady_clock::now() + 15s;
  while (plugin->host_status().restarts == 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(plugin->host_status().restarts, 1u);
  EXPECT_NE(plugin->host_status().last_exit.find("past its deadline"), std::string::npos);
}

TEST(PluginProcess, CallsOverMaxConcurrentCallsWaitThenAreRefused) {
  const auto plugin = load_plugin(
      fixture("sleep_call"),
      {{"org.osbd.fixture.sleep_call",
        {{"max_concurrent_calls", 1}, {"queue_timeout_ms", 100}, {"call_timeout_seconds", 10}}}},
      in_hosts());
  auto slow = std::async(std::launch::async, [&] {
    return plugin->call(Operation::provision, provision_request({{"sleep_seconds", 2}}));
  });
  const auto until = std::chrono::steady_clock::now() + 2s;
  while (plugin->counters().in_flight == 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(5ms);
  }
  const CallResult refused = plugin->call(Operation::bind, provision_request());
  EXPECT_EQ(refused.status, kStatusUnavailable);
  EXPECT_NE(refused.description.find("max_concurrent_calls"), std::string::npos);
  EXPECT_EQ(slow.get().status, OSB_STATUS_OK);
  EXPECT_EQ(plugin->counters().in_flight, 0u);
  EXPECT_EQ(plugin->call(Operation::bind, provision_request()).status, OSB_STATUS_OK);
}

TEST(PluginProcess, InProcessDeadlineAnswersWhileTheCallKeepsItsPlace) {
  const auto plugin = load_plugin(
      fixture("sleep_call"),
      {{"org.osbd.fixture.sleep_call",
        {{"call_timeout_seconds", 1}, {"max_concurrent_calls", 1}, {"queue_timeout_ms", 0}}}},
      LoadOptions{});
  EXPECT_EQ(plugin->call(Operation::provision, provision_request({{"sleep_seconds", 2}})).status,
            kStatusTimedOut);
  // The thread still sleeping in the plugin holds the only place.
  EXPECT_EQ(plugin->counters().in_flight, 1u);
  EXPECT_EQ(plugin->call(Operation::bind, provision_request()).status, kStatusUnavailable);
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (plugin->counters().in_flight != 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(plugin->call(Operation::bind, provision_request()).status, OSB_STATUS_OK);
}

TEST(PluginProcess, LoadErrorsInTheHostAreStartUpErrors) {
  try {
    load_plugin(fixture("abi_major_mismatch"), json::object(), in_hosts());
    FAIL() << "expected an error";
  } catch (const PluginLoadError& e) {
    EXPECT_NE(std::string(e.what()).find("major version mismatch"), std::string::npos) << e.what();
  }
  try {
    load_plugin(fixture("init_fails"), json::object(), in_hosts());
    FAIL() << "expected an error";
  } catch (const PluginLoadError& e) {
    EXPECT_NE(std::string(e.what()).find("create failed"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace osbd::plugin_host
