// Named catalogs of one osbd: their own base paths, credentials, selections and overrides, and
// instances that belong to the catalog they were created through.

#include <string>

#include <gtest/gtest.h>

#include "broker_fixture.hpp"

namespace osbd::test {
namespace {

constexpr const char* kAdminUser = "operator";
constexpr const char* kAdminPassword = "s3cret-admin-password";

struct Tenant {
  const char* name;
  const char* user;
  const char* password;
};
constexpr Tenant kTeamA{"team-a", "team-a", "team-a-password"};
constexpr Tenant kTeamB{"team-b", "team-b", "team-b-password"};
constexpr const char* kTeamARotated = "team-a-rotated-password";

BrokerSetup two_catalogs() {
  BrokerSetup setup;
  setup.extra_yaml = std::string("admin:\n  username: ") + kAdminUser +
                     "\n  password: " + kAdminPassword +
                     "\n"
                     "catalogs:\n"
                     "  team-a:\n"
                     "    credentials:\n"
                     "      - {username: team-a, password: team-a-password}\n"
                     "      - {username: team-a, password: team-a-rotated-password}\n"
                     "    services:\n"
                     "      - service: example-service\n"
                     "        description: Team A's example databases\n"
                     "        metadata: {displayName: Example for A}\n"
                     "        plans:\n"
                     "          - plan: sync\n"
                     "            description: Team A's plan\n"
                     "            metadata:\n"
                     "              bullets: [Backed up nightly]\n"
                     "              costs: [{amount: {eur: 9.5}, unit: MONTHLY}]\n"
                     "  team-b:\n"
                     "    credentials:\n"
                     "      - {username: team-b, password: team-b-password}\n"
                     "    services:\n"
                     "      - service: " +
                     kService +
                     "\n"
                     "        plans: [" +
                     kSyncPlan + ", async]\n";
  return setup;
}

class CatalogsTest : public ::testing::Test {
 protected:
  void SetUp() override { broker_.start(); }

  HttpResult as(const Tenant& t, http::verb method, const std::string& target,
                const std::string& body = "", const char* password = nullptr) {
    std::map<std::string, std::string> headers = {
        {"Authorization", basic_auth(t.user, password != nullptr ? password : t.password)},
        {"X-Broker-API-Version", "2.17"}};
    if (!body.empty()) {
      headers.emplace("Content-Type", "application/json");
    }
    return http_request(broker_.port(), method, std::string("/catalogs/") + t.name + target, body,
                        headers);
  }
  HttpResult as_default(http::verb method, const std::string& target,
                        const std::string& body = "") {
    return platform_(method, target, body);
  }
  static json provision_body(json parameters, const std::string& plan = kSyncPlan) {
    return {{"service_id", kService},
            {"plan_id", plan},
            {"organization_guid", "org-1"},
            {"space_guid", "space-1"},
            {"parameters", std::move(parameters)}};
  }
  static std::string delete_query() {
    return std::string("?service_id=") + kService + "&plan_id=" + kSyncPlan;
  }

