// The Store interface, the same tests for every backend (SQLite and PostgreSQL; see
// store_backends.hpp): what the broker relies on must not drift between them. What only one
// backend has (files and modes, SQLite's migrations, a lost PostgreSQL connection) is tested in
// sqlite_store_test.cpp and at the end of this file.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <filesystem>
#include <functional>
#include <future>
#include <latch>
#include <limits>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "state/copy.hpp"
#include "state/secret_box.hpp"
#include "state/store.hpp"
#include "store_backends.hpp"
#include "test_support.hpp"

namespace osbd::state {
namespace {

using testing::Backend;
using testing::BackendParamName;
using ::testing::HasSubstr;
using testing::make_binding;
using testing::make_instance;
using testing::make_op;
using testing::make_owned_op;
using testing::make_replica;
using ::testing::Not;
using testing::StoreBackend;

// --- what the broker does, step by step ---------------------------------------------------------

/// Creates a ready, idle instance the way the broker does: begin, then finish successfully.
void create_ready_instance(Store& store, const std::string& id, int64_t at_ms = 1000) {
  auto inst = make_instance(id, at_ms);
  auto op = make_op("prov-" + id, OperationKind::provision, id, "", at_ms);
  ASSERT_EQ(store.begin_create_instance(inst, op), BeginResult::started);
  inst.status = ResourceStatus::ready;
  op.state = OperationState::succeeded;
  store.finish_instance_operation(inst, op);
}

/// Deprovisions an idle instance the way the broker does: begin, then delete.
void remove_instance(Store& store, const std::string& id, const std::string& op_id, int64_t at_ms) {
  auto op = make_op(op_id, OperationKind::deprovision, id, "", at_ms);
  ASSERT_EQ(store.begin_instance_operation(id, op, ResourceStatus::deleting, true),
            BeginResult::started);
  op.state = OperationState::succeeded;
  store.delete_instance(id, op);
}

/// Creates a ready, idle binding on a ready instance; its response holds the password "s3cret".
void create_ready_binding(Store& store, const std::string& iid, const std::string& bid,
                          int64_t at_ms = 2000) {
  auto b = make_binding(iid, bid, at_ms);
  auto op = make_op("bind-" + iid + "-" + bid, OperationKind::bind, iid, bid, at_ms);
  ASSERT_EQ(store.begin_create_binding(b, op), BeginResult::started);
  b.status = ResourceStatus::ready;
  b.response = {{"credentials", {{"password", "s3cret"}}}};
  op.state = OperationState::succeeded;
  store.finish_binding_operation(b, op);
}

/// Unbinds an idle binding the way the broker does: begin, then delete.
void remove_binding(Store& store, const std::string& iid, const std::string& bid,
                    const std::string& op_id, int64_t at_ms) {
  auto op = make_op(op_id, OperationKind::unbind, iid, bid, at_ms);
  ASSERT_EQ(store.begin_binding_operation(iid, bid, op, ResourceStatus::deleting),
            BeginResult::started);
  op.state = OperationState::succeeded;
  store.delete_binding(iid, bid, op);
}

/// Every binding of every instance, in list order.
std::vector<BindingRecord> all_bindings(Store& store) {
  std::vector<BindingRecord> out;
  for (const auto& instance : store.list_instances()) {
    for (auto& binding : store.list_bindings(instance.id)) {
      out.push_back(std::move(binding));
    }
  }
  return out;
}

/// Copies every record of from into to, as osbd --migrate-state does.
void copy_records(Store& from, Store& to) {
  to.import_records(from.list_instances(), all_bindings(from), from.list_operations());
}

/// Expects got, just read back after its create began with op_id at at_ms, to be in the state
/// every created resource starts in, with the plugin state it was sent with.
void expect_just_created(const ResourceLifecycle& got, const ResourceLifecycle& sent,
                         const std::string& op_id, int64_t at_ms) {
  EXPECT_EQ(got.plugin_state, sent.plugin_state);
  EXPECT_EQ(got.status, ResourceStatus::creating);
  EXPECT_EQ(got.active_operation, op_id);
  EXPECT_EQ(got.last_operation, op_id);
  EXPECT_EQ(got.created_at_ms, at_ms);
  EXPECT_EQ(got.updated_at_ms, at_ms);
}

// --- comparing whole records --------------------------------------------------------------------

void expect_same_lifecycle(const ResourceLifecycle& got, const ResourceLifecycle& want) {
  EXPECT_EQ(got.plugin_state, want.plugin_state);
  EXPECT_EQ(got.status, want.status);
  EXPECT_EQ(got.active_operation, want.active_operation);
  EXPECT_EQ(got.last_operation, want.last_operation);
  EXPECT_EQ(got.created_at_ms, want.created_at_ms);
  EXPECT_EQ(got.updated_at_ms, want.updated_at_ms);
}

void expect_same(const InstanceRecord& got, const InstanceRecord& want) {
  SCOPED_TRACE("instance " + want.id);
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.service_id, want.service_id);
  EXPECT_EQ(got.plan_id, want.plan_id);
  EXPECT_EQ(got.plugin, want.plugin);
  EXPECT_EQ(got.organization_guid, want.organization_guid);
  EXPECT_EQ(got.space_guid, want.space_guid);
  EXPECT_EQ(got.parameters, want.parameters);
  EXPECT_EQ(got.context, want.context);
  EXPECT_EQ(got.originating_identity, want.originating_identity);
  EXPECT_EQ(got.maintenance_info, want.maintenance_info);
  EXPECT_EQ(got.dashboard_url, want.dashboard_url);
  EXPECT_EQ(got.metadata, want.metadata);
  expect_same_lifecycle(got, want);
}

void expect_same(const BindingRecord& got, const BindingRecord& want) {
  SCOPED_TRACE("binding " + want.instance_id + "/" + want.id);
  EXPECT_EQ(got.instance_id, want.instance_id);
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.service_id, want.service_id);
  EXPECT_EQ(got.plan_id, want.plan_id);
  EXPECT_EQ(got.app_guid, want.app_guid);
  EXPECT_EQ(got.parameters, want.parameters);
  EXPECT_EQ(got.context, want.context);
  EXPECT_EQ(got.bind_resource, want.bind_resource);
  EXPECT_EQ(got.response, want.response);
  expect_same_lifecycle(got, want);
}

void expect_same(const OperationRecord& got, const OperationRecord& want) {
  SCOPED_TRACE("operation " + want.id);
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.instance_id, want.instance_id);
  EXPECT_EQ(got.binding_id, want.binding_id);
  EXPECT_EQ(got.kind, want.kind);
  EXPECT_EQ(got.state, want.state);
  EXPECT_EQ(got.description, want.description);
  EXPECT_EQ(got.async, want.async);
  EXPECT_EQ(got.plugin_operation, want.plugin_operation);
  EXPECT_EQ(got.request, want.request);
  EXPECT_EQ(got.attempts, want.attempts);
  EXPECT_EQ(got.created_at_ms, want.created_at_ms);
  EXPECT_EQ(got.updated_at_ms, want.updated_at_ms);
  EXPECT_EQ(got.deadline_ms, want.deadline_ms);
  EXPECT_EQ(got.owner, want.owner);
}

void expect_same(const ReplicaRecord& got, const ReplicaRecord& want) {
  SCOPED_TRACE("replica " + want.id);
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.host, want.host);
  EXPECT_EQ(got.version, want.version);
  EXPECT_EQ(got.listen, want.listen);
  EXPECT_EQ(got.plugins, want.plugins);
  EXPECT_EQ(got.catalog_fingerprint, want.catalog_fingerprint);
  EXPECT_EQ(got.started_at_ms, want.started_at_ms);
  EXPECT_EQ(got.heartbeat_at_ms, want.heartbeat_at_ms);
}

void expect_same(const UsageEvent& got, const UsageEvent& want) {
  SCOPED_TRACE("usage event of " + want.instance_id + " at " + std::to_string(want.at_ms));
  EXPECT_EQ(got.instance_id, want.instance_id);
  EXPECT_EQ(got.at_ms, want.at_ms);
  EXPECT_EQ(to_string(got.kind), std::string(to_string(want.kind)));
  EXPECT_EQ(got.service_id, want.service_id);
  EXPECT_EQ(got.plan_id, want.plan_id);
  EXPECT_EQ(got.organization, want.organization);
  EXPECT_EQ(got.space, want.space);
}

void expect_same(const UsageSample& got, const UsageSample& want) {
  SCOPED_TRACE("usage sample of " + want.instance_id + " at " + std::to_string(want.bucket_ms) +
               " for " + std::to_string(want.period_ms));
  EXPECT_EQ(got.instance_id, want.instance_id);
  EXPECT_EQ(got.bucket_ms, want.bucket_ms);
  EXPECT_EQ(got.period_ms, want.period_ms);
  EXPECT_EQ(got.bytes_avg, want.bytes_avg);
  EXPECT_EQ(got.bytes_max, want.bytes_max);
  EXPECT_EQ(got.objects_max, want.objects_max);
}

/// Expects two lists of records to hold the same records in the same order.
template <typename Record>
void expect_same_list(const std::vector<Record>& got, const std::vector<Record>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    expect_same(got[i], want[i]);
  }
}

// --- the fixture --------------------------------------------------------------------------------

/// A fresh store of the backend the parameter names.
class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    OSBD_MAKE_STORE_BACKEND(backend_, GetParam());
    store_ = backend_->open();
  }

  /// Destroys the store and opens it again on the same records: a restart.
  void reopen() {
    store_.reset();
    store_ = backend_->open();
  }

  /// Expects message (a StoreError's) to hold neither the backend's password nor extra, a secret
  /// the test put into a record.
  void expect_no_secret(const std::string& message, const std::string& extra = "") const {
    if (!backend_->secret().empty()) {
      EXPECT_THAT(message, Not(HasSubstr(backend_->secret())));
    }
    if (!extra.empty()) {
      EXPECT_THAT(message, Not(HasSubstr(extra)));
    }
  }

  void create_ready_instance(const std::string& id, int64_t at_ms = 1000) {
    state::create_ready_instance(*store_, id, at_ms);
  }
  void remove_instance(const std::string& id, const std::string& op_id, int64_t at_ms) {
    state::remove_instance(*store_, id, op_id, at_ms);
  }
  void create_ready_binding(const std::string& iid, const std::string& bid, int64_t at_ms = 2000) {
    state::create_ready_binding(*store_, iid, bid, at_ms);
  }

  // Declared first: destroyed after every store opened on it.
  std::unique_ptr<StoreBackend> backend_;
  std::unique_ptr<Store> store_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values(Backend::sqlite, Backend::postgres),
                         BackendParamName());

// --- opening and schema -------------------------------------------------------------------------

TEST_P(StoreTest, SchemaVersionIsStableAcrossReopenAndEachMigrationIsRecordedOnce) {
  const int version = store_->schema_version();
  EXPECT_GE(version, 1);
  EXPECT_NO_THROW(store_->check());
  reopen();
  EXPECT_EQ(store_->schema_version(), version);
  EXPECT_EQ(backend_->raw_query("SELECT COUNT(*) FROM schema_migrations"), std::to_string(version));
  EXPECT_EQ(backend_->raw_query("SELECT MAX(version) FROM schema_migrations"),
            std::to_string(version));
}

/// Opens n stores on backend with sealing from n threads at once, as replicas starting together
/// do; a store that failed to open is null, and errors says why.
std::vector<std::unique_ptr<Store>> open_together(StoreBackend& backend,
                                                  const SealingOptions& sealing, int n,
                                                  std::vector<std::string>& errors) {
  std::vector<std::unique_ptr<Store>> stores(static_cast<size_t>(n));
  errors.assign(static_cast<size_t>(n), "");
  std::latch start(n);
  std::vector<std::thread> threads;
  for (int t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      try {
        stores[static_cast<size_t>(t)] = backend.open(sealing);
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(t)] = e.what();
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  return stores;
}

TEST_P(StoreTest, NewerSchemaIsRefusedSayingSo) {
  store_.reset();
  backend_->raw_exec("INSERT INTO schema_migrations (version, applied_at_ms) VALUES (999, 0)");
  try {
    backend_->open();
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("newer"));
    EXPECT_THAT(e.what(), HasSubstr("999"));
    expect_no_secret(e.what());
  }
}

// --- instances ----------------------------------------------------------------------------------

