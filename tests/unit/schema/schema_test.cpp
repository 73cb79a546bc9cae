// Messages and paths users see, compile-time errors plan authors see, draft differences, and the
// limits that keep hostile instances from hurting the broker.

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "schema/schema.hpp"

namespace {

using nlohmann::json;
using osbd::schema::Draft;
using osbd::schema::Schema;
using osbd::schema::SchemaError;
using osbd::schema::Violation;

/// Validates and returns "path: message" lines, which read well in failure output.
std::vector<std::string> errors(const json& schema, const json& instance,
                                Draft draft = Draft::draft7) {
  std::vector<std::string> lines;
  for (const auto& violation : Schema::compile(schema, draft).validate(instance)) {
    lines.push_back(to_string(violation));
  }
  return lines;
}

using Lines = std::vector<std::string>;

/// The message of the SchemaError that compiling schema throws ("" if it compiles).
std::string compile_error(const json& schema, Draft draft = Draft::draft7) {
  try {
    (void)Schema::compile(schema, draft);
  } catch (const SchemaError& e) {
    return e.what();
  }
  return "";
}

const json kPlanSchema = json::parse(R"({
  "type": "object",
  "required": ["name"],
  "additionalProperties": false,
  "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 8, "pattern": "^[a-z][a-z0-9-]*$"},
    "size": {"type": "integer", "minimum": 1, "maximum": 10},
    "tier": {"enum": ["small", "large"]},
    "tags": {"type": "array", "maxItems": 3, "uniqueItems": true,
             "items": {"type": "string", "minLength": 1}},
    "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1, "multipleOf": 0.25},
    "odd.key": {"type": "boolean"}
  }
})");

TEST(Messages, ValidInstanceHasNoViolations) {
  EXPECT_EQ(errors(kPlanSchema, {{"name", "db-1"}, {"size", 10}, {"tags", {"a", "b"}}}), Lines{});
}

TEST(Messages, PathsNameTheFailingField) {
  EXPECT_EQ(errors(kPlanSchema, {{"name", "db"}, {"size", 11}}),
            Lines{"parameters.size: must be at most 10"});
  EXPECT_EQ(errors(kPlanSchema, {{"name", "db"}, {"size", 0}}),
            Lines{"parameters.size: must be at least 1"});
  EXPECT_EQ(errors(kPlanSchema, {{"size", 2}}), Lines{"parameters.name: is required"});
  EXPECT_EQ(errors(kPlanSchema, {{"name", "db"}, {"tags", {"a", "b", ""}}}),
            Lines{"parameters.tags[2]: must be at least 1 character long"});
  EXPECT_EQ(errors(kPlanSchema, {{"name", "db"}, {"sise", 2}}),
            Lines{"parameters.sise: is not allowed (unknown property)"});
  EXPECT_EQ(errors(kPlanSchema, {{"name", "db"}, {"odd.key", 1}}),
            Lines{"parameters[\"odd.key\"]: must be a boolean"});
  EXPECT_EQ(errors(kPlanSchema, json::array()), Lines{"parameters: must be an object"});
}

