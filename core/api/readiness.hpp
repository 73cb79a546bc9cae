#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <thread>

#include "api/reply.hpp"
#include "util/mutex.hpp"

namespace osbd::api {

/// /readyz from state kept current by a thread of its own: the answer never waits behind the
/// worker pool, a plugin call or a slow store. The check runs every interval; an answer older
/// than kStale (the check itself is stuck) is "not ready".
class Readiness {
 public:
  /// A check that has not finished for this long makes the broker not ready.
  static constexpr std::chrono::seconds kStale{5};

  /// Runs check once now, then every interval on its own thread until destroyed.
  explicit Readiness(std::function<ApiReply()> check,
                     std::chrono::milliseconds interval = std::chrono::milliseconds(250));
  ~Readiness();
  Readiness(const Readiness&) = delete;
  Readiness& operator=(const Readiness&) = delete;

  /// The last check's answer, or 503 when it is stale.
  ApiReply current() const OSBD_EXCLUDES(mu_);

 private:
  void run() OSBD_EXCLUDES(mu_);

  const std::function<ApiReply()> check_;
  const std::chrono::milliseconds interval_;
  mutable util::Mutex mu_;
  std::condition_variable wake_;
  ApiReply last_ OSBD_GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point checked_at_ OSBD_GUARDED_BY(mu_);
  bool stopping_ OSBD_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace osbd::api