TEST_P(StoreTest, CreateInstanceRoundTripsEveryField) {
  auto inst = make_instance("inst-1", 1234);
  inst.status = ResourceStatus::ready;  // the store records creating regardless
  inst.active_operation = "ignored";
  auto op = make_op("op-1", OperationKind::provision, "inst-1", "", 1234);
  op.description = "provisioning";
  op.plugin_operation = "tok-1";
  op.attempts = 2;
  op.async = true;
  op.request = {{"parameters", {{"x", nullptr}, {"y", 1.5}}}, {"unicode", "日本"}};
  op.owner = "replica-a";
  ASSERT_EQ(store_->begin_create_instance(inst, op), BeginResult::started);

  const auto got = store_->get_instance("inst-1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->id, "inst-1");
  EXPECT_EQ(got->service_id, inst.service_id);
  EXPECT_EQ(got->plan_id, inst.plan_id);
  EXPECT_EQ(got->plugin, inst.plugin);
  EXPECT_EQ(got->organization_guid, inst.organization_guid);
  EXPECT_EQ(got->space_guid, inst.space_guid);
  EXPECT_EQ(got->parameters, inst.parameters);
  EXPECT_EQ(got->context, inst.context);
  EXPECT_EQ(got->originating_identity, inst.originating_identity);
  EXPECT_EQ(got->maintenance_info, inst.maintenance_info);
  EXPECT_EQ(got->dashboard_url, inst.dashboard_url);
  EXPECT_EQ(got->metadata, inst.metadata);
  expect_just_created(*got, inst, "op-1", 1234);

  const auto got_op = store_->get_operation("op-1");
  ASSERT_TRUE(got_op);
  EXPECT_EQ(got_op->id, "op-1");
  EXPECT_EQ(got_op->instance_id, "inst-1");
  EXPECT_EQ(got_op->binding_id, "");
  EXPECT_EQ(got_op->kind, OperationKind::provision);
  EXPECT_EQ(got_op->state, OperationState::in_progress);
  EXPECT_EQ(got_op->description, "provisioning");
  EXPECT_TRUE(got_op->async);
  EXPECT_EQ(got_op->plugin_operation, "tok-1");
  EXPECT_EQ(got_op->request, op.request);
  EXPECT_EQ(got_op->attempts, 2);
  EXPECT_EQ(got_op->created_at_ms, 1234);
  EXPECT_EQ(got_op->updated_at_ms, 1234);
  EXPECT_EQ(got_op->deadline_ms, op.deadline_ms);
  EXPECT_EQ(got_op->owner, "replica-a");
}

TEST_P(StoreTest, LargeAndUnusualValuesRoundTrip) {
  auto inst = make_instance("inst/with spaces/ünï'cødé\"", 1);
  inst.parameters = {{"big", std::string(200000, 'x')},
                     {"nested", {{"a", {1, 2, {{"b", nullptr}}}}}},
                     {"quote", "it's \"quoted\" \\ and\ttabbed\n"},
                     {"int64", int64_t{9007199254740993}},
                     {"negative", -42},
                     {"float", 0.1}};
  auto op = make_op("op-ü'1", OperationKind::provision, inst.id, "", 1);
  op.created_at_ms = int64_t{1} << 45;
  op.deadline_ms = int64_t{1} << 50;
  ASSERT_EQ(store_->begin_create_instance(inst, op), BeginResult::started);
  const auto got = store_->get_instance(inst.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->parameters, inst.parameters);
  const auto got_op = store_->get_operation(op.id);
  ASSERT_TRUE(got_op);
  EXPECT_EQ(got_op->created_at_ms, op.created_at_ms);
  EXPECT_EQ(got_op->deadline_ms, op.deadline_ms);
  EXPECT_EQ(store_->latest_operation(inst.id, "")->id, op.id);
}

TEST_P(StoreTest, NullAndEmptyJsonStayDistinct) {
  auto inst = make_instance("inst-1");
  inst.parameters = nullptr;
  inst.context = nlohmann::json::object();
  inst.originating_identity = nullptr;
  inst.maintenance_info = nlohmann::json::array();
  inst.metadata = "";
  inst.plugin_state = nullptr;
  auto op = make_op("op-1", OperationKind::provision, "inst-1");
  op.request = nullptr;
  ASSERT_EQ(store_->begin_create_instance(inst, op), BeginResult::started);
  const auto got = store_->get_instance("inst-1");
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->parameters.is_null());
  EXPECT_EQ(got->context, nlohmann::json::object());
  EXPECT_TRUE(got->originating_identity.is_null());
  EXPECT_EQ(got->maintenance_info, nlohmann::json::array());
  EXPECT_EQ(got->metadata, nlohmann::json(""));
  EXPECT_TRUE(got->plugin_state.is_null());
  EXPECT_TRUE(store_->get_operation("op-1")->request.is_null());
}

TEST_P(StoreTest, GetUnknownReturnsNothing) {
  EXPECT_FALSE(store_->get_instance("nope"));
  EXPECT_FALSE(store_->get_binding("nope", "b"));
  EXPECT_FALSE(store_->get_operation("nope"));
  EXPECT_FALSE(store_->latest_operation("nope", ""));
  EXPECT_TRUE(store_->list_bindings("nope").empty());
  EXPECT_TRUE(store_->list_instances().empty());
  EXPECT_TRUE(store_->list_unfinished_operations().empty());
  EXPECT_TRUE(store_->list_operations().empty());
  EXPECT_TRUE(store_->list_replicas().empty());
  EXPECT_TRUE(store_->count_instances_by_plan().empty());
  EXPECT_TRUE(store_->empty());
}

TEST_P(StoreTest, BeginCreateInstanceTwiceIsExistsAndWritesNothing) {
  ASSERT_EQ(store_->begin_create_instance(make_instance("i1"),
                                          make_op("op-1", OperationKind::provision, "i1")),
            BeginResult::started);
  auto other = make_instance("i1");
  other.plan_id = "plan-2";
  EXPECT_EQ(store_->begin_create_instance(other, make_op("op-2", OperationKind::provision, "i1")),
            BeginResult::exists);
  EXPECT_EQ(store_->get_instance("i1")->plan_id, "plan-1");
  EXPECT_EQ(store_->get_instance("i1")->active_operation, "op-1");
  EXPECT_FALSE(store_->get_operation("op-2"));
}

TEST_P(StoreTest, BeginInstanceOperationBusyWhileAnotherIsActive) {
  // A provision in progress holds the instance.
  ASSERT_EQ(store_->begin_create_instance(make_instance("i1"),
                                          make_op("op-1", OperationKind::provision, "i1")),
            BeginResult::started);
  EXPECT_EQ(store_->begin_instance_operation("i1", make_op("op-2", OperationKind::update, "i1"),
                                             ResourceStatus::ready, false),
            BeginResult::busy);
  EXPECT_FALSE(store_->get_operation("op-2"));
  EXPECT_EQ(store_->get_instance("i1")->status, ResourceStatus::creating);
}

TEST_P(StoreTest, BeginInstanceOperationStartsOnIdleInstance) {
  create_ready_instance("i1");
  auto op = make_op("op-2", OperationKind::deprovision, "i1", "", 5000);
  ASSERT_EQ(store_->begin_instance_operation("i1", op, ResourceStatus::deleting, true),
            BeginResult::started);
  const auto got = store_->get_instance("i1");
  EXPECT_EQ(got->status, ResourceStatus::deleting);
  EXPECT_EQ(got->active_operation, "op-2");
  EXPECT_EQ(got->last_operation, "op-2");
  EXPECT_EQ(got->updated_at_ms, 5000);
  EXPECT_EQ(store_->get_operation("op-2")->kind, OperationKind::deprovision);
  EXPECT_EQ(store_->begin_instance_operation("i1", make_op("op-3", OperationKind::update, "i1"),
                                             ResourceStatus::ready, false),
            BeginResult::busy);
}

TEST_P(StoreTest, BeginInstanceOperationBusyWhenABindingIsActiveAndChecked) {
  create_ready_instance("i1");
  ASSERT_EQ(store_->begin_create_binding(make_binding("i1", "b1"),
                                         make_op("bop-1", OperationKind::bind, "i1", "b1")),
            BeginResult::started);
  EXPECT_EQ(
      store_->begin_instance_operation("i1", make_op("op-2", OperationKind::deprovision, "i1"),
                                       ResourceStatus::deleting, true),
      BeginResult::busy);
  EXPECT_FALSE(store_->get_operation("op-2"));
  EXPECT_EQ(store_->get_instance("i1")->status, ResourceStatus::ready);
  // An update does not care about bindings.
  EXPECT_EQ(store_->begin_instance_operation("i1", make_op("op-3", OperationKind::update, "i1"),
                                             ResourceStatus::ready, false),
            BeginResult::started);
}

TEST_P(StoreTest, BeginInstanceOperationMissingForUnknownInstance) {
  EXPECT_EQ(store_->begin_instance_operation("nope", make_op("op-1", OperationKind::update, "nope"),
                                             ResourceStatus::ready, true),
            BeginResult::missing);
  EXPECT_FALSE(store_->get_operation("op-1"));
}

TEST_P(StoreTest, SupersedeReplacesTheActiveCreateWithADeprovision) {
  auto inst = make_instance("i1");
  auto create = make_op("op-1", OperationKind::provision, "i1", "", 1000);
  ASSERT_EQ(store_->begin_create_instance(inst, create), BeginResult::started);

  auto superseded = create;
  superseded.state = OperationState::failed;
  superseded.description = "superseded by a deprovision";
  superseded.updated_at_ms = 2000;
  auto deprovision = make_op("op-2", OperationKind::deprovision, "i1", "", 2000);
  ASSERT_EQ(
      store_->supersede_instance_operation("i1", superseded, deprovision, ResourceStatus::deleting),
      BeginResult::started);
  const auto got = store_->get_instance("i1").value();
  EXPECT_EQ(got.status, ResourceStatus::deleting);
  EXPECT_EQ(got.active_operation, "op-2");
  EXPECT_EQ(got.last_operation, "op-2");
  EXPECT_EQ(store_->get_operation("op-1")->state, OperationState::failed);
  EXPECT_EQ(store_->get_operation("op-1")->description, "superseded by a deprovision");
  EXPECT_EQ(store_->get_operation("op-2")->state, OperationState::in_progress);
  EXPECT_EQ(store_->latest_operation("i1", "")->id, "op-2");

  // op-1 no longer holds the instance: superseding it again is busy and writes nothing.
  EXPECT_EQ(store_->supersede_instance_operation("i1", superseded,
                                                 make_op("op-3", OperationKind::deprovision, "i1"),
                                                 ResourceStatus::deleting),
            BeginResult::busy);
  EXPECT_FALSE(store_->get_operation("op-3"));
  EXPECT_EQ(store_->get_instance("i1")->active_operation, "op-2");
}

TEST_P(StoreTest, SupersedeReplacesTheActiveBindWithAnUnbind) {
  create_ready_instance("i1");
  auto bind = make_op("bop-1", OperationKind::bind, "i1", "b1", 2000);
  ASSERT_EQ(store_->begin_create_binding(make_binding("i1", "b1"), bind), BeginResult::started);
  auto superseded = bind;
  superseded.state = OperationState::failed;
  auto unbind = make_op("bop-2", OperationKind::unbind, "i1", "b1", 3000);
  ASSERT_EQ(
      store_->supersede_binding_operation("i1", "b1", superseded, unbind, ResourceStatus::deleting),
      BeginResult::started);
  const auto got = store_->get_binding("i1", "b1").value();
  EXPECT_EQ(got.status, ResourceStatus::deleting);
  EXPECT_EQ(got.active_operation, "bop-2");
  EXPECT_EQ(store_->get_operation("bop-1")->state, OperationState::failed);
  EXPECT_EQ(store_->latest_operation("i1", "b1")->id, "bop-2");
  EXPECT_EQ(store_->supersede_binding_operation("i1", "b1", superseded,
                                                make_op("bop-3", OperationKind::unbind, "i1", "b1"),
                                                ResourceStatus::deleting),
            BeginResult::busy);
  EXPECT_FALSE(store_->get_operation("bop-3"));
}

TEST_P(StoreTest, FinishClearsActiveOperationAndWritesBothRows) {
  auto inst = make_instance("i1");
  auto op = make_op("op-1", OperationKind::provision, "i1");
  ASSERT_EQ(store_->begin_create_instance(inst, op), BeginResult::started);

  inst.status = ResourceStatus::ready;
  inst.active_operation = "op-1";  // the store clears it whatever the caller passes
  inst.dashboard_url = "https://dash.example/new";
  inst.plugin_state = {{"handle", 43}};
  inst.updated_at_ms = 3000;
  op.state = OperationState::succeeded;
  op.description = "done";
  op.updated_at_ms = 3000;
  store_->finish_instance_operation(inst, op);

  const auto got = store_->get_instance("i1");
  EXPECT_EQ(got->status, ResourceStatus::ready);
  EXPECT_EQ(got->active_operation, "");
  EXPECT_EQ(got->last_operation, "op-1");
  EXPECT_EQ(got->dashboard_url, "https://dash.example/new");
  EXPECT_EQ(got->plugin_state, (nlohmann::json{{"handle", 43}}));
  EXPECT_EQ(got->updated_at_ms, 3000);
  const auto got_op = store_->get_operation("op-1");
  EXPECT_EQ(got_op->state, OperationState::succeeded);
  EXPECT_EQ(got_op->description, "done");
  EXPECT_TRUE(store_->list_unfinished_operations().empty());
  // Idle again: the next operation may start.
  EXPECT_EQ(store_->begin_instance_operation("i1", make_op("op-2", OperationKind::update, "i1"),
                                             ResourceStatus::ready, true),
            BeginResult::started);
}

TEST_P(StoreTest, FinishWritesWhatAnOperationChangesAndKeepsWhatWasFixedAtItsBegin) {
  auto inst = make_instance("i1");
  auto op = make_op("op-1", OperationKind::provision, "i1");
  op.request = {{"parameters", {{"size", 1}}}};
  ASSERT_EQ(store_->begin_create_instance(inst, op), BeginResult::started);

  auto changed = inst;
  changed.organization_guid = "org-other";  // fixed at create: kept
  changed.created_at_ms = 1;                // kept
  changed.plan_id = "plan-2";
  changed.parameters = {{"size", 2}};
  changed.maintenance_info = {{"version", "2.0.0"}};
  changed.metadata = {{"labels", {{"tier", "gold"}}}};
  changed.status = ResourceStatus::ready;
  auto ended = op;
  ended.request = {{"parameters", {{"size", 9}}}};  // written at begin: kept
  ended.state = OperationState::succeeded;
  ended.plugin_operation = "token-1";
  ended.attempts = 3;
  ended.deadline_ms = 9000;
  store_->finish_instance_operation(changed, ended);

  const auto got = store_->get_instance("i1").value();
  EXPECT_EQ(got.organization_guid, inst.organization_guid);
  EXPECT_EQ(got.created_at_ms, inst.created_at_ms);
  EXPECT_EQ(got.plan_id, "plan-2");
  EXPECT_EQ(got.parameters, changed.parameters);
  EXPECT_EQ(got.maintenance_info, changed.maintenance_info);
  EXPECT_EQ(got.metadata, changed.metadata);
  EXPECT_EQ(got.status, ResourceStatus::ready);
  const auto got_op = store_->get_operation("op-1").value();
  EXPECT_EQ(got_op.request, op.request);
  EXPECT_EQ(got_op.state, OperationState::succeeded);
  EXPECT_EQ(got_op.plugin_operation, "token-1");
  EXPECT_EQ(got_op.attempts, 3);
  EXPECT_EQ(got_op.deadline_ms, 9000);
}

TEST_P(StoreTest, EndingAnOperationWithoutARowWritesItInFull) {
  create_ready_instance("i1");
  auto op = make_op("deprov-unbegun", OperationKind::deprovision, "i1", "", 5000);
  op.request = {{"previous_status", "ready"}};
  op.state = OperationState::succeeded;
  op.owner = "replica-a";
  store_->delete_instance("i1", op);
  const auto got = store_->get_operation("deprov-unbegun");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->kind, OperationKind::deprovision);
  EXPECT_EQ(got->request, op.request);
  EXPECT_EQ(got->state, OperationState::succeeded);
  EXPECT_EQ(got->owner, "replica-a");
  EXPECT_EQ(store_->latest_operation("i1", "")->id, "deprov-unbegun");
}

