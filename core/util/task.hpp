#pragma once

// A minimal C++20 coroutine task: the request paths of the lifecycle are written as coroutines
// so that a worker thread is free while a request waits for its state to be durable.

#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

namespace osbd::util {

template <typename T>
class Task;

namespace detail {

// Resumes whoever awaited the task when it finishes (symmetric transfer: no stack growth).
struct FinalAwaiter {
  bool await_ready() const noexcept { return false; }
  template <typename Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) const noexcept {
    auto next = h.promise().continuation;
    return next ? next : std::noop_coroutine();
  }
  void await_resume() const noexcept {}
};

struct PromiseBase {
  std::coroutine_handle<> continuation;
  std::exception_ptr error;

  std::suspend_always initial_suspend() const noexcept { return {}; }
  FinalAwaiter final_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept { error = std::current_exception(); }
};

// What Task<T> and Task<void> share: the frame they own and how a coroutine awaits them.
template <typename Promise>
class TaskBase {
 public:
  TaskBase(TaskBase&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  TaskBase& operator=(TaskBase&&) = delete;
  TaskBase(const TaskBase&) = delete;
  ~TaskBase() {
    if (handle_) {
      handle_.destroy();
    }
  }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
    handle_.promise().continuation = awaiting;
    return handle_;
  }

 protected:
  explicit TaskBase(std::coroutine_handle<Promise> h) noexcept : handle_(h) {}
  // The finished coroutine's promise; rethrows what its body threw.
  Promise& result() const {
    if (handle_.promise().error) {
      std::rethrow_exception(handle_.promise().error);
    }
    return handle_.promise();
  }

 private:
  std::coroutine_handle<Promise> handle_;
};

template <typename T>
struct ValuePromise : PromiseBase {
  std::optional<T> value;
  Task<T> get_return_object() noexcept;
  template <typename U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
};

struct VoidPromise : PromiseBase {
  Task<void> get_return_object() noexcept;
  void return_void() const noexcept {}
};

}  // namespace detail

/// A lazily started coroutine producing a T (or throwing). It runs when awaited, and the awaiting
/// coroutine resumes on whatever thread the task finishes on. A task owns its frame.
template <typename T>
class [[nodiscard]] Task : public detail::TaskBase<detail::ValuePromise<T>> {
 public:
  using promise_type = detail::ValuePromise<T>;
  T await_resume() { return std::move(*this->result().value); }

 private:
  friend promise_type;
  using detail::TaskBase<promise_type>::TaskBase;
};

/// The void task.
template <>
class [[nodiscard]] Task<void> : public detail::TaskBase<detail::VoidPromise> {
 public:
  using promise_type = detail::VoidPromise;
  void await_resume() { result(); }

 private:
  friend promise_type;
  using detail::TaskBase<promise_type>::TaskBase;
};

template <typename T>
Task<T> detail::ValuePromise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<ValuePromise>::from_promise(*this));
}

inline Task<void> detail::VoidPromise::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<VoidPromise>::from_promise(*this));
}

/// A coroutine that starts at once and frees itself when it ends; nobody awaits it. Its body
/// must not throw (an escaping exception terminates).
struct Detached {
  struct promise_type {
    Detached get_return_object() const noexcept { return {}; }
    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }
  };
};

}  // namespace osbd::util
