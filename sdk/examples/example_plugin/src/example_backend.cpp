#include "example_backend.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>

#include <osb/sdk/config.hpp>
#include <osb/sdk/result.hpp>

namespace osb_example {

using osb::sdk::OperationKind;
using osb::sdk::PollResult;
using osb::sdk::Result;

namespace {

constexpr double max_async_seconds = 86400.0;

constexpr std::string_view async_required_message =
    "the plan \"async\" works only asynchronously; the platform must allow accepts_incomplete";

bool is_cli_friendly(std::string_view name) {
  if (name.empty()) {
    return false;
  }
  for (char c : name) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!allowed) {
      return false;
    }
  }
  return true;
}

// FNV-1a, 64 bit. Names and URLs are derived from ids instead of containing them, so that
// whatever characters a platform puts into an id never reach a user name or a URL.
std::string hash_hex(std::string_view text) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(hash));
  return buffer;
}

std::string_view plan_name(Plan plan) {
  switch (plan) {
    case Plan::sync:
      return "sync";
    case Plan::async:
      return "async";
    case Plan::async_only:
      break;
  }
  return "async-only";
}

std::optional<Plan> plan_from_name(const nlohmann::json& name) {
  if (name == "sync") {
    return Plan::sync;
  }
  if (name == "async") {
    return Plan::async;
  }
  if (name == "async-only") {
    return Plan::async_only;
  }
  return std::nullopt;
}

