// util::Task: values, void, exceptions and nesting, and a task resumed on another thread (as the
// lifecycle's are, when their write commits on the thread that leads the batch).

#include <gtest/gtest.h>

#include <coroutine>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "util/task.hpp"

namespace osbd::util {
namespace {

Task<int> answer() {
  co_return 41;
}
Task<void> nothing(int& calls) {
  ++calls;
  co_return;
}
Task<std::string> failing() {
  throw std::runtime_error("refused");
  co_return std::string();
}
Task<int> nested(int& calls) {
  const int a = co_await answer();
  co_await nothing(calls);
  co_return a + 1;
}

// Runs task to its end from a plain function: the result, or the text of what it threw.
template <typename T>
Detached drive(Task<T> task, std::optional<T>& out, std::string& error) {
  try {
    out = co_await std::move(task);
  } catch (const std::exception& e) {
    error = e.what();
  }
}

TEST(Task, ReturnsItsValueAndRunsOnlyWhenAwaited) {
  int calls = 0;
  Task<int> task = nested(calls);
  EXPECT_EQ(calls, 0);  // lazy: nothing ran yet
  std::optional<int> out;
  std::string error;
  drive(std::move(task), out, error);
  EXPECT_EQ(out, 42);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(error.empty());
}

TEST(Task, PassesOnWhatItsBodyThrew) {
  std::optional<std::string> out;
  std::string error;
  drive(failing(), out, error);
  EXPECT_FALSE(out.has_value());
  EXPECT_EQ(error, "refused");
}

// Suspends, and is resumed by another thread.
struct ResumeOnAnotherThread {
  std::thread& thread;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    // The new thread may finish the coroutine, and free this awaiter, before the assignment.
    std::thread& out = thread;
    out = std::thread([h] { h.resume(); });
  }
  std::thread::id await_resume() const noexcept { return std::this_thread::get_id(); }
};

Task<std::thread::id> hop(std::thread& thread) {
  co_return co_await ResumeOnAnotherThread{thread};
}

TEST(Task, ContinuesOnTheThreadThatResumedIt) {
  std::thread thread;
  std::optional<std::thread::id> resumed_on;
  std::string error;
  drive(hop(thread), resumed_on, error);
  thread.join();
  ASSERT_TRUE(resumed_on.has_value());
  EXPECT_NE(*resumed_on, std::this_thread::get_id());
}

}  // namespace
}  // namespace osbd::util