  BrokerProcess broker_{two_catalogs()};
  PlatformClient platform_{broker_};
};

// The services of a catalog body, by id.
std::map<std::string, json> services_of(const HttpResult& r) {
  std::map<std::string, json> out;
  const json body = r.json();
  for (const auto& s : body.at("services")) {
    out[s.at("id")] = s;
  }
  return out;
}

TEST_F(CatalogsTest, EachCatalogShowsItsSelectionWithItsOverrides) {
  const auto a = as(kTeamA, http::verb::get, "/v2/catalog");
  ASSERT_EQ(a.status, 200u) << a.body;
  const auto a_services = services_of(a);
  ASSERT_EQ(a_services.size(), 1u) << a.body;
  const json& sa = a_services.at(kService);
  EXPECT_EQ(sa.at("description"), "Team A's example databases");
  EXPECT_EQ(sa.at("metadata").at("displayName"), "Example for A");
  ASSERT_EQ(sa.at("plans").size(), 1u);
  EXPECT_EQ(sa.at("plans").at(0).at("id"), kSyncPlan);
  EXPECT_EQ(sa.at("plans").at(0).at("description"), "Team A's plan");
  EXPECT_EQ(sa.at("plans").at(0).at("metadata").at("bullets").at(0), "Backed up nightly");
  EXPECT_EQ(sa.at("plans").at(0).at("metadata").at("costs").at(0).at("amount").at("eur"), 9.5);

  const auto b = as(kTeamB, http::verb::get, "/v2/catalog");
  ASSERT_EQ(b.status, 200u) << b.body;
  const auto b_services = services_of(b);
  ASSERT_EQ(b_services.size(), 1u) << b.body;
  const json& sb = b_services.at(kService);
  ASSERT_EQ(sb.at("plans").size(), 2u);
  EXPECT_EQ(sb.at("plans").at(1).at("id"), kAsyncPlan);
  // No overrides in B: the plugin's own texts.
  const auto d = as_default(http::verb::get, "/v2/catalog");
  ASSERT_EQ(d.status, 200u);
  const auto d_services = services_of(d);
  EXPECT_GE(d_services.size(), 1u);
  EXPECT_EQ(sb.at("description"), d_services.at(kService).at("description"));
  EXPECT_NE(sa.at("description"), d_services.at(kService).at("description"));
  // Three catalogs, three entity tags.
  EXPECT_NE(a.headers.at("ETag"), b.headers.at("ETag"));
  EXPECT_NE(a.headers.at("ETag"), d.headers.at("ETag"));
}

TEST_F(CatalogsTest, EachCatalogTakesOnlyItsOwnCredentials) {
  EXPECT_EQ(as(kTeamA, http::verb::get, "/v2/catalog").status, 200u);
  EXPECT_EQ(as(kTeamA, http::verb::get, "/v2/catalog", "", kTeamARotated).status, 200u)
      << "both pairs of a catalog work during a rotation";
  // B's credentials on A's path, A's on B's, the default platform's on A's: refused.
  const Tenant b_on_a{kTeamA.name, kTeamB.user, kTeamB.password};
  const Tenant a_on_b{kTeamB.name, kTeamA.user, kTeamA.password};
  const Tenant default_on_a{kTeamA.name, BrokerProcess::kUser, BrokerProcess::kPassword};
  for (const Tenant& t : {b_on_a, a_on_b, default_on_a}) {
    const auto r = as(t, http::verb::get, "/v2/catalog");
    EXPECT_EQ(r.status, 401u) << t.user << " on " << t.name;
    EXPECT_EQ(r.json().value("error", ""), "Unauthorized");
  }
  // A catalog's credentials do not open the default catalog, and no catalog is named "nope".
  const auto a_on_default =
      http_request(broker_.port(), http::verb::get, "/v2/catalog", "",
                   {{"Authorization", basic_auth(kTeamA.user, kTeamA.password)},
                    {"X-Broker-API-Version", "2.17"}});
  EXPECT_EQ(a_on_default.status, 401u);
  const Tenant nope{"nope", kTeamA.user, kTeamA.password};
  EXPECT_EQ(as(nope, http::verb::get, "/v2/catalog").status, 401u);
}

TEST_F(CatalogsTest, InstancesWithTheSameIdInTwoCatalogsAreTwoInstances) {
  const std::string path = "/v2/service_instances/shared-id";
  auto a = as(kTeamA, http::verb::put, path, provision_body({{"size", 1}}).dump());
  ASSERT_EQ(a.status, 201u) << a.body;
  // B and the default catalog see A's instance as if it did not exist: the same answers as for
  // an id nobody used.
  const std::string never = "/v2/service_instances/never-used";
  EXPECT_EQ(as(kTeamB, http::verb::get, path).status, 404u);
  EXPECT_EQ(as_default(http::verb::get, path).status, 404u);
  EXPECT_EQ(as(kTeamB, http::verb::delete_, path + delete_query()).status, 410u);
  for (const char* suffix : {"", "/last_operation", "/service_bindings/x"}) {
    const auto seen = as(kTeamB, http::verb::get, path + suffix);
    const auto unused = as(kTeamB, http::verb::get, never + suffix);
    EXPECT_EQ(seen.status, unused.status) << suffix;
    EXPECT_EQ(seen.body, unused.body) << suffix;
  }
  // B creates its own instance with the same id; A's stays as it was.
  auto b = as(kTeamB, http::verb::put, path, provision_body({{"size", 2}}).dump());
  ASSERT_EQ(b.status, 201u) << b.body;
  auto a_fetch = as(kTeamA, http::verb::get, path);
  ASSERT_EQ(a_fetch.status, 200u);
  EXPECT_EQ(a_fetch.json().at("parameters").at("size"), 1);
  auto b_fetch = as(kTeamB, http::verb::get, path);
  ASSERT_EQ(b_fetch.status, 200u);
  EXPECT_EQ(b_fetch.json().at("parameters").at("size"), 2);
  // A binding made through B belongs to B's instance only.
  const json bind = {{"service_id", kService}, {"plan_id", kSyncPlan}, {"app_guid", "app-1"}};
  ASSERT_EQ(as(kTeamB, http::verb::put, path + "/service_bindings/bind-1", bind.dump()).status,
            201u);
  EXPECT_EQ(as(kTeamA, http::verb::get, path + "/service_bindings/bind-1").status, 404u);
  // The operator sees both, each with its catalog.
  const auto inventory = http_request(broker_.port(), http::verb::get, "/admin/instances", "",
                                      {{"Authorization", basic_auth(kAdminUser, kAdminPassword)}});
  ASSERT_EQ(inventory.status, 200u) << inventory.body;
  std::set<std::string> catalogs;
  const json listed = inventory.json();
  for (const auto& i : listed.at("instances")) {
    if (i.at("id") == "shared-id") {
      catalogs.insert(i.at("catalog").get<std::string>());
      EXPECT_EQ(i.at("bindings"), i.at("catalog") == "team-b" ? 1 : 0);
    }
  }
  EXPECT_EQ(catalogs, (std::set<std::string>{"team-a", "team-b"}));
  // A deletes its instance; B's is untouched.
  EXPECT_EQ(as(kTeamA, http::verb::delete_, path + delete_query()).status, 200u);
  EXPECT_EQ(as(kTeamA, http::verb::get, path).status, 404u);
  EXPECT_EQ(as(kTeamB, http::verb::get, path).status, 200u);
}

TEST_F(CatalogsTest, APlanACatalogDoesNotShowCannotBeProvisionedThroughIt) {
  // team-a shows only the sync plan of the example service.
  auto r = as(kTeamA, http::verb::put, "/v2/service_instances/async-in-a",
              provision_body(json::object(), kAsyncPlan).dump());
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_NE(r.json().value("description", "").find("unknown plan_id"), std::string::npos);
  EXPECT_EQ(as(kTeamA, http::verb::get, "/v2/service_instances/async-in-a").status, 404u);
  // The same request through team-b, which shows it, is accepted.
  r = as(kTeamB, http::verb::put, "/v2/service_instances/async-in-b?accepts_incomplete=true",
         provision_body(json::object(), kAsyncPlan).dump());
  EXPECT_EQ(r.status, 202u) << r.body;
}

}  // namespace
}  // namespace osbd::test