TEST(Messages, EveryKeywordSaysWhatIsWrong) {
  EXPECT_EQ(errors(kPlanSchema, {{"name", "db"}, {"tier", "medium"}}),
            Lines{"parameters.tier: must be one of: \"small\", \"large\""});
  EXPECT_EQ(errors(kPlanSchema, {{"name", "Db"}}),
            Lines{"parameters.name: must match the pattern ^[a-z][a-z0-9-]*$"});
  EXPECT_EQ(errors(kPlanSchema, {{"name", "abcdefghi"}}),
            Lines{"parameters.name: must be at most 8 characters long"});
  EXPECT_EQ(errors(kPlanSchema, {{"name", "db"}, {"size", 2.5}}),
            Lines{"parameters.size: must be an integer"});
  EXPECT_EQ(errors(kPlanSchema, {{"name", "db"}, {"ratio", 0.3}}),
            Lines{"parameters.ratio: must be a multiple of 0.25"});
  EXPECT_EQ(errors(kPlanSchema, {{"name", "db"}, {"ratio", 1}}),
            Lines{"parameters.ratio: must be less than 1"});
  EXPECT_EQ(errors(kPlanSchema, {{"name", "db"}, {"ratio", 0}}),
            Lines{"parameters.ratio: must be greater than 0"});
  EXPECT_EQ(errors(kPlanSchema, {{"name", "db"}, {"tags", {"a", "b", "a"}}}),
            Lines{"parameters.tags: must not contain duplicate items (items 0 and 2 are equal)"});
  EXPECT_EQ(errors(kPlanSchema, {{"name", "db"}, {"tags", {"a", "b", "c", "d"}}}),
            Lines{"parameters.tags: must have at most 3 items"});

  EXPECT_EQ(errors({{"const", "on"}}, "off"), Lines{"parameters: must be equal to \"on\""});
  EXPECT_EQ(errors({{"type", {"string", "null"}}}, 1),
            Lines{"parameters: must be a string or null"});
  EXPECT_EQ(errors({{"type", {"object", "array", "integer"}}}, "x"),
            Lines{"parameters: must be an object, an array or an integer"});
  EXPECT_EQ(errors({{"minProperties", 2}}, {{"a", 1}}),
            Lines{"parameters: must have at least 2 properties"});
  EXPECT_EQ(errors({{"maxProperties", 1}}, {{"a", 1}, {"b", 2}}),
            Lines{"parameters: must have at most 1 property"});
  EXPECT_EQ(errors({{"minItems", 1}}, json::array()),
            Lines{"parameters: must have at least 1 item"});
  EXPECT_EQ(errors({{"contains", {{"const", 1}}}}, {2, 3}),
            Lines{"parameters: must contain at least one item that matches the \"contains\" "
                  "schema"});
  EXPECT_EQ(errors({{"dependencies", {{"tls", {"cert"}}}}}, {{"tls", true}}),
            Lines{"parameters.cert: is required when \"tls\" is present"});
  EXPECT_EQ(errors({{"propertyNames", {{"maxLength", 3}}}}, {{"abcd", 1}}),
            Lines{"parameters.abcd: property name must be at most 3 characters long"});
  EXPECT_EQ(errors({{"anyOf", {{{"type", "string"}}, {{"type", "integer"}}}}}, true),
            Lines{"parameters: must match at least one of the allowed alternatives (anyOf)"});
  EXPECT_EQ(errors({{"oneOf", {{{"type", "integer"}}, {{"minimum", 0}}}}}, 1),
            Lines{"parameters: must match exactly one of the allowed alternatives (oneOf), but "
                  "matches alternatives 0 and 1"});
  EXPECT_EQ(errors({{"oneOf", {{{"type", "integer"}}, {{"type", "string"}}}}}, true),
            Lines{"parameters: must match exactly one of the allowed alternatives (oneOf), but "
                  "matches none"});
  EXPECT_EQ(errors({{"not", {{"type", "null"}}}}, nullptr),
            Lines{"parameters: must not match the excluded schema (not)"});
  EXPECT_EQ(errors(false, 1), Lines{"parameters: is not allowed"});
  EXPECT_EQ(errors({{"items", {{{"type", "string"}}}}, {"additionalItems", false}}, {"a", "b"}),
            Lines{"parameters[1]: is not allowed (at most 1 item)"});
}

TEST(Messages, IfThenElseAndAllOfReportTheInnerViolation) {
  const json schema = json::parse(R"({
    "if": {"properties": {"engine": {"const": "postgres"}}, "required": ["engine"]},
    "then": {"properties": {"version": {"enum": [14, 15]}}},
    "else": {"required": ["edition"]},
    "allOf": [{"properties": {"replicas": {"maximum": 3}}}]
  })");
  EXPECT_EQ(errors(schema, {{"engine", "postgres"}, {"version", 9}}),
            Lines{"parameters.version: must be one of: 14, 15"});
  EXPECT_EQ(errors(schema, {{"engine", "mysql"}, {"replicas", 5}}),
            (Lines{"parameters.replicas: must be at most 3", "parameters.edition: is required"}));
}

