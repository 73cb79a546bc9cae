#include "osb/plugins/periodic.hpp"

#include <utility>

namespace osb::plugins {

PeriodicTask::PeriodicTask(std::chrono::milliseconds interval, std::function<void()> pass)
    : interval_(interval), pass_(std::move(pass)), thread_([this] { run(); }) {}

PeriodicTask::~PeriodicTask() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wakeup_.notify_all();
  thread_.join();
}

void PeriodicTask::wake() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    woken_ = true;
  }
  wakeup_.notify_all();
}

void PeriodicTask::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    lock.unlock();
    try {
      pass_();
    } catch (...) {  // NOLINT(bugprone-empty-catch): nothing may end the thread
    }
    lock.lock();
    wakeup_.wait_for(lock, interval_, [this] { return stop_ || woken_; });
    woken_ = false;
  }
}

}  // namespace osb::plugins
