// Schema document -> CompiledSchema. Two passes: the first records every "$id" (a $ref may point
// at an id defined anywhere in the document), the second compiles nodes. $ref targets are compiled
// from a work list rather than recursively, so recursive references cannot loop the compiler.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "schema/json_util.hpp"
#include "schema/node.hpp"
#include "schema/pointer.hpp"
#include "schema/regex.hpp"

namespace osbd::schema::detail {
namespace {

using json = nlohmann::json;

/// Deepest schema nesting compiled; the compiler recurses once per level.
constexpr std::size_t kMaxSchemaDepth = 128;

Draft detect_draft(const json& document, Draft fallback) {
  if (!document.is_object()) {
    return fallback;
  }
  const auto it = document.find("$schema");
  if (it == document.end() || !it->is_string()) {
    return fallback;
  }
  const auto& uri = it->get_ref<const std::string&>();
  if (uri.find("json-schema.org/draft-04/schema") != std::string::npos) {
    return Draft::draft4;
  }
  if (uri.find("json-schema.org/draft-06/schema") != std::string::npos) {
    return Draft::draft6;
  }
  if (uri.find("json-schema.org/draft-07/schema") != std::string::npos) {
    return Draft::draft7;
  }
  return fallback;
}

std::string child_pointer(const std::string& parent, std::string_view token) {
  return parent + "/" + escape_pointer_token(token);
}

std::string child_pointer(const std::string& parent, std::string_view keyword,
                          std::string_view token) {
  return child_pointer(child_pointer(parent, keyword), token);
}

class Compiler {
 public:
  Compiler(const json& document, Draft fallback)
      : document_(document), draft_(detect_draft(document, fallback)) {}

  CompiledSchema run() {
    collect_ids(document_, "", "", 0);
    compile(document_, "", "", 0, false);
    // Compiling a $ref target may add more $refs, hence the index loop over a growing vector.
    for (std::size_t i = 0; i < pending_refs_.size(); ++i) {
      const auto [from, target] = pending_refs_[i];
      NodeId to = 0;
      if (const auto it = by_pointer_.find(target); it != by_pointer_.end()) {
        to = it->second;
      } else {
        const auto depth = static_cast<std::size_t>(std::count(target.begin(), target.end(), '/'));
        to = compile(*value_at(target), target, parent_base(target), depth, false);
      }
      nodes_[from].ref = to;
    }
    check_cycles();
    CompiledSchema out;
    out.draft = draft_;
    out.nodes = std::move(nodes_);
    out.root = 0;
    return out;
  }

 private:
  [[noreturn]] void fail(std::string_view pointer, std::string_view message) const {
    throw SchemaError("invalid schema at #" + std::string(pointer) + ": " + std::string(message));
  }

  bool draft6_or_later() const { return draft_ != Draft::draft4; }
  bool draft7_or_later() const { return draft_ == Draft::draft7; }
  const char* id_keyword() const { return draft_ == Draft::draft4 ? "id" : "$id"; }

  /// The base URI inside a schema object: its id resolved against the enclosing base. A $ref
  /// object's siblings are ignored in these drafts, its id included.
  std::string own_base(const json& value, const std::string& parent_base) const {
    if (!value.is_object() || value.contains("$ref")) {
      return parent_base;
    }
    const auto id = value.find(id_keyword());
    if (id == value.end() || !id->is_string()) {
      return parent_base;
    }
    return split_fragment(resolve_uri(parent_base, id->get_ref<const std::string&>())).first;
  }

