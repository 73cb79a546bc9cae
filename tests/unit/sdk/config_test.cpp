#include "osb/sdk/config.hpp"

#include <string>

#include <gtest/gtest.h>

namespace {

using nlohmann::json;
using osb::sdk::ConfigError;
using osb::sdk::ConfigReader;

template <class F>
std::string config_error(F&& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return {};
}

TEST(ConfigReader, ReadsValuesAndFallbacks) {
  const json config = {{"name", "n"}, {"on", true},           {"ratio", 0.5},
                       {"count", 3},  {"nested", {{"a", 1}}}, {"nothing", nullptr}};
  ConfigReader reader(config);
  EXPECT_EQ(reader.string("name"), "n");
  EXPECT_EQ(reader.string("absent", "x"), "x");
  EXPECT_EQ(reader.string("nothing", "null counts as absent"), "null counts as absent");
  EXPECT_TRUE(reader.boolean("on", false));
  EXPECT_DOUBLE_EQ(reader.number("ratio", 1.0), 0.5);
  EXPECT_DOUBLE_EQ(reader.number("count", 1.0), 3.0);
  EXPECT_EQ(reader.integer("count", 0), 3);
  EXPECT_EQ(reader.object("nested"), json({{"a", 1}}));
  EXPECT_EQ(reader.object("absent"), json::object());
  EXPECT_TRUE(reader.has("name"));
  EXPECT_FALSE(reader.has("nothing"));
  EXPECT_NO_THROW(reader.reject_unknown_keys());
}

TEST(ConfigReader, ErrorsNameTheKey) {
  const json config = {{"name", 1},
                       {"on", "yes"},
                       {"ratio", "1"},
                       {"count", 1.5},
                       {"big", 18446744073709551615ULL},
                       {"nested", 1},
                       {"empty", ""}};
  ConfigReader reader(config);
  EXPECT_EQ(config_error([&] { reader.string("name"); }), "name: expected a string");
  EXPECT_EQ(config_error([&] { reader.boolean("on", false); }), "on: expected true or false");
  EXPECT_EQ(config_error([&] { reader.number("ratio", 0); }), "ratio: expected a number");
  EXPECT_EQ(config_error([&] { reader.integer("count", 0); }), "count: expected an integer");
  EXPECT_EQ(config_error([&] { reader.integer("big", 0); }), "big: out of range");
  EXPECT_EQ(config_error([&] { reader.object("nested"); }), "nested: expected an object");
  EXPECT_EQ(config_error([&] { reader.required_string("empty"); }), "empty: must not be empty");
  EXPECT_EQ(config_error([&] { reader.required_string("host"); }), "host: missing");
}

TEST(ConfigReader, RejectsUnknownKeys) {
  const json config = {{"known", 1}, {"typo", 2}};
  ConfigReader reader(config);
  reader.integer("known", 0);
  EXPECT_EQ(config_error([&] { reader.reject_unknown_keys(); }), "typo: unknown configuration key");
}

TEST(ConfigReader, RequiresAnObject) {
  EXPECT_EQ(config_error([] { ConfigReader reader(json::array()); }),
            "configuration: expected a JSON object");
}

}  // namespace