TEST(Messages, RootNameAndLimits) {
  const auto schema = Schema::compile(kPlanSchema);
  const json bad = {{"size", 0}, {"tier", "x"}, {"a", 1}, {"b", 2}};
  const auto all = schema.validate(bad);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0], (Violation{"parameters.name", "is required"}));
  EXPECT_EQ(schema.validate(bad, "parameters", 2).size(), 2u);
  EXPECT_EQ(schema.validate(bad, "parameters", 0).size(), 1u);
  EXPECT_EQ(schema.validate(bad, "", 1), (std::vector<Violation>{{"name", "is required"}}));
  EXPECT_EQ(schema.validate(json::array(), ""),
            (std::vector<Violation>{{"", "must be an object"}}));
  EXPECT_EQ(to_string(Violation{"", "must be an object"}), "must be an object");
  EXPECT_FALSE(schema.is_valid(bad));
  EXPECT_TRUE(schema.is_valid({{"name", "x"}}));
}

TEST(Messages, LongEnumsAreCut) {
  json values = json::array();
  for (int i = 0; i < 100; ++i) {
    values.push_back("value-number-" + std::to_string(i));
  }
  const auto lines = errors({{"enum", values}}, "nope");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_LT(lines[0].size(), 320u);
  EXPECT_EQ(lines[0].substr(lines[0].size() - 5), ", ...");
}

TEST(Compile, MalformedKeywordsNameTheirPointer) {
  EXPECT_EQ(compile_error({{"properties", {{"size", {{"maximum", "ten"}}}}}}),
            "invalid schema at #/properties/size/maximum: must be a number");
  EXPECT_EQ(compile_error({{"type", "text"}}), "invalid schema at #/type: unknown type \"text\"");
  EXPECT_EQ(compile_error({{"minLength", -1}}),
            "invalid schema at #/minLength: must be a non-negative integer");
  EXPECT_EQ(compile_error({{"multipleOf", 0}}),
            "invalid schema at #/multipleOf: must be greater than 0");
  EXPECT_EQ(compile_error({{"required", {"a", 1}}}),
            "invalid schema at #/required: must be an array of strings");
  EXPECT_EQ(compile_error({{"allOf", json::array()}}),
            "invalid schema at #/allOf: must be a non-empty array of schemas");
  EXPECT_EQ(compile_error({{"items", {1}}}),
            "invalid schema at #/items/0: must be a schema (an object or a boolean)");
  EXPECT_EQ(compile_error({{"definitions", {{"a~b/c", {{"enum", 1}}}}}}),
            "invalid schema at #/definitions/a~0b~1c/enum: must be an array");
  EXPECT_NE(compile_error({{"pattern", "(unclosed"}}).find("invalid schema at #/pattern: "),
            std::string::npos);
  EXPECT_NE(compile_error({{"patternProperties", {{"[", true}}}})
                .find("invalid schema at #/patternProperties/["),
            std::string::npos);
  // The polynomial-time matcher cannot do back-references; refusing them beats a slow match.
  EXPECT_NE(compile_error({{"pattern", "(a)\\1"}}).find("#/pattern"), std::string::npos);
  // Numbers the regex library would overflow on, or expand into that many states, are refused
  // before it sees them (fuzz_schema found the back-reference).
  EXPECT_NE(compile_error({{"pattern", "(a)\\44444444444444444444"}})
                .find("osbd supports (a back-reference number is too long)"),
            std::string::npos);
  EXPECT_NE(compile_error({{"pattern", "^a{1,99999}$"}})
                .find("osbd supports (a repetition count is larger than 9999)"),
            std::string::npos);
  EXPECT_EQ(compile_error({{"pattern", "^[0-9]{1,9999}x1234567890$"}}), "");
  EXPECT_EQ(compile_error(json::parse(R"({"maxLength": 2.0, "minLength": 1e300})")), "");
}

TEST(Compile, ExternalRefsAreRefused) {
  EXPECT_EQ(compile_error({{"properties", {{"a", {{"$ref", "http://example.com/s.json"}}}}}}),
            "invalid schema at #/properties/a/$ref: $ref \"http://example.com/s.json\" refers "
            "outside this document; OSB schemas must be self-contained");
  EXPECT_EQ(compile_error({{"$id", "http://example.com/root.json"},
                           {"items", {{"$ref", "other.json#/definitions/x"}}}}),
            "invalid schema at #/items/$ref: $ref \"other.json#/definitions/x\" refers outside "
            "this document (to http://example.com/other.json); OSB schemas must be "
            "self-contained");
  EXPECT_EQ(compile_error({{"$ref", "#/definitions/missing"}}),
            "invalid schema at #/$ref: $ref \"#/definitions/missing\" points to nothing in this "
            "document");
  EXPECT_EQ(compile_error({{"$ref", "#nowhere"}}),
            "invalid schema at #/$ref: $ref \"#nowhere\" names no id in this document");
  EXPECT_EQ(compile_error({{"$ref", "#/enum/0"}, {"enum", {1}}}),
            "invalid schema at #/$ref: $ref \"#/enum/0\" points to something that is not a "
            "schema");
}

