// Runs the official JSON-Schema-Test-Suite (Debian package json-schema-test-suite) over every
// keyword file osbd claims to support. Cases in files not claimed, and groups that need remote
// schemas, are counted as skipped, never as passed; any failing claimed case fails the test.

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "schema/schema.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using osbd::schema::Draft;
using osbd::schema::Schema;
using osbd::schema::SchemaError;

/// The suite root; the environment may point elsewhere than the configure-time default.
fs::path suite_root() {
  if (const char* dir = std::getenv("OSBD_JSON_SCHEMA_TEST_SUITE_DIR")) {
    return dir;
  }
  return OSBD_JSON_SCHEMA_TEST_SUITE_DIR;
}

struct DraftClaim {
  const char* folder;
  Draft draft;
  std::vector<std::string> files;  ///< relative to tests/<folder>
};

// The keywords shared by drafts 04, 06 and 07.
const std::vector<std::string> kCommonFiles = {"additionalItems.json",
                                               "additionalProperties.json",
                                               "allOf.json",
                                               "anyOf.json",
                                               "default.json",
                                               "definitions.json",
                                               "dependencies.json",
                                               "enum.json",
                                               "items.json",
                                               "maxItems.json",
                                               "maxLength.json",
                                               "maxProperties.json",
                                               "maximum.json",
                                               "minItems.json",
                                               "minLength.json",
                                               "minProperties.json",
                                               "minimum.json",
                                               "multipleOf.json",
                                               "not.json",
                                               "oneOf.json",
                                               "pattern.json",
                                               "patternProperties.json",
                                               "properties.json",
                                               "ref.json",
                                               "refRemote.json",
                                               "required.json",
                                               "type.json",
                                               "uniqueItems.json",
                                               "optional/zeroTerminatedFloats.json"};

// Added by draft-06 (and kept by draft-07).
const std::vector<std::string> kDraft6Files = {
    "boolean_schema.json",   "const.json",         "contains.json",       "exclusiveMaximum.json",
    "exclusiveMinimum.json", "propertyNames.json", "optional/bignum.json"};

// draft-07 keeps its format tests one file per format; only the formats osbd checks.
const std::vector<std::string> kDraft7Files = {
    "if-then-else.json",         "optional/format/date-time.json", "optional/format/email.json",
    "optional/format/ipv4.json", "optional/format/ipv6.json",      "optional/format/uri.json"};

std::vector<DraftClaim> claims() {
  DraftClaim d4{"draft4", Draft::draft4, kCommonFiles};
  // draft-04's optional/bignum.json wants 1e52-sized integers read as integers; nlohmann::json
  // stores them as doubles, and draft-04 says a double is not an integer, so it is not claimed.
  d4.files.push_back("optional/format.json");
  DraftClaim d6{"draft6", Draft::draft6, kCommonFiles};
  d6.files.insert(d6.files.end(), kDraft6Files.begin(), kDraft6Files.end());
  d6.files.push_back("optional/format.json");
  DraftClaim d7{"draft7", Draft::draft7, kCommonFiles};
  d7.files.insert(d7.files.end(), kDraft6Files.begin(), kDraft6Files.end());
  d7.files.insert(d7.files.end(), kDraft7Files.begin(), kDraft7Files.end());
  return {d4, d6, d7};
}

/// Formats osbd asserts; other format groups in the mixed draft-04/06 format.json are skipped.
const std::set<std::string> kCheckedFormats = {"date-time", "email", "ipv4", "ipv6", "uri"};

/// Groups whose schema needs a remote document (localhost:1234 or json-schema.org). osbd must
/// refuse them at compile time; their cases count as skipped.
bool needs_remote(const std::string& file, const std::string& group) {
  if (file == "refRemote.json") {
    return true;
  }
  static const std::set<std::pair<std::string, std::string>> kGroups = {
      {"definitions.json", "valid definition"},
      {"definitions.json", "invalid definition"},
      {"ref.json", "remote ref, containing refs itself"},
  };
  return kGroups.count({file, group}) != 0;
}

struct Tally {
  std::size_t passed = 0;
  std::size_t total = 0;  ///< claimed cases run
  std::size_t skipped = 0;

  void add(const Tally& other) {
    passed += other.passed;
    total += other.total;
    skipped += other.skipped;
  }
};

json load(const fs::path& path) {
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error("cannot open " + path.string());
  }
  return json::parse(in);
}

std::size_t case_count(const json& groups) {
  std::size_t count = 0;
  for (const auto& group : groups) {
    count += group.at("tests").size();
  }
  return count;
}

