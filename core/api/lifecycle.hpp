#pragma once

#include <array>
#include <atomic>
#include <coroutine>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <variant>

#include <nlohmann/json.hpp>

#include "api/reply.hpp"
#include "catalog/catalogs.hpp"
#include "catalog/registry.hpp"
#include "state/store.hpp"
#include "util/mutex.hpp"
#include "util/task.hpp"

namespace osbd::api {

/// A request routed to one OSB operation, with its path ids already decoded and validated.
struct ApiRequest {
  std::map<std::string, std::string> query;  ///< decoded query parameters
  std::string body;                          ///< raw body text
  nlohmann::json originating_identity;       ///< {"platform", "value"} decoded, null if absent
  /// The catalogs the request was routed with (kept alive for the request's duration), and the
  /// catalog it came through: provision, update and bind accept only the plans it shows. With
  /// no view, every loaded plan is accepted.
  std::shared_ptr<const catalog::Catalogs> catalogs;
  const catalog::View* view = nullptr;  ///< points into catalogs
};

/// The plans a request may name: its catalog's selection, or every loaded plan.
struct PlanLookup {
  std::shared_ptr<const catalog::Registry> registry;  ///< kept alive while plans are used
  const catalog::View* view = nullptr;                ///< the request's catalog, if any
  /// The plan, or nullptr when the request's catalog does not show it.
  const catalog::PlanEntry* find(const std::string& service_id, const std::string& plan_id) const;
  /// True when the request's catalog shows the service.
  bool has_service(const std::string& service_id) const;
};

/// Behaviour switches of the OSB layer.
struct LifecycleOptions {
  /// Accept provision requests without organization_guid/space_guid when context is present.
  bool accept_context_only = false;
  /// This process among the replicas sharing the store: the owner of the operations it starts.
  std::string replica_id = "local";
  /// A replica whose last heartbeat is older than this has its unfinished operations taken.
  int64_t lease_ms = 10000;
  /// Other replicas write to the store too (state.backend postgresql): an operation may be taken
  /// over while this process still runs it, so ownership is read again before a synchronous end
  /// is acknowledged.
  bool shared_store = false;
};

/// Outcome of an operation step, normalised from a synchronous call or a poll.
struct Outcome {
  state::OperationState state = state::OperationState::failed;  ///< where the operation is
  nlohmann::json body = nlohmann::json::object();               ///< plugin result body
  std::string description;                                      ///< user-facing text
};

/// Runs a function later on a worker thread (the worker pool's post); see Lifecycle.
using Post = std::function<void(std::function<void()>)>;

/// The OSB v2.17 instance and binding lifecycle over the state store and the plugins. Every
/// method runs on a worker thread (plugin calls block it) and records each accepted change in the
/// store before it returns the reply that promises it. Provision, deprovision, bind and unbind
/// are coroutines: their writes are queued, and committed together by one flush that post runs
/// after the work already waiting for the pool, so each batch gathers what the workers produced
/// meanwhile; the worker threads serve other requests until a write is durable, and post
/// continues its request then.
class Lifecycle {
 public:
  /// The registry is shared: set_registry() swaps it while requests still use the old one.
  /// Without post, a write commits at once and its request continues on the committing thread.
  Lifecycle(state::Store& store, std::shared_ptr<const catalog::Registry> registry,
            LifecycleOptions options, Post post = {});

