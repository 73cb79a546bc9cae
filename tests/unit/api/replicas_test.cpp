// Replicas sharing one store: which replica polls or settles an unfinished operation, and what
// /admin/replicas and /metrics say about the replicas. Two Lifecycles on one store stand in for
// two osbd processes; heartbeats are written into the store directly, so that "alive" and
// "stopped" are chosen by the test.

#include <chrono>
#include <string>

#include "api/lifecycle_util.hpp"
#include "api/replicas.hpp"
#include "api_fixture.hpp"

namespace osbd::test {
namespace {

constexpr int64_t kLeaseMs = 10000;

class ReplicasTest : public ApiTest {
 protected:
  /// Writes a heartbeat of replica id, age_ms old, serving fingerprint.
  void heartbeat(const std::string& id, int64_t age_ms, const std::string& fingerprint = "") {
    state::ReplicaRecord r;
    r.id = id;
    r.host = "host-" + id;
    r.version = "1.2.3";
    r.listen = "127.0.0.1:8080";
    r.plugins = json::array({{{"name", "fake"}, {"version", "1.0"}}});
    r.catalog_fingerprint =
        fingerprint.empty() ? api::catalog_fingerprint(*catalogs_) : fingerprint;
    r.started_at_ms = api::detail::now_ms() - 60000;
    r.heartbeat_at_ms = api::detail::now_ms() - age_ms;
    store_->heartbeat(r);
  }

  /// Restarts the lifecycle as replica id of a shared store (recover() runs, as at osbd's start).
  void become(const std::string& id) { rewire(default_options(), {false, id, kLeaseMs, true}); }

  /// An in-progress synchronous provision that replica owner started and never finished.
  void interrupted_provision(const std::string& instance_id, const std::string& owner) {
    const int64_t now = api::detail::now_ms();
    state::InstanceRecord instance;
    instance.id = instance_id;
    instance.service_id = FakePlugin::kService;
    instance.plan_id = FakePlugin::kSmallPlan;
    instance.plugin = "fake";
    instance.created_at_ms = instance.updated_at_ms = now;
    auto op = api::detail::new_operation(owner, state::OperationKind::provision, instance_id, "",
                                         false, json::object(), now, nullptr);
    instance.active_operation = instance.last_operation = op.id;
    ASSERT_EQ(store_->begin_create_instance(instance, op), state::BeginResult::started);
  }