TEST(Compile, RefCyclesWithoutDescentAreRefused) {
  EXPECT_EQ(compile_error({{"$ref", "#"}}),
            "invalid schema at #/$ref: $ref leads back to itself without descending into the "
            "instance, so validation would never end");
  EXPECT_NE(compile_error(json::parse(R"({"definitions": {
                "a": {"anyOf": [{"type": "string"}, {"$ref": "#/definitions/b"}]},
                "b": {"allOf": [{"$ref": "#/definitions/a"}]}}})"))
                .find("without descending"),
            std::string::npos);
  // Recursion through properties or items descends, so it is fine, however deep the instance.
  const auto tree = Schema::compile(json::parse(R"({
      "type": "object",
      "properties": {"value": {"type": "integer"}, "children": {"items": {"$ref": "#"}}}})"));
  EXPECT_TRUE(
      tree.validate(json::parse(R"({"value": 1, "children": [{"children": [{}]}]})")).empty());
  EXPECT_EQ(
      tree.validate(json::parse(R"({"children": [{"children": [{"value": "x"}]}]})")),
      (std::vector<Violation>{{"parameters.children[0].children[0].value", "must be an integer"}}));
}

// Besides the dotted path, each violation carries the RFC 6901 pointer of the same place, which
// callers with their own path style (the config loader) convert.
TEST(Messages, ViolationsCarryTheInstancePointer) {
  const auto schema = Schema::compile(json::parse(R"({
      "properties": {"a/b": {"items": {"type": "integer"}}, "m": {"propertyNames": {"maxLength": 1}}},
      "required": ["r"]})"));
  const auto violations =
      schema.validate(json::parse(R"({"a/b": [1, "x"], "m": {"long": 1}})"), "", 10);
  ASSERT_EQ(violations.size(), 3u);
  EXPECT_EQ(violations[0].pointer, "/r");
  EXPECT_EQ(violations[1].pointer, "/a~1b/1");
  EXPECT_EQ(violations[1].path, "[\"a/b\"][1]");
  EXPECT_EQ(violations[2].pointer, "/m/long");
  EXPECT_EQ(violations[2].message, "property name must be at most 1 character long");
}