  /// PUT /v2/service_instances/:instance_id
  util::Task<ApiReply> provision(std::string instance_id, ApiRequest request);
  /// PATCH /v2/service_instances/:instance_id
  ApiReply update(const std::string& instance_id, const ApiRequest& request);
  /// DELETE /v2/service_instances/:instance_id
  util::Task<ApiReply> deprovision(std::string instance_id, ApiRequest request);
  /// GET /v2/service_instances/:instance_id
  ApiReply fetch_instance(const std::string& instance_id, const ApiRequest& request);
  /// GET /v2/service_instances/:instance_id/last_operation
  ApiReply instance_last_operation(const std::string& instance_id, const ApiRequest& request);
  /// PUT /v2/service_instances/:instance_id/service_bindings/:binding_id
  util::Task<ApiReply> bind(std::string instance_id, std::string binding_id, ApiRequest request);
  /// DELETE /v2/service_instances/:instance_id/service_bindings/:binding_id
  util::Task<ApiReply> unbind(std::string instance_id, std::string binding_id, ApiRequest request);
  /// GET /v2/service_instances/:instance_id/service_bindings/:binding_id
  ApiReply fetch_binding(const std::string& instance_id, const std::string& binding_id,
                         const ApiRequest& request);
  /// GET /v2/service_instances/:instance_id/service_bindings/:binding_id/last_operation
  ApiReply binding_last_operation(const std::string& instance_id, const std::string& binding_id,
                                  const ApiRequest& request);

  /// Returns once everything the store committed so far is durable: a reply that is not marked
  /// durable waits here before it is sent (see ApiReply::durable).
  void wait_durable() { store_.wait_durable(); }

  /// The registry requests started now use.
  std::shared_ptr<const catalog::Registry> registry() const { return registry_.load(); }
  /// Serves the plugins of registry from now on; requests already running keep theirs.
  void set_registry(std::shared_ptr<const catalog::Registry> registry) {
    registry_.store(std::move(registry));
  }

  /// The options it runs with (this replica's id and lease among them).
  const LifecycleOptions& options() const noexcept { return options_; }

  /// The store behind the lifecycle, for the operator's endpoints (readiness, metrics).
  state::Store& store() noexcept { return store_; }

  /// After a restart: fails every operation that cannot be resumed (synchronous ones, whose
  /// platform got no answer, and asynchronous ones the plugin never acknowledged), so that
  /// nothing stays in progress forever. Only operations this replica owns (its previous run's)
  /// or can take (their owner's lease expired) are touched. Returns how many it failed.
  int recover();

  /// Polls every acknowledged asynchronous operation once, so operations finish (and deadlines
  /// apply) even when the platform does not poll, including those resumed after a restart. Also
  /// fails the operations that no request of this process runs any more: those whose final write
  /// failed (a full disk, a lost database), which would otherwise stay in progress and hold their
  /// instance (422 to every request) until a restart. Their outcome is what recover() gives: a
  /// provision leaves a failed instance, whose deprovision then reaches the plugin. Returns how
  /// many reached a final state; throws StoreError while the store cannot write. Operations of
  /// other replicas are left to them while their heartbeats are fresh, and taken over (polled,
  /// or failed when they cannot be resumed) once their lease has expired.
  int poll_unfinished() OSBD_EXCLUDES(in_flight_mutex_);

  /// What the plugin says the instance uses (ABI 1.1 usage call), reduced to the documented
  /// fields with their types checked: {bytes, objects, quota_bytes, quota_objects, over_quota,
  /// description}. Empty when the plugin cannot tell, is not loaded or fails (logged).
  nlohmann::json instance_usage(const state::InstanceRecord& instance) const;

 private:
  // co_await write(f): runs f() (calls of the store's write methods) as one write of a group
  // commit without holding the worker thread, and resumes once it is durable with what f()
  // returned or threw. co_await write_intent(f) resumes once it is committed: for the write that
  // claims a resource before its plugin call, which then overlaps the sync (see
  // state::AsyncWrite::intent_only); the write that ends the request is durable, and so is the
  // intent before it.
  template <typename F>
  class StoreWrite final : public state::AsyncWrite {
   public:
    using Result = std::invoke_result_t<F&>;
    StoreWrite(Lifecycle& lifecycle, F f, bool intent)
        : lifecycle_(lifecycle), f_(std::move(f)), intent_(intent) {}
    bool intent_only() const override { return intent_; }
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept {
      handle_ = h;
      // May finish, resume the coroutine elsewhere and so destroy this object before it returns.
      lifecycle_.queue_write(*this);
    }
    Result await_resume() {
      if (error_) {
        std::rethrow_exception(error_);
      }
      if constexpr (!std::is_void_v<Result>) {
        return std::move(*result_);
      }
    }
    void run() override {
      if constexpr (std::is_void_v<Result>) {
        f_();
      } else {
        result_.emplace(f_());
      }
    }
    void done(std::exception_ptr error) noexcept override {
      error_ = std::move(error);
      lifecycle_.resume(handle_);
    }