TEST_P(StoreTest, FinishOfAnOperationThatDoesNotHoldTheInstanceLeavesItAlone) {
  create_ready_instance("i1");
  auto update = make_op("op-2", OperationKind::update, "i1");
  ASSERT_EQ(store_->begin_instance_operation("i1", update, ResourceStatus::ready, false),
            BeginResult::started);
  auto stale = make_instance("i1");
  stale.plan_id = "plan-stale";
  auto stale_op = store_->get_operation("prov-i1").value();
  stale_op.description = "late";
  store_->finish_instance_operation(stale, stale_op);
  const auto got = store_->get_instance("i1");
  EXPECT_EQ(got->active_operation, "op-2");
  EXPECT_EQ(got->plan_id, "plan-1");
  EXPECT_EQ(store_->get_operation("prov-i1")->description, "late");
}

TEST_P(StoreTest, DeleteInstanceRemovesBindingsButKeepsOperations) {
  create_ready_instance("i1", 1000);
  create_ready_binding("i1", "b1", 2000);
  create_ready_binding("i1", "b2", 2001);
  auto op = make_op("deprov-1", OperationKind::deprovision, "i1", "", 3000);
  ASSERT_EQ(store_->begin_instance_operation("i1", op, ResourceStatus::deleting, false),
            BeginResult::started);
  op.state = OperationState::succeeded;
  store_->delete_instance("i1", op);

  EXPECT_FALSE(store_->get_instance("i1"));
  EXPECT_FALSE(store_->get_binding("i1", "b1"));
  EXPECT_TRUE(store_->list_bindings("i1").empty());
  EXPECT_EQ(backend_->raw_query("SELECT COUNT(*) FROM bindings"), "0");

  const auto latest = store_->latest_operation("i1", "");
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->id, "deprov-1");
  EXPECT_EQ(latest->state, OperationState::succeeded);
  ASSERT_TRUE(store_->latest_operation("i1", "b2"));
  EXPECT_EQ(store_->latest_operation("i1", "b2")->id, "bind-i1-b2");
  EXPECT_TRUE(store_->get_operation("prov-i1"));
  // The id is free again.
  EXPECT_EQ(store_->begin_create_instance(make_instance("i1"),
                                          make_op("prov-again", OperationKind::provision, "i1")),
            BeginResult::started);
}

TEST_P(StoreTest, DiscardInstanceRemovesItOnlyWhileTheOperationHoldsIt) {
  ASSERT_EQ(store_->begin_create_instance(make_instance("i1"),
                                          make_op("prov-1", OperationKind::provision, "i1")),
            BeginResult::started);
  store_->discard_instance("i1", "other-op");  // not the active operation: nothing happens
  EXPECT_TRUE(store_->get_instance("i1"));
  EXPECT_TRUE(store_->get_operation("prov-1"));
  store_->discard_instance("i1", "prov-1");
  EXPECT_FALSE(store_->get_instance("i1"));
  EXPECT_FALSE(store_->get_operation("prov-1"));
  EXPECT_FALSE(store_->latest_operation("i1", ""));
  EXPECT_TRUE(store_->empty());
}

TEST_P(StoreTest, DiscardBindingLooksAsIfTheBindNeverCame) {
  create_ready_instance("i1");
  ASSERT_EQ(store_->begin_create_binding(make_binding("i1", "b1"),
                                         make_op("bop-1", OperationKind::bind, "i1", "b1")),
            BeginResult::started);
  store_->discard_binding("i1", "b1", "bop-1");
  EXPECT_FALSE(store_->get_binding("i1", "b1"));
  EXPECT_FALSE(store_->get_operation("bop-1"));
  EXPECT_FALSE(store_->latest_operation("i1", "b1"));
  EXPECT_EQ(store_->get_instance("i1")->status, ResourceStatus::ready);
  // The id is free again.
  EXPECT_EQ(store_->begin_create_binding(make_binding("i1", "b1"),
                                         make_op("bop-2", OperationKind::bind, "i1", "b1")),
            BeginResult::started);
}

TEST_P(StoreTest, CountInstancesByPlanOrdersByServiceAndPlan) {
  auto add = [&](const std::string& id, const std::string& service, const std::string& plan) {
    auto inst = make_instance(id);
    inst.service_id = service;
    inst.plan_id = plan;
    ASSERT_EQ(store_->begin_create_instance(inst, make_op("p-" + id, OperationKind::provision, id)),
              BeginResult::started);
  };
  add("i1", "svc-b", "plan-1");
  add("i2", "svc-a", "plan-2");
  add("i3", "svc-a", "plan-1");
  add("i4", "svc-a", "plan-2");
  const auto counts = store_->count_instances_by_plan();
  ASSERT_EQ(counts.size(), 3u);
  EXPECT_EQ(counts[0].service_id, "svc-a");
  EXPECT_EQ(counts[0].plan_id, "plan-1");
  EXPECT_EQ(counts[0].instances, 1u);
  EXPECT_EQ(counts[1].service_id, "svc-a");
  EXPECT_EQ(counts[1].plan_id, "plan-2");
  EXPECT_EQ(counts[1].instances, 2u);
  EXPECT_EQ(counts[2].service_id, "svc-b");
  EXPECT_EQ(counts[2].instances, 1u);
}

// --- credentials at rest ------------------------------------------------------------------------

TEST_P(StoreTest, BindingCredentialsAreSealedAtRest) {
  create_ready_instance("i1");
  create_ready_binding("i1", "b1");
  EXPECT_EQ(store_->get_binding("i1", "b1")->response["credentials"]["password"], "s3cret");
  const std::string column = backend_->raw_binding_response("i1", "b1");
  EXPECT_EQ(column.rfind("osbd-sealed-v1:", 0), 0u) << column;
  EXPECT_THAT(column, Not(HasSubstr("s3cret")));
  // Sealed with the configured key.
  EXPECT_EQ(SecretBox::key_id_of(column),
            SecretBox::key_id(SecretBox::load_key_file(backend_->default_key_file(), false)));
  reopen();
  EXPECT_EQ(store_->get_binding("i1", "b1")->response["credentials"]["password"], "s3cret");
}

TEST_P(StoreTest, KeyRotationResealsWithTheNewKeyAndThenNeedsOnlyIt) {
  create_ready_instance("i1");
  create_ready_binding("i1", "b1");
  const std::string old_key = backend_->default_key_file();
  const std::string new_key = backend_->scratch_dir() + "/new.key";
  const auto new_key_id = SecretBox::key_id(SecretBox::load_key_file(new_key, true));
  store_.reset();
  // The new key first, the old one among the previous keys: everything is resealed.
  store_ = backend_->open({new_key, {old_key}});
  EXPECT_EQ(store_->get_binding("i1", "b1")->response["credentials"]["password"], "s3cret");
  EXPECT_EQ(SecretBox::key_id_of(backend_->raw_binding_response("i1", "b1")), new_key_id);
  store_.reset();
  store_ = backend_->open({new_key, {}});
  EXPECT_EQ(store_->get_binding("i1", "b1")->response["credentials"]["password"], "s3cret");
}

TEST_P(StoreTest, MissingKeyStopsTheOpenNamingIt) {
  create_ready_instance("i1");
  create_ready_binding("i1", "b1");
  store_.reset();
  const std::string other = backend_->scratch_dir() + "/other.key";
  SecretBox::load_key_file(other, true);
  const std::string before = backend_->raw_binding_response("i1", "b1");
  try {
    backend_->open({other, {}});
    FAIL() << "expected a StoreError";
  } catch (const StoreError& e) {
    const std::string message = e.what();
    EXPECT_THAT(message, HasSubstr("binding i1/b1"));
    EXPECT_THAT(message, HasSubstr("not among the configured keys"));
    EXPECT_THAT(message, HasSubstr("previous_key_files"));
    expect_no_secret(message, "s3cret");
  }
  // Nothing was changed: the right key still opens it.
  EXPECT_EQ(backend_->raw_binding_response("i1", "b1"), before);
  store_ = backend_->open();
  EXPECT_EQ(store_->get_binding("i1", "b1")->response["credentials"]["password"], "s3cret");
}

// --- bindings -----------------------------------------------------------------------------------

TEST_P(StoreTest, BindingBeginFinishDelete) {
  create_ready_instance("i1");
  auto b = make_binding("i1", "b1", 2000);
  b.status = ResourceStatus::ready;  // recorded as creating
  auto op = make_op("bop-1", OperationKind::bind, "i1", "b1", 2000);
  ASSERT_EQ(store_->begin_create_binding(b, op), BeginResult::started);
  auto got = store_->get_binding("i1", "b1");
  ASSERT_TRUE(got);
  expect_just_created(*got, b, "bop-1", 2000);
  EXPECT_EQ(got->instance_id, "i1");
  EXPECT_EQ(got->service_id, b.service_id);
  EXPECT_EQ(got->plan_id, b.plan_id);
  EXPECT_EQ(got->app_guid, b.app_guid);
  EXPECT_EQ(got->parameters, b.parameters);
  EXPECT_EQ(got->context, b.context);
  EXPECT_EQ(got->bind_resource, b.bind_resource);
  EXPECT_TRUE(got->response.is_null());
  EXPECT_EQ(store_->get_operation("bop-1")->binding_id, "b1");

  b.status = ResourceStatus::ready;
  b.response = {{"credentials", {{"uri", "db://u:p@h/d"}}}, {"endpoints", nlohmann::json::array()}};
  b.updated_at_ms = 2500;
  op.state = OperationState::succeeded;
  store_->finish_binding_operation(b, op);
  got = store_->get_binding("i1", "b1");
  EXPECT_EQ(got->status, ResourceStatus::ready);
  EXPECT_EQ(got->active_operation, "");
  EXPECT_EQ(got->response, b.response);
  EXPECT_EQ(got->updated_at_ms, 2500);
  EXPECT_EQ(store_->get_operation("bop-1")->state, OperationState::succeeded);

  auto unbind = make_op("bop-2", OperationKind::unbind, "i1", "b1", 4000);
  ASSERT_EQ(store_->begin_binding_operation("i1", "b1", unbind, ResourceStatus::deleting),
            BeginResult::started);
  got = store_->get_binding("i1", "b1");
  EXPECT_EQ(got->status, ResourceStatus::deleting);
  EXPECT_EQ(got->active_operation, "bop-2");
  EXPECT_EQ(got->updated_at_ms, 4000);
  unbind.state = OperationState::succeeded;
  store_->delete_binding("i1", "b1", unbind);
  EXPECT_FALSE(store_->get_binding("i1", "b1"));
  EXPECT_EQ(store_->latest_operation("i1", "b1")->id, "bop-2");
  EXPECT_EQ(store_->latest_operation("i1", "b1")->state, OperationState::succeeded);
  EXPECT_TRUE(store_->get_instance("i1"));
}

TEST_P(StoreTest, BeginCreateBindingMissingWhenInstanceUnknownOrNotReady) {
  EXPECT_EQ(store_->begin_create_binding(make_binding("nope", "b1"),
                                         make_op("bop-1", OperationKind::bind, "nope", "b1")),
            BeginResult::missing);
  // Still being provisioned.
  ASSERT_EQ(store_->begin_create_instance(make_instance("i1"),
                                          make_op("op-1", OperationKind::provision, "i1")),
            BeginResult::started);
  EXPECT_EQ(store_->begin_create_binding(make_binding("i1", "b1"),
                                         make_op("bop-2", OperationKind::bind, "i1", "b1")),
            BeginResult::missing);
  // Provision failed: idle but not ready.
  auto inst = make_instance("i1");
  inst.status = ResourceStatus::failed;
  auto op = make_op("op-1", OperationKind::provision, "i1");
  op.state = OperationState::failed;
  store_->finish_instance_operation(inst, op);
  EXPECT_EQ(store_->begin_create_binding(make_binding("i1", "b1"),
                                         make_op("bop-3", OperationKind::bind, "i1", "b1")),
            BeginResult::missing);
  EXPECT_FALSE(store_->get_binding("i1", "b1"));
  EXPECT_FALSE(store_->get_operation("bop-1"));
  EXPECT_FALSE(store_->get_operation("bop-3"));
}

TEST_P(StoreTest, BeginCreateBindingBusyWhileInstanceHasActiveOperation) {
  create_ready_instance("i1");
  ASSERT_EQ(store_->begin_instance_operation("i1", make_op("op-2", OperationKind::update, "i1"),
                                             ResourceStatus::ready, false),
            BeginResult::started);
  EXPECT_EQ(store_->begin_create_binding(make_binding("i1", "b1"),
                                         make_op("bop-1", OperationKind::bind, "i1", "b1")),
            BeginResult::busy);
  EXPECT_FALSE(store_->get_binding("i1", "b1"));
  EXPECT_FALSE(store_->get_operation("bop-1"));
}

TEST_P(StoreTest, BeginCreateBindingExistsWhenIdTakenOnThatInstance) {
  create_ready_instance("i1");
  create_ready_instance("i2");
  create_ready_binding("i1", "b1");
  auto other = make_binding("i1", "b1");
  other.app_guid = "app-2";
  EXPECT_EQ(store_->begin_create_binding(other, make_op("bop-x", OperationKind::bind, "i1", "b1")),
            BeginResult::exists);
  EXPECT_EQ(store_->get_binding("i1", "b1")->app_guid, "app-1");
  EXPECT_FALSE(store_->get_operation("bop-x"));
  // The same binding id on another instance is a different binding.
  EXPECT_EQ(store_->begin_create_binding(make_binding("i2", "b1"),
                                         make_op("bop-y", OperationKind::bind, "i2", "b1")),
            BeginResult::started);
}

