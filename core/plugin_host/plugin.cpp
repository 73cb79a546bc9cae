#include "plugin_host/plugin.hpp"

#include <chrono>
#include <condition_variable>

#include <boost/dll/shared_library.hpp>

#include "metrics/metrics.hpp"
#include "plugin_host/backend.hpp"
#include "plugin_host/host_context.hpp"
#include "plugin_host/in_process.hpp"
#include "plugin_host/lifetimes.hpp"
#include "util/mutex.hpp"

namespace osbd::plugin_host {

const char* to_string(Operation op) noexcept {
  switch (op) {
    case Operation::get_catalog:
      return "get_catalog";
    case Operation::provision:
      return "provision";
    case Operation::deprovision:
      return "deprovision";
    case Operation::update:
      return "update";
    case Operation::bind:
      return "bind";
    case Operation::unbind:
      return "unbind";
    case Operation::poll:
      return "poll";
    case Operation::usage:
      return "usage";
  }
  return "?";
}

std::optional<Operation> operation_from_string(std::string_view text) noexcept {
  for (const Operation op :
       {Operation::get_catalog, Operation::provision, Operation::deprovision, Operation::update,
        Operation::bind, Operation::unbind, Operation::poll, Operation::usage}) {
    if (text == to_string(op)) {
      return op;
    }
  }
  return std::nullopt;
}

Backend::Backend() : serial_(lifetimes().add()) {}

Backend::~Backend() {
  lifetimes().remove(serial_);
}

/// max_concurrent_calls: a counting semaphore whose waits are bounded, plus the call counters.
class Plugin::Limiter : public std::enable_shared_from_this<Limiter> {
 public:
  explicit Limiter(unsigned capacity) : capacity_(capacity) {}

  /// A slot, or nullptr when none freed up by deadline.
  CallSlot acquire(Deadline deadline) OSBD_EXCLUDES(mu_) {
    util::UniqueLock lock(mu_);
    while (in_flight_ >= capacity_) {
      if (!lock.wait_until(freed_, deadline) && in_flight_ >= capacity_) {
        return nullptr;
      }
    }
    ++in_flight_;
    // The slot's deleter gives the place back, from whichever thread lets go of it last; it
    // keeps the Limiter alive for a call stuck in an in-process plugin past the Plugin's end.
    return CallSlot(this, [self = shared_from_this()](void*) { self->release(); });
  }

  void count_timeout() OSBD_EXCLUDES(mu_) {
    util::MutexLock lock(mu_);
    ++timeouts_;
  }

  CallCounters counters() OSBD_EXCLUDES(mu_) {
    util::MutexLock lock(mu_);
    return CallCounters{in_flight_, timeouts_};
  }

 private:
  void release() OSBD_EXCLUDES(mu_) {
    {
      util::MutexLock lock(mu_);
      --in_flight_;
    }
    freed_.notify_one();
  }

  const unsigned capacity_;
  util::Mutex mu_;
  std::condition_variable freed_;
  std::uint64_t in_flight_ OSBD_GUARDED_BY(mu_) = 0;
  std::uint64_t timeouts_ OSBD_GUARDED_BY(mu_) = 0;
};

Plugin::Plugin(std::string file, PluginInfo info, std::shared_ptr<const Backend> backend,
               const PluginSettings& settings, std::string signer)
    : file_(std::move(file)),
      info_(std::move(info)),
      backend_(std::move(backend)),
      settings_(settings),
      signer_(std::move(signer)),
      limiter_(std::make_shared<Limiter>(settings.max_concurrent_calls)) {}

Plugin::Plugin(std::string file, std::shared_ptr<boost::dll::shared_library> library,
               const osb_plugin_v1* table, std::unique_ptr<HostContextData> host,
               osb_backend* backend)
    : Plugin(std::move(file), info_of(*table),
             std::make_shared<const InProcessBackend>(std::move(library), table, std::move(host),
                                                      backend),
             settings_of(nlohmann::json::object(), Isolation::in_process)) {}

Plugin::~Plugin() = default;

std::string Plugin::abi_version() const {
  return std::to_string(info_.abi_major) + "." + std::to_string(info_.abi_minor);
}

uint64_t Plugin::serial() const noexcept {
  return backend_->serial();
}

bool Plugin::supports(Operation op) const noexcept {
  return backend_->supports(op);
}

HostStatus Plugin::host_status() const {
  return backend_->status();
}

CallCounters Plugin::counters() const {
  return limiter_->counters();
}

CallResult Plugin::call(Operation op, const nlohmann::json& request) const {
  const auto started = std::chrono::steady_clock::now();
  CallResult result = call_limited(op, request);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  const bool failed = result.status != OSB_STATUS_OK && result.status != OSB_STATUS_IN_PROGRESS;
  metrics::global().observe_plugin_call(info_.name, to_string(op), took.count(), failed);
  return result;
}

CallResult Plugin::call_limited(Operation op, const nlohmann::json& request) const {
  if (!supports(op)) {
    CallResult none;
    none.status = OSB_STATUS_OK;
    return none;
  }
  // Strict: a plugin sees exactly the bytes the platform sent, or no call at all. Replacing
  // invalid UTF-8 would make distinct ids one id at the plugin.
  std::string text;
  try {
    text = request.dump();
  } catch (const nlohmann::json::type_error&) {
    CallResult out;
    out.status = OSB_STATUS_BAD_REQUEST;
    out.description = "the request holds text that is not valid UTF-8";
    return out;
  }
  const std::string what = "plugin " + info_.name + " " + to_string(op);
  const auto now = std::chrono::steady_clock::now();
  CallSlot slot = limiter_->acquire(now + std::chrono::milliseconds(settings_.queue_timeout_ms));
  if (!slot) {
    CallResult busy;
    busy.status = kStatusUnavailable;
    busy.retry_after_seconds = 1;
    busy.description = what + ": " + std::to_string(settings_.max_concurrent_calls) +
                       " calls are in flight (max_concurrent_calls); retry later";
    return busy;
  }
  const Deadline deadline = now + std::chrono::seconds(settings_.call_timeout_seconds);
  CallResult result = backend_->call(op, std::move(text), deadline, std::move(slot), what);
  if (result.status == kStatusTimedOut) {
    limiter_->count_timeout();
  }
  return result;
}

}  // namespace osbd::plugin_host
