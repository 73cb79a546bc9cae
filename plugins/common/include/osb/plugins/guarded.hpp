#pragma once

#include <exception>
#include <string>
#include <utility>

#include <osb/sdk/host.hpp>
#include <osb/sdk/result.hpp>

namespace osb::plugins {

/// What a failed call's result says about error: its message. A plugin gives its own error
/// types another text by an overload in their namespace (found by argument-dependent lookup).
inline std::string failure_description(const std::exception& error) {
  return error.what();
}

/// What body() returns (an osb::sdk::Result); when it throws one of Errors (server failures
/// whose messages hold no secret), a backend_error "<what> failed: <failure_description>",
/// logged as an error "<what> failed: <message>" on host.
template <typename Error, typename... More, typename F>
osb::sdk::Result guarded(osb::sdk::Host& host, const std::string& what, F&& body) {
  try {
    if constexpr (sizeof...(More) == 0) {
      return std::forward<F>(body)();
    } else {
      return guarded<More...>(host, what, std::forward<F>(body));
    }
  } catch (const Error& e) {
    host.error(what + " failed: " + e.what());
    return osb::sdk::Result::backend_error(what + " failed: " + failure_description(e));
  }
}

}  // namespace osb::plugins
