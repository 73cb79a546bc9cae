#pragma once

// Everything a plugin source file needs: the Backend class, requests, results, the host wrapper,
// configuration helpers and OSB_DECLARE_PLUGIN.

#include "osb/plugin_abi.h"
#include "osb/sdk/backend.hpp"
#include "osb/sdk/config.hpp"
#include "osb/sdk/detail/shims.hpp"
#include "osb/sdk/errors.hpp"
#include "osb/sdk/host.hpp"
#include "osb/sdk/requests.hpp"
#include "osb/sdk/result.hpp"

/// Defines the plugin's exported entry point osb_plugin_entry for the Backend subclass
/// backend_class. name is reverse-DNS ("com.example.mysql"), version is semver, vendor is a
/// display name; all three must be string literals. Use it once per plugin, at namespace scope.
#define OSB_DECLARE_PLUGIN(backend_class, name, version, vendor)                     \
  extern "C" OSB_PLUGIN_EXPORT const osb_plugin_v1* osb_plugin_entry(                \
      const osb_host_v1* host) noexcept;                                             \
  extern "C" OSB_PLUGIN_EXPORT const osb_plugin_v1* osb_plugin_entry(                \
      const osb_host_v1* host) noexcept {                                            \
    static constexpr osb_plugin_v1 osb_sdk_plugin_table =                            \
        ::osb::sdk::detail::make_plugin_table<backend_class>(name, version, vendor); \
    return ::osb::sdk::detail::plugin_entry(&osb_sdk_plugin_table, host);            \
  }
