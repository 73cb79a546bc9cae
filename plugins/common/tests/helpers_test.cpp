// osb/plugins credentials, usage and periodic helpers.

#include <osb/plugins/credentials.hpp>
#include <osb/plugins/periodic.hpp>
#include <osb/plugins/usage.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include <gtest/gtest.h>

namespace {

TEST(PluginsCommon, CredentialsAreEncodedAndUseThePublicAddress) {
  osb::plugins::ServerInfo server;
  server.host = "10.0.0.5";
  server.port = 3306;
  server.public_host = "::1";
  server.public_port = 3307;
  const nlohmann::json c = osb::plugins::database_credentials(
      "mysql", server, "db", "u", "p@ss word", {"ssl-mode=REQUIRED", "sslMode=REQUIRED"});
  EXPECT_EQ(c["host"], "::1");
  EXPECT_EQ(c["port"], 3307);
  EXPECT_EQ(c["uri"], "mysql://u:p%40ss%20word@[::1]:3307/db?ssl-mode=REQUIRED");
  EXPECT_EQ(c["jdbcUrl"],
            "jdbc:mysql://[::1]:3307/db?user=u&password=p%40ss%20word&sslMode=REQUIRED");
}

TEST(PluginsCommon, StorageUsageDescribesAQuotaOnlyWhenThereIsOne) {
  EXPECT_EQ(osb::plugins::storage_usage(5, 0, "x"), nlohmann::json({{"bytes", 5}}));
  EXPECT_EQ(osb::plugins::storage_usage(5, 1, "x"),
            nlohmann::json({{"bytes", 5}, {"quota_bytes", 1048576}, {"over_quota", false}}));
  EXPECT_EQ(osb::plugins::storage_usage(2000000, 1, "read-only")["description"],
            "over its storage quota of 1 MB: read-only");
}

TEST(PluginsCommon, PeriodicTaskRunsAtOnceWhenWokenAndStops) {
  std::mutex mutex;
  std::condition_variable ran;
  int passes = 0;
  {
    osb::plugins::PeriodicTask task(std::chrono::hours(1), [&] {
      std::lock_guard<std::mutex> lock(mutex);
      ++passes;
      ran.notify_all();
    });
    std::unique_lock<std::mutex> lock(mutex);
    ASSERT_TRUE(ran.wait_for(lock, std::chrono::seconds(5), [&] { return passes == 1; }));
    lock.unlock();
    task.wake();
    lock.lock();
    ASSERT_TRUE(ran.wait_for(lock, std::chrono::seconds(5), [&] { return passes == 2; }));
  }
  EXPECT_EQ(passes, 2) << "destroyed without waiting for the hour";
}

}  // namespace
