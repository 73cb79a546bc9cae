// fuzz_config: the YAML configuration loader (config/config.hpp) on arbitrary file contents.
// load_file may only fail with ConfigError naming the file; a configuration it accepts has the
// default catalog first, usable credentials, and JSON subtrees that serialize (valid UTF-8).

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include <nlohmann/json.hpp>

#include "check.hpp"
#include "config/config.hpp"

namespace {

namespace config = osbd::config;

// A file of this process in memory-backed storage, rewritten for every input.
std::string path_of_this_process() {
  return "/dev/shm/osbd-fuzz-config-" + std::to_string(::getpid()) + ".yaml";
}

// path_of_this_process(), removed when the process ends normally.
const std::string& config_path() {
  static const std::string path = [] {
    std::atexit([] { std::remove(path_of_this_process().c_str()); });
    return path_of_this_process();
  }();
  return path;
}

void write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  OSBD_FUZZ_CHECK(file != nullptr, "the input file can be written");
  OSBD_FUZZ_CHECK(std::fwrite(data, 1, size, file) == size, "the input file is written whole");
  std::fclose(file);
}

// A JSON value serializes strictly, as osbd does when it hands it on.
void check_dumps(const nlohmann::json& value, const char* what) {
  try {
    (void)value.dump();
  } catch (const std::exception&) {
    OSBD_FUZZ_CHECK(false, what);
  }
}

// What every accepted configuration satisfies.
void check_accepted(const config::BrokerConfig& cfg) {
  OSBD_FUZZ_CHECK(!cfg.catalogs.empty() && cfg.catalogs.front().name == "default",
                  "the default catalog comes first");
  OSBD_FUZZ_CHECK(!cfg.auth.username.empty() && cfg.auth.username.find(':') == std::string::npos,
                  "the platform username is usable in Basic credentials");
  OSBD_FUZZ_CHECK(!cfg.auth.password.empty(), "the platform password is not empty");
  check_dumps(cfg.plugins, "plugin configurations serialize");
  for (const auto& catalog : cfg.catalogs) {
    for (const auto& service : catalog.services.value_or(std::vector<config::ServiceSelection>{})) {
      check_dumps(service.overrides, "service overrides serialize");
      for (const auto& plan : service.plans.value_or(std::vector<config::PlanSelection>{})) {
        check_dumps(plan.overrides, "plan overrides serialize");
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = config_path();
  write_file(path, data, size);
  try {
    check_accepted(config::load_file(path));
  } catch (const config::ConfigError& e) {
    OSBD_FUZZ_CHECK(std::string(e.what()).rfind(path + ": ", 0) == 0,
                    "a configuration error names the file");
  } catch (const std::exception& e) {
    OSBD_FUZZ_CHECK(false, e.what());
  }
  return 0;
}