TEST(Compile, LocalRefForms) {
  // JSON pointers with ~0, ~1 and percent-encoding.
  const json escaped = json::parse(R"({
      "definitions": {"a/b": {"type": "integer"}, "c~d": {"type": "string"},
                      "e%f": {"type": "null"}},
      "properties": {"x": {"$ref": "#/definitions/a~1b"}, "y": {"$ref": "#/definitions/c~0d"},
                     "z": {"$ref": "#/definitions/e%25f"}}})");
  EXPECT_EQ(errors(escaped, {{"x", 1}, {"y", "s"}, {"z", nullptr}}), Lines{});
  EXPECT_EQ(errors(escaped, {{"x", "1"}, {"y", 1}, {"z", 0}}),
            (Lines{"parameters.x: must be an integer", "parameters.y: must be a string",
                   "parameters.z: must be null"}));
  // Location-independent ids, ids relative to their parent, and URN bases.
  EXPECT_EQ(errors(json::parse(R"({"allOf": [{"$ref": "#foo"}],
                                   "definitions": {"A": {"$id": "#foo", "type": "integer"}}})"),
                   "a"),
            Lines{"parameters: must be an integer"});
  const json nested = json::parse(R"({
      "$id": "http://localhost:1234/root",
      "allOf": [{"$ref": "http://localhost:1234/nested.json#foo"}],
      "definitions": {"A": {"$id": "nested.json",
                            "definitions": {"B": {"$id": "#foo", "type": "integer"}}}}})");
  EXPECT_TRUE(errors(nested, 1).empty());
  EXPECT_EQ(errors(nested, "a").size(), 1u);
  const json sibling = json::parse(R"({
      "$id": "http://localhost:1234/sibling_id/base/",
      "definitions": {
        "foo": {"$id": "http://localhost:1234/sibling_id/foo.json", "type": "string"},
        "base_foo": {"$id": "foo.json", "type": "number"}},
      "allOf": [{"$id": "http://localhost:1234/sibling_id/", "$ref": "foo.json"}]})");
  EXPECT_TRUE(errors(sibling, 1).empty());
  EXPECT_EQ(errors(sibling, "a").size(), 1u);
  const json parent = json::parse(R"({
      "$id": "http://example.com/a.json",
      "definitions": {"x": {"$id": "http://example.com/b/c.json",
                            "not": {"definitions": {"y": {"$id": "d.json", "type": "number"}}}}},
      "allOf": [{"$ref": "http://example.com/b/d.json"}]})");
  EXPECT_TRUE(errors(parent, 1).empty());
  EXPECT_EQ(errors(parent, "a").size(), 1u);
  const json urn = json::parse(R"({
      "$id": "urn:uuid:deadbeef-1234-ffff-ffff-4321feebdaed", "minimum": 30,
      "properties": {"foo": {"$ref": "urn:uuid:deadbeef-1234-ffff-ffff-4321feebdaed"},
                     "bar": {"$ref": "#/definitions/bar"}},
      "definitions": {"bar": {"type": "string"}}})");
  EXPECT_TRUE(errors(urn, {{"foo", 37}, {"bar", "x"}}).empty());
  EXPECT_EQ(errors(urn, {{"foo", 12}, {"bar", 1}}).size(), 2u);
  const json empty_tokens = json::parse(R"({
      "definitions": {"": {"definitions": {"": {"type": "number"}}}},
      "allOf": [{"$ref": "#/definitions//definitions/"}]})");
  EXPECT_TRUE(errors(empty_tokens, 1).empty());
  EXPECT_EQ(errors(empty_tokens, "a").size(), 1u);
  // A $ref inside enum is data, not a reference.
  const json literal = json::parse(R"({"definitions": {"s": {"type": "string"}},
                                       "enum": [{"$ref": "#/definitions/s"}]})");
  EXPECT_TRUE(errors(literal, {{"$ref", "#/definitions/s"}}).empty());
  EXPECT_EQ(errors(literal, "x").size(), 1u);
}

TEST(Drafts, DollarSchemaPicksTheDraft) {
  const json draft4 = {{"$schema", "http://json-schema.org/draft-04/schema#"}, {"type", "integer"}};
  EXPECT_EQ(Schema::compile(draft4).draft(), Draft::draft4);
  EXPECT_EQ(errors(draft4, 1.0), Lines{"parameters: must be an integer"});
  EXPECT_EQ(errors({{"type", "integer"}}, 1.0), Lines{});
  EXPECT_EQ(Schema::compile({{"$schema", "https://json-schema.org/draft-06/schema"}}).draft(),
            Draft::draft6);
  EXPECT_EQ(Schema::compile({{"$schema", "https://json-schema.org/draft/2020-12/schema"}}).draft(),
            Draft::draft7);
  EXPECT_EQ(Schema::compile(json::object(), Draft::draft4).draft(), Draft::draft4);
  EXPECT_EQ(Schema::compile(true).draft(), Draft::draft7);
}

TEST(Drafts, KeywordsFollowTheirDraft) {
  // draft-04: boolean exclusive bounds, no const/contains/propertyNames, no boolean schemas.
  const json bounds = {{"maximum", 10}, {"exclusiveMaximum", true}};
  EXPECT_EQ(errors(bounds, 10, Draft::draft4), Lines{"parameters: must be less than 10"});
  EXPECT_EQ(errors(bounds, 9, Draft::draft4), Lines{});
  EXPECT_EQ(compile_error(bounds, Draft::draft7),
            "invalid schema at #/exclusiveMaximum: must be a number (the boolean form is "
            "draft-04 only)");
  EXPECT_EQ(compile_error({{"exclusiveMinimum", 0}}, Draft::draft4),
            "invalid schema at #/exclusiveMinimum: must be a boolean in draft-04 (the number form "
            "needs draft-06)");
  EXPECT_EQ(errors({{"const", 1}, {"contains", false}, {"propertyNames", false}}, {{"a", 2}},
                   Draft::draft4),
            Lines{});
  EXPECT_EQ(compile_error({{"not", true}}, Draft::draft4),
            "invalid schema at #/not: must be an object (boolean schemas need draft-06 or later)");
  EXPECT_EQ(errors({{"additionalProperties", false}}, {{"a", 1}}, Draft::draft4),
            Lines{"parameters.a: is not allowed (unknown property)"});
  // if/then/else only from draft-07 on.
  const json conditional = {{"if", {{"type", "string"}}}, {"then", {{"minLength", 2}}}};
  EXPECT_EQ(errors(conditional, "a", Draft::draft6), Lines{});
  EXPECT_EQ(errors(conditional, "a", Draft::draft7),
            Lines{"parameters: must be at least 2 characters long"});
  // draft-04 "id" and draft-06 "$id" are each only an id in their own draft.
  const json id4 = json::parse(R"({"definitions": {"a": {"id": "#a", "type": "null"}},
                                   "$ref": "#a"})");
  EXPECT_EQ(errors(id4, nullptr, Draft::draft4), Lines{});
  EXPECT_EQ(compile_error(id4, Draft::draft7),
            "invalid schema at #/$ref: $ref \"#a\" names no id in this document");
}

