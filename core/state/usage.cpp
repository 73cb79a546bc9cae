#include "state/usage.hpp"

namespace osbd::state {

namespace {

std::string string_at(const nlohmann::json& object, const char* key) {
  if (object.is_object()) {
    if (auto it = object.find(key); it != object.end() && it->is_string()) {
      return it->get<std::string>();
    }
  }
  return "";
}

}  // namespace

std::string owner_key(const InstanceRecord& instance) {
  if (!instance.organization_guid.empty()) {
    return instance.organization_guid;
  }
  std::string org = string_at(instance.context, "organization_guid");
  return org.empty() ? string_at(instance.context, "namespace") : org;
}

std::string space_key(const InstanceRecord& instance) {
  if (!instance.space_guid.empty()) {
    return instance.space_guid;
  }
  std::string space = string_at(instance.context, "space_guid");
  return space.empty() ? string_at(instance.context, "namespace") : space;
}

std::optional<UsageEvent> usage_event_of(const InstanceRecord& instance,
                                         const OperationRecord& op) {
  if (op.state != OperationState::succeeded || !op.binding_id.empty()) {
    return std::nullopt;
  }
  UsageEvent e;
  if (op.kind == OperationKind::provision) {
    e.kind = UsageEventKind::created;
  } else if (op.kind == OperationKind::update) {
    e.kind = UsageEventKind::updated;
  } else {
    return std::nullopt;
  }
  e.instance_id = instance.id;
  e.at_ms = op.updated_at_ms;
  e.service_id = instance.service_id;
  e.plan_id = instance.plan_id;
  e.organization = owner_key(instance);
  e.space = space_key(instance);
  return e;
}

const char* to_string(UsageEventKind k) noexcept {
  switch (k) {
    case UsageEventKind::created:
      return "created";
    case UsageEventKind::updated:
      return "updated";
    case UsageEventKind::deleted:
      return "deleted";
  }
  return "created";
}

std::optional<UsageEventKind> parse_usage_event_kind(std::string_view s) noexcept {
  for (auto k : {UsageEventKind::created, UsageEventKind::updated, UsageEventKind::deleted}) {
    if (s == to_string(k)) {
      return k;
    }
  }
  return std::nullopt;
}

}  // namespace osbd::state
