// osb/plugins/server_fleet.hpp: where an existing instance is and where a new one goes, with a
// census callback instead of servers.

#include <osb/plugins/server_fleet.hpp>

#include <map>
#include <set>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

namespace {

using osb::plugins::ServerInfo;
using osb::plugins::ServerLoad;

struct Down : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using Fleet = osb::plugins::ServerFleet<ServerInfo, osb::plugins::PlanInfo, Down>;

struct ServerFleetTest : ::testing::Test {
  ServerFleetTest() {
    for (const char* name : {"a", "b", "c"}) {
      ServerInfo server;
      server.name = name;
      offerings.servers.push_back(server);
    }
    plan.id = "plan-1";
    plan.servers = {"a", "b", "c"};
  }

  // What the fake servers hold: database names by server; servers in down throw Down.
  ServerLoad census(const ServerInfo& server, const std::string& database, bool count) const {
    if (down.count(server.name) != 0) {
      throw Down(server.name + " is down");
    }
    const std::multimap<std::string, std::string>::const_iterator end =
        held.upper_bound(server.name);
    long instances = 0;
    for (auto it = held.lower_bound(server.name); it != end; ++it) {
      if (it->second == database) {
        return {true, 0};
      }
      ++instances;
    }
    return {false, count ? instances : 0};
  }

  Fleet fleet() {
    return Fleet(offerings, host,
                 [this](const ServerInfo& server, const std::string& database, bool count) {
                   return census(server, database, count);
                 });
  }

  osb::plugins::Offerings<ServerInfo, osb::plugins::PlanInfo> offerings;
  osb::plugins::PlanInfo plan;
  std::multimap<std::string, std::string> held;
  std::set<std::string> down;
  osb_host_v1 table{};
  osb::sdk::Host host{&table};
};

TEST_F(ServerFleetTest, PlacesOnTheLeastLoadedServerOrWhereTheDatabaseIs) {
  held = {{"a", "x"}, {"a", "y"}, {"b", "z"}, {"c", "w"}, {"c", "v"}};
  EXPECT_EQ(fleet().place(plan, "new")->name, "b");
  EXPECT_EQ(fleet().place(plan, "v")->name, "c") << "a repeated provision stays where it is";
}

TEST_F(ServerFleetTest, PlacementSkipsServersThatAreDownUnlessAllAre) {
  held = {{"b", "z"}};
  down = {"a"};
  EXPECT_EQ(fleet().place(plan, "new")->name, "c");
  down = {"a", "b", "c"};
  EXPECT_THROW(fleet().place(plan, "new"), Down);
}

TEST_F(ServerFleetTest, FindsAnInstanceByItsStateOrAmongAllServers) {
  held = {{"b", "x"}};
  EXPECT_EQ(fleet().find(nlohmann::json::object(), "", "x")->name, "b");
  EXPECT_EQ(fleet().find({{"server", "c"}}, "", "x"), nullptr) << "the state names the server";
  EXPECT_EQ(fleet().find(nlohmann::json::object(), "", "missing"), nullptr);
  down = {"a"};
  EXPECT_THROW(fleet().find(nlohmann::json::object(), "", "missing"), Down)
      << "it may be on the server that could not be asked";
}

}  // namespace