  /// Calls visit(child, child_pointer) for every subschema position of a schema object.
  template <typename Visit>
  void for_each_subschema(const json& value, const std::string& pointer, Visit&& visit) const {
    const auto single = [&](const char* keyword) {
      if (const auto it = value.find(keyword); it != value.end()) {
        visit(*it, child_pointer(pointer, keyword));
      }
    };
    const auto list = [&](const char* keyword) {
      if (const auto it = value.find(keyword); it != value.end() && it->is_array()) {
        for (std::size_t i = 0; i < it->size(); ++i) {
          visit((*it)[i], child_pointer(pointer, keyword, std::to_string(i)));
        }
      }
    };
    const auto map = [&](const char* keyword) {
      if (const auto it = value.find(keyword); it != value.end() && it->is_object()) {
        for (auto member = it->begin(); member != it->end(); ++member) {
          visit(member.value(), child_pointer(pointer, keyword, member.key()));
        }
      }
    };
    for (const char* keyword : {"additionalItems", "additionalProperties", "not"}) {
      single(keyword);
    }
    if (const auto items = value.find("items"); items != value.end()) {
      items->is_array() ? list("items") : single("items");
    }
    if (draft6_or_later()) {
      single("contains");
      single("propertyNames");
    }
    if (draft7_or_later()) {
      single("if");
      single("then");
      single("else");
    }
    for (const char* keyword : {"allOf", "anyOf", "oneOf"}) {
      list(keyword);
    }
    for (const char* keyword : {"properties", "patternProperties", "definitions", "dependencies"}) {
      map(keyword);
    }
  }

  /// First pass: maps every id to the pointer of its schema and records each schema's base.
  void collect_ids(const json& value, const std::string& pointer, const std::string& parent_base,
                   std::size_t depth) {
    if (!value.is_object()) {
      return;
    }
    if (depth > kMaxSchemaDepth) {
      fail(pointer, "the schema is nested too deeply");
    }
    std::string base = parent_base;
    const auto id = value.find(id_keyword());
    if (!value.contains("$ref") && id != value.end() && id->is_string()) {
      const std::string uri = resolve_uri(parent_base, id->get_ref<const std::string&>());
      auto [document, fragment] = split_fragment(uri);
      register_id(fragment.empty() ? document : uri, pointer);
      base = document;
    }
    if (pointer.empty()) {
      root_uri_ = base;
    }
    base_by_pointer_[pointer] = base;
    for_each_subschema(value, pointer, [&](const json& child, const std::string& child_ptr) {
      collect_ids(child, child_ptr, base, depth + 1);
    });
  }

  void register_id(const std::string& uri, const std::string& pointer) {
    const auto [it, inserted] = pointer_by_uri_.emplace(uri, pointer);
    if (!inserted && it->second != pointer) {
      fail(pointer + "/" + id_keyword(),
           "id \"" + uri + "\" is already used by the schema at #" + it->second);
    }
  }

  /// Base URI in effect around the schema at pointer (the base of its nearest recorded ancestor).
  std::string parent_base(const std::string& pointer) const {
    std::string candidate = pointer;
    while (!candidate.empty()) {
      candidate.erase(candidate.rfind('/'));
      if (const auto it = base_by_pointer_.find(candidate); it != base_by_pointer_.end()) {
        return it->second;
      }
    }
    return root_uri_;
  }

  const json* value_at(const std::string& pointer) const {
    const auto tokens = parse_pointer(pointer);
    if (!tokens) {
      return nullptr;
    }
    const json* current = &document_;
    for (const auto& token : *tokens) {
      if (current->is_object()) {
        const auto it = current->find(token);
        if (it == current->end()) {
          return nullptr;
        }
        current = &*it;
      } else if (current->is_array()) {
        // RFC 6901 array indices: decimal, no leading zeros.
        if (token.empty() || token.size() > 9 || (token.size() > 1 && token[0] == '0') ||
            !std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; })) {
          return nullptr;
        }
        const auto index = std::stoul(token);
        if (index >= current->size()) {
          return nullptr;
        }
        current = &(*current)[index];
      } else {
        return nullptr;
      }
    }
    return current;
  }