TEST_P(StoreTest, BeginBindingOperationRefusals) {
  create_ready_instance("i1");
  EXPECT_EQ(store_->begin_binding_operation("i1", "nope",
                                            make_op("u0", OperationKind::unbind, "i1", "nope"),
                                            ResourceStatus::deleting),
            BeginResult::missing);
  EXPECT_EQ(store_->begin_binding_operation("nope", "b1",
                                            make_op("u1", OperationKind::unbind, "nope", "b1"),
                                            ResourceStatus::deleting),
            BeginResult::missing);

  // Binding still being created.
  ASSERT_EQ(store_->begin_create_binding(make_binding("i1", "b1"),
                                         make_op("bop-1", OperationKind::bind, "i1", "b1")),
            BeginResult::started);
  EXPECT_EQ(
      store_->begin_binding_operation("i1", "b1", make_op("u2", OperationKind::unbind, "i1", "b1"),
                                      ResourceStatus::deleting),
      BeginResult::busy);

  // Binding idle, instance busy.
  create_ready_binding("i1", "b2");
  ASSERT_EQ(store_->begin_instance_operation("i1", make_op("op-2", OperationKind::update, "i1"),
                                             ResourceStatus::ready, false),
            BeginResult::started);
  EXPECT_EQ(
      store_->begin_binding_operation("i1", "b2", make_op("u3", OperationKind::unbind, "i1", "b2"),
                                      ResourceStatus::deleting),
      BeginResult::busy);
  EXPECT_EQ(store_->get_binding("i1", "b2")->status, ResourceStatus::ready);
  for (const char* id : {"u0", "u1", "u2", "u3"}) {
    EXPECT_FALSE(store_->get_operation(id)) << id;
  }
}

// --- operations ---------------------------------------------------------------------------------

TEST_P(StoreTest, LatestOperationSameMillisecondResolvesToLaterInsert) {
  create_ready_instance("i1", 1000);
  auto finish = [&](const std::string& op_id) {
    auto op = store_->get_operation(op_id).value();
    op.state = OperationState::succeeded;
    store_->finish_instance_operation(store_->get_instance("i1").value(), op);
  };
  // Ids chosen so that id order disagrees with insertion order.
  for (const char* id : {"zz", "mm", "aa"}) {
    ASSERT_EQ(
        store_->begin_instance_operation("i1", make_op(id, OperationKind::update, "i1", "", 7000),
                                         ResourceStatus::ready, false),
        BeginResult::started);
    EXPECT_EQ(store_->latest_operation("i1", "")->id, id);
    finish(id);
    EXPECT_EQ(store_->latest_operation("i1", "")->id, id);
  }
  // Rewriting an older operation does not move it to the front.
  auto older = store_->get_operation("zz").value();
  older.description = "rewritten";
  store_->update_operation(older);
  EXPECT_EQ(store_->latest_operation("i1", "")->id, "aa");
}

TEST_P(StoreTest, LatestOperationKeepsInstanceAndBindingApart) {
  create_ready_instance("i1", 1000);
  create_ready_binding("i1", "b1", 5000);
  EXPECT_EQ(store_->latest_operation("i1", "")->id, "prov-i1");
  EXPECT_EQ(store_->latest_operation("i1", "b1")->id, "bind-i1-b1");
  EXPECT_FALSE(store_->latest_operation("i1", "b2"));
  // The operation begun last, even if the clock stepped back before it began.
  ASSERT_EQ(
      store_->begin_instance_operation("i1", make_op("early", OperationKind::update, "i1", "", 500),
                                       ResourceStatus::ready, false),
      BeginResult::started);
  EXPECT_EQ(store_->latest_operation("i1", "")->id, "early");
  EXPECT_EQ(store_->latest_operation("i1", "b1")->id, "bind-i1-b1");
}

TEST_P(StoreTest, LatestOperationOfARemovedResourceIsTheOneThatRemovedIt) {
  create_ready_instance("i1", 1000);
  create_ready_binding("i1", "b1", 2000);
  auto unbind = make_op("unbind-1", OperationKind::unbind, "i1", "b1", 3000);
  ASSERT_EQ(store_->begin_binding_operation("i1", "b1", unbind, ResourceStatus::deleting),
            BeginResult::started);
  unbind.state = OperationState::succeeded;
  store_->delete_binding("i1", "b1", unbind);
  EXPECT_EQ(store_->latest_operation("i1", "b1")->id, "unbind-1");

  // A refused re-create leaves the broker as it was: the removal is still the last word.
  create_ready_instance("i2", 1000);
  remove_instance("i2", "deprov-2", 3000);
  ASSERT_EQ(store_->begin_create_instance(make_instance("i2"),
                                          make_op("prov-refused", OperationKind::provision, "i2")),
            BeginResult::started);
  EXPECT_EQ(store_->latest_operation("i2", "")->id, "prov-refused");
  store_->discard_instance("i2", "prov-refused");
  EXPECT_EQ(store_->latest_operation("i2", "")->id, "deprov-2");

  // A re-created instance answers for itself again.
  ASSERT_EQ(store_->begin_create_instance(make_instance("i2", 4000),
                                          make_op("prov-again", OperationKind::provision, "i2")),
            BeginResult::started);
  EXPECT_EQ(store_->latest_operation("i2", "")->id, "prov-again");
  EXPECT_FALSE(store_->latest_operation("never", ""));
  EXPECT_FALSE(store_->latest_operation("i1", "never"));
}

TEST_P(StoreTest, UpdateOperationRewritesProgress) {
  ASSERT_EQ(store_->begin_create_instance(make_instance("i1"),
                                          make_op("op-1", OperationKind::provision, "i1")),
            BeginResult::started);
  auto op = store_->get_operation("op-1").value();
  op.plugin_operation = "plugin-token-7";
  op.attempts = 3;
  op.description = "waiting for the cluster";
  op.updated_at_ms = 9000;
  op.deadline_ms = 99000;
  store_->update_operation(op);
  const auto got = store_->get_operation("op-1").value();
  EXPECT_EQ(got.plugin_operation, "plugin-token-7");
  EXPECT_EQ(got.attempts, 3);
  EXPECT_EQ(got.description, "waiting for the cluster");
  EXPECT_EQ(got.updated_at_ms, 9000);
  EXPECT_EQ(got.deadline_ms, 99000);
  EXPECT_EQ(got.state, OperationState::in_progress);
  EXPECT_EQ(store_->get_instance("i1")->active_operation, "op-1");
}

TEST_P(StoreTest, ListUnfinishedOperationsOldestFirst) {
  create_ready_instance("i1", 100);
  ASSERT_EQ(store_->begin_create_instance(make_instance("i3", 300),
                                          make_op("p3", OperationKind::provision, "i3", "", 300)),
            BeginResult::started);
  ASSERT_EQ(store_->begin_create_instance(make_instance("i2", 200),
                                          make_op("p2", OperationKind::provision, "i2", "", 200)),
            BeginResult::started);
  ASSERT_EQ(store_->begin_create_binding(make_binding("i1", "b1", 250),
                                         make_op("b1", OperationKind::bind, "i1", "b1", 250)),
            BeginResult::started);
  const auto ops = store_->list_unfinished_operations();
  ASSERT_EQ(ops.size(), 3u);
  EXPECT_EQ(ops[0].id, "p2");
  EXPECT_EQ(ops[1].id, "b1");
  EXPECT_EQ(ops[1].binding_id, "b1");
  EXPECT_EQ(ops[2].id, "p3");
}

TEST_P(StoreTest, ListsAreOldestFirst) {
  create_ready_instance("c", 300);
  create_ready_instance("a", 100);
  create_ready_instance("b", 200);
  create_ready_instance("z", 200);  // same millisecond as b, inserted later
  const auto instances = store_->list_instances();
  ASSERT_EQ(instances.size(), 4u);
  EXPECT_EQ(instances[0].id, "a");
  EXPECT_EQ(instances[1].id, "b");
  EXPECT_EQ(instances[2].id, "z");
  EXPECT_EQ(instances[3].id, "c");
  create_ready_binding("a", "y", 900);
  create_ready_binding("a", "x", 800);
  create_ready_binding("b", "w", 100);
  const auto bindings = store_->list_bindings("a");
  ASSERT_EQ(bindings.size(), 2u);
  EXPECT_EQ(bindings[0].id, "x");
  EXPECT_EQ(bindings[1].id, "y");
}

TEST_P(StoreTest, ListOperationsIsEveryOperationOldestFirst) {
  create_ready_instance("c", 300);
  create_ready_instance("a", 100);
  create_ready_instance("z", 300);  // same millisecond as c, inserted later
  create_ready_binding("a", "b1", 200);
  remove_instance("c", "deprov-c", 400);
  ASSERT_EQ(store_->begin_create_instance(make_instance("i2", 50),
                                          make_op("p2", OperationKind::provision, "i2", "", 50)),
            BeginResult::started);
  std::vector<std::string> ids;
  for (const auto& op : store_->list_operations()) {
    ids.push_back(op.id);
  }
  EXPECT_EQ(
      ids, (std::vector<std::string>{"p2", "prov-a", "bind-a-b1", "prov-c", "prov-z", "deprov-c"}));
  // Finished, unfinished and those of removed resources alike, in full.
  expect_same(store_->list_operations()[0], store_->get_operation("p2").value());
  expect_same(store_->list_operations()[5], store_->get_operation("deprov-c").value());
}

TEST_P(StoreTest, ListRecentOperationsIsTheLatestWrittenNewestFirst) {
  create_ready_instance("c", 300);
  create_ready_instance("a", 100);  // written after c, though it began earlier
  create_ready_binding("a", "b1", 200);
  auto failed = make_op("p-f", OperationKind::provision, "f", "", 500);
  ASSERT_EQ(store_->begin_create_instance(make_instance("f", 500), failed), BeginResult::started);
  failed.state = OperationState::failed;
  failed.description = "no capacity";
  auto f = make_instance("f", 500);
  f.status = ResourceStatus::failed;
  store_->finish_instance_operation(f, failed);
  std::vector<std::string> ids;
  for (const auto& op : store_->list_recent_operations(3, std::nullopt)) {
    ids.push_back(op.id);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"p-f", "bind-a-b1", "prov-a"}));
  const auto only_failed = store_->list_recent_operations(10, OperationState::failed);
  ASSERT_EQ(only_failed.size(), 1u);
  EXPECT_EQ(only_failed[0].id, "p-f");
  EXPECT_EQ(only_failed[0].description, "no capacity");
  EXPECT_EQ(store_->list_recent_operations(10, OperationState::succeeded).size(), 3u);
  EXPECT_TRUE(store_->list_recent_operations(10, OperationState::in_progress).empty());
}

TEST_P(StoreTest, EmptyUntilARecordIsWrittenAndWhileOperationsRemain) {
  EXPECT_TRUE(store_->empty());
  // Replicas are not records of the broker's resources.
  store_->heartbeat(make_replica("replica-a", 1000));
  EXPECT_TRUE(store_->empty());
  create_ready_instance("i1");
  EXPECT_FALSE(store_->empty());
  remove_instance("i1", "deprov-1", 2000);
  EXPECT_TRUE(store_->list_instances().empty());
  EXPECT_FALSE(store_->empty());  // its operations are kept for last_operation
  reopen();
  EXPECT_FALSE(store_->empty());
}

// --- replicas and ownership ---------------------------------------------------------------------

TEST_P(StoreTest, OwnerRoundTripsThroughBeginsAndReads) {
  ASSERT_EQ(store_->begin_create_instance(
                make_instance("i1"), make_owned_op("p1", OperationKind::provision, "i1", "r-a")),
            BeginResult::started);
  EXPECT_EQ(store_->get_operation("p1")->owner, "r-a");
  ASSERT_EQ(store_->list_unfinished_operations().size(), 1u);
  EXPECT_EQ(store_->list_unfinished_operations()[0].owner, "r-a");
  EXPECT_EQ(store_->list_operations()[0].owner, "r-a");
  EXPECT_EQ(store_->latest_operation("i1", "")->owner, "r-a");

  // Ending an operation does not change who owned it.
  auto inst = make_instance("i1");
  auto end = make_op("p1", OperationKind::provision, "i1");
  end.state = OperationState::succeeded;
  store_->finish_instance_operation(inst, end);
  EXPECT_EQ(store_->get_operation("p1")->owner, "r-a");

  ASSERT_EQ(store_->begin_instance_operation(
                "i1", make_owned_op("u1", OperationKind::update, "i1", "r-b"),
                ResourceStatus::ready, false),
            BeginResult::started);
  EXPECT_EQ(store_->get_operation("u1")->owner, "r-b");
  auto superseded = store_->get_operation("u1").value();
  superseded.state = OperationState::failed;
  ASSERT_EQ(store_->supersede_instance_operation(
                "i1", superseded, make_owned_op("d1", OperationKind::update, "i1", "r-c"),
                ResourceStatus::ready),
            BeginResult::started);
  EXPECT_EQ(store_->get_operation("u1")->owner, "r-b");
  EXPECT_EQ(store_->get_operation("d1")->owner, "r-c");
  auto finished = store_->get_operation("d1").value();
  finished.state = OperationState::succeeded;
  store_->finish_instance_operation(inst, finished);

  auto bind = make_op("bop-1", OperationKind::bind, "i1", "b1");
  bind.owner = "r-d";
  ASSERT_EQ(store_->begin_create_binding(make_binding("i1", "b1"), bind), BeginResult::started);
  EXPECT_EQ(store_->get_operation("bop-1")->owner, "r-d");
  EXPECT_EQ(store_->latest_operation("i1", "b1")->owner, "r-d");

  // An operation of no replica (recorded before replicas existed) reads back as "".
  ASSERT_EQ(store_->begin_create_instance(make_instance("i2"),
                                          make_op("p2", OperationKind::provision, "i2")),
            BeginResult::started);
  EXPECT_EQ(store_->get_operation("p2")->owner, "");

  reopen();
  EXPECT_EQ(store_->get_operation("p1")->owner, "r-a");
  EXPECT_EQ(store_->get_operation("bop-1")->owner, "r-d");
  EXPECT_EQ(store_->get_operation("p2")->owner, "");
}

TEST_P(StoreTest, HeartbeatRoundTripsEveryFieldOfAReplica) {
  auto replica = make_replica("replica-a", 5000);
  replica.host = "höst.example";
  replica.plugins = nlohmann::json::array({{{"name", "ü"}, {"version", "1"}}});
  store_->heartbeat(replica);
  const auto replicas = store_->list_replicas();
  ASSERT_EQ(replicas.size(), 1u);
  expect_same(replicas[0], replica);
  reopen();
  expect_same_list(store_->list_replicas(), {replica});
}