// The plan a request names, else the one recorded in the state this plugin returned earlier
// ({"plan": "sync"|"async", ...}), else sync.
Plan plan_of(std::string_view plan_id, const nlohmann::json& state) {
  if (std::optional<Plan> plan = plan_from_id(plan_id)) {
    return *plan;
  }
  if (state.is_object() && state.contains("plan")) {
    if (std::optional<Plan> plan = plan_from_name(state["plan"])) {
      return *plan;
    }
  }
  return Plan::sync;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// An operation token is "<kind>:<deadline in ms since the epoch>:<nonce>[:<size>]", the size
// being the instance's after a provision or update. It carries everything poll() needs, so a
// poll still works after the broker (and with it the plugin) restarted, and on another broker
// replica than the one that started the operation: nothing poll() needs is kept in memory.
struct Token {
  OperationKind kind;
  std::int64_t deadline_ms;
  std::optional<std::int64_t> size;
};

// The integer text is made of, whole; nullopt otherwise.
std::optional<std::int64_t> integer_of(std::string_view text) {
  std::int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::optional<Token> parse_token(std::string_view text) {
  const std::size_t first = text.find(':');
  const std::size_t second = first == std::string_view::npos ? first : text.find(':', first + 1);
  if (second == std::string_view::npos) {
    return std::nullopt;
  }
  const std::optional<OperationKind> kind =
      osb::sdk::operation_kind_from_string(text.substr(0, first));
  const std::optional<std::int64_t> deadline =
      integer_of(text.substr(first + 1, second - first - 1));
  if (!kind || !deadline) {
    return std::nullopt;
  }
  Token token{*kind, *deadline, std::nullopt};
  if (const std::size_t third = text.find(':', second + 1); third != std::string_view::npos) {
    token.size = integer_of(text.substr(third + 1));
    if (!token.size) {
      return std::nullopt;
    }
  }
  return token;
}

}  // namespace

Settings Settings::from_json(const nlohmann::json& config) {
  osb::sdk::ConfigReader reader(config);
  Settings settings;
  const double seconds = reader.number("async_seconds", 2.0);
  if (!std::isfinite(seconds) || seconds < 0.0 || seconds > max_async_seconds) {
    osb::sdk::ConfigReader::fail("async_seconds", "must be a number from 0 to 86400");
  }
  settings.async_duration = std::chrono::milliseconds(std::llround(seconds * 1000.0));
  settings.service_name = reader.string("service_name", settings.service_name);
  if (!is_cli_friendly(settings.service_name)) {
    osb::sdk::ConfigReader::fail("service_name",
                                 "must be a non-empty name of letters, digits, '-' and '.'");
  }
  settings.fail_provision = reader.boolean("fail_provision", false);
  const double delay_ms = reader.number("sync_delay_ms", 0.0);
  if (!std::isfinite(delay_ms) || delay_ms < 0.0 || delay_ms > 60000.0) {
    osb::sdk::ConfigReader::fail("sync_delay_ms", "must be a number from 0 to 60000");
  }
  settings.sync_delay = std::chrono::milliseconds(std::llround(delay_ms));
  const double quota = reader.number("size_quota", 10.0);
  if (quota != std::floor(quota) || quota < 0.0 || quota > 10.0) {
    osb::sdk::ConfigReader::fail("size_quota", "must be an integer from 0 to 10");
  }
  settings.size_quota = static_cast<std::int64_t>(quota);
  settings.fail_deprovision = reader.boolean("fail_deprovision", false);
  settings.require_app_guid = reader.boolean("require_app_guid", false);
  reader.reject_unknown_keys();
  return settings;
}

ExampleBackend::ExampleBackend(const nlohmann::json& config, osb::sdk::Host& host)
    : settings_(Settings::from_json(config)), host_(host) {
  host_.info("example backend ready; asynchronous operations take " +
             std::to_string(settings_.async_duration.count()) + " ms");
}

nlohmann::json ExampleBackend::catalog() {
  return make_catalog(settings_.service_name);
}

Result ExampleBackend::provision(const osb::sdk::ProvisionRequest& request) {
  if (request.service_id != service_id) {
    return Result::bad_request("unknown service_id \"" + request.service_id + "\"");
  }
  const std::optional<Plan> plan = plan_from_id(request.plan_id);
  if (!plan) {
    return Result::bad_request("unknown plan_id \"" + request.plan_id + "\"");
  }
  const Parameters parameters = read_parameters(request.parameters);
  if (!parameters.error.empty()) {
    return Result::bad_request(parameters.error);
  }
  if (settings_.fail_provision) {
    return Result::backend_error("configured to fail");
  }
  if (requires_async(*plan, false) && !request.accepts_incomplete) {
    return Result::async_required(std::string(async_required_message));
  }
  if (*plan == Plan::sync && settings_.sync_delay.count() > 0) {
    // Stands in for the time a real backend takes; outside the lock, as real I/O would be.
    std::this_thread::sleep_for(settings_.sync_delay);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  instances_[request.instance_id] = Instance{*plan, parameters.size.value_or(default_size)};
  host_.info("provisioning instance " + request.instance_id + " on plan " +
             std::string(plan_name(*plan)));
  if (*plan != Plan::sync) {
    return Result::in_progress(
        new_token_locked(OperationKind::provision, instances_[request.instance_id].size));
  }
  return Result::ok(instance_result_locked(request.instance_id));
}

Result ExampleBackend::deprovision(const osb::sdk::DeprovisionRequest& request) {
  const Plan plan = plan_of(request.plan_id, request.instance_state);
  if (requires_async(plan, false) && !request.accepts_incomplete) {
    return Result::async_required(std::string(async_required_message));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  host_.info("deprovisioning instance " + request.instance_id);
  if (settings_.fail_deprovision && plan == Plan::sync) {
    return Result::backend_error("configured to fail deprovisioning");
  }
  if (plan != Plan::sync) {
    // The instance goes away when the operation finishes, in poll().
    return Result::in_progress(new_token_locked(OperationKind::deprovision));
  }
  remove_instance_locked(request.instance_id);
  return Result::ok();
}

Result ExampleBackend::update(const osb::sdk::UpdateRequest& request) {
  if (!request.service_id.empty() && request.service_id != service_id) {
    return Result::bad_request("unknown service_id \"" + request.service_id + "\"");
  }
  std::optional<Plan> new_plan;
  if (!request.plan_id.empty()) {
    new_plan = plan_from_id(request.plan_id);
    if (!new_plan) {
      return Result::bad_request("unknown plan_id \"" + request.plan_id + "\"");
    }
  }
  const Parameters parameters = read_parameters(request.parameters);
  if (!parameters.error.empty()) {
    return Result::bad_request(parameters.error);
  }
  const Plan target_plan =
      new_plan.value_or(plan_of(request.previous_plan_id, request.instance_state));
  if (requires_async(target_plan, false) && !request.accepts_incomplete) {
    return Result::async_required(std::string(async_required_message));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  // What the instance was: from memory, else from the state the broker kept for it.
  Instance instance{plan_of(request.previous_plan_id, request.instance_state), default_size};
  if (auto it = instances_.find(request.instance_id); it != instances_.end()) {
    instance = it->second;
  } else if (request.instance_state.is_object() &&
             request.instance_state.value("size", nlohmann::json()).is_number_integer()) {
    instance.size = request.instance_state["size"].get<std::int64_t>();
  }
  instance.plan = new_plan.value_or(instance.plan);
  instance.size = parameters.size.value_or(instance.size);
  instances_[request.instance_id] = instance;
  host_.info("updated instance " + request.instance_id + " to plan " +
             std::string(plan_name(instance.plan)) + ", size " + std::to_string(instance.size));
  if (target_plan != Plan::sync) {
    // The change is made now; the platform sees it finished when poll() says so.
    return Result::in_progress(new_token_locked(OperationKind::update, instance.size));
  }
  return Result::ok(instance_result_locked(request.instance_id));
}

Result ExampleBackend::bind(const osb::sdk::BindRequest& request) {
  if (request.service_id != service_id) {
    return Result::bad_request("unknown service_id \"" + request.service_id + "\"");
  }
  const std::optional<Plan> plan = plan_from_id(request.plan_id);
  if (!plan) {
    return Result::bad_request("unknown plan_id \"" + request.plan_id + "\"");
  }
  if (!request.parameters.empty()) {
    return Result::bad_request("unknown parameter \"" + request.parameters.begin().key() +
                               "\"; bindings of this service take no parameters");
  }
  if (settings_.require_app_guid && request.app_guid.empty()) {
    return Result::requires_app("bindings of this service need an app_guid");
  }
  if (requires_async(*plan, true) && !request.accepts_incomplete) {
    return Result::async_required(std::string(async_required_message));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  // Credentials are made now; asynchronously, they are handed out when poll() finishes.
  nlohmann::json result = binding_result_locked(request.instance_id, request.binding_id);
  host_.info("binding " + request.binding_id + " to instance " + request.instance_id);
  if (*plan != Plan::sync && request.accepts_incomplete) {
    return Result::in_progress(new_token_locked(OperationKind::bind));
  }
  return Result::ok(std::move(result));
}

Result ExampleBackend::unbind(const osb::sdk::UnbindRequest& request) {
  const Plan plan = plan_of(request.plan_id, request.instance_state);
  if (requires_async(plan, true) && !request.accepts_incomplete) {
    return Result::async_required(std::string(async_required_message));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  host_.info("unbinding " + request.binding_id + " from instance " + request.instance_id);
  if (plan != Plan::sync && request.accepts_incomplete) {
    return Result::in_progress(new_token_locked(OperationKind::unbind));
  }
  bindings_.erase(request.binding_id);
  return Result::ok();
}

Result ExampleBackend::poll(const osb::sdk::PollRequest& request) {
  const std::optional<Token> token = parse_token(request.operation);
  if (!token || token->kind != request.kind) {
    return PollResult::failed("unknown operation \"" + request.operation + "\"");
  }
  if (now_ms() < token->deadline_ms) {
    return PollResult::in_progress(std::string(osb::sdk::to_string(request.kind)) + " in progress");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  switch (request.kind) {
    case OperationKind::provision:
    case OperationKind::update: {
      // The token names the size the operation set: this process may not be the one that
      // started it (a restart, another replica), and what it keeps in memory may be older.
      const Plan plan = plan_of(request.plan_id, request.instance_state);
      if (token->size) {
        instances_.insert_or_assign(request.instance_id, Instance{plan, *token->size});
      } else {
        instances_.try_emplace(request.instance_id, Instance{plan, default_size});
      }
      return PollResult::succeeded(instance_result_locked(request.instance_id));
    }
    case OperationKind::deprovision:
      if (settings_.fail_deprovision) {
        return PollResult::failed("configured to fail deprovisioning");
      }
      remove_instance_locked(request.instance_id);
      return PollResult::succeeded();
    case OperationKind::bind:
      return PollResult::succeeded(binding_result_locked(request.instance_id, request.binding_id));
    case OperationKind::unbind:
      bindings_.erase(request.binding_id);
      return PollResult::succeeded();
  }
  return PollResult::failed("unknown operation kind");
}

nlohmann::json ExampleBackend::instance_result_locked(const std::string& instance_id) {
  const Instance& instance = instances_[instance_id];
  return {{"dashboard_url", "https://example.invalid/dashboard/" + hash_hex(instance_id)},
          {"instance_state", {{"plan", plan_name(instance.plan)}, {"size", instance.size}}}};
}

nlohmann::json ExampleBackend::binding_result_locked(const std::string& instance_id,
                                                     const std::string& binding_id) {
  auto it = bindings_.find(binding_id);
  if (it == bindings_.end() || it->second.instance_id != instance_id) {
    Binding binding{instance_id, "u" + hash_hex(binding_id), random_password_locked()};
    it = bindings_.insert_or_assign(binding_id, std::move(binding)).first;
  }
  const Binding& binding = it->second;
  const std::string uri = "example://" + binding.username + ":" + binding.password +
                          "@example.invalid/" + hash_hex(instance_id);
  return {{"credentials",
           {{"username", binding.username}, {"password", binding.password}, {"uri", uri}}},
          {"binding_state", {{"username", binding.username}}}};
}

void ExampleBackend::remove_instance_locked(const std::string& instance_id) {
  instances_.erase(instance_id);
  for (auto it = bindings_.begin(); it != bindings_.end();) {
    it = it->second.instance_id == instance_id ? bindings_.erase(it) : std::next(it);
  }
}

std::string ExampleBackend::new_token_locked(OperationKind kind, std::optional<std::int64_t> size) {
  char nonce[9];
  std::snprintf(nonce, sizeof nonce, "%08x", static_cast<unsigned>(random_()));
  return std::string(osb::sdk::to_string(kind)) + ":" +
         std::to_string(now_ms() + settings_.async_duration.count()) + ":" + nonce +
         (size ? ":" + std::to_string(*size) : std::string());
}

std::string ExampleBackend::random_password_locked() {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::string password(32, ' ');
  for (char& c : password) {
    c = alphabet[pick(random_)];
  }
  return password;
}

Result ExampleBackend::usage(const osb::sdk::UsageRequest& request) {
  std::int64_t size = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = instances_.find(request.instance_id); it != instances_.end()) {
      size = it->second.size;
    }
  }
  if (size == 0 && request.instance_state.is_object() &&
      request.instance_state.value("size", nlohmann::json()).is_number_integer()) {
    size = request.instance_state["size"].get<std::int64_t>();  // known from before a restart
  }
  if (size == 0) {
    return Result::ok();
  }
  constexpr std::int64_t gib = std::int64_t{1} << 30;
  nlohmann::json body = {{"bytes", size * gib},
                         {"quota_bytes", settings_.size_quota * gib},
                         {"over_quota", size > settings_.size_quota}};
  if (size > settings_.size_quota) {
    body["description"] = "size " + std::to_string(size) + " is over the quota of " +
                          std::to_string(settings_.size_quota) +
                          ": read-only for its bindings until it is back under";
  }
  return Result::ok(std::move(body));
}

}  // namespace osb_example