  /// Resolves a $ref to the pointer of its target in this document; refuses external refs.
  std::string resolve_ref(const std::string& ref, const std::string& base,
                          const std::string& ref_pointer) const {
    const std::string uri = resolve_uri(base, ref);
    const auto [document, fragment] = split_fragment(uri);
    std::string target;
    if (!fragment.empty() && fragment[0] != '/') {
      // A plain-name fragment: a location-independent "$id": "#name".
      const auto it = pointer_by_uri_.find(uri);
      if (it == pointer_by_uri_.end()) {
        fail(ref_pointer, "$ref \"" + ref + "\" names no id in this document");
      }
      return it->second;
    }
    if (document == root_uri_) {
      target = "";
    } else if (const auto it = pointer_by_uri_.find(document); it != pointer_by_uri_.end()) {
      target = it->second;
    } else {
      fail(ref_pointer, "$ref \"" + ref + "\" refers outside this document" +
                            (uri == ref ? std::string() : " (to " + document + ")") +
                            "; OSB schemas must be self-contained");
    }
    const auto decoded = percent_decode(fragment);
    const auto tokens = decoded ? parse_pointer(*decoded) : std::nullopt;
    if (!tokens) {
      fail(ref_pointer, "$ref \"" + ref + "\" has a malformed JSON pointer");
    }
    for (const auto& token : *tokens) {
      target = child_pointer(target, token);
    }
    const json* value = value_at(target);
    if (value == nullptr) {
      fail(ref_pointer, "$ref \"" + ref + "\" points to nothing in this document");
    }
    if (!value->is_object() && !(value->is_boolean() && draft6_or_later())) {
      fail(ref_pointer, "$ref \"" + ref + "\" points to something that is not a schema");
    }
    return target;
  }

  // --- keyword readers: each throws naming the keyword's pointer when the value is malformed ---

  const json* find(const json& object, const char* keyword) const {
    const auto it = object.find(keyword);
    return it == object.end() ? nullptr : &*it;
  }

  json read_number(const json& value, const std::string& pointer) const {
    if (!value.is_number()) {
      fail(pointer, "must be a number");
    }
    return value;
  }

  std::uint64_t read_count(const json& value, const std::string& pointer) const {
    if (!value.is_number() || !is_integral(value) || compare_numbers(value, json(0)) < 0) {
      fail(pointer, "must be a non-negative integer");
    }
    if (value.is_number_unsigned()) {
      return value.get<std::uint64_t>();
    }
    if (value.is_number_integer()) {
      return static_cast<std::uint64_t>(value.get<std::int64_t>());
    }
    const double x = value.get<double>();
    return x >= 18446744073709551616.0 ? std::numeric_limits<std::uint64_t>::max()
                                       : static_cast<std::uint64_t>(x);
  }

  std::vector<std::string> read_names(const json& value, const std::string& pointer) const {
    if (!value.is_array()) {
      fail(pointer, "must be an array of strings");
    }
    std::vector<std::string> names;
    for (const auto& item : value) {
      if (!item.is_string()) {
        fail(pointer, "must be an array of strings");
      }
      names.push_back(item.get<std::string>());
    }
    return names;
  }

  Pattern read_pattern(const std::string& source, const std::string& pointer) const {
    std::string why;
    auto pattern = compile_pattern(source, why);
    if (!pattern) {
      fail(pointer, "\"" + source + "\" is not a regular expression osbd supports (" + why + ")");
    }
    return std::move(*pattern);
  }

  std::uint8_t read_types(const json& value, const std::string& pointer) const {
    static const std::pair<const char*, std::uint8_t> kNames[] = {
        {"null", kTypeNull},      {"boolean", kTypeBoolean}, {"object", kTypeObject},
        {"array", kTypeArray},    {"number", kTypeNumber},   {"string", kTypeString},
        {"integer", kTypeInteger}};
    const auto bit = [&](const json& name) -> std::uint8_t {
      if (name.is_string()) {
        for (const auto& [text, type_bit] : kNames) {
          if (name.get_ref<const std::string&>() == text) {
            return type_bit;
          }
        }
      }
      fail(pointer, "unknown type " + json_excerpt(name));
    };
    if (value.is_array()) {
      if (value.empty()) {
        fail(pointer, "must not be an empty array");
      }
      std::uint8_t bits = 0;
      for (const auto& name : value) {
        bits |= bit(name);
      }
      return bits;
    }
    return bit(value);
  }

  /// Compiles the subschema under keyword (and, for lists and maps, token).
  NodeId child(const json& value, const std::string& pointer, const std::string& base,
               std::size_t depth, bool boolean_ok_in_draft4 = false) {
    return compile(value, pointer, base, depth + 1, boolean_ok_in_draft4);
  }

