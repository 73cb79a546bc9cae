#include "api/readiness.hpp"

namespace osbd::api {

Readiness::Readiness(std::function<ApiReply()> check, std::chrono::milliseconds interval)
    : check_(std::move(check)), interval_(interval) {
  ApiReply first = check_();
  {
    util::MutexLock lock(mu_);
    last_ = std::move(first);
    checked_at_ = std::chrono::steady_clock::now();
  }
  thread_ = std::thread([this] { run(); });
}

Readiness::~Readiness() {
  {
    util::MutexLock lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

ApiReply Readiness::current() const {
  util::MutexLock lock(mu_);
  const auto age = std::chrono::steady_clock::now() - checked_at_;
  if (age > kStale) {
    ApiReply stale;
    stale.status = 503;
    stale.body = {
        {"status", "not ready"},
        {"reason",
         "the readiness check has not finished for " +
             std::to_string(std::chrono::duration_cast<std::chrono::seconds>(age).count()) + " s"}};
    return stale;
  }
  return last_;
}

void Readiness::run() {
  util::UniqueLock lock(mu_);
  while (!stopping_) {
    lock.wait_for(wake_, interval_);
    if (stopping_) {
      break;
    }
    lock.unlock();
    ApiReply fresh = check_();
    lock.lock();
    last_ = std::move(fresh);
    checked_at_ = std::chrono::steady_clock::now();
  }
}

}  // namespace osbd::api