  std::string owner_of(const std::string& operation_id) {
    return store_->get_operation(operation_id).value().owner;
  }
};

TEST_F(ReplicasTest, OperationsRecordTheReplicaThatStartedThem) {
  become("replica-a");
  const std::string op = provisioning("i");
  EXPECT_EQ(owner_of(op), "replica-a");
}

TEST_F(ReplicasTest, ALiveReplicasOperationIsNeitherPolledNorSettledByAnother) {
  become("replica-a");
  const std::string op = provisioning("i");
  heartbeat("replica-a", 1000);
  become("replica-b");  // recovery on b leaves a's operation alone
  fake_.script(Operation::poll, Answer::poll("succeeded"));
  EXPECT_EQ(lifecycle_->poll_unfinished(), 0);
  const Reply r = instance_last_operation("i", op);
  EXPECT_EQ(r.body["state"], "in progress");
  EXPECT_EQ(fake_.count(Operation::poll), 0u);
  EXPECT_EQ(owner_of(op), "replica-a");
}

TEST_F(ReplicasTest, AStoppedReplicasAsynchronousOperationIsTakenOverAndPolled) {
  become("replica-a");
  const std::string op = provisioning("i");
  heartbeat("replica-a", kLeaseMs + 5000);
  become("replica-b");
  fake_.script(Operation::poll, Answer::poll("succeeded"));
  EXPECT_EQ(lifecycle_->poll_unfinished(), 1);
  EXPECT_EQ(fake_.count(Operation::poll), 1u);
  EXPECT_EQ(owner_of(op), "replica-b");
  EXPECT_EQ(instance_last_operation("i", op).body["state"], "succeeded");
  EXPECT_EQ(fetch_instance("i").status, 200u);
}

TEST_F(ReplicasTest, LastOperationOnAnotherReplicaTakesOverFromAStoppedOne) {
  become("replica-a");
  const std::string op = provisioning("i");
  store_->remove_replica("replica-a");  // a stopped cleanly
  become("replica-b");
  fake_.script(Operation::poll, Answer::poll("succeeded"));
  EXPECT_EQ(instance_last_operation("i", op).body["state"], "succeeded");
  EXPECT_EQ(owner_of(op), "replica-b");
}

TEST_F(ReplicasTest, AStoppedReplicasSynchronousOperationIsFailedOnceItsLeaseExpires) {
  interrupted_provision("i", "replica-a");
  heartbeat("replica-a", 1000);
  become("replica-b");
  const auto op = store_->latest_operation("i", "").value();
  EXPECT_EQ(op.state, state::OperationState::in_progress);  // a still runs it
  EXPECT_EQ(lifecycle_->poll_unfinished(), 0);

  heartbeat("replica-a", kLeaseMs + 1);
  EXPECT_EQ(lifecycle_->poll_unfinished(), 1);
  const auto failed = store_->get_operation(op.id).value();
  EXPECT_EQ(failed.state, state::OperationState::failed);
  EXPECT_NE(failed.description.find("replica-a"), std::string::npos) << failed.description;
  EXPECT_EQ(failed.owner, "replica-b");
}

TEST_F(ReplicasTest, ARestartedReplicaTakesBackItsOwnOperationsAtOnce) {
  interrupted_provision("i", "replica-a");
  heartbeat("replica-a", 0);  // its previous run's heartbeat is still fresh
  become("replica-a");
  const auto op = store_->latest_operation("i", "").value();
  EXPECT_EQ(op.state, state::OperationState::failed);
}

// A replica whose heartbeats stopped while its synchronous provision ran (the database away
// longer than the lease, the process frozen): another replica takes the operation over. The
// provision's end is then not acknowledged, whatever the store kept of it.
TEST_F(ReplicasTest, ASynchronousEndAfterATakeOverIsNotAcknowledged) {
  become("replica-a");
  fake_.before_next(Operation::provision, [this] {
    const auto op = store_->latest_operation("i", "").value();
    ASSERT_TRUE(store_->take_operation(op.id, "replica-b", api::detail::now_ms()));
  });
  EXPECT_TRUE(IsOsbError(provision("i"), 500, "InternalError"));

  fake_.before_next(Operation::provision, [] {});
  const Reply own = provision("j");
  EXPECT_EQ(own.status, 201u) << own.raw.body();  // still its own: acknowledged
}

// An SQLite store has one process: an osbd restarted under another id (another port) takes its
// earlier run's operations at once, however fresh that run's last heartbeat.
TEST_F(ReplicasTest, WithoutReplicasARestartUnderAnotherIdRecoversAtOnce) {
  interrupted_provision("i", "host:8080");
  heartbeat("host:8080", 0);
  rewire(default_options(), {false, "host:9090", kLeaseMs, /*shared_store=*/false});
  const auto op = store_->latest_operation("i", "").value();
  EXPECT_EQ(op.state, state::OperationState::failed);
  EXPECT_EQ(op.owner, "host:9090");
}

TEST_F(ReplicasTest, AdminReplicasListsHeartbeatsAndFlagsOtherCatalogs) {
  become("replica-a");
  heartbeat("replica-a", 100);
  heartbeat("replica-b", 200, "\"another-catalog\"");
  heartbeat("replica-c", kLeaseMs + 1000, "\"another-catalog\"");
  const Reply r = send(admin_request(bhttp::verb::get, "/admin/replicas"));
  ASSERT_EQ(r.status, 200u) << r.raw.body();
  EXPECT_EQ(r.body["self"], "replica-a");
  const json& list = r.body["replicas"];
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0]["id"], "replica-a");
  EXPECT_EQ(list[0]["host"], "host-replica-a");
  EXPECT_EQ(list[0]["plugins"][0]["name"], "fake");
  EXPECT_EQ(list[0]["alive"], true);
  EXPECT_EQ(list[0]["catalog_mismatch"], false);
  EXPECT_EQ(list[1]["alive"], true);
  EXPECT_EQ(list[1]["catalog_mismatch"], true);
  EXPECT_EQ(list[2]["alive"], false);  // stopped: not counted as a mismatch
  EXPECT_EQ(list[2]["catalog_mismatch"], false);

  const Reply metrics = send(admin_request(bhttp::verb::get, "/metrics"));
  ASSERT_EQ(metrics.status, 200u);
  EXPECT_NE(metrics.raw.body().find("\nosbd_replicas_alive 2\n"), std::string::npos);
  EXPECT_NE(metrics.raw.body().find("\nosbd_replica_catalog_mismatch 1\n"), std::string::npos);
}

TEST_F(ReplicasTest, AdminReplicasNeedsTheAdminCredentials) {
  const Reply r = send(platform_request(bhttp::verb::get, "/admin/replicas"));
  EXPECT_EQ(r.status, 401u);
}

}  // namespace
}  // namespace osbd::test
