#include "plugin_host/lifetimes.hpp"

namespace osbd::plugin_host {

uint64_t Lifetimes::add() {
  util::MutexLock lock(mu_);
  const uint64_t serial = next_++;
  open_.insert(serial);
  return serial;
}

void Lifetimes::remove(uint64_t serial) {
  {
    util::MutexLock lock(mu_);
    open_.erase(serial);
  }
  closed_.notify_all();
}

bool Lifetimes::any_open(const std::vector<uint64_t>& serials) const {
  for (const uint64_t serial : serials) {
    if (open_.count(serial) != 0) {
      return true;
    }
  }
  return false;
}

bool Lifetimes::wait_closed(const std::vector<uint64_t>& serials,
                            std::chrono::steady_clock::time_point deadline) {
  util::UniqueLock lock(mu_);
  while (any_open(serials)) {
    if (!lock.wait_until(closed_, deadline)) {
      return !any_open(serials);
    }
  }
  return true;
}

Lifetimes& lifetimes() {
  // Never destroyed: plugins held by other static objects may leave during exit.
  static auto* registry = new Lifetimes;
  return *registry;
}

}  // namespace osbd::plugin_host
