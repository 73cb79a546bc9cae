#include "schema/schema.hpp"

#include <utility>

#include "schema/node.hpp"

namespace osbd::schema {

std::string to_string(const Violation& violation) {
  return violation.path.empty() ? violation.message : violation.path + ": " + violation.message;
}

Schema::Schema() {
  // One shared "accept everything" document: default-constructed Schemas are common (plans
  // without schemas) and need not allocate.
  static const auto accept_all = [] {
    auto compiled = std::make_shared<detail::CompiledSchema>();
    compiled->nodes.emplace_back();
    return std::shared_ptr<const detail::CompiledSchema>(std::move(compiled));
  }();
  compiled_ = accept_all;
}

Schema::Schema(std::shared_ptr<const detail::CompiledSchema> compiled)
    : compiled_(std::move(compiled)) {}

Schema Schema::compile(const nlohmann::json& schema, Draft default_draft) {
  return Schema(std::make_shared<const detail::CompiledSchema>(
      detail::compile_document(schema, default_draft)));
}

std::vector<Violation> Schema::validate(const nlohmann::json& instance, std::string_view root_name,
                                        std::size_t max_violations) const {
  std::vector<Violation> violations;
  detail::validate_document(*compiled_, instance, root_name, max_violations, &violations);
  return violations;
}

bool Schema::is_valid(const nlohmann::json& instance) const {
  return detail::validate_document(*compiled_, instance, {}, 1, nullptr);
}

Draft Schema::draft() const {
  return compiled_->draft;
}

}  // namespace osbd::schema
