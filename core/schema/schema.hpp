#pragma once

// JSON Schema (drafts 04, 06 and 07) for the `parameters` of OSB requests. A plan's schemas are
// compiled once when the catalog is loaded and then validate every request against that plan.
// Supported keywords, formats and limits are listed in core/schema/README.md.

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace osbd::schema {

/// The JSON Schema drafts osbd understands; a document's "$schema" selects one.
enum class Draft { draft4, draft6, draft7 };

/// A schema document that cannot be compiled; what() names the JSON pointer of the culprit.
class SchemaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One reason why an instance does not match: where (e.g. "parameters.tags[2]") and what is wrong,
/// phrased for the person who sent the request (e.g. "must be at most 10").
struct Violation {
  std::string path;     ///< dotted path from the root name; odd keys as ["key"]
  std::string message;  ///< user-facing, without the path
  std::string pointer =
      {};  ///< RFC 6901 JSON pointer of the same place in the instance ("" = root)

  /// Equal when path and message are (pointer names the same place as path).
  friend bool operator==(const Violation& a, const Violation& b) {
    return a.path == b.path && a.message == b.message;
  }
};

/// "path: message", the form osbd puts into a 400 description.
std::string to_string(const Violation& violation);

/// Deepest nesting of arrays and objects that an instance may have; deeper instances are refused
/// with one violation before any keyword runs, so that no recursion depends on the request.
inline constexpr std::size_t kMaxInstanceDepth = 32;

namespace detail {
struct CompiledSchema;
}  // namespace detail

/// A compiled, immutable schema. Copies share the compiled form; validate() is const and keeps no
/// state between calls, so one Schema may serve many threads at once.
class Schema {
 public:
  /// A schema that accepts every instance (what a plan without a schema means).
  Schema();

  /// Compiles a schema document. Its "$schema" picks the draft; default_draft applies when it is
  /// absent or names no draft osbd knows. Throws SchemaError naming the JSON pointer of a
  /// malformed keyword, of an unresolvable or external $ref (OSB schemas must be self-contained),
  /// or of a $ref cycle that never descends into the instance.
  static Schema compile(const nlohmann::json& schema, Draft default_draft = Draft::draft7);

  /// Validates an instance; returns its violations (empty means valid), at most max_violations
  /// of them (at least one when invalid). root_name starts every path ("parameters").
  std::vector<Violation> validate(const nlohmann::json& instance,
                                  std::string_view root_name = "parameters",
                                  std::size_t max_violations = 10) const;

  /// True when validate() would return no violation; stops at the first failure.
  bool is_valid(const nlohmann::json& instance) const;

  /// The draft the schema was compiled as.
  Draft draft() const;

 private:
  explicit Schema(std::shared_ptr<const detail::CompiledSchema> compiled);

  std::shared_ptr<const detail::CompiledSchema> compiled_;
};

}  // namespace osbd::schema
