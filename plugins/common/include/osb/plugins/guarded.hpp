#pragma once

#include <string>
#include <utility>

#include <osb/sdk/host.hpp>
#include <osb/sdk/result.hpp>

namespace osb::plugins {

/// What body() returns (an osb::sdk::Result); when it throws Error (a server failure whose
/// message holds no secret), a backend_error "<what> failed: <message>", also logged as an error
/// on host.
template <typename Error, typename F>
osb::sdk::Result guarded(osb::sdk::Host& host, const std::string& what, F&& body) {
  try {
    return std::forward<F>(body)();
  } catch (const Error& e) {
    host.error(what + " failed: " + e.what());
    return osb::sdk::Result::backend_error(what + " failed: " + e.what());
  }
}

}  // namespace osb::plugins