TEST_P(StoreTest, HeartbeatReplacesTheRowOfItsReplica) {
  store_->heartbeat(make_replica("replica-a", 5000));
  store_->heartbeat(make_replica("replica-b", 5000));
  // A restarted replica keeps its id: every field is replaced, started_at_ms too.
  auto again = make_replica("replica-a", 9000);
  again.version = "1.3.0";
  again.listen = "10.0.0.2:8443";
  again.plugins = nlohmann::json::array();
  again.catalog_fingerprint = "sha256:new";
  again.started_at_ms = 8000;
  store_->heartbeat(again);
  expect_same_list(store_->list_replicas(), {again, make_replica("replica-b", 5000)});
}

TEST_P(StoreTest, ListReplicasIsOrderedById) {
  for (const char* id : {"r-c", "r-a", "r-b"}) {
    store_->heartbeat(make_replica(id, 1000));
  }
  std::vector<std::string> ids;
  for (const auto& r : store_->list_replicas()) {
    ids.push_back(r.id);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"r-a", "r-b", "r-c"}));
}

TEST_P(StoreTest, RemoveReplicaRemovesOnlyItsRow) {
  store_->heartbeat(make_replica("r-a", 1000));
  store_->heartbeat(make_replica("r-b", 1000));
  store_->remove_replica("r-a");
  store_->remove_replica("never-was");
  expect_same_list(store_->list_replicas(), {make_replica("r-b", 1000)});
}

/// Begins a provision of instance id owned by owner, at 1000.
void begin_owned(Store& store, const std::string& id, const std::string& owner) {
  ASSERT_EQ(store.begin_create_instance(
                make_instance(id), make_owned_op("p-" + id, OperationKind::provision, id, owner)),
            BeginResult::started);
}

TEST_P(StoreTest, TakeOperationKeepsAnOperationItsOwnerTakesAgain) {
  begin_owned(*store_, "i1", "r-a");
  store_->heartbeat(make_replica("r-a", 10000));
  EXPECT_TRUE(store_->take_operation("p-i1", "r-a", 5000));
  // Its own, even when its own heartbeat counts as stale.
  EXPECT_TRUE(store_->take_operation("p-i1", "r-a", 20000));
  EXPECT_EQ(store_->get_operation("p-i1")->owner, "r-a");
}

TEST_P(StoreTest, TakeOperationRefusesAnOperationOfAReplicaWithAFreshHeartbeat) {
  begin_owned(*store_, "i1", "r-a");
  store_->heartbeat(make_replica("r-a", 10000));
  EXPECT_FALSE(store_->take_operation("p-i1", "r-b", 9000));
  // A heartbeat at stale_before_ms is not before it: still fresh.
  EXPECT_FALSE(store_->take_operation("p-i1", "r-b", 10000));
  EXPECT_EQ(store_->get_operation("p-i1")->owner, "r-a");
}

TEST_P(StoreTest, TakeOperationTakesFromAReplicaWhoseHeartbeatIsStale) {
  begin_owned(*store_, "i1", "r-a");
  store_->heartbeat(make_replica("r-a", 10000));
  EXPECT_TRUE(store_->take_operation("p-i1", "r-b", 10001));
  EXPECT_EQ(store_->get_operation("p-i1")->owner, "r-b");
  EXPECT_EQ(store_->list_unfinished_operations()[0].owner, "r-b");
  // Now r-b's: r-a, back again, cannot take it while r-b's heartbeat is fresh.
  store_->heartbeat(make_replica("r-b", 20000));
  store_->heartbeat(make_replica("r-a", 20000));
  EXPECT_FALSE(store_->take_operation("p-i1", "r-a", 15000));
  EXPECT_EQ(store_->get_operation("p-i1")->owner, "r-b");
}

TEST_P(StoreTest, TakeOperationTakesAnOperationOfNoReplicaOrOfAReplicaWithoutARow) {
  begin_owned(*store_, "i1", "");
  begin_owned(*store_, "i2", "r-gone");
  store_->heartbeat(make_replica("r-b", 10000));
  EXPECT_TRUE(store_->take_operation("p-i1", "r-b", 0));
  EXPECT_TRUE(store_->take_operation("p-i2", "r-b", 0));
  EXPECT_EQ(store_->get_operation("p-i1")->owner, "r-b");
  EXPECT_EQ(store_->get_operation("p-i2")->owner, "r-b");
}

TEST_P(StoreTest, TakeOperationRefusesFinishedAndUnknownOperations) {
  create_ready_instance("i1");  // prov-i1 succeeded
  auto failed = make_instance("i2");
  ASSERT_EQ(store_->begin_create_instance(failed,
                                          make_owned_op("p2", OperationKind::provision, "i2", "")),
            BeginResult::started);
  failed.status = ResourceStatus::failed;
  auto end = store_->get_operation("p2").value();
  end.state = OperationState::failed;
  store_->finish_instance_operation(failed, end);

  EXPECT_FALSE(store_->take_operation("prov-i1", "r-a", 0));
  EXPECT_FALSE(store_->take_operation("p2", "r-a", 0));
  EXPECT_FALSE(store_->take_operation("unknown", "r-a", 0));
  EXPECT_EQ(store_->get_operation("prov-i1")->owner, "");
  EXPECT_EQ(store_->get_operation("p2")->owner, "");
  EXPECT_FALSE(store_->get_operation("unknown"));
}

TEST_P(StoreTest, TakeOperationTakesAtOnceWhenItsOwnerRemovedItsReplica) {
  begin_owned(*store_, "i1", "r-a");
  store_->heartbeat(make_replica("r-a", 10000));
  EXPECT_FALSE(store_->take_operation("p-i1", "r-b", 5000));
  store_->remove_replica("r-a");
  EXPECT_TRUE(store_->take_operation("p-i1", "r-b", 5000));
  EXPECT_EQ(store_->get_operation("p-i1")->owner, "r-b");
}

TEST_P(StoreTest, OnlyTakeOperationMovesAnOperationToAnotherOwner) {
  begin_owned(*store_, "i1", "r-a");
  const auto as_r_a_had_it = store_->get_operation("p-i1").value();
  store_->heartbeat(make_replica("r-a", 10000));
  ASSERT_TRUE(store_->take_operation("p-i1", "r-b", 10001));
  store_->heartbeat(make_replica("r-b", 10001));

  // r-a, not knowing, writes progress with the record it had: the progress is written, the
  // owner stays r-b.
  auto progress = as_r_a_had_it;
  progress.description = "late progress";
  progress.attempts = 7;
  store_->update_operation(progress);
  EXPECT_EQ(store_->get_operation("p-i1")->description, "late progress");
  EXPECT_EQ(store_->get_operation("p-i1")->owner, "r-b");
  EXPECT_FALSE(store_->take_operation("p-i1", "r-a", 9000));

  // Nor does superseding it with a record of another owner.
  auto superseded = as_r_a_had_it;
  superseded.owner = "";
  superseded.state = OperationState::failed;
  ASSERT_EQ(store_->supersede_instance_operation(
                "i1", superseded, make_owned_op("d1", OperationKind::deprovision, "i1", "r-c"),
                ResourceStatus::deleting),
            BeginResult::started);
  EXPECT_EQ(store_->get_operation("p-i1")->state, OperationState::failed);
  EXPECT_EQ(store_->get_operation("p-i1")->owner, "r-b");
  EXPECT_EQ(store_->get_operation("d1")->owner, "r-c");
}

TEST_P(StoreTest, TakeOperationWorksOnBindingOperations) {
  create_ready_instance("i1");
  auto bind = make_op("bop-1", OperationKind::bind, "i1", "b1");
  bind.owner = "r-a";
  ASSERT_EQ(store_->begin_create_binding(make_binding("i1", "b1"), bind), BeginResult::started);
  store_->heartbeat(make_replica("r-a", 10000));
  EXPECT_FALSE(store_->take_operation("bop-1", "r-b", 10000));
  EXPECT_TRUE(store_->take_operation("bop-1", "r-b", 10001));
  EXPECT_EQ(store_->get_operation("bop-1")->owner, "r-b");
}

// --- copying a store ----------------------------------------------------------------------------

TEST_P(StoreTest, ImportIntoAnEmptyStoreWritesRecordsExactlyAsGiven) {
  auto inst = make_instance("i1", 1000);
  inst.status = ResourceStatus::deleting;
  inst.active_operation = "deprov-i1";
  inst.last_operation = "deprov-i1";
  inst.updated_at_ms = 3000;
  auto b = make_binding("i1", "b1", 2000);
  b.status = ResourceStatus::ready;
  b.last_operation = "bind-1";
  b.response = {{"credentials", {{"password", "imported-pw"}}}};
  auto prov = make_op("prov-i1", OperationKind::provision, "i1", "", 1000);
  prov.state = OperationState::succeeded;
  auto bind = make_op("bind-1", OperationKind::bind, "i1", "b1", 2000);
  bind.state = OperationState::succeeded;
  auto deprov = make_owned_op("deprov-i1", OperationKind::deprovision, "i1", "r-a", 3000);
  // A removed instance: only its operations remain.
  auto gone = make_op("prov-gone", OperationKind::provision, "gone", "", 500);
  gone.state = OperationState::succeeded;
  auto gone_end = make_op("deprov-gone", OperationKind::deprovision, "gone", "", 600);
  gone_end.state = OperationState::succeeded;

  store_->import_records({inst}, {b}, {gone, gone_end, prov, bind, deprov});
  expect_same_list(store_->list_instances(), {inst});
  expect_same_list(store_->list_bindings("i1"), {b});
  expect_same_list(store_->list_operations(), {gone, gone_end, prov, bind, deprov});
  expect_same_list(store_->list_unfinished_operations(), {deprov});
  EXPECT_EQ(store_->latest_operation("i1", "")->id, "deprov-i1");
  EXPECT_EQ(store_->latest_operation("i1", "b1")->id, "bind-1");
  EXPECT_EQ(store_->latest_operation("gone", "")->id, "deprov-gone");
  EXPECT_EQ(backend_->raw_binding_response("i1", "b1").rfind("osbd-sealed-v1:", 0), 0u);
  // The imported busy marker holds.
  EXPECT_EQ(store_->begin_instance_operation("i1", make_op("u", OperationKind::update, "i1"),
                                             ResourceStatus::ready, false),
            BeginResult::busy);
}

TEST_P(StoreTest, ImportThatConflictsThrowsAndWritesNothing) {
  create_ready_instance("i1", 1000);
  create_ready_binding("i1", "b1", 2000);
  const auto instances_before = store_->list_instances();
  const auto operations_before = store_->list_operations();

  const auto new_instance = make_instance("i2", 3000);
  auto new_op = make_op("prov-i2", OperationKind::provision, "i2", "", 3000);
  new_op.state = OperationState::succeeded;
  auto expect_refused = [&](const std::vector<InstanceRecord>& instances,
                            const std::vector<BindingRecord>& bindings,
                            const std::vector<OperationRecord>& operations, const char* what) {
    SCOPED_TRACE(what);
    try {
      store_->import_records(instances, bindings, operations);
      ADD_FAILURE() << "expected StoreError";
    } catch (const StoreError& e) {
      expect_no_secret(e.what());
    }
    expect_same_list(store_->list_instances(), instances_before);
    expect_same_list(store_->list_operations(), operations_before);
    EXPECT_EQ(store_->list_bindings("i1").size(), 1u);
    EXPECT_TRUE(store_->list_bindings("i2").empty());
  };
  // The new records come first: they must be rolled back with the one that conflicts.
  expect_refused({new_instance, make_instance("i1", 1000)}, {}, {new_op}, "instance id taken");
  expect_refused({new_instance}, {make_binding("i2", "b1"), make_binding("i1", "b1")}, {new_op},
                 "binding id taken");
  auto taken_op = make_op("prov-i1", OperationKind::provision, "i2", "", 3000);
  expect_refused({new_instance}, {}, {new_op, taken_op}, "operation id taken");
  EXPECT_FALSE(store_->get_instance("i2"));
  EXPECT_FALSE(store_->get_operation("prov-i2"));
  EXPECT_EQ(store_->get_binding("i1", "b1")->response["credentials"]["password"], "s3cret");
}

/// Copies between the two backends the parameters name: (from, to).
class StoreCopyTest : public ::testing::TestWithParam<std::tuple<Backend, Backend>> {
 protected:
  void SetUp() override {
    OSBD_MAKE_STORE_BACKEND(from_backend_, std::get<0>(GetParam()));
    OSBD_MAKE_STORE_BACKEND(to_backend_, std::get<1>(GetParam()));
    from_ = from_backend_->open();
    to_ = to_backend_->open();
  }

  std::unique_ptr<StoreBackend> from_backend_;
  std::unique_ptr<StoreBackend> to_backend_;
  std::unique_ptr<Store> from_;
  std::unique_ptr<Store> to_;
};