  std::vector<NodeId> child_list(const json& value, const std::string& pointer,
                                 const std::string& base, std::size_t depth) {
    if (!value.is_array() || value.empty()) {
      fail(pointer, "must be a non-empty array of schemas");
    }
    std::vector<NodeId> ids;
    for (std::size_t i = 0; i < value.size(); ++i) {
      ids.push_back(child(value[i], child_pointer(pointer, std::to_string(i)), base, depth));
    }
    return ids;
  }

  // --- second pass ---

  NodeId compile(const json& value, const std::string& pointer, const std::string& parent_base,
                 std::size_t depth, bool boolean_ok_in_draft4) {
    if (const auto it = by_pointer_.find(pointer); it != by_pointer_.end()) {
      return it->second;
    }
    if (depth > kMaxSchemaDepth) {
      fail(pointer, "the schema is nested too deeply");
    }
    const auto id = static_cast<NodeId>(nodes_.size());
    nodes_.emplace_back();
    by_pointer_.emplace(pointer, id);
    // Children append to nodes_, so the node is built aside and moved in at the end.
    Node node;
    node.pointer = pointer;
    if (value.is_boolean()) {
      if (!draft6_or_later() && !boolean_ok_in_draft4) {
        fail(pointer, "must be an object (boolean schemas need draft-06 or later)");
      }
      node.kind = value.get<bool>() ? Node::Kind::accept_all : Node::Kind::reject_all;
    } else if (!value.is_object()) {
      fail(pointer, draft6_or_later() ? "must be a schema (an object or a boolean)"
                                      : "must be a schema (an object)");
    } else if (const json* ref = find(value, "$ref")) {
      if (!ref->is_string()) {
        fail(pointer + "/$ref", "must be a string");
      }
      node.kind = Node::Kind::ref;
      pending_refs_.emplace_back(
          id, resolve_ref(ref->get<std::string>(), parent_base, pointer + "/$ref"));
    } else {
      node.kind = Node::Kind::keywords;
      compile_keywords(value, pointer, own_base(value, parent_base), depth, node);
    }
    nodes_[id] = std::move(node);
    return id;
  }

  /// Where a keyword is compiled: the schema object's node and what its children inherit.
  struct Site {
    const std::string& base;  ///< base URI inside the schema object
    std::size_t depth;        ///< its nesting in the document
    Node& node;               ///< the node being built
  };

  /// Compiles one keyword's value; `at` is the keyword's JSON pointer.
  using KeywordCompiler = void (Compiler::*)(const json& value, const std::string& at, Site& site);

  // --- any instance ---

  void compile_type(const json& v, const std::string& at, Site& site) {
    site.node.types = read_types(v, at);
  }

  void compile_enum(const json& v, const std::string& at, Site& site) {
    if (!v.is_array()) {
      fail(at, "must be an array");
    }
    site.node.enum_values = v;
  }

  void compile_const(const json& v, const std::string&, Site& site) { site.node.const_value = v; }

  // --- numbers ---

  void compile_multiple_of(const json& v, const std::string& at, Site& site) {
    site.node.multiple_of = read_number(v, at);
    if (compare_numbers(*site.node.multiple_of, json(0)) != 1) {
      fail(at, "must be greater than 0");
    }
  }

  void compile_maximum(const json& v, const std::string& at, Site& site) {
    site.node.maximum = read_number(v, at);
  }

  void compile_minimum(const json& v, const std::string& at, Site& site) {
    site.node.minimum = read_number(v, at);
  }

  void compile_exclusive_maximum(const json& v, const std::string& at, Site& site) {
    read_exclusive(v, at, site.node.maximum, site.node.exclusive_maximum);
  }

  void compile_exclusive_minimum(const json& v, const std::string& at, Site& site) {
    read_exclusive(v, at, site.node.minimum, site.node.exclusive_minimum);
  }

  // --- strings ---

  void compile_max_length(const json& v, const std::string& at, Site& site) {
    site.node.max_length = read_count(v, at);
  }

  void compile_min_length(const json& v, const std::string& at, Site& site) {
    site.node.min_length = read_count(v, at);
  }

  void compile_pattern_keyword(const json& v, const std::string& at, Site& site) {
    if (!v.is_string()) {
      fail(at, "must be a string");
    }
    site.node.pattern = read_pattern(v.get<std::string>(), at);
  }

