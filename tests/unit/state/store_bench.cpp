// osbd_state_bench: write throughput of the SQLite store with 1, 8 and 32 writer threads.
//
// Each writer repeats what a synchronous provision does to the store: begin_create_instance, then
// finish_instance_operation, on ids of its own. The figures are printed only; nothing is asserted,
// because they depend on the disk's fsync latency.
//
// Usage: osbd_state_bench [seconds-per-run] [directory]
//   seconds-per-run  how long each run writes (default 3)
//   directory        where the data directories are made (default: the system temp dir); it must
//                    be on the disk being measured, not a tmpfs

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "state/store.hpp"

namespace {

using namespace osbd::state;

InstanceRecord make_instance(const std::string& id) {
  InstanceRecord r;
  r.id = id;
  r.service_id = "svc-1";
  r.plan_id = "plan-1";
  r.plugin = "example";
  r.parameters = {{"size", 3}};
  r.context = {{"platform", "kubernetes"}};
  r.created_at_ms = 1000;
  r.updated_at_ms = 1000;
  return r;
}

OperationRecord make_op(const std::string& id, const std::string& instance_id) {
  OperationRecord r;
  r.id = id;
  r.instance_id = instance_id;
  r.kind = OperationKind::provision;
  r.request = {{"service_id", "svc-1"}, {"plan_id", "plan-1"}};
  r.attempts = 1;
  r.created_at_ms = 1000;
  r.updated_at_ms = 1000;
  return r;
}

struct RunResult {
  double writes_per_s = 0;
  double provisions_per_s = 0;
};

RunResult run(const std::string& data_dir, int threads, double seconds) {
  auto store = open_sqlite_store(data_dir);
  std::atomic<bool> stop{false};
  std::atomic<long> writes{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> workers;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      try {
        for (long n = 0; !stop.load(std::memory_order_relaxed); ++n) {
          const std::string id = "i-" + std::to_string(t) + "-" + std::to_string(n);
          auto inst = make_instance(id);
          auto op = make_op("op-" + id, id);
          if (store->begin_create_instance(inst, op) != BeginResult::started) {
            failed = true;
            return;
          }
          inst.status = ResourceStatus::ready;
          op.state = OperationState::succeeded;
          store->finish_instance_operation(inst, op);
          writes.fetch_add(2, std::memory_order_relaxed);
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "writer %d: %s\n", t, e.what());
        failed = true;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& w : workers) {
    w.join();
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (failed) {
    std::fprintf(stderr, "a writer failed; figures are not meaningful\n");
    std::exit(1);
  }
  const double w = static_cast<double>(writes.load());
  return {w / elapsed, w / 2 / elapsed};
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  const std::filesystem::path base =
      argc > 2 ? std::filesystem::path(argv[2]) : std::filesystem::temp_directory_path();
  std::string tmpl = (base / "osbd-bench-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  std::printf("%8s %12s %14s\n", "writers", "writes/s", "provisions/s");
  for (const int threads : {1, 8, 32}) {
    const std::string dir = tmpl + "/run-" + std::to_string(threads);
    const RunResult r = run(dir, threads, seconds);
    std::printf("%8d %12.0f %14.0f\n", threads, r.writes_per_s, r.provisions_per_s);
    std::fflush(stdout);
  }
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
  return 0;
}
