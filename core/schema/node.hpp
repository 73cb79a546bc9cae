#pragma once

// The compiled form of a schema: a flat vector of nodes that refer to each other by index, so that
// recursive $refs are plain indices and validation never looks at the schema document again.

#include <cstdint>
#include <limits>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "schema/format.hpp"
#include "schema/schema.hpp"

namespace osbd::schema::detail {

/// Index of a node in CompiledSchema::nodes.
using NodeId = std::uint32_t;

/// "No subschema here" for optional NodeId fields.
inline constexpr NodeId kNoNode = std::numeric_limits<NodeId>::max();

/// Bits of Node::types, one per JSON Schema type name.
enum TypeBit : std::uint8_t {
  kTypeNull = 1,
  kTypeBoolean = 2,
  kTypeObject = 4,
  kTypeArray = 8,
  kTypeNumber = 16,
  kTypeString = 32,
  kTypeInteger = 64,
};

/// A compiled "pattern" or "patternProperties" key: matched on code points (see regex.hpp).
struct Pattern {
  std::string source;  ///< as written in the schema, for messages
  std::wregex regex;   ///< compiled once; matching a const regex is thread-safe
};

/// One entry of "dependencies": either required property names or a schema.
struct Dependency {
  std::string property;               ///< the property whose presence triggers it
  std::vector<std::string> required;  ///< array form
  NodeId schema = kNoNode;            ///< schema form
};

/// One compiled (sub)schema.
struct Node {
  /// What kind of node: boolean schemas and $ref are special.
  enum class Kind : std::uint8_t { accept_all, reject_all, ref, keywords };

  // Every keyword field holds its keyword's compiled value; an empty optional or vector, or
  // kNoNode, means the keyword is absent.

  Kind kind = Kind::accept_all;  ///< accept_all also stands for {}
  std::string pointer;           ///< JSON pointer of the node in the document, for errors
  NodeId ref = kNoNode;          ///< target of a $ref node

  std::uint8_t types = 0;                     ///< TypeBit mask; 0 = no "type"
  std::optional<nlohmann::json> enum_values;  ///< the "enum" array
  std::optional<nlohmann::json> const_value;  ///< the "const" value

  std::optional<nlohmann::json> multiple_of;  ///< numbers, kept exact
  std::optional<nlohmann::json> maximum;
  std::optional<nlohmann::json> exclusive_maximum;  ///< draft-04 boolean form folded in here
  std::optional<nlohmann::json> minimum;
  std::optional<nlohmann::json> exclusive_minimum;

  std::optional<std::uint64_t> max_length;  ///< in code points
  std::optional<std::uint64_t> min_length;
  std::optional<Pattern> pattern;
  Format format = Format::none;

  NodeId items = kNoNode;             ///< schema form of "items"
  std::vector<NodeId> tuple_items;    ///< array form of "items"
  bool has_tuple_items = false;       ///< "items" was an array (possibly empty)
  NodeId additional_items = kNoNode;  ///< only with the array form
  std::optional<std::uint64_t> max_items;
  std::optional<std::uint64_t> min_items;
  bool unique_items = false;
  NodeId contains = kNoNode;

  std::optional<std::uint64_t> max_properties;
  std::optional<std::uint64_t> min_properties;
  std::vector<std::string> required;
  std::vector<std::pair<std::string, NodeId>> properties;  ///< sorted by name
  std::vector<std::pair<Pattern, NodeId>> pattern_properties;
  NodeId additional_properties = kNoNode;
  std::vector<Dependency> dependencies;
  NodeId property_names = kNoNode;

  std::vector<NodeId> all_of;
  std::vector<NodeId> any_of;
  std::vector<NodeId> one_of;
  NodeId not_schema = kNoNode;
  NodeId if_schema = kNoNode;
  NodeId then_schema = kNoNode;
  NodeId else_schema = kNoNode;
};

/// A whole compiled document; immutable once compile() returns it.
struct CompiledSchema {
  Draft draft = Draft::draft7;  ///< decides integer semantics at validation time
  std::vector<Node> nodes;      ///< nodes[root] is the document itself
  NodeId root = 0;              ///< always 0, kept explicit for readability
};

/// Compiles a schema document (see Schema::compile).
CompiledSchema compile_document(const nlohmann::json& document, Draft default_draft);

/// Validates instance against compiled, appending to out (nullptr: stop at the first failure).
bool validate_document(const CompiledSchema& compiled, const nlohmann::json& instance,
                       std::string_view root_name, std::size_t max_violations,
                       std::vector<Violation>* out);

}  // namespace osbd::schema::detail
