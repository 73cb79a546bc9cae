#pragma once

#include <stdexcept>

namespace osb::sdk {

/// Thrown by a backend constructor when its configuration is unusable. The message has the form
/// "key: reason" so the operator can find the offending setting; create() then returns NULL.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Thrown while parsing a request the host sent; the shims turn it into OSB_STATUS_BAD_REQUEST.
/// The message has the form "field: reason".
class RequestError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace osb::sdk
