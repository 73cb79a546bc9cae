#include "fake_plugin.hpp"

#include "plugin_host/host_context.hpp"

namespace osbd::test {

using nlohmann::json;

namespace {

FakePlugin* fake(osb_backend* backend) {
  return reinterpret_cast<FakePlugin*>(backend);
}

template <Operation Op>
osb_status slot(osb_backend* backend, osb_buffer request, osb_call* call) {
  return fake(backend)->answer(Op, request, call);
}

void destroy(osb_backend*) {}

// The fixture builds the backend itself; create() is never called.
osb_backend* create(const osb_host_v1*, osb_buffer, osb_call*) {
  return nullptr;
}

json parameters_schema(const char* property, const char* type) {
  return {{"$schema", "http://json-schema.org/draft-04/schema#"},
          {"type", "object"},
          {"properties", {{property, {{"type", type}}}}}};
}

}  // namespace

Answer Answer::ok(json result) {
  return Answer{OSB_STATUS_OK, std::move(result), ""};
}

Answer Answer::in_progress(const std::string& token) {
  return Answer{OSB_STATUS_IN_PROGRESS, {{"operation", token}}, ""};
}

Answer Answer::failure(osb_status status, const std::string& description) {
  return Answer{status, nullptr, description};
}

Answer Answer::poll(const std::string& state, const std::string& description) {
  json result = {{"state", state}};
  if (!description.empty()) {
    result["description"] = description;
  }
  return Answer{OSB_STATUS_OK, std::move(result), ""};
}

json FakePlugin::catalog() {
  const json instance_schema = parameters_schema("size", "integer");
  return {
      {"services",
       {{{"id", kService},
         {"name", "fake-db"},
         {"description", "A fake database"},
         {"bindable", true},
         {"plan_updateable", true},
         {"plans",
          {{{"id", kSmallPlan},
            {"name", "small"},
            {"description", "Small"},
            {"maintenance_info", {{"version", "1.0.0"}}},
            {"schemas",
             {{"service_instance",
               {{"create", {{"parameters", instance_schema}}},
                {"update", {{"parameters", instance_schema}}}}},
              {"service_binding",
               {{"create", {{"parameters", parameters_schema("role", "string")}}}}}}}},
           {{"id", kLargePlan}, {"name", "large"}, {"description", "Large"}},
           {{"id", kFixedPlan},
            {"name", "fixed"},
            {"description", "Cannot change plan"},
            {"plan_updateable", false}},
           {{"id", kUnbindablePlan},
            {"name", "unbindable"},
            {"description", "No bindings"},
            {"bindable", false}},
           {{"id", kRotatablePlan},
            {"name", "rotatable"},
            {"description", "Rotatable bindings"},
            {"binding_rotatable", true}}}}},
        {{"id", kOtherService},
         {"name", "fake-cache"},
         {"description", "A fake cache"},
         {"bindable", true},
         {"plans", {{{"id", kOtherPlan}, {"name", "standard"}, {"description", "Standard"}}}}}}}};
}

FakePlugin::FakePlugin() {
  table_.struct_size = sizeof(osb_plugin_v1);
  table_.abi_major = OSB_PLUGIN_ABI_VERSION_MAJOR;
  table_.abi_minor = OSB_PLUGIN_ABI_VERSION_MINOR;
  table_.name = kName;
  table_.version = "1.2.3";
  table_.vendor = "Test Vendor";
  table_.create = &create;
  table_.destroy = &destroy;
  table_.get_catalog = &slot<Operation::get_catalog>;
  table_.provision = &slot<Operation::provision>;
  table_.deprovision = &slot<Operation::deprovision>;
  table_.update = &slot<Operation::update>;
  table_.bind = &slot<Operation::bind>;
  table_.unbind = &slot<Operation::unbind>;
  table_.poll = &slot<Operation::poll>;
  table_.instance_usage = &slot<Operation::usage>;
}

plugin_host::PluginSharedPtr FakePlugin::make_plugin() {
  auto host = plugin_host::make_host_context("fake.so");
  host->context.plugin_name = kName;
  host_ = &host->table;
  return std::make_shared<const plugin_host::Plugin>("fake.so", nullptr, &table_, std::move(host),
                                                     reinterpret_cast<osb_backend*>(this));
}

void FakePlugin::script(Operation op, Answer a) {
  std::lock_guard<std::mutex> lock(mutex_);
  scripted_[op].push_back(std::move(a));
}

std::vector<Call> FakePlugin::calls(Operation op) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Call> out;
  for (const auto& c : calls_) {
    if (c.op == op) {
      out.push_back(c);
    }
  }
  return out;
}

Answer FakePlugin::next(Operation op) {
  auto& queue = scripted_[op];
  if (!queue.empty()) {
    Answer a = std::move(queue.front());
    queue.pop_front();
    return a;
  }
  switch (op) {
    case Operation::get_catalog:
      return Answer::ok(catalog());
    case Operation::bind:
      return Answer::ok(
          {{"credentials", {{"username", "user"}, {"password", "pass"}}}, {"binding_state", 1}});
    case Operation::poll:
      return Answer::poll("in progress");
    default:
      return Answer::ok();
  }
}

void FakePlugin::before_next(Operation op, std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(mutex_);
  hooks_[op] = std::move(hook);
}

osb_status FakePlugin::answer(Operation op, osb_buffer request, osb_call* call) noexcept {
  try {
    Answer a;
    std::function<void()> hook;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      calls_.push_back({op, json::parse(std::string(request.data, request.size))});
      a = next(op);
      if (auto it = hooks_.find(op); it != hooks_.end()) {
        hook = std::move(it->second);
        hooks_.erase(it);
      }
    }
    if (hook) {
      hook();
    }
    if (!a.result.is_null()) {
      const std::string text = a.result.dump();
      host_->set_result(call, osb_buffer{text.data(), text.size()});
    }
    if (!a.error.empty()) {
      host_->set_error(call, osb_buffer{a.error.data(), a.error.size()});
    }
    return a.status;
  } catch (...) {
    return OSB_STATUS_INTERNAL_ERROR;
  }
}

}  // namespace osbd::test