/// Runs one claimed file; failures are appended as readable lines.
Tally run_file(const DraftClaim& claim, const std::string& file, const json& groups,
               std::vector<std::string>& failures) {
  Tally tally;
  const std::string where = std::string(claim.folder) + "/" + file;
  for (const auto& group : groups) {
    const auto& description = group.at("description").get_ref<const std::string&>();
    const auto& schema_doc = group.at("schema");
    const auto& cases = group.at("tests");
    const bool format_group = file == "optional/format.json";
    if (format_group && !(schema_doc.contains("format") &&
                          kCheckedFormats.count(schema_doc["format"].get<std::string>()) != 0)) {
      tally.skipped += cases.size();
      continue;
    }
    if (needs_remote(fs::path(file).filename().string(), description)) {
      tally.skipped += cases.size();
      try {
        (void)Schema::compile(schema_doc, claim.draft);
        failures.push_back(where + " [" + description + "]: remote $ref was not refused");
      } catch (const SchemaError&) {
      }
      continue;
    }
    Schema schema;
    try {
      schema = Schema::compile(schema_doc, claim.draft);
    } catch (const std::exception& e) {
      tally.total += cases.size();
      failures.push_back(where + " [" + description + "]: compile failed: " + e.what());
      continue;
    }
    for (const auto& test_case : cases) {
      ++tally.total;
      const bool expected = test_case.at("valid").get<bool>();
      const auto violations = schema.validate(test_case.at("data"));
      const bool quick = schema.is_valid(test_case.at("data"));
      if (violations.empty() == expected && quick == expected) {
        ++tally.passed;
        continue;
      }
      std::ostringstream line;
      line << where << " [" << description << "] " << test_case.at("description").get<std::string>()
           << ": expected " << (expected ? "valid" : "invalid") << ", validate() gave "
           << violations.size() << " violation(s), is_valid() " << quick;
      if (!violations.empty()) {
        line << " (first: " << to_string(violations.front()) << ")";
      }
      failures.push_back(line.str());
    }
  }
  return tally;
}

/// Compiles and validates every case of an unclaimed file, ignoring the outcome: whatever the
/// schema, osbd must answer (or refuse it with a SchemaError), never crash.
void exercise(Draft draft, const json& groups) {
  for (const auto& group : groups) {
    try {
      const auto schema = Schema::compile(group.at("schema"), draft);
      for (const auto& test_case : group.at("tests")) {
        (void)schema.validate(test_case.at("data"));
      }
    } catch (const SchemaError&) {
    }
  }
}

void print_row(const std::string& name, const Tally& tally) {
  std::cout << "  " << std::left << std::setw(42) << name << std::right << std::setw(4)
            << tally.passed << "/" << std::left << std::setw(4) << tally.total;
  if (tally.skipped != 0) {
    std::cout << "  (" << tally.skipped << " skipped)";
  }
  std::cout << "\n";
}

TEST(JsonSchemaTestSuite, ClaimedKeywordFiles) {
  const fs::path tests_dir = suite_root() / "tests";
  ASSERT_TRUE(fs::is_directory(tests_dir)) << tests_dir;
  std::vector<std::string> failures;
  Tally grand;
  std::cout << "JSON-Schema-Test-Suite at " << suite_root().string() << "\n";
  for (const auto& claim : claims()) {
    const fs::path draft_dir = tests_dir / claim.folder;
    Tally draft_tally;
    std::cout << claim.folder << ":\n";
    for (const auto& file : claim.files) {
      const fs::path path = draft_dir / file;
      if (!fs::exists(path)) {
        failures.push_back(std::string(claim.folder) + "/" + file + ": claimed file is missing");
        continue;
      }
      const Tally tally = run_file(claim, file, load(path), failures);
      print_row(file, tally);
      draft_tally.add(tally);
    }
    // Every file of the draft not claimed above: its cases are skipped, and said so.
    Tally unclaimed;
    std::vector<std::string> unclaimed_names;
    for (const auto& entry : fs::recursive_directory_iterator(draft_dir)) {
      if (entry.path().extension() != ".json") {
        continue;
      }
      const std::string relative = fs::relative(entry.path(), draft_dir).generic_string();
      if (std::find(claim.files.begin(), claim.files.end(), relative) == claim.files.end()) {
        const json groups = load(entry.path());
        exercise(claim.draft, groups);
        unclaimed.skipped += case_count(groups);
        unclaimed_names.push_back(relative);
      }
    }
    std::sort(unclaimed_names.begin(), unclaimed_names.end());
    std::string names;
    for (const auto& name : unclaimed_names) {
      names += (names.empty() ? "" : ", ") + name;
    }
    print_row("not claimed: " + std::to_string(unclaimed_names.size()) + " files", unclaimed);
    if (!names.empty()) {
      std::cout << "    (" << names << ")\n";
    }
    draft_tally.add(unclaimed);
    print_row(std::string(claim.folder) + " total", draft_tally);
    grand.add(draft_tally);
  }
  print_row("all drafts", grand);
  std::cout << std::flush;

  for (const auto& failure : failures) {
    ADD_FAILURE() << failure;
  }
  EXPECT_EQ(grand.passed, grand.total);
  EXPECT_GT(grand.total, 1000u) << "the suite looks incomplete";
}

}  // namespace
