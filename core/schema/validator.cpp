// CompiledSchema x instance -> violations. Recursion follows the instance (whose depth is bounded
// before any keyword runs) and chains of subschemas (bounded by kMaxFrames), never the request's
// size alone, so a hostile instance cannot exhaust the stack.

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "schema/json_util.hpp"
#include "schema/node.hpp"
#include "schema/pointer.hpp"
#include "schema/regex.hpp"

namespace osbd::schema::detail {
namespace {

using json = nlohmann::json;

/// Deepest chain of nested subschema evaluations. Real schemas stay far below (a few per instance
/// level); this backstop turns a pathological one into a violation instead of a crash, and
/// bounds validation to about 250 KiB of stack (about 1 MiB under AddressSanitizer).
constexpr std::size_t kMaxFrames = 500;

/// One step of the instance path: an object key or an array index.
struct Segment {
  const std::string* key;  ///< nullptr for an array index
  std::size_t index;
};

bool is_plain_key(const std::string& key) {
  if (key.empty() ||
      !((key[0] >= 'a' && key[0] <= 'z') || (key[0] >= 'A' && key[0] <= 'Z') || key[0] == '_')) {
    return false;
  }
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

std::string render_path(std::string_view root, const std::vector<Segment>& segments) {
  std::string path(root);
  for (const auto& segment : segments) {
    // append() rather than operator+ chains: g++ 12 -O2 misreports those as -Wrestrict.
    if (segment.key == nullptr) {
      path.append("[").append(std::to_string(segment.index)).append("]");
    } else if (is_plain_key(*segment.key)) {
      path.append(path.empty() ? "" : ".").append(*segment.key);
    } else {
      // Keys with dots, spaces or brackets would make a dotted path ambiguous.
      path.append("[")
          .append(json(*segment.key).dump(-1, ' ', false, json::error_handler_t::replace))
          .append("]");
    }
  }
  return path;
}

std::string render_pointer(const std::vector<Segment>& segments) {
  std::string pointer;
  for (const auto& segment : segments) {
    pointer.append("/").append(segment.key == nullptr ? std::to_string(segment.index)
                                                      : escape_pointer_token(*segment.key));
  }
  return pointer;
}

std::uint8_t type_bits(const json& value, Draft draft) {
  switch (value.type()) {
    case json::value_t::null:
      return kTypeNull;
    case json::value_t::boolean:
      return kTypeBoolean;
    case json::value_t::object:
      return kTypeObject;
    case json::value_t::array:
      return kTypeArray;
    case json::value_t::string:
      return kTypeString;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return kTypeNumber | kTypeInteger;
    case json::value_t::number_float:
      // Draft-04 makes integer a matter of representation (1.0 is not one); draft-06 on, of value.
      return draft != Draft::draft4 && is_integral(value) ? kTypeNumber | kTypeInteger
                                                          : kTypeNumber;
    default:
      return 0;
  }
}

std::string type_message(std::uint8_t types) {
  static const std::pair<std::uint8_t, const char*> kNouns[] = {
      {kTypeObject, "an object"},   {kTypeArray, "an array"},  {kTypeString, "a string"},
      {kTypeInteger, "an integer"}, {kTypeNumber, "a number"}, {kTypeBoolean, "a boolean"},
      {kTypeNull, "null"}};
  std::vector<const char*> nouns;
  for (const auto& [bit, noun] : kNouns) {
    if ((types & bit) != 0) {
      nouns.push_back(noun);
    }
  }
  std::string message = "must be ";
  for (std::size_t i = 0; i < nouns.size(); ++i) {
    message += i == 0 ? "" : (i + 1 == nouns.size() ? " or " : ", ");
    message += nouns[i];
  }
  return message;
}

std::string plural(std::uint64_t count, const char* singular, const char* plural_form) {
  return std::to_string(count) + " " + (count == 1 ? singular : plural_form);
}

class Validator {
 public:
  Validator(const CompiledSchema& compiled, std::string_view root_name, std::size_t max_violations,
            std::vector<Violation>* out)
      : compiled_(compiled), root_name_(root_name), max_(max_violations), out_(out) {}

  /// Refuses instances nested deeper than kMaxInstanceDepth; iterative, so any depth is safe.
  bool check_depth(const json& instance) {
    struct Frame {
      const json* container;
      json::const_iterator next;
    };
    if (!instance.is_structured()) {
      return true;
    }
    std::vector<Frame> stack{{&instance, instance.cbegin()}};
    while (!stack.empty()) {
      Frame& top = stack.back();
      if (top.next == top.container->cend()) {
        stack.pop_back();
        continue;
      }
      const auto child = top.next++;
      if (!child->is_structured()) {
        continue;
      }
      if (stack.size() >= kMaxInstanceDepth) {
        for (const auto& frame : stack) {
          const auto taken = std::prev(frame.next);
          if (frame.container->is_object()) {
            path_.push_back({&taken.key(), 0});
          } else {
            path_.push_back({nullptr, static_cast<std::size_t>(taken - frame.container->cbegin())});
          }
        }
        return fail("is nested too deeply (more than " + std::to_string(kMaxInstanceDepth) +
                    " levels of arrays and objects)");
      }
      stack.push_back({&*child, child->cbegin()});
    }
    return true;
  }

  bool check(NodeId id, const json& instance) {
    const Node& node = compiled_.nodes[id];
    switch (node.kind) {
      case Node::Kind::accept_all:
        return true;
      case Node::Kind::reject_all:
        return fail("is not allowed");
      case Node::Kind::ref:
      case Node::Kind::keywords:
        break;
    }
    if (frames_ >= kMaxFrames) {
      return fail("cannot be validated: the schema nests too deeply");
    }
    ++frames_;
    const bool ok =
        node.kind == Node::Kind::ref ? check(node.ref, instance) : check_keywords(node, instance);
    --frames_;
    return ok;
  }

 private:
  /// Whether to give up after a failure: when only validity is wanted, or the list is full.
  bool stop() const { return out_ == nullptr || out_->size() >= max_; }

  bool fail(std::string message) {
    if (out_ != nullptr && out_->size() < max_) {
      out_->push_back({render_path(root_name_, path_), std::move(message), render_pointer(path_)});
    }
    return false;
  }

  bool fail_at(Segment segment, std::string message) {
    path_.push_back(segment);
    fail(std::move(message));
    path_.pop_back();
    return false;
  }

  bool check_at(Segment segment, NodeId id, const json& instance) {
    path_.push_back(segment);
    const bool ok = check(id, instance);
    path_.pop_back();
    return ok;
  }

  /// Validity only, without messages: for anyOf, oneOf, not, if and contains, whose branches
  /// failing is not itself the user's mistake.
  bool quiet(NodeId id, const json& instance) {
    auto* const saved = out_;
    out_ = nullptr;
    const bool ok = check(id, instance);
    out_ = saved;
    return ok;
  }

  bool check_keywords(const Node& node, const json& instance) {
    bool ok = true;
    if (node.types != 0 && (node.types & type_bits(instance, compiled_.draft)) == 0) {
      ok = fail(type_message(node.types));
      if (stop()) {
        return false;
      }
    } else {
      // After a type mismatch enum and const would only repeat the same complaint.
      if (node.enum_values &&
          std::none_of(node.enum_values->begin(), node.enum_values->end(),
                       [&](const json& v) { return json_equal(v, instance); })) {
        std::string list;
        for (const auto& v : *node.enum_values) {
          list += (list.empty() ? "" : ", ") + json_excerpt(v, 60);
          if (list.size() > 200) {
            list += ", ...";
            break;
          }
        }
        ok = fail("must be one of: " + list);
        if (stop()) {
          return false;
        }
      }
      if (node.const_value && !json_equal(*node.const_value, instance)) {
        ok = fail("must be equal to " + json_excerpt(*node.const_value));
        if (stop()) {
          return false;
        }
      }
    }
    if (instance.is_number()) {
      ok = check_number(node, instance) && ok;
    } else if (instance.is_string()) {
      ok = check_string(node, instance.get_ref<const std::string&>()) && ok;
    } else if (instance.is_array()) {
      ok = check_array(node, instance) && ok;
    } else if (instance.is_object()) {
      ok = check_object(node, instance) && ok;
    }
    if (!ok && stop()) {
      return false;
    }
    return check_applicators(node, instance) && ok;
  }

  bool check_number(const Node& node, const json& number) {
    bool ok = true;
    const auto check_one = [&](bool valid, const char* what, const json& limit) {
      if (!valid) {
        ok = fail(std::string(what) + json_excerpt(limit));
      }
      return !valid && stop();
    };
    if (node.multiple_of && check_one(is_multiple_of(number, *node.multiple_of),
                                      "must be a multiple of ", *node.multiple_of)) {
      return false;
    }
    if (node.maximum &&
        check_one(compare_numbers(number, *node.maximum) <= 0, "must be at most ", *node.maximum)) {
      return false;
    }
    if (node.exclusive_maximum && check_one(compare_numbers(number, *node.exclusive_maximum) == -1,
                                            "must be less than ", *node.exclusive_maximum)) {
      return false;
    }
    if (node.minimum && check_one(compare_numbers(*node.minimum, number) <= 0, "must be at least ",
                                  *node.minimum)) {
      return false;
    }
    if (node.exclusive_minimum && check_one(compare_numbers(number, *node.exclusive_minimum) == 1,
                                            "must be greater than ", *node.exclusive_minimum)) {
      return false;
    }
    return ok;
  }

  bool check_string(const Node& node, const std::string& text) {
    bool ok = true;
    if (node.max_length || node.min_length) {
      const std::uint64_t length = code_point_count(text);
      if (node.max_length && length > *node.max_length) {
        ok = fail("must be at most " + plural(*node.max_length, "character", "characters") +
                  " long");
        if (stop()) {
          return false;
        }
      }
      if (node.min_length && length < *node.min_length) {
        ok = fail("must be at least " + plural(*node.min_length, "character", "characters") +
                  " long");
        if (stop()) {
          return false;
        }
      }
    }
    if (node.pattern && !pattern_matches(*node.pattern, text)) {
      ok = fail("must match the pattern " + node.pattern->source);
      if (stop()) {
        return false;
      }
    }
    if (node.format != Format::none && !matches_format(node.format, text)) {
      ok = fail("must be " + std::string(format_noun(node.format)));
    }
    return ok;
  }

  bool check_array(const Node& node, const json& array) {
    bool ok = true;
    const std::size_t size = array.size();
    if (node.max_items && size > *node.max_items) {
      ok = fail("must have at most " + plural(*node.max_items, "item", "items"));
      if (stop()) {
        return false;
      }
    }
    if (node.min_items && size < *node.min_items) {
      ok = fail("must have at least " + plural(*node.min_items, "item", "items"));
      if (stop()) {
        return false;
      }
    }
    for (std::size_t i = 0; i < size; ++i) {
      NodeId item_schema = node.items;
      if (node.has_tuple_items) {
        item_schema = i < node.tuple_items.size() ? node.tuple_items[i] : node.additional_items;
      }
      if (item_schema == kNoNode) {
        continue;
      }
      if (compiled_.nodes[item_schema].kind == Node::Kind::reject_all &&
          i >= node.tuple_items.size()) {
        ok = fail_at({nullptr, i}, "is not allowed (at most " +
                                       plural(node.tuple_items.size(), "item", "items") + ")");
      } else if (!check_at({nullptr, i}, item_schema, array[i])) {
        ok = false;
      }
      if (!ok && stop()) {
        return false;
      }
    }
    if (node.unique_items) {
      if (const auto duplicate = find_duplicate(array)) {
        ok = fail("must not contain duplicate items (items " + std::to_string(duplicate->first) +
                  " and " + std::to_string(duplicate->second) + " are equal)");
        if (stop()) {
          return false;
        }
      }
    }
    if (node.contains != kNoNode && std::none_of(array.begin(), array.end(), [&](const json& item) {
          return quiet(node.contains, item);
        })) {
      ok = fail("must contain at least one item that matches the \"contains\" schema");
    }
    return ok;
  }

  /// The first pair of equal items (smallest second index), found via hashes in O(n log n).
  static std::optional<std::pair<std::size_t, std::size_t>> find_duplicate(const json& array) {
    std::vector<std::pair<std::size_t, std::size_t>> hashed;  // (hash, index)
    hashed.reserve(array.size());
    for (std::size_t i = 0; i < array.size(); ++i) {
      hashed.emplace_back(json_hash(array[i]), i);
    }
    std::sort(hashed.begin(), hashed.end());
    std::optional<std::pair<std::size_t, std::size_t>> best;
    for (std::size_t begin = 0; begin < hashed.size();) {
      std::size_t end = begin + 1;
      while (end < hashed.size() && hashed[end].first == hashed[begin].first) {
        ++end;
      }
      for (std::size_t a = begin; a < end; ++a) {
        for (std::size_t b = a + 1; b < end; ++b) {
          const auto i = hashed[a].second;
          const auto j = hashed[b].second;  // > i: equal hashes keep index order
          if ((!best || j < best->second || (j == best->second && i < best->first)) &&
              json_equal(array[i], array[j])) {
            best = {i, j};
          }
        }
      }
      begin = end;
    }
    return best;
  }

  bool check_object(const Node& node, const json& object) {
    bool ok = true;
    for (const auto part : {&Validator::check_property_count, &Validator::check_required,
                            &Validator::check_properties, &Validator::check_unlisted_properties,
                            &Validator::check_dependencies, &Validator::check_property_names}) {
      ok = (this->*part)(node, object) && ok;
      if (!ok && stop()) {
        return false;
      }
    }
    return ok;
  }

  /// maxProperties and minProperties.
  bool check_property_count(const Node& node, const json& object) {
    bool ok = true;
    const std::size_t size = object.size();
    if (node.max_properties && size > *node.max_properties) {
      ok = fail("must have at most " + plural(*node.max_properties, "property", "properties"));
      if (stop()) {
        return false;
      }
    }
    if (node.min_properties && size < *node.min_properties) {
      ok = fail("must have at least " + plural(*node.min_properties, "property", "properties"));
    }
    return ok;
  }

  /// required: each missing name is reported at the property.
  bool check_required(const Node& node, const json& object) {
    bool ok = true;
    for (const auto& name : node.required) {
      if (!object.contains(name)) {
        ok = fail_at({&name, 0}, "is required");
        if (stop()) {
          return false;
        }
      }
    }
    return ok;
  }

  /// properties: the schema of each listed property the object has.
  bool check_properties(const Node& node, const json& object) {
    bool ok = true;
    for (const auto& [name, schema] : node.properties) {
      const auto it = object.find(name);
      if (it != object.end() && !check_at({&name, 0}, schema, *it)) {
        ok = false;
        if (stop()) {
          return false;
        }
      }
    }
    return ok;
  }

  /// patternProperties and additionalProperties, over every property of the object.
  bool check_unlisted_properties(const Node& node, const json& object) {
    if (node.pattern_properties.empty() && node.additional_properties == kNoNode) {
      return true;
    }
    bool ok = true;
    for (auto it = object.begin(); it != object.end(); ++it) {
      if (!check_unlisted_property(node, it.key(), it.value())) {
        ok = false;
        if (stop()) {
          return false;
        }
      }
    }
    return ok;
  }

  /// The patternProperties matching key, then additionalProperties when key is neither listed
  /// in properties nor matched by a pattern.
  bool check_unlisted_property(const Node& node, const std::string& key, const json& value) {
    bool ok = true;
    bool known =
        std::binary_search(node.properties.begin(), node.properties.end(), key,
                           [](const auto& a, const auto& b) { return key_of(a) < key_of(b); });
    for (const auto& [pattern, schema] : node.pattern_properties) {
      if (pattern_matches(pattern, key)) {
        known = true;
        if (!check_at({&key, 0}, schema, value)) {
          ok = false;
          if (stop()) {
            return false;
          }
        }
      }
    }
    if (known || node.additional_properties == kNoNode) {
      return ok;
    }
    if (compiled_.nodes[node.additional_properties].kind == Node::Kind::reject_all) {
      return fail_at({&key, 0}, "is not allowed (unknown property)") && ok;
    }
    return check_at({&key, 0}, node.additional_properties, value) && ok;
  }

  /// dependencies: each applies when its property is present.
  bool check_dependencies(const Node& node, const json& object) {
    bool ok = true;
    for (const auto& dependency : node.dependencies) {
      if (!object.contains(dependency.property)) {
        continue;
      }
      for (const auto& name : dependency.required) {
        if (!object.contains(name)) {
          ok = fail_at({&name, 0}, "is required when \"" + dependency.property + "\" is present");
          if (stop()) {
            return false;
          }
        }
      }
      if (dependency.schema != kNoNode && !check(dependency.schema, object)) {
        ok = false;
        if (stop()) {
          return false;
        }
      }
    }
    return ok;
  }

  /// propertyNames, over every property of the object.
  bool check_property_names(const Node& node, const json& object) {
    if (node.property_names == kNoNode) {
      return true;
    }
    bool ok = true;
    for (auto it = object.begin(); it != object.end(); ++it) {
      if (!check_property_name(node.property_names, it.key())) {
        ok = false;
        if (stop()) {
          return false;
        }
      }
    }
    return ok;
  }

  static const std::string& key_of(const std::pair<std::string, NodeId>& entry) {
    return entry.first;
  }
  static const std::string& key_of(const std::string& key) { return key; }

  /// propertyNames: the name is validated as a string; its violations are reported at the
  /// property, as "property name must ...".
  bool check_property_name(NodeId schema, const std::string& key) {
    const json name(key);
    if (quiet(schema, name)) {
      return true;
    }
    if (out_ != nullptr && out_->size() < max_) {
      std::vector<Violation> inner;
      Validator nested(compiled_, "", max_ - out_->size(), &inner);
      nested.frames_ = frames_;
      nested.check(schema, name);
      path_.push_back({&key, 0});
      const std::string here = render_path(root_name_, path_);
      const std::string here_pointer = render_pointer(path_);
      path_.pop_back();
      for (auto& violation : inner) {
        out_->push_back({here, "property name " + violation.message, here_pointer});
      }
    }
    return false;
  }

  bool check_applicators(const Node& node, const json& instance) {
    bool ok = true;
    for (NodeId schema : node.all_of) {
      if (!check(schema, instance)) {
        ok = false;
        if (stop()) {
          return false;
        }
      }
    }
    if (!node.any_of.empty() &&
        std::none_of(node.any_of.begin(), node.any_of.end(),
                     [&](NodeId schema) { return quiet(schema, instance); })) {
      ok = fail("must match at least one of the allowed alternatives (anyOf)");
      if (stop()) {
        return false;
      }
    }
    if (!node.one_of.empty()) {
      std::vector<std::size_t> matches;
      for (std::size_t i = 0; i < node.one_of.size() && matches.size() < 2; ++i) {
        if (quiet(node.one_of[i], instance)) {
          matches.push_back(i);
        }
      }
      if (matches.empty()) {
        ok = fail("must match exactly one of the allowed alternatives (oneOf), but matches none");
      } else if (matches.size() > 1) {
        ok = fail(
            "must match exactly one of the allowed alternatives (oneOf), but matches "
            "alternatives " +
            std::to_string(matches[0]) + " and " + std::to_string(matches[1]));
      }
      if (!ok && stop()) {
        return false;
      }
    }
    if (node.not_schema != kNoNode && quiet(node.not_schema, instance)) {
      ok = fail("must not match the excluded schema (not)");
      if (stop()) {
        return false;
      }
    }
    if (node.if_schema != kNoNode) {
      const NodeId branch = quiet(node.if_schema, instance) ? node.then_schema : node.else_schema;
      if (branch != kNoNode && !check(branch, instance)) {
        ok = false;
      }
    }
    return ok;
  }

  const CompiledSchema& compiled_;
  std::string_view root_name_;
  std::size_t max_;
  std::vector<Violation>* out_;
  std::vector<Segment> path_;
  std::size_t frames_ = 0;
};

}  // namespace

bool validate_document(const CompiledSchema& compiled, const json& instance,
                       std::string_view root_name, std::size_t max_violations,
                       std::vector<Violation>* out) {
  Validator validator(compiled, root_name, std::max<std::size_t>(max_violations, 1), out);
  return validator.check_depth(instance) && validator.check(compiled.root, instance);
}

}  // namespace osbd::schema::detail