  void compile_format(const json& v, const std::string& at, Site& site) {
    if (!v.is_string()) {
      fail(at, "must be a string");
    }
    site.node.format = format_from_name(v.get_ref<const std::string&>());
  }

  // --- arrays ---

  void compile_items(const json& v, const std::string& at, Site& site) {
    if (!v.is_array()) {
      site.node.items = child(v, at, site.base, site.depth);
      return;
    }
    site.node.has_tuple_items = true;
    for (std::size_t i = 0; i < v.size(); ++i) {
      site.node.tuple_items.push_back(
          child(v[i], child_pointer(at, std::to_string(i)), site.base, site.depth));
    }
  }

  void compile_additional_items(const json& v, const std::string& at, Site& site) {
    const NodeId additional = child(v, at, site.base, site.depth, true);
    // additionalItems only means something next to the array form of items.
    if (site.node.has_tuple_items) {
      site.node.additional_items = additional;
    }
  }

  void compile_max_items(const json& v, const std::string& at, Site& site) {
    site.node.max_items = read_count(v, at);
  }

  void compile_min_items(const json& v, const std::string& at, Site& site) {
    site.node.min_items = read_count(v, at);
  }

  void compile_unique_items(const json& v, const std::string& at, Site& site) {
    if (!v.is_boolean()) {
      fail(at, "must be a boolean");
    }
    site.node.unique_items = v.get<bool>();
  }

  void compile_contains(const json& v, const std::string& at, Site& site) {
    site.node.contains = child(v, at, site.base, site.depth);
  }

  // --- objects ---

  void compile_max_properties(const json& v, const std::string& at, Site& site) {
    site.node.max_properties = read_count(v, at);
  }

  void compile_min_properties(const json& v, const std::string& at, Site& site) {
    site.node.min_properties = read_count(v, at);
  }

  void compile_required(const json& v, const std::string& at, Site& site) {
    site.node.required = read_names(v, at);
  }

  void compile_properties(const json& v, const std::string& at, Site& site) {
    require_object(v, at);
    // nlohmann::json objects iterate in key order, so this is sorted for binary search.
    for (auto it = v.begin(); it != v.end(); ++it) {
      site.node.properties.emplace_back(
          it.key(), child(it.value(), child_pointer(at, it.key()), site.base, site.depth));
    }
  }

  void compile_pattern_properties(const json& v, const std::string& at, Site& site) {
    require_object(v, at);
    for (auto it = v.begin(); it != v.end(); ++it) {
      const auto child_ptr = child_pointer(at, it.key());
      auto pattern = read_pattern(it.key(), child_ptr);
      site.node.pattern_properties.emplace_back(
          std::move(pattern), child(it.value(), child_ptr, site.base, site.depth));
    }
  }

  void compile_additional_properties(const json& v, const std::string& at, Site& site) {
    site.node.additional_properties = child(v, at, site.base, site.depth, true);
  }

  void compile_dependencies(const json& v, const std::string& at, Site& site) {
    require_object(v, at);
    for (auto it = v.begin(); it != v.end(); ++it) {
      const auto child_ptr = child_pointer(at, it.key());
      Dependency dependency;
      dependency.property = it.key();
      if (it->is_array()) {
        dependency.required = read_names(it.value(), child_ptr);
      } else {
        dependency.schema = child(it.value(), child_ptr, site.base, site.depth);
      }
      site.node.dependencies.push_back(std::move(dependency));
    }
  }

  void compile_property_names(const json& v, const std::string& at, Site& site) {
    site.node.property_names = child(v, at, site.base, site.depth);
  }

  // --- applicators ---

  void compile_all_of(const json& v, const std::string& at, Site& site) {
    site.node.all_of = child_list(v, at, site.base, site.depth);
  }

  void compile_any_of(const json& v, const std::string& at, Site& site) {
    site.node.any_of = child_list(v, at, site.base, site.depth);
  }

  void compile_one_of(const json& v, const std::string& at, Site& site) {
    site.node.one_of = child_list(v, at, site.base, site.depth);
  }

  void compile_not(const json& v, const std::string& at, Site& site) {
    site.node.not_schema = child(v, at, site.base, site.depth);
  }

