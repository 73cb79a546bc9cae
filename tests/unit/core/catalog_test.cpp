#include "catalog/validate.hpp"

#include <gtest/gtest.h>

namespace osbd::catalog {
namespace {

using nlohmann::json;

json valid_catalog() {
  return json::parse(R"({"services": [{
    "id": "s1", "name": "db", "description": "A database", "bindable": true,
    "tags": ["sql"], "requires": ["syslog_drain"], "plan_updateable": true,
    "plans": [
      {"id": "p1", "name": "small", "description": "Small", "free": true,
       "maintenance_info": {"version": "1.0.0"}, "maximum_polling_duration": 60,
       "schemas": {"service_instance": {"create": {"parameters": {
          "$schema": "http://json-schema.org/draft-04/schema#", "type": "object"}}}}},
      {"id": "p2", "name": "large", "description": "Large"}
    ]}]})");
}

std::string problem_after(const std::function<void(json&)>& change) {
  json c = valid_catalog();
  change(c);
  return validate_catalog(c);
}

TEST(ValidateCatalog, AcceptsAValidCatalogAndAnEmptyOne) {
  EXPECT_EQ(validate_catalog(valid_catalog()), "");
  EXPECT_EQ(validate_catalog(json{{"services", json::array()}}), "");
}

TEST(ValidateCatalog, NamesTheMissingRequiredField) {
  EXPECT_EQ(problem_after([](json& c) { c["services"][0].erase("description"); }),
            "services[0].description: required field is missing");
  EXPECT_EQ(problem_after([](json& c) { c["services"][0].erase("bindable"); }),
            "services[0].bindable: required field is missing");
  EXPECT_EQ(problem_after([](json& c) { c["services"][0]["plans"][1].erase("id"); }),
            "services[0].plans[1].id: required field is missing");
  EXPECT_EQ(problem_after([](json& c) { c["services"][0]["plans"] = json::array(); }),
            "services[0].plans: required: an array with at least one plan");
  EXPECT_NE(validate_catalog(json::object()).find("services"), std::string::npos);
}

TEST(ValidateCatalog, RejectsNamesThatAreNotCliFriendly) {
  EXPECT_NE(problem_after([](json& c) {
              c["services"][0]["name"] = "My Service!";
            }).find("services[0].name: 'My Service!' is not CLI-friendly"),
            std::string::npos);
  EXPECT_NE(problem_after([](json& c) {
              c["services"][0]["plans"][0]["name"] = "sm all";
            }).find("plans[0].name"),
            std::string::npos);
}

TEST(ValidateCatalog, RejectsWrongTypesAndDuplicatesWithinAService) {
  EXPECT_EQ(problem_after([](json& c) { c["services"][0]["bindable"] = "yes"; }),
            "services[0].bindable: must be a boolean");
  EXPECT_NE(problem_after([](json& c) { c["services"][0]["requires"] = {"teleport"}; }), "");
  EXPECT_NE(problem_after([](json& c) {
              c["services"][0]["plans"][1]["name"] = "small";
            }).find("used by another plan"),
            std::string::npos);
  EXPECT_NE(problem_after([](json& c) {
              c["services"][0]["plans"][0]["maintenance_info"] = json::object();
            }).find("maintenance_info.version"),
            std::string::npos);
  EXPECT_NE(
      problem_after([](json& c) {
        c["services"][0]["plans"][0]["schemas"]["service_instance"]["create"]["parameters"].erase(
            "$schema");
      }).find("$schema"),
      std::string::npos);
  EXPECT_NE(problem_after([](json& c) {
              c["services"][0]["plans"][0]["maximum_polling_duration"] = -1;
            }).find("maximum_polling_duration"),
            std::string::npos);
}

TEST(CliFriendly, Rules) {
  EXPECT_TRUE(is_cli_friendly("postgresql-small_v1.2"));
  EXPECT_FALSE(is_cli_friendly(""));
  EXPECT_FALSE(is_cli_friendly("a b"));
  EXPECT_FALSE(is_cli_friendly("ünïcode"));
}

}  // namespace
}  // namespace osbd::catalog