/// "SQLiteToPostgreSQL" and so on.
struct CopyParamName {
  std::string operator()(
      const ::testing::TestParamInfo<std::tuple<Backend, Backend>>& param) const {
    return testing::backend_name(std::get<0>(param.param)) + "To" +
           testing::backend_name(std::get<1>(param.param));
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreCopyTest,
                         ::testing::Combine(::testing::Values(Backend::sqlite, Backend::postgres),
                                            ::testing::Values(Backend::sqlite, Backend::postgres)),
                         CopyParamName());

TEST_P(StoreCopyTest, EveryRecordArrivesAsItWasAndTheCopyServesOn) {
  Store& s = *from_;
  // Every state a resource can be in.
  create_ready_instance(s, "ready", 1000);
  create_ready_binding(s, "ready", "b-ready", 1100);
  create_ready_binding(s, "ready", "b-gone", 1200);
  remove_binding(s, "ready", "b-gone", "unbind-b-gone", 1300);
  auto binding = make_binding("ready", "b-creating", 1400);
  ASSERT_EQ(s.begin_create_binding(
                binding, make_owned_op("bind-creating", OperationKind::bind, "ready", "r-a", 1400)),
            BeginResult::started);
  ASSERT_EQ(s.begin_create_instance(
                make_instance("creating", 1500),
                make_owned_op("prov-creating", OperationKind::provision, "creating", "r-b", 1500)),
            BeginResult::started);
  create_ready_instance(s, "removed", 1600);
  remove_instance(s, "removed", "deprov-removed", 1700);
  auto failed = make_instance("failed", 1800);
  ASSERT_EQ(s.begin_create_instance(
                failed, make_op("prov-failed", OperationKind::provision, "failed", "", 1800)),
            BeginResult::started);
  failed.status = ResourceStatus::failed;
  auto failed_op = s.get_operation("prov-failed").value();
  failed_op.state = OperationState::failed;
  failed_op.description = "quota exceeded";
  s.finish_instance_operation(failed, failed_op);
  create_ready_instance(s, "updating", 1800);  // same millisecond as failed, inserted later
  ASSERT_EQ(s.begin_instance_operation(
                "updating", make_owned_op("upd", OperationKind::update, "updating", "r-a", 1900),
                ResourceStatus::ready, false),
            BeginResult::started);

  ASSERT_TRUE(to_->empty());
  copy_records(s, *to_);
  EXPECT_FALSE(to_->empty());

  expect_same_list(to_->list_instances(), s.list_instances());
  for (const auto& instance : s.list_instances()) {
    expect_same_list(to_->list_bindings(instance.id), s.list_bindings(instance.id));
  }
  expect_same_list(to_->list_operations(), s.list_operations());
  expect_same_list(to_->list_unfinished_operations(), s.list_unfinished_operations());
  for (const auto& [iid, bid] :
       std::vector<std::pair<std::string, std::string>>{{"ready", ""},
                                                        {"ready", "b-ready"},
                                                        {"ready", "b-gone"},
                                                        {"ready", "b-creating"},
                                                        {"creating", ""},
                                                        {"removed", ""},
                                                        {"failed", ""},
                                                        {"updating", ""},
                                                        {"never", ""}}) {
    SCOPED_TRACE(iid + "/" + bid);
    const auto want = s.latest_operation(iid, bid);
    const auto got = to_->latest_operation(iid, bid);
    ASSERT_EQ(got.has_value(), want.has_value());
    if (want) {
      expect_same(*got, *want);
    }
  }
  EXPECT_EQ(to_->count_instances_by_plan().size(), s.count_instances_by_plan().size());
  // The credentials arrive sealed with the destination's key, and open.
  EXPECT_EQ(to_->get_binding("ready", "b-ready")->response["credentials"]["password"], "s3cret");
  const std::string sealed = to_backend_->raw_binding_response("ready", "b-ready");
  EXPECT_THAT(sealed, Not(HasSubstr("s3cret")));
  EXPECT_EQ(SecretBox::key_id_of(sealed),
            SecretBox::key_id(SecretBox::load_key_file(to_backend_->default_key_file(), false)));

  // After a restart the copy serves on: busy markers hold, unfinished operations finish.
  to_.reset();
  to_ = to_backend_->open();
  EXPECT_EQ(to_->get_binding("ready", "b-ready")->response["credentials"]["password"], "s3cret");
  EXPECT_EQ(
      to_->begin_instance_operation("updating", make_op("upd-2", OperationKind::update, "updating"),
                                    ResourceStatus::ready, false),
      BeginResult::busy);
  EXPECT_TRUE(to_->take_operation("upd", "r-new", 0));
  auto inst = to_->get_instance("creating").value();
  inst.status = ResourceStatus::ready;
  auto op = to_->get_operation("prov-creating").value();
  op.state = OperationState::succeeded;
  to_->finish_instance_operation(inst, op);
  EXPECT_EQ(to_->get_instance("creating")->status, ResourceStatus::ready);
  EXPECT_EQ(to_->get_instance("creating")->active_operation, "");
  create_ready_instance(*to_, "new", 5000);
  EXPECT_EQ(to_->latest_operation("new", "")->id, "prov-new");
  EXPECT_EQ(to_->latest_operation("removed", "")->id, "deprov-removed");
}

// --- usage history ------------------------------------------------------------------------------

constexpr int64_t kMinuteMs = 60 * 1000;
/// A day boundary (2022-01-08) that every usage test counts from.
constexpr int64_t kDay0 = 19000 * kDayMs;

/// Every usage event the store holds, oldest first.
std::vector<UsageEvent> all_usage_events(Store& store) {
  return store.list_usage_events(std::numeric_limits<int64_t>::max());
}

/// The samples scan_usage_samples visits for [from_ms, to_ms), in the order visited.
std::vector<UsageSample> scan_samples(Store& store, int64_t from_ms, int64_t to_ms) {
  std::vector<UsageSample> out;
  store.scan_usage_samples(from_ms, to_ms, [&](const UsageSample& s) { out.push_back(s); });
  return out;
}

/// Every sample the store holds, in the order visited.
std::vector<UsageSample> all_samples(Store& store) {
  return scan_samples(store, std::numeric_limits<int64_t>::min() / 2,
                      std::numeric_limits<int64_t>::max());
}

/// samples ordered by bucket, instance and period: comparable between stores, whose series
/// numbers (the order within a bucket) differ.
std::vector<UsageSample> by_bucket_and_instance(std::vector<UsageSample> samples) {
  std::sort(samples.begin(), samples.end(), [](const UsageSample& a, const UsageSample& b) {
    return std::tie(a.bucket_ms, a.instance_id, a.period_ms) <
           std::tie(b.bucket_ms, b.instance_id, b.period_ms);
  });
  return samples;
}

/// The event create_ready_instance writes for a make_instance record created at at_ms.
UsageEvent created_event(const std::string& id, int64_t at_ms) {
  return {id, at_ms, UsageEventKind::created, "svc-1", "plan-1", "org-1", "space-1"};
}

/// The event a deprovision that ended at at_ms writes.
UsageEvent deleted_event(const std::string& id, int64_t at_ms) {
  return {id, at_ms, UsageEventKind::deleted, "", "", "", ""};
}

/// Begins an update of the idle instance id at at_ms and ends it in state, with plan as its plan.
void update_instance(Store& store, const std::string& id, const std::string& op_id,
                     const std::string& plan, OperationState state, int64_t at_ms) {
  auto op = make_op(op_id, OperationKind::update, id, "", at_ms);
  ASSERT_EQ(store.begin_instance_operation(id, op, ResourceStatus::ready, false),
            BeginResult::started);
  auto inst = store.get_instance(id).value();
  inst.plan_id = plan;
  inst.updated_at_ms = at_ms + 500;
  op.state = state;
  op.updated_at_ms = at_ms + 500;
  store.finish_instance_operation(inst, op);
}

TEST_P(StoreTest, UsageEventsFollowSucceededCreatesUpdatesAndDeletes) {
  create_ready_instance("i1", 1000);
  expect_same_list(all_usage_events(*store_), {created_event("i1", 1000)});

  update_instance(*store_, "i1", "upd-1", "plan-2", OperationState::succeeded, 2000);
  update_instance(*store_, "i1", "upd-2", "plan-3", OperationState::failed, 3000);
  remove_instance("i1", "deprov-1", 4000);

  const UsageEvent updated{"i1",    2500,     UsageEventKind::updated, "svc-1", "plan-2",
                           "org-1", "space-1"};
  expect_same_list(all_usage_events(*store_),
                   {created_event("i1", 1000), updated, deleted_event("i1", 4000)});
  // Before is exclusive.
  expect_same_list(store_->list_usage_events(2500), {created_event("i1", 1000)});
  expect_same_list(store_->list_usage_events(2501), {created_event("i1", 1000), updated});
  EXPECT_TRUE(store_->list_usage_events(1000).empty());
  reopen();
  EXPECT_EQ(all_usage_events(*store_).size(), 3u);
}

TEST_P(StoreTest, UsageEventOwnerComesFromTheRequestElseTheContext) {
  auto cf = make_instance("cf", 1000);
  cf.organization_guid = "";
  cf.space_guid = "";
  cf.context = {
      {"platform", "cloudfoundry"}, {"organization_guid", "cf-org"}, {"space_guid", "cf-space"}};
  auto k8s = make_instance("k8s", 2000);
  k8s.organization_guid = "";
  k8s.space_guid = "";
  k8s.context = {{"platform", "kubernetes"}, {"namespace", "team-a"}};
  auto nobody = make_instance("nobody", 3000);
  nobody.organization_guid = "";
  nobody.space_guid = "";
  nobody.context = nullptr;
  for (auto inst : {cf, k8s, nobody}) {
    auto op = make_op("prov-" + inst.id, OperationKind::provision, inst.id, "", inst.created_at_ms);
    ASSERT_EQ(store_->begin_create_instance(inst, op), BeginResult::started);
    op.state = OperationState::succeeded;
    store_->finish_instance_operation(inst, op);
  }
  expect_same_list(all_usage_events(*store_),
                   {{"cf", 1000, UsageEventKind::created, "svc-1", "plan-1", "cf-org", "cf-space"},
                    {"k8s", 2000, UsageEventKind::created, "svc-1", "plan-1", "team-a", "team-a"},
                    {"nobody", 3000, UsageEventKind::created, "svc-1", "plan-1", "", ""}});
}

TEST_P(StoreTest, NoUsageEventWithoutAChangeOfTheInstance) {
  create_ready_instance("i1", 1000);
  // Bindings come and go.
  create_ready_binding("i1", "b1", 1500);
  remove_binding(*store_, "i1", "b1", "unbind-b1", 1600);
  // A finish of an operation that no longer holds the instance (a succeeded provision).
  ASSERT_EQ(store_->begin_instance_operation("i1", make_op("upd-1", OperationKind::update, "i1"),
                                             ResourceStatus::ready, false),
            BeginResult::started);
  auto stale = store_->get_operation("prov-i1").value();
  stale.updated_at_ms = 5000;
  store_->finish_instance_operation(make_instance("i1"), stale);
  // A failed provision.
  auto failed = make_instance("i2", 2000);
  auto failed_op = make_op("prov-i2", OperationKind::provision, "i2", "", 2000);
  ASSERT_EQ(store_->begin_create_instance(failed, failed_op), BeginResult::started);
  failed.status = ResourceStatus::failed;
  failed_op.state = OperationState::failed;
  store_->finish_instance_operation(failed, failed_op);
  // A refused provision, discarded.
  ASSERT_EQ(store_->begin_create_instance(make_instance("i3", 3000),
                                          make_op("prov-i3", OperationKind::provision, "i3")),
            BeginResult::started);
  store_->discard_instance("i3", "prov-i3");
  // A delete of an instance that is gone already.
  auto again = make_op("deprov-gone", OperationKind::deprovision, "gone", "", 4000);
  again.state = OperationState::succeeded;
  store_->delete_instance("gone", again);

  expect_same_list(all_usage_events(*store_), {created_event("i1", 1000)});
}

TEST_P(StoreTest, AppendUsageEventsWritesThemAsGivenInOrder) {
  const std::vector<UsageEvent> events = {
      {"b", 2000, UsageEventKind::created, "svc-2", "plan-x", "org-b", "space-b"},
      {"a", 1000, UsageEventKind::created, "svc-1", "plan-y", "org-a", "space-a"},
      {"a", 2000, UsageEventKind::updated, "svc-1", "plan-z", "org-a", "space-a"},
      {"b", 2000, UsageEventKind::deleted, "", "", "", ""},
  };
  store_->append_usage_events(events);
  // By time; in the same millisecond, in the order written.
  expect_same_list(all_usage_events(*store_), {events[1], events[0], events[2], events[3]});
  store_->append_usage_events({});
  EXPECT_EQ(all_usage_events(*store_).size(), 4u);
}

TEST_P(StoreTest, RecordUsageSamplesKeepsTheFirstSampleOfEachKey) {
  const int64_t b = kDay0 + 15 * kMinuteMs;
  const int64_t q = 15 * kMinuteMs;
  store_->record_usage_samples({{"i1", b, q, 100, 120, 3}, {"i2", b, q, 7, 7, 1}});
  // A second replica sampling the same bucket, and a duplicate in one batch.
  store_->record_usage_samples(
      {{"i1", b, q, 999, 999, 9}, {"i1", b, 5 * kMinuteMs, 50, 50, 1}, {"i2", b, q, 8, 8, 2}});
  store_->record_usage_samples({});
  expect_same_list(
      by_bucket_and_instance(all_samples(*store_)),
      {{"i1", b, 5 * kMinuteMs, 50, 50, 1}, {"i1", b, q, 100, 120, 3}, {"i2", b, q, 7, 7, 1}});
}

TEST_P(StoreTest, ScanUsageSamplesVisitsTheRowsOverlappingThePeriodInBucketOrder) {
  const int64_t from = kDay0 + 10 * kHourMs;
  const int64_t to = from + kHourMs;
  const int64_t q = 15 * kMinuteMs;
  store_->record_usage_samples({
      {"i1", to, q, 1, 1, 1},                           // starts at the end: out
      {"i2", from + 3 * q, q, 2, 2, 1},                 // in
      {"i1", from - q, q, 3, 3, 1},                     // ends at the start: out
      {"i1", from, q, 4, 4, 1},                         // in
      {"i3", kDay0, kDayMs, 5, 5, 1},                   // the day around it: in
      {"i3", kDay0 - kDayMs, kDayMs, 6, 6, 1},          // the day before: out
      {"i2", from - kHourMs, kHourMs, 7, 7, 1},         // the hour before: out
      {"i2", from + 30 * kMinuteMs, q, 8, 8, 1},        // in
      {"i1", from - 30 * kMinuteMs, kHourMs, 9, 9, 1},  // an hour reaching into it: in
  });
  expect_same_list(scan_samples(*store_, from, to),
                   {{"i3", kDay0, kDayMs, 5, 5, 1},
                    {"i1", from - 30 * kMinuteMs, kHourMs, 9, 9, 1},
                    {"i1", from, q, 4, 4, 1},
                    {"i2", from + 30 * kMinuteMs, q, 8, 8, 1},
                    {"i2", from + 3 * q, q, 2, 2, 1}});
  EXPECT_TRUE(scan_samples(*store_, to + kDayMs, to + 2 * kDayMs).empty());
}

TEST_P(StoreTest, ScanUsageSamplesVisitsEveryRowOfALargePeriodOnce) {
  // More rows than a page of the scan holds, in two buckets.
  constexpr int kInstances = 6000;
  const int64_t q = 15 * kMinuteMs;
  std::vector<UsageSample> samples;
  for (int i = 0; i < kInstances; ++i) {
    for (int64_t bucket : {kDay0, kDay0 + q}) {
      samples.push_back({"i" + std::to_string(i), bucket, q, i, i, 1});
    }
  }
  store_->record_usage_samples(samples);
  const auto got = scan_samples(*store_, kDay0, kDay0 + kHourMs);
  ASSERT_EQ(got.size(), 2u * kInstances);
  int64_t bytes = 0;
  std::set<std::pair<int64_t, std::string>> keys;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].bucket_ms, i < static_cast<size_t>(kInstances) ? kDay0 : kDay0 + q);
    keys.emplace(got[i].bucket_ms, got[i].instance_id);
    bytes += got[i].bytes_avg;
  }
  EXPECT_EQ(keys.size(), 2u * kInstances);
  EXPECT_EQ(bytes, 2LL * kInstances * (kInstances - 1) / 2);  // 2 * (0 + 1 + ... + 5999)
}