  void compile_if(const json& v, const std::string& at, Site& site) {
    site.node.if_schema = child(v, at, site.base, site.depth);
  }

  void compile_then(const json& v, const std::string& at, Site& site) {
    site.node.then_schema = child(v, at, site.base, site.depth);
  }

  void compile_else(const json& v, const std::string& at, Site& site) {
    site.node.else_schema = child(v, at, site.base, site.depth);
  }

  /// Compiled now so that a malformed definition is reported even if nothing uses it yet.
  void compile_definitions(const json& v, const std::string& at, Site& site) {
    require_object(v, at);
    for (auto it = v.begin(); it != v.end(); ++it) {
      child(it.value(), child_pointer(at, it.key()), site.base, site.depth);
    }
  }

  /// A keyword, the first draft that has it, and its compiler.
  struct KeywordRule {
    const char* name;
    Draft since;
    KeywordCompiler compile;
  };

  /// Every keyword osbd compiles, grouped by vocabulary. Order matters where one keyword reads
  /// another's result: exclusiveMaximum after maximum (draft-04), additionalItems after items.
  static constexpr KeywordRule kKeywords[] = {
      // any instance
      {"type", Draft::draft4, &Compiler::compile_type},
      {"enum", Draft::draft4, &Compiler::compile_enum},
      {"const", Draft::draft6, &Compiler::compile_const},
      // numbers
      {"multipleOf", Draft::draft4, &Compiler::compile_multiple_of},
      {"maximum", Draft::draft4, &Compiler::compile_maximum},
      {"minimum", Draft::draft4, &Compiler::compile_minimum},
      {"exclusiveMaximum", Draft::draft4, &Compiler::compile_exclusive_maximum},
      {"exclusiveMinimum", Draft::draft4, &Compiler::compile_exclusive_minimum},
      // strings
      {"maxLength", Draft::draft4, &Compiler::compile_max_length},
      {"minLength", Draft::draft4, &Compiler::compile_min_length},
      {"pattern", Draft::draft4, &Compiler::compile_pattern_keyword},
      {"format", Draft::draft4, &Compiler::compile_format},
      // arrays
      {"items", Draft::draft4, &Compiler::compile_items},
      {"additionalItems", Draft::draft4, &Compiler::compile_additional_items},
      {"maxItems", Draft::draft4, &Compiler::compile_max_items},
      {"minItems", Draft::draft4, &Compiler::compile_min_items},
      {"uniqueItems", Draft::draft4, &Compiler::compile_unique_items},
      {"contains", Draft::draft6, &Compiler::compile_contains},
      // objects
      {"maxProperties", Draft::draft4, &Compiler::compile_max_properties},
      {"minProperties", Draft::draft4, &Compiler::compile_min_properties},
      {"required", Draft::draft4, &Compiler::compile_required},
      {"properties", Draft::draft4, &Compiler::compile_properties},
      {"patternProperties", Draft::draft4, &Compiler::compile_pattern_properties},
      {"additionalProperties", Draft::draft4, &Compiler::compile_additional_properties},
      {"dependencies", Draft::draft4, &Compiler::compile_dependencies},
      {"propertyNames", Draft::draft6, &Compiler::compile_property_names},
      // applicators; then and else are compiled (and checked) even without if, which alone
      // makes them apply
      {"allOf", Draft::draft4, &Compiler::compile_all_of},
      {"anyOf", Draft::draft4, &Compiler::compile_any_of},
      {"oneOf", Draft::draft4, &Compiler::compile_one_of},
      {"not", Draft::draft4, &Compiler::compile_not},
      {"if", Draft::draft7, &Compiler::compile_if},
      {"then", Draft::draft7, &Compiler::compile_then},
      {"else", Draft::draft7, &Compiler::compile_else},
      // reusable subschemas
      {"definitions", Draft::draft4, &Compiler::compile_definitions},
  };

  void compile_keywords(const json& value, const std::string& pointer, const std::string& base,
                        std::size_t depth, Node& node) {
    Site site{base, depth, node};
    for (const auto& rule : kKeywords) {
      if (draft_ < rule.since) {
        continue;  // a keyword of a later draft is unknown here, hence ignored
      }
      if (const json* v = find(value, rule.name)) {
        (this->*rule.compile)(*v, child_pointer(pointer, rule.name), site);
      }
    }
  }

