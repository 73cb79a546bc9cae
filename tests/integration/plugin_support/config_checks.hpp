#pragma once

// Checks of a plugin's configuration errors: through its Settings reader (compiled into the
// test) and through the real .so.

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <osb/sdk/errors.hpp>
#include <osb/sdk/fake_host.hpp>

namespace osbd_plugin_test {

/// The ConfigError message Settings::from_json throws for config ("" when it accepts it).
template <typename Settings>
std::string config_error(const nlohmann::json& config) {
  try {
    Settings::from_json(config);
    return {};
  } catch (const osb::sdk::ConfigError& e) {
    return e.what();
  }
}

/// One change to a valid configuration and the start of the error it must cause.
struct ConfigCase {
  std::function<void(nlohmann::json&)> change;  ///< makes the configuration invalid
  std::string expected;                         ///< how the error message starts
};

/// Expects Settings::from_json to reject each case's change of valid with its expected error.
template <typename Settings>
void expect_config_errors(const nlohmann::json& valid, const std::vector<ConfigCase>& cases) {
  for (const ConfigCase& c : cases) {
    nlohmann::json config = valid;
    c.change(config);
    const std::string error = config_error<Settings>(config);
    EXPECT_EQ(error.rfind(c.expected, 0), 0u)
        << "expected \"" << c.expected << "\", got \"" << error << "\" for " << config.dump();
  }
}

/// Expects the plugin of table (a function of the host) to refuse config, whose first plan's
/// first server is unknown, naming that key; and to load without configuration, offering
/// nothing (so that osbd starts with it present).
template <typename Table>
void expect_plugin_refuses_unknown_server(Table&& table, nlohmann::json config) {
  osb::sdk::testing::FakeHost host;
  config["services"][0]["plans"][0]["servers"] = {"nowhere"};
  try {
    osb::sdk::testing::BackendHandle backend(host, table(host), config);
    ADD_FAILURE() << "the plugin accepted a plan on an unknown server";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("invalid configuration: services[0].plans[0].servers[0]"),
              std::string::npos)
        << e.what();
  }
  osb::sdk::testing::BackendHandle empty(host, table(host));
  EXPECT_EQ(empty.catalog().json(), nlohmann::json({{"services", nlohmann::json::array()}}));
}

}  // namespace osbd_plugin_test