/// The retention the compaction tests use: raw rows 2 hours, hourly 2 days, daily 10.
UsageRetention test_retention() {
  UsageRetention r;
  r.raw_ms = 2 * kHourMs;
  r.hourly_ms = 2 * kDayMs;
  r.daily_ms = 10 * kDayMs;
  return r;
}

TEST_P(StoreTest, CompactUsageRollsRawRowsIntoHoursAndHoursIntoDays) {
  // Now is noon of day 20: raw rows before 10:00 of day 20 become hours, hours before day 18
  // become days, days that ended by noon of day 10 go.
  const int64_t now = kDay0 + 20 * kDayMs + 12 * kHourMs;
  const int64_t q = 15 * kMinuteMs;
  const int64_t five = kDay0 + 20 * kDayMs + 5 * kHourMs;
  std::vector<UsageSample> samples = {
      {"a", five, q, 100, 100, 1},
      {"a", five + q, q, 200, 200, 2},
      {"a", five + 2 * q, q, 300, 300, 4},
      {"a", five + 3 * q, q, 400, 400, 3},
      {"a", kDay0 + 20 * kDayMs + 11 * kHourMs, q, 500, 500, 5},     // recent: stays raw
      {"a", kDay0 + 19 * kDayMs + 3 * kHourMs, kHourMs, 60, 60, 1},  // recent: stays an hour
      {"old", kDay0 + 5 * kDayMs, kDayMs, 10, 10, 1},                // ended on day 6: goes
      {"b", kDay0 + 9 * kDayMs, kDayMs, 10, 10, 1},  // ended on day 10 at 00:00: goes
  };
  for (int h = 0; h < 24; ++h) {  // every hour of day 10 at 48 bytes
    samples.push_back({"a", kDay0 + 10 * kDayMs + h * kHourMs, kHourMs, 48, 48 + h, 7});
  }
  for (int h = 0; h < 12; ++h) {  // half of day 11 at 48 bytes: a mean of 24 over the day
    samples.push_back({"b", kDay0 + 11 * kDayMs + h * kHourMs, kHourMs, 48, 48, 1});
  }
  store_->record_usage_samples(samples);
  store_->compact_usage(test_retention(), now);

  // (100 + 200 + 300 + 400) * 15 min / 60 min = 250.
  const std::vector<UsageSample> want = {
      {"a", kDay0 + 10 * kDayMs, kDayMs, 48, 71, 7},
      {"b", kDay0 + 11 * kDayMs, kDayMs, 24, 48, 1},
      {"a", kDay0 + 19 * kDayMs + 3 * kHourMs, kHourMs, 60, 60, 1},
      {"a", five, kHourMs, 250, 400, 4},
      {"a", kDay0 + 20 * kDayMs + 11 * kHourMs, q, 500, 500, 5},
  };
  expect_same_list(all_samples(*store_), want);
  // Neither a sample nor an event names "old" any more.
  EXPECT_EQ(backend_->raw_query("SELECT COUNT(*) FROM usage_series"), "2");

  // Idempotent.
  store_->compact_usage(test_retention(), now);
  expect_same_list(all_samples(*store_), want);

  // A sample that comes late for an hour rolled up already is added to it: 800 for a quarter of
  // the hour adds 200 to its mean.
  store_->record_usage_samples({{"a", five + q, q, 800, 800, 2}});
  store_->compact_usage(test_retention(), now);
  expect_same(all_samples(*store_).at(3), {"a", five, kHourMs, 450, 800, 4});
}

TEST_P(StoreTest, CompactUsageDropsTheEventsOfInstancesDeletedBeforeTheDailyRetention) {
  // Daily rows are kept 10 days: the history before noon of day 10 goes.
  const int64_t now = kDay0 + 20 * kDayMs + 12 * kHourMs;
  const int64_t before = kDay0 + 10 * kDayMs + 12 * kHourMs;
  const UsageEvent dead_created = created_event("dead", kDay0 + kDayMs);
  const UsageEvent dead_deleted = deleted_event("dead", before - 1);
  const UsageEvent late_created = created_event("late", kDay0 + kDayMs);
  const UsageEvent late_deleted = deleted_event("late", before + 1);
  const UsageEvent live_created = created_event("live", kDay0 + kDayMs);
  const UsageEvent live_updated{
      "live", kDay0 + 3 * kDayMs, UsageEventKind::updated, "svc-1", "plan-2", "org-1", "space-1"};
  store_->append_usage_events(
      {dead_created, late_created, live_created, live_updated, dead_deleted, late_deleted});
  store_->record_usage_samples({{"dead", kDay0 + 9 * kDayMs, kDayMs, 10, 10, 1},
                                {"live", kDay0 + 9 * kDayMs, kDayMs, 10, 10, 1}});
  store_->compact_usage(test_retention(), now);
  expect_same_list(all_usage_events(*store_),
                   {late_created, live_created, live_updated, late_deleted});
  EXPECT_TRUE(all_samples(*store_).empty());
  // live keeps its series for its next samples; dead's is gone with its events and samples.
  EXPECT_EQ(backend_->raw_query("SELECT COUNT(*) FROM usage_series WHERE instance_id = 'dead'"),
            "0");
  EXPECT_EQ(backend_->raw_query("SELECT COUNT(*) FROM usage_series WHERE instance_id = 'live'"),
            "1");
}

TEST_P(StoreTest, CompactUsageKeepsTheNewLifeOfAReusedInstanceId) {
  // The id was deprovisioned before the retention and provisioned again since.
  const int64_t now = kDay0 + 20 * kDayMs + 12 * kHourMs;
  const UsageEvent first = created_event("i1", kDay0 + kDayMs);
  const UsageEvent gone = deleted_event("i1", kDay0 + 2 * kDayMs);
  const UsageEvent again = created_event("i1", kDay0 + 15 * kDayMs);
  store_->append_usage_events({first, gone, again});
  store_->compact_usage(test_retention(), now);
  expect_same_list(all_usage_events(*store_), {again});
}

TEST_P(StoreCopyTest, CopyStoreCopiesTheUsageHistory) {
  Store& s = *from_;
  create_ready_instance(s, "live", 1000);
  create_ready_instance(s, "gone", 1100);
  remove_instance(s, "gone", "deprov-gone", 1200);
  s.append_usage_events({{"older", 500, UsageEventKind::created, "svc-0", "plan-0", "o", "s"}});
  // More samples than one batch of the copy.
  std::vector<UsageSample> samples;
  for (int i = 0; i < 5200; ++i) {
    samples.push_back({i % 2 == 0 ? "live" : "gone", kDay0 + i * 15 * kMinuteMs, 15 * kMinuteMs, i,
                       i + 1, i % 7});
  }
  samples.push_back({"live", kDay0 - kDayMs, kDayMs, 33, 40, 2});
  samples.push_back({"live", kDay0 - kHourMs, kHourMs, 44, 50, 3});
  s.record_usage_samples(samples);

  const auto copied = copy_store(s, *to_);
  EXPECT_EQ(copied.instances, 1u);
  expect_same_list(all_usage_events(*to_),
                   {{"older", 500, UsageEventKind::created, "svc-0", "plan-0", "o", "s"},
                    created_event("live", 1000),
                    created_event("gone", 1100),
                    deleted_event("gone", 1200)});
  expect_same_list(by_bucket_and_instance(all_samples(*to_)), by_bucket_and_instance(samples));
  // The copy goes on recording.
  update_instance(*to_, "live", "upd-live", "plan-2", OperationState::succeeded, 2000);
  EXPECT_EQ(all_usage_events(*to_).size(), 5u);
}

// --- durability and errors ----------------------------------------------------------------------

TEST_P(StoreTest, EverythingSurvivesReopen) {
  create_ready_instance("i1", 1000);
  create_ready_binding("i1", "b1", 2000);
  ASSERT_EQ(store_->begin_create_instance(make_instance("i2", 3000),
                                          make_op("p2", OperationKind::provision, "i2", "", 3000)),
            BeginResult::started);
  const auto i1 = store_->get_instance("i1").value();
  const auto i2 = store_->get_instance("i2").value();
  const auto b1 = store_->get_binding("i1", "b1").value();
  const auto p2 = store_->get_operation("p2").value();

  reopen();

  expect_same(store_->get_instance("i1").value(), i1);
  expect_same(store_->get_instance("i2").value(), i2);
  expect_same(store_->get_binding("i1", "b1").value(), b1);
  expect_same(store_->get_operation("p2").value(), p2);
  EXPECT_EQ(store_->get_binding("i1", "b1")->response["credentials"]["password"], "s3cret");
  EXPECT_EQ(store_->list_unfinished_operations().size(), 1u);
  EXPECT_EQ(store_->latest_operation("i1", "b1")->id, "bind-i1-b1");
  // The busy marker survives too: recovery resumes rather than racing a new operation.
  EXPECT_EQ(store_->begin_instance_operation("i2", make_op("u", OperationKind::update, "i2"),
                                             ResourceStatus::ready, false),
            BeginResult::busy);
}

TEST_P(StoreTest, FailedMethodRollsBackAndErrorHidesRowContents) {
  create_ready_instance("i1");
  // Reusing an operation id breaks a unique constraint after the instance row was written.
  auto inst = make_instance("i2");
  auto op = make_op("prov-i1", OperationKind::provision, "i2");
  op.request = {{"password", "hunter2-secret"}};
  try {
    store_->begin_create_instance(inst, op);
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    expect_no_secret(e.what(), "hunter2");
  }
  EXPECT_FALSE(store_->get_instance("i2"));
  EXPECT_EQ(store_->get_operation("prov-i1")->instance_id, "i1");
  // The store is usable afterwards.
  create_ready_instance("i3");
  EXPECT_TRUE(store_->get_instance("i3"));
}

TEST_P(StoreTest, UnencodableJsonIsRefusedWithoutItsContents) {
  auto inst = make_instance("i1");
  inst.parameters = {{"k", std::string("secret\xff\xfe")}};
  try {
    store_->begin_create_instance(inst, make_op("op-1", OperationKind::provision, "i1"));
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("instances.parameters"));
    expect_no_secret(e.what(), "secret");
  }
  EXPECT_FALSE(store_->get_instance("i1"));
  EXPECT_TRUE(store_->empty());
}

/// An AsyncWrite that records when and how it ended.
class RecordingWrite final : public AsyncWrite {
 public:
  explicit RecordingWrite(std::function<void()> body) : body_(std::move(body)) {}
  void run() override { body_(); }
  void done(std::exception_ptr error) noexcept override { ended_.set_value(std::move(error)); }
  /// Waits for done() and returns its error (null for success).
  std::exception_ptr wait() { return ended_.get_future().get(); }

 private:
  std::function<void()> body_;
  std::promise<std::exception_ptr> ended_;
};

TEST_P(StoreTest, WriteAsyncCommitsItsWritesTogetherAndReportsThem) {
  create_ready_instance("taken");
  RecordingWrite ok([&] {
    ASSERT_EQ(store_->begin_create_instance(make_instance("i1"),
                                            make_op("p1", OperationKind::provision, "i1")),
              BeginResult::started);
    ASSERT_EQ(store_->begin_create_instance(make_instance("i2"),
                                            make_op("p2", OperationKind::provision, "i2")),
              BeginResult::started);
  });
  store_->write_async(ok);
  EXPECT_EQ(ok.wait(), nullptr);
  EXPECT_TRUE(store_->get_instance("i1"));
  EXPECT_TRUE(store_->get_instance("i2"));

  // One write fails: nothing of it is kept, and done() gets the StoreError.
  RecordingWrite failing([&] {
    store_->begin_create_instance(make_instance("i3"),
                                  make_op("p3", OperationKind::provision, "i3"));
    store_->begin_create_instance(make_instance("i4"),
                                  make_op("prov-taken", OperationKind::provision, "i4"));
  });
  store_->write_async(failing);
  const auto error = failing.wait();
  ASSERT_NE(error, nullptr);
  EXPECT_THROW(std::rethrow_exception(error), StoreError);
  EXPECT_FALSE(store_->get_instance("i3"));
  EXPECT_FALSE(store_->get_instance("i4"));

  RecordingWrite queued([&] {
    ASSERT_EQ(store_->begin_create_instance(make_instance("i5"),
                                            make_op("p5", OperationKind::provision, "i5")),
              BeginResult::started);
  });
  store_->queue_write(queued);
  store_->flush_writes();
  EXPECT_EQ(queued.wait(), nullptr);
  store_->wait_durable();
  EXPECT_TRUE(store_->get_instance("i5"));
}

// --- replicas sharing one store -----------------------------------------------------------------