   private:
    struct None {};
    Lifecycle& lifecycle_;
    F f_;
    bool intent_;
    std::conditional_t<std::is_void_v<Result>, None, std::optional<Result>> result_;
    std::exception_ptr error_;
    std::coroutine_handle<> handle_;
  };

  template <typename F>
  StoreWrite<F> write(F f) {
    return StoreWrite<F>(*this, std::move(f), false);
  }
  template <typename F>
  StoreWrite<F> write_intent(F f) {
    return StoreWrite<F>(*this, std::move(f), true);
  }
  // Marks an operation as run by a request of this process for its lifetime: from before its
  // intent is written until after its final write, whether that succeeded or threw.
  class InFlight {
   public:
    InFlight(Lifecycle& lifecycle, std::string operation_id);
    ~InFlight();
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

   private:
    Lifecycle& lifecycle_;
    std::string operation_id_;
  };
  bool in_flight(const std::string& operation_id) const OSBD_EXCLUDES(in_flight_mutex_);
  // Fails listed (an unacknowledged operation) when no request has run it for a whole sweep
  // interval; true if it did. Otherwise adds it to abandoned when no request runs it now.
  bool settle_if_abandoned(state::OperationRecord& listed,
                           std::unordered_set<std::string>& abandoned)
      OSBD_EXCLUDES(in_flight_mutex_);
  // True when this replica owns op, taking it (in the store) from a replica whose lease expired;
  // op.owner is updated. Only the owner polls or settles an operation. live, when given, lists
  // the replicas known to be alive: their operations are left alone without a write.
  bool owns(state::OperationRecord& op, const std::unordered_set<std::string>* live = nullptr);
  // After a synchronous end was written: an error reply when another replica took op over while
  // this one ran it (its heartbeats stopped for the lease), so that nothing the store may show
  // otherwise is acknowledged; nullopt when op is still this replica's.
  std::optional<ApiReply> taken_over(const state::OperationRecord& op);
  // The replicas whose heartbeat is younger than the lease, by id.
  std::unordered_set<std::string> live_replicas() const;
  // Settles op, just taken from a replica that stopped: polled when the plugin acknowledged it,
  // failed otherwise. True when it reached a final state.
  bool settle_taken_over(state::OperationRecord& op, const std::string& previous_owner);
  // Fails op (not acknowledged by the plugin) with description, settling its resource.
  void fail_unfinished(state::OperationRecord& op, const std::string& description);
  void resume(std::coroutine_handle<> h) noexcept;
  // Queues write and makes sure a flush of the queue is posted.
  void queue_write(state::AsyncWrite& write) noexcept;

  // The lock that serializes the changes of one instance's operations (a poll that ends one, a
  // deprovision or unbind that stops one).
  util::Mutex& stripe(const std::string& key);
  PlanLookup plans_for(const ApiRequest& request) const;
  plugin_host::PluginSharedPtr plugin_for(const std::string& name) const;

  void complete_instance(state::InstanceRecord instance, state::OperationRecord op,
                         const Outcome& outcome);
  void complete_binding(state::BindingRecord binding, state::OperationRecord op,
                        const Outcome& outcome);
  // The records as the outcome leaves them (how complete_* end an operation); true when the
  // write removes the resource rather than rewriting it.
  static bool settle(state::InstanceRecord& instance, state::OperationRecord& op,
                     const Outcome& outcome);
  static bool settle(state::BindingRecord& binding, state::OperationRecord& op,
                     const Outcome& outcome);
  // The write that forgets a resource whose create the plugin refused (it changed nothing).
  void discard(const state::InstanceRecord& instance, const state::OperationRecord& op);
  void discard(const state::BindingRecord& binding, const state::OperationRecord& op);
  // The write of settled records.
  void write_settled(const state::InstanceRecord& instance, const state::OperationRecord& op,
                     bool remove);
  void write_settled(const state::BindingRecord& binding, const state::OperationRecord& op,
                     bool remove);
  // Polls the plugin once for an acknowledged asynchronous operation (instance or binding) and
  // records its end; op is refreshed from the store.
  void poll_operation(state::OperationRecord& op);
  ApiReply last_operation_reply(const state::OperationRecord& op, bool resource_exists) const;

