#include "state/records.hpp"

#include <string_view>

namespace osbd::state {

const char* to_string(ResourceStatus s) noexcept {
  switch (s) {
    case ResourceStatus::creating:
      return "creating";
    case ResourceStatus::ready:
      return "ready";
    case ResourceStatus::deleting:
      return "deleting";
    case ResourceStatus::failed:
      return "failed";
  }
  // Only reachable through a cast of an out-of-range value; the spelling never parses back.
  return "unknown";
}

const char* to_string(OperationKind k) noexcept {
  switch (k) {
    case OperationKind::provision:
      return "provision";
    case OperationKind::update:
      return "update";
    case OperationKind::deprovision:
      return "deprovision";
    case OperationKind::bind:
      return "bind";
    case OperationKind::unbind:
      return "unbind";
  }
  return "unknown";
}

const char* to_string(OperationState s) noexcept {
  switch (s) {
    case OperationState::in_progress:
      return "in progress";
    case OperationState::succeeded:
      return "succeeded";
    case OperationState::failed:
      return "failed";
  }
  return "unknown";
}

std::optional<ResourceStatus> parse_resource_status(std::string_view s) noexcept {
  for (auto v : {ResourceStatus::creating, ResourceStatus::ready, ResourceStatus::deleting,
                 ResourceStatus::failed}) {
    if (s == to_string(v)) {
      return v;
    }
  }
  return std::nullopt;
}

std::optional<OperationKind> parse_operation_kind(std::string_view s) noexcept {
  for (auto v : {OperationKind::provision, OperationKind::update, OperationKind::deprovision,
                 OperationKind::bind, OperationKind::unbind}) {
    if (s == to_string(v)) {
      return v;
    }
  }
  return std::nullopt;
}

std::optional<OperationState> parse_operation_state(std::string_view s) noexcept {
  for (auto v : {OperationState::in_progress, OperationState::succeeded, OperationState::failed}) {
    if (s == to_string(v)) {
      return v;
    }
  }
  return std::nullopt;
}

}  // namespace osbd::state