TEST_P(StoreTest, TwoStoresRacingOnTheSameIdsStartExactlyOneOperationPerId) {
  // Two Store objects on the same storage: two osbd replicas (for SQLite: two processes on one
  // file). Only the database keeps their begins apart.
  auto second = backend_->open();
  const std::vector<Store*> stores = {store_.get(), second.get()};
  constexpr int kIds = 8;
  constexpr int kThreadsPerStore = 4;
  constexpr int kThreads = 2 * kThreadsPerStore;

  struct Tally {
    std::atomic<int> started{0};
    std::atomic<int> refused{0};  // exists or busy
  };
  std::mutex errors_mu;
  std::vector<std::string> errors;
  // Runs attempt(store, thread, id) for every id on every thread at once; counts per id.
  auto race = [&](const char* phase, auto attempt, BeginResult refusal) {
    SCOPED_TRACE(phase);
    std::vector<Tally> tallies(kIds);
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        Store& store = *stores[static_cast<size_t>(t % 2)];
        start.arrive_and_wait();
        for (int k = 0; k < kIds; ++k) {
          // Half the threads go through the ids backwards, so that every id sees contention.
          const int id = t % 4 < 2 ? k : kIds - 1 - k;
          try {
            const BeginResult r = attempt(store, t, "i" + std::to_string(id));
            if (r == BeginResult::started) {
              ++tallies[id].started;
            } else if (r == refusal || r == BeginResult::busy) {
              ++tallies[id].refused;
            } else {
              std::lock_guard lock(errors_mu);
              errors.push_back(std::string(phase) + ": unexpected result " +
                               std::to_string(static_cast<int>(r)));
            }
          } catch (const std::exception& e) {
            std::lock_guard lock(errors_mu);
            errors.push_back(std::string(phase) + ": " + e.what());
          }
        }
      });
    }
    for (auto& th : threads) {
      th.join();
    }
    for (int id = 0; id < kIds; ++id) {
      EXPECT_EQ(tallies[id].started.load(), 1) << "i" << id;
      EXPECT_EQ(tallies[id].refused.load(), kThreads - 1) << "i" << id;
    }
  };

  race(
      "create",
      [](Store& store, int t, const std::string& id) {
        return store.begin_create_instance(
            make_instance(id),
            make_op("prov-" + id + "-t" + std::to_string(t), OperationKind::provision, id));
      },
      BeginResult::exists);
  // Each instance holds exactly one of the provisions, and its row exists: finish them.
  for (int id = 0; id < kIds; ++id) {
    const std::string iid = "i" + std::to_string(id);
    auto inst = second->get_instance(iid).value();
    auto op = store_->get_operation(inst.active_operation).value();
    EXPECT_EQ(op.instance_id, iid);
    inst.status = ResourceStatus::ready;
    op.state = OperationState::succeeded;
    store_->finish_instance_operation(inst, op);
  }
  EXPECT_EQ(store_->list_operations().size(), static_cast<size_t>(kIds));

  race(
      "update",
      [](Store& store, int t, const std::string& id) {
        return store.begin_instance_operation(
            id, make_op("upd-" + id + "-t" + std::to_string(t), OperationKind::update, id),
            ResourceStatus::ready, true);
      },
      BeginResult::busy);
  EXPECT_EQ(store_->list_unfinished_operations().size(), static_cast<size_t>(kIds));
  EXPECT_EQ(second->list_operations().size(), static_cast<size_t>(2 * kIds));
  EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors);
}

// --- PostgreSQL only ----------------------------------------------------------------------------

/// A fresh PostgreSQL store, with the powers of the admin of its server.
class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::unique_ptr<StoreBackend> made;
    OSBD_MAKE_STORE_BACKEND(made, Backend::postgres);
    backend_.reset(static_cast<testing::PostgresBackend*>(made.release()));
    store_ = backend_->open();
  }

  /// Expects message not to hold the password.
  void expect_no_password(const std::string& message) const {
    EXPECT_THAT(message, Not(HasSubstr(backend_->options().password)));
  }

  std::unique_ptr<testing::PostgresBackend> backend_;
  std::unique_ptr<Store> store_;
};

// Migration 2 gives every instance that existed before it a created event, as finishing its
// provision would have. Run again here on instances written before it by undoing it.
TEST_F(PostgresStoreTest, TheUsageMigrationSeedsACreatedEventForEveryExistingInstance) {
  create_ready_instance(*store_, "plain", 1000);
  auto cf = make_instance("cf", 2000);
  cf.organization_guid = "";
  cf.space_guid = "";
  cf.context = {{"organization_guid", "cf-org"}, {"space_guid", "cf-space"}, {"namespace", "x"}};
  auto k8s = make_instance("k8s", 3000);
  k8s.organization_guid = "";
  k8s.space_guid = "";
  k8s.context = {{"organization_guid", 7}, {"namespace", "team-a"}};
  // PostgreSQL text holds no NUL byte: such an owner is left out.
  auto nul = make_instance("nul", 3500);
  nul.organization_guid = "";
  nul.space_guid = "";
  nul.context = {{"namespace", std::string("team\0b", 6)}};
  auto bare = make_instance("bare", 4000);
  bare.organization_guid = "";
  bare.space_guid = "";
  bare.context = {"not", "an", "object"};
  for (const auto& inst : {cf, k8s, nul, bare}) {
    auto op = make_op("prov-" + inst.id, OperationKind::provision, inst.id, "", inst.created_at_ms);
    ASSERT_EQ(store_->begin_create_instance(inst, op), BeginResult::started);
    op.state = OperationState::succeeded;
    store_->finish_instance_operation(inst, op);
  }
  ASSERT_EQ(store_->begin_create_instance(
                make_instance("creating", 5000),
                make_op("prov-creating", OperationKind::provision, "creating", "", 5000)),
            BeginResult::started);
  // A failed provision: never usable, never billed.
  auto broken = make_instance("broken", 6000);
  auto broken_op = make_op("prov-broken", OperationKind::provision, "broken", "", 6000);
  ASSERT_EQ(store_->begin_create_instance(broken, broken_op), BeginResult::started);
  broken.status = ResourceStatus::failed;
  broken_op.state = OperationState::failed;
  store_->finish_instance_operation(broken, broken_op);
  const auto written = all_usage_events(*store_);
  store_.reset();
  backend_->raw_exec(
      "DROP TABLE usage_events, usage_series, usage_samples; "
      "DELETE FROM schema_migrations WHERE version = 2");
  store_ = backend_->open();
  EXPECT_EQ(store_->schema_version(), 2);
  expect_same_list(all_usage_events(*store_),
                   {created_event("plain", 1000),
                    {"cf", 2000, UsageEventKind::created, "svc-1", "plan-1", "cf-org", "cf-space"},
                    {"k8s", 3000, UsageEventKind::created, "svc-1", "plan-1", "team-a", "team-a"},
                    {"nul", 3500, UsageEventKind::created, "svc-1", "plan-1", "", ""},
                    {"bare", 4000, UsageEventKind::created, "svc-1", "plan-1", "", ""}});
  // The same as the store writes when a provision ends.
  expect_same_list(all_usage_events(*store_), written);
}

TEST_F(PostgresStoreTest, LostConnectionsAreAStoreErrorAndTheNextCallReconnects) {
  create_ready_instance(*store_, "i1");
  ASSERT_GE(backend_->terminate_connections(), 1);
  // The call that finds its connection gone may fail (a StoreError, nothing else)...
  try {
    store_->get_instance("i1");
  } catch (const StoreError& e) {
    expect_no_password(e.what());
  }
  // ...the next ones work again, reads and writes alike.
  EXPECT_TRUE(store_->get_instance("i1"));
  create_ready_instance(*store_, "i2");
  EXPECT_EQ(store_->list_instances().size(), 2u);

  // A write that finds its connection gone is not half-done.
  ASSERT_GE(backend_->terminate_connections(), 1);
  bool written = false;
  try {
    written = store_->begin_create_instance(make_instance("i3"),
                                            make_op("p3", OperationKind::provision, "i3")) ==
              BeginResult::started;
  } catch (const StoreError& e) {
    expect_no_password(e.what());
  }
  EXPECT_EQ(store_->get_instance("i3").has_value(), written);
  EXPECT_EQ(store_->get_operation("p3").has_value(), written);
  EXPECT_NO_THROW(store_->check());
}

TEST_F(PostgresStoreTest, LostConnectionsOfABusyStoreCostAtMostOneFailedCall) {
  create_ready_instance(*store_, "i1");
  // Readers at once, so that the store holds several connections (up to its pool size)...
  constexpr int kReaders = 8;
  std::latch start(kReaders);
  std::vector<std::thread> readers;
  for (int t = 0; t < kReaders; ++t) {
    readers.emplace_back([&] {
      start.arrive_and_wait();
      for (int n = 0; n < 20; ++n) {
        EXPECT_TRUE(store_->get_instance("i1"));
      }
    });
  }
  for (auto& th : readers) {
    th.join();
  }
  // ...which all break together, as when the server restarts.
  ASSERT_GE(backend_->terminate_connections(), 2);
  int failed = 0;
  for (int n = 0; n < 4; ++n) {
    try {
      EXPECT_TRUE(store_->get_instance("i1"));
    } catch (const StoreError& e) {
      ++failed;
      expect_no_password(e.what());
    }
  }
  EXPECT_LE(failed, 1) << "calls failed on connections that had broken before they began";
}

TEST_F(PostgresStoreTest, CallsWhileTheDatabaseRefusesConnectionsFailAndThenRecover) {
  create_ready_instance(*store_, "i1");
  const std::string db = "\"" + backend_->options().database + "\"";
  backend_->server_exec("ALTER DATABASE " + db + " ALLOW_CONNECTIONS false");
  backend_->terminate_connections();
  for (int i = 0; i < 3; ++i) {
    try {
      store_->get_instance("i1");
      ADD_FAILURE() << "expected StoreError while the database refuses connections";
    } catch (const StoreError& e) {
      EXPECT_THAT(e.what(), HasSubstr(backend_->options().database));
      expect_no_password(e.what());
    }
  }
  EXPECT_THROW(store_->check(), StoreError);
  EXPECT_THROW(create_ready_instance(*store_, "i2"), StoreError);

  backend_->server_exec("ALTER DATABASE " + db + " ALLOW_CONNECTIONS true");
  // At most the first call may still find a broken connection; then the store serves again.
  try {
    store_->check();
  } catch (const StoreError& e) {
    expect_no_password(e.what());
  }
  EXPECT_NO_THROW(store_->check());
  EXPECT_TRUE(store_->get_instance("i1"));
  EXPECT_FALSE(store_->get_instance("i2"));
  create_ready_instance(*store_, "i2");
  EXPECT_TRUE(store_->get_instance("i2"));
}

// A replica given a key file that is not there is refused rather than sealing with a key of its
// own, which no other replica could open.
TEST(PostgresStoreOpen, AMissingKeyFileIsRefusedNotCreated) {
  std::unique_ptr<StoreBackend> fresh;
  OSBD_MAKE_STORE_BACKEND(fresh, Backend::postgres);
  const std::string key = fresh->scratch_dir() + "/missing.key";
  std::vector<std::string> errors;
  auto stores = open_together(*fresh, {key, {}}, 1, errors);
  ASSERT_EQ(stores.size(), 1u);
  EXPECT_FALSE(stores[0]);
  EXPECT_THAT(errors.at(0), HasSubstr("missing.key"));
  EXPECT_FALSE(std::filesystem::exists(key));
}

// Replicas share a PostgreSQL store (an SQLite store has a single replica: two processes opening a
// fresh SQLite file at once can fail with "enable WAL: database is locked").
TEST(PostgresStoreOpen, ReplicasStartingTogetherOnAFreshDatabaseApplyEachMigrationOnce) {
  std::unique_ptr<StoreBackend> fresh;
  OSBD_MAKE_STORE_BACKEND(fresh, Backend::postgres);
  // A key that exists already: a PostgreSQL store never creates one (next test).
  const std::string key = fresh->scratch_dir() + "/shared.key";
  SecretBox::load_key_file(key, true);
  std::vector<std::string> errors;
  auto stores = open_together(*fresh, {key, {}}, 4, errors);
  for (size_t t = 0; t < stores.size(); ++t) {
    ASSERT_TRUE(stores[t]) << t << ": " << errors[t];
  }
  const int version = stores[0]->schema_version();
  for (const auto& store : stores) {
    EXPECT_EQ(store->schema_version(), version);
  }
  EXPECT_EQ(fresh->raw_query("SELECT COUNT(*) FROM schema_migrations"), std::to_string(version));
  // They are one store: what one writes, the others read.
  state::create_ready_instance(*stores[1], "i1");
  EXPECT_TRUE(stores[3]->get_instance("i1"));
  stores.clear();
}

TEST(PostgresStoreOpen, WrongPasswordIsAStoreErrorWithoutThePassword) {
  std::unique_ptr<StoreBackend> made;
  OSBD_MAKE_STORE_BACKEND(made, Backend::postgres);
  auto& backend = static_cast<testing::PostgresBackend&>(*made);
  PostgresOptions options = backend.options();
  options.password = "wrong-password-d41d8cd9";
  try {
    open_postgres_store(options, backend.default_sealing());
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), Not(HasSubstr("wrong-password-d41d8cd9")));
    EXPECT_THAT(e.what(), Not(HasSubstr(backend.options().password)));
  }
}

TEST(PostgresStoreOpen, MissingDatabaseOrServerIsAStoreError) {
  std::unique_ptr<StoreBackend> made;
  OSBD_MAKE_STORE_BACKEND(made, Backend::postgres);
  auto& backend = static_cast<testing::PostgresBackend&>(*made);
  PostgresOptions missing_db = backend.options();
  missing_db.database += "_missing";
  try {
    open_postgres_store(missing_db, backend.default_sealing());
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr(missing_db.database));
    EXPECT_THAT(e.what(), Not(HasSubstr(missing_db.password)));
  }
  PostgresOptions no_server = backend.options();
  no_server.port = 1;  // nothing listens there
  no_server.connect_timeout_seconds = 2;
  try {
    open_postgres_store(no_server, backend.default_sealing());
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), Not(HasSubstr(no_server.password)));
  }
}

TEST(PostgresStoreOpen, AKeyFileIsRequired) {
  std::unique_ptr<StoreBackend> made;
  OSBD_MAKE_STORE_BACKEND(made, Backend::postgres);
  auto& backend = static_cast<testing::PostgresBackend&>(*made);
  try {
    open_postgres_store(backend.options(), SealingOptions{});
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("key_file"));
    EXPECT_THAT(e.what(), Not(HasSubstr(backend.options().password)));
  }
}

}  // namespace
}  // namespace osbd::state