  void require_object(const json& v, const std::string& at) const {
    if (!v.is_object()) {
      fail(at, "must be an object");
    }
  }

  /// exclusiveMaximum/exclusiveMinimum: a boolean modifier of maximum/minimum in draft-04, a
  /// number of its own from draft-06 on. The draft-04 form is folded into the draft-06 one.
  void read_exclusive(const json& v, const std::string& at, std::optional<json>& inclusive,
                      std::optional<json>& exclusive) const {
    if (draft6_or_later()) {
      if (!v.is_number()) {
        fail(at, "must be a number (the boolean form is draft-04 only)");
      }
      exclusive = v;
      return;
    }
    if (!v.is_boolean()) {
      fail(at, "must be a boolean in draft-04 (the number form needs draft-06)");
    }
    if (v.get<bool>() && inclusive) {
      exclusive = std::move(inclusive);
      inclusive.reset();
    }
  }

  /// Refuses schemas whose $refs lead back to the same node without descending into the
  /// instance: validating with them would never end.
  void check_cycles() const {
    const auto edges = [this](NodeId id) {
      const Node& node = nodes_[id];
      std::vector<NodeId> out;
      if (node.kind == Node::Kind::ref) {
        out.push_back(node.ref);
      }
      for (const auto* list : {&node.all_of, &node.any_of, &node.one_of}) {
        out.insert(out.end(), list->begin(), list->end());
      }
      for (NodeId single : {node.not_schema, node.if_schema, node.then_schema, node.else_schema}) {
        if (single != kNoNode) {
          out.push_back(single);
        }
      }
      for (const auto& dependency : node.dependencies) {
        if (dependency.schema != kNoNode) {
          out.push_back(dependency.schema);
        }
      }
      return out;
    };
    enum class Mark : std::uint8_t { unseen, open, done };
    std::vector<Mark> marks(nodes_.size(), Mark::unseen);
    struct Frame {
      NodeId id;
      std::vector<NodeId> next;
      std::size_t index;
    };
    for (NodeId start = 0; start < nodes_.size(); ++start) {
      if (marks[start] != Mark::unseen) {
        continue;
      }
      // Iterative depth-first search: a long chain of $refs must not exhaust the stack here.
      std::vector<Frame> stack;
      stack.push_back({start, edges(start), 0});
      marks[start] = Mark::open;
      while (!stack.empty()) {
        Frame& top = stack.back();
        if (top.index == top.next.size()) {
          marks[top.id] = Mark::done;
          stack.pop_back();
          continue;
        }
        const NodeId next = top.next[top.index++];
        if (marks[next] == Mark::open) {
          report_cycle(stack, next);
        }
        if (marks[next] == Mark::unseen) {
          marks[next] = Mark::open;
          stack.push_back({next, edges(next), 0});
        }
      }
    }
  }

  template <typename Frames>
  [[noreturn]] void report_cycle(const Frames& stack, NodeId back_to) const {
    // Name the first $ref on the cycle: that is the keyword the author has to change.
    auto it =
        std::find_if(stack.begin(), stack.end(), [&](const auto& f) { return f.id == back_to; });
    for (; it != stack.end(); ++it) {
      if (nodes_[it->id].kind == Node::Kind::ref) {
        fail(nodes_[it->id].pointer + "/$ref",
             "$ref leads back to itself without descending into the instance, so validation "
             "would never end");
      }
    }
    fail(nodes_[back_to].pointer,
         "the schema refers to itself without descending into the instance");
  }

  const json& document_;
  Draft draft_;
  std::vector<Node> nodes_;
  std::unordered_map<std::string, NodeId> by_pointer_;
  std::unordered_map<std::string, std::string> base_by_pointer_;
  std::unordered_map<std::string, std::string> pointer_by_uri_;
  std::vector<std::pair<NodeId, std::string>> pending_refs_;
  std::string root_uri_;
};

}  // namespace

CompiledSchema compile_document(const json& document, Draft default_draft) {
  return Compiler(document, default_draft).run();
}

}  // namespace osbd::schema::detail
