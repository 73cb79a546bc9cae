// The wait for released plugins: it returns as soon as their libraries close, and gives up at
// its deadline while one stays open.

#include "plugin_host/lifetimes.hpp"

#include <thread>

#include <gtest/gtest.h>

namespace osbd::plugin_host {
namespace {

using Clock = std::chrono::steady_clock;

TEST(PluginLifetimes, NothingOpenReturnsAtOnce) {
  Lifetimes lifetimes;
  const uint64_t serial = lifetimes.add();
  lifetimes.remove(serial);
  EXPECT_TRUE(lifetimes.wait_closed({serial}, Clock::now()));
  EXPECT_TRUE(lifetimes.wait_closed({}, Clock::now()));
}

TEST(PluginLifetimes, WakesWhenTheLastOneCloses) {
  Lifetimes lifetimes;
  const uint64_t first = lifetimes.add();
  const uint64_t second = lifetimes.add();
  const uint64_t other = lifetimes.add();  // not waited for
  EXPECT_NE(first, second);
  std::thread closer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    lifetimes.remove(first);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    lifetimes.remove(second);
  });
  const auto started = Clock::now();
  EXPECT_TRUE(lifetimes.wait_closed({first, second}, started + std::chrono::seconds(30)));
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(10));
  closer.join();
  lifetimes.remove(other);
}

TEST(PluginLifetimes, GivesUpAtTheDeadline) {
  Lifetimes lifetimes;
  const uint64_t serial = lifetimes.add();
  const auto started = Clock::now();
  EXPECT_FALSE(lifetimes.wait_closed({serial}, started + std::chrono::milliseconds(50)));
  EXPECT_GE(Clock::now() - started, std::chrono::milliseconds(50));
}

}  // namespace
}  // namespace osbd::plugin_host
