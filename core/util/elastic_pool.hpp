#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <thread>

#include "util/mutex.hpp"

namespace osbd::util {

/// Threads that run tasks at once, each on a thread of its own: an idle thread takes a task, and
/// when none is idle a new thread starts, so that a task that never returns never delays another.
/// Threads stay for the next tasks (starting one per task costs more than the work of a fast
/// plugin call). Their number is the peak of tasks running at once; callers bound that (osbd's
/// max_concurrent_calls). The threads are detached and share the pool's state: destroying the
/// pool ends the idle ones, and a task still running (a call stuck in a plugin) keeps its thread
/// until it returns, even when its task releases the last reference to the pool's owner.
class ElasticPool {
 public:
  ElasticPool() : state_(std::make_shared<State>()) {}
  ~ElasticPool() {
    {
      MutexLock lock(state_->mu);
      state_->stopping = true;
    }
    state_->work.notify_all();
  }
  ElasticPool(const ElasticPool&) = delete;
  ElasticPool& operator=(const ElasticPool&) = delete;

  /// Runs task on an idle thread, or on a new one. Throws std::system_error when no thread can
  /// be started.
  void run(std::function<void()> task) {
    State& s = *state_;
    MutexLock lock(s.mu);
    s.tasks.push_back(std::move(task));
    if (s.idle < s.tasks.size()) {
      std::thread([state = state_] { serve(*state); }).detach();
    }
    s.work.notify_one();
  }

 private:
  struct State {
    Mutex mu;
    std::condition_variable work;
    std::deque<std::function<void()>> tasks OSBD_GUARDED_BY(mu);
    std::size_t idle OSBD_GUARDED_BY(mu) = 0;  // threads waiting for a task
    bool stopping OSBD_GUARDED_BY(mu) = false;
  };

  static void serve(State& s) OSBD_EXCLUDES(s.mu) {
    UniqueLock lock(s.mu);
    for (;;) {
      ++s.idle;
      while (s.tasks.empty() && !s.stopping) {
        lock.wait(s.work);
      }
      --s.idle;
      if (s.tasks.empty()) {
        return;  // the pool is gone
      }
      std::function<void()> task = std::move(s.tasks.front());
      s.tasks.pop_front();
      lock.unlock();
      task();
      task = nullptr;  // whatever the task held goes now, outside the lock
      lock.lock();
    }
  }

  std::shared_ptr<State> state_;
};

}  // namespace osbd::util