TEST(Values, NumbersCompareExactly) {
  EXPECT_EQ(errors({{"maximum", 9007199254740992}}, 9007199254740993),
            Lines{"parameters: must be at most 9007199254740992"});
  EXPECT_EQ(errors({{"maximum", 9007199254740992.0}}, 9007199254740993),
            Lines{"parameters: must be at most 9.007199254740992e+15"});
  EXPECT_EQ(errors({{"maximum", 18446744073709551615u}}, 18446744073709551615u), Lines{});
  EXPECT_EQ(errors({{"minimum", -1}}, 18446744073709551615u), Lines{});
  EXPECT_EQ(errors({{"exclusiveMinimum", 0.5}}, 1), Lines{});
  EXPECT_EQ(errors({{"const", 1}}, 1.0), Lines{});
  EXPECT_EQ(errors({{"const", 9007199254740992}}, 9007199254740993.0), Lines{});
  EXPECT_EQ(errors({{"const", 9007199254740993}}, 9007199254740992.0).size(), 1u);
  EXPECT_EQ(errors({{"multipleOf", 0.01}}, 19.99), Lines{});
  EXPECT_EQ(errors({{"multipleOf", 0.1}}, 0.3), Lines{});
  EXPECT_EQ(errors({{"multipleOf", 0.0001}}, 0.0075), Lines{});
  EXPECT_EQ(errors({{"multipleOf", 1}}, 10000000.01).size(), 1u);
  EXPECT_EQ(errors({{"multipleOf", 3}}, -9223372036854775807 - 1).size(), 1u);
  EXPECT_EQ(errors({{"multipleOf", 2}}, -9223372036854775807 - 1), Lines{});
  EXPECT_EQ(errors({{"multipleOf", 0.123456789}}, 1e308).size(), 1u);
}

TEST(Values, UniqueItemsUsesJsonEquality) {
  const json unique = {{"uniqueItems", true}};
  EXPECT_EQ(errors(unique, {1, 1.0}).size(), 1u);
  EXPECT_EQ(errors(unique, json::parse(R"([{"a": 1, "b": [2]}, {"b": [2.0], "a": 1}])")).size(),
            1u);
  EXPECT_EQ(errors(unique, json::parse(R"([0, false, null, "", [], {}, [0], [false]])")), Lines{});
  EXPECT_EQ(errors(unique, json::parse("[-0.0, 0]")).size(), 1u);
  // Thousands of items stay fast: duplicates are found through hashes, not pairwise.
  json many = json::array();
  for (int i = 0; i < 20000; ++i) {
    many.push_back(i);
  }
  EXPECT_EQ(errors(unique, many), Lines{});
  many.push_back(19999.0);
  EXPECT_EQ(errors(unique, many),
            Lines{"parameters: must not contain duplicate items (items 19999 and 20000 are "
                  "equal)"});
}