  // The end of a provision or bind (Record: its instance or binding) after its plugin call:
  // records what the result says (the plugin's operation token, the settled resource, or
  // nothing when the plugin refused the request) and gives the reply (202, 201 or the failure).
  template <typename Record>
  util::Task<ApiReply> end_create(Record& resource, state::OperationRecord& op,
                                  const plugin_host::CallResult& result, bool async_ok);
  // The end of a deprovision or unbind after its plugin call: records the token or the
  // settled resource and gives the reply (202, 200 or the failure).
  template <typename Record>
  util::Task<ApiReply> end_removal(Record& resource, state::OperationRecord& op,
                                   const plugin_host::CallResult& result, bool async_ok);
  // The write of a plugin's operation token (an accepted asynchronous operation).
  util::Task<void> record_plugin_operation(state::OperationRecord& op,
                                           const plugin_host::CallResult& result);
  // A provision whose instance exists already (or is being removed).
  ApiReply repeated_provision(const std::string& instance_id, const nlohmann::json& attributes,
                              bool async_ok);
  // A bind whose begin found no instance ready, another operation, or the binding existing.
  ApiReply repeated_bind(state::BeginResult began, const state::InstanceRecord& instance,
                         const std::string& binding_id, const nlohmann::json& attributes,
                         bool async_ok);
  // Why a bind may not rotate predecessor (empty: no rotation), or nullopt.
  std::optional<ApiReply> refuse_rotation(const catalog::PlanEntry& plan,
                                          const std::string& instance_id,
                                          const std::string& binding_id,
                                          const std::string& predecessor);
  // The begin of a deprovision or unbind (the resource marked deleting, the intent written
  // before the plugin call): nullopt once started, otherwise the reply (202 joining a running
  // removal, 410, 422).
  util::Task<std::optional<ApiReply>> begin_deprovision(const std::string& instance_id,
                                                        state::OperationRecord& op);
  util::Task<std::optional<ApiReply>> begin_unbind(const std::string& instance_id,
                                                   const std::string& binding_id,
                                                   state::OperationRecord& op);
  // A deprovision or unbind that found another operation running: 202 joining a running
  // asynchronous removal, the begin of this one in place of a stopped asynchronous create
  // (OSB: a DELETE during an asynchronous create stops it and cleans up), or busy.
  std::variant<state::BeginResult, ApiReply> deprovision_busy(const std::string& instance_id,
                                                              state::OperationRecord& op);
  std::variant<state::BeginResult, ApiReply> unbind_busy(const std::string& instance_id,
                                                         const std::string& binding_id,
                                                         state::OperationRecord& op);
  // The update's begin: nullopt once started; 202 joining the same asynchronous update, or a
  // refusal, otherwise.
  std::optional<ApiReply> begin_update(const state::InstanceRecord& instance,
                                       state::OperationRecord& op, const nlohmann::json& target);
  // The update's end after its plugin call.
  ApiReply end_update(state::InstanceRecord& instance, state::OperationRecord& op,
                      const plugin_host::CallResult& result);

  state::Store& store_;
  std::atomic<std::shared_ptr<const catalog::Registry>> registry_;
  LifecycleOptions options_;
  Post post_;
  std::atomic<bool> flush_posted_{false};
  std::array<util::Mutex, 64> stripes_;
  mutable util::Mutex in_flight_mutex_;
  // The operations a request of this process runs now.
  std::unordered_set<std::string> in_flight_ OSBD_GUARDED_BY(in_flight_mutex_);
  // The operations the last sweep found in progress with no request.
  std::unordered_set<std::string> abandoned_ OSBD_GUARDED_BY(in_flight_mutex_);
};

}  // namespace osbd::api