TEST(Values, LengthsCountCodePoints) {
  const json two = {{"minLength", 2}, {"maxLength", 2}};
  EXPECT_EQ(errors(two, "\u00e9\u00e9"), Lines{});          // 4 bytes, 2 code points
  EXPECT_EQ(errors(two, "\U0001F600\U0001F600"), Lines{});  // 8 bytes
  EXPECT_EQ(errors(two, "\U0001F600").size(), 1u);
  EXPECT_EQ(errors(two, "\u00e9\u00e9\u00e9").size(), 1u);
  // Patterns see code points too: "." is one character, classes may hold non-ASCII ones.
  EXPECT_EQ(errors({{"pattern", "^.{2}$"}}, "\u00e9\U0001F600"), Lines{});
  EXPECT_EQ(errors({{"pattern", "^[\u00e0-\u00ff]+$"}}, "\u00e9\u00e8"), Lines{});
  EXPECT_EQ(errors({{"pattern", "^\\w+$"}}, "\u00e9").size(), 1u);  // \w is ASCII, as in ECMA 262
  EXPECT_EQ(errors({{"pattern", "b"}}, "abc"), Lines{});            // not anchored
}

TEST(Limits, DeeplyNestedInstancesAreRefusedNotCrashed) {
  const auto schema = Schema::compile(json::parse(R"({"items": {"$ref": "#"}})"));
  json shallow = 1;
  for (std::size_t i = 0; i < osbd::schema::kMaxInstanceDepth; ++i) {
    shallow = json::array({std::move(shallow)});
  }
  EXPECT_TRUE(schema.validate(shallow).empty());
  json deep = json::array({shallow});
  const auto violations = schema.validate(deep);
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].message,
            "is nested too deeply (more than 32 levels of arrays and objects)");
  EXPECT_EQ(
      violations[0].path, "parameters" + [] {
        std::string p;
        for (std::size_t i = 0; i < osbd::schema::kMaxInstanceDepth; ++i) {
          p += "[0]";
        }
        return p;
      }());
  // 100,000 levels (recursion per level would overflow the stack), under a schema that accepts
  // everything: still one violation.
  json hostile = json::object();
  for (int i = 0; i < 100000; ++i) {
    hostile = json{{"a", std::move(hostile)}};
  }
  EXPECT_EQ(Schema().validate(hostile).size(), 1u);
  EXPECT_FALSE(schema.is_valid(hostile));
}

TEST(Limits, LongChainsOfSubschemasAreABoundedViolation) {
  // 3000 definitions, each applying the next in place: legal, but too deep to evaluate safely.
  const auto name = [](int i) { return std::string("d").append(std::to_string(i)); };
  json definitions = json::object();
  for (int i = 0; i < 3000; ++i) {
    definitions[name(i)] = {{"allOf", {{{"$ref", "#/definitions/" + name(i + 1)}}}}};
  }
  definitions[name(3000)] = {{"type", "string"}};
  const auto schema = Schema::compile({{"definitions", definitions}, {"$ref", "#/definitions/d0"}});
  EXPECT_EQ(
      schema.validate("x"),
      (std::vector<Violation>{{"parameters", "cannot be validated: the schema nests too deeply"}}));
}

TEST(Limits, LongStringsDoNotExhaustTheStackInPatterns) {
  const auto schema = Schema::compile(
      {{"properties", {{"a", {{"pattern", "^(a|b)*$"}}}, {"b", {{"pattern", "(a+)+$"}}}}}});
  // std::regex's default executor overflows an 8 MiB stack from about 50,000 characters on.
  const std::string long_text(200'000, 'a');
  EXPECT_TRUE(schema.validate({{"a", long_text}}).empty());
  EXPECT_EQ(schema.validate({{"a", long_text + "c"}}).size(), 1u);
  // Catastrophic backtracking in a backtracking engine; linear here.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(schema.validate({{"b", std::string(40, 'a') + "!"}}).size(), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(Concurrency, OneSchemaManyThreads) {
  const auto schema = Schema::compile(kPlanSchema);
  const json good = {{"name", "db"}, {"size", 3}, {"tags", {"a", "b"}}};
  const json bad = {{"name", "Db"}, {"size", 30}};
  const auto expected = schema.validate(bad);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (!schema.validate(good).empty() || schema.validate(bad) != expected) {
          ++mismatches;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(Schema, DefaultAcceptsEverything) {
  const Schema schema;
  EXPECT_TRUE(schema.validate({{"anything", {1, "two", nullptr}}}).empty());
  EXPECT_EQ(schema.draft(), Draft::draft7);
  const Schema copy = Schema::compile(kPlanSchema);
  const Schema other = copy;  // copies share the compiled form
  EXPECT_EQ(other.validate(json::object()), copy.validate(json::object()));
}

}  // namespace
