#include "bucket_policy.hpp"

#include <stdexcept>

namespace osbd_object_storage {

namespace {

constexpr const char* sid_read_write = "osbdReadWrite";
constexpr const char* sid_read_only = "osbdReadOnly";

nlohmann::json actions(Access access) {
  if (access == Access::read_only) {
    return {"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"};
  }
  return {"s3:GetObject",
          "s3:ListBucket",
          "s3:GetBucketLocation",
          "s3:PutObject",
          "s3:DeleteObject",
          "s3:ListBucketMultipartUploads",
          "s3:ListMultipartUploadParts",
          "s3:AbortMultipartUpload"};
}

}  // namespace

const char* to_string(Access access) {
  return access == Access::read_only ? "read-only" : "read-write";
}

std::optional<Access> access_from_string(const std::string& text) {
  if (text == "read-only") {
    return Access::read_only;
  }
  if (text == "read-write") {
    return Access::read_write;
  }
  return std::nullopt;
}

PolicyGrants PolicyGrants::parse(const std::string& text) {
  PolicyGrants out;
  if (text.empty()) {
    return out;
  }
  const nlohmann::json policy = nlohmann::json::parse(text, nullptr, false);
  if (!policy.is_object()) {
    throw std::invalid_argument("the bucket policy is not a JSON object");
  }
  nlohmann::json statements = policy.value("Statement", nlohmann::json::array());
  if (statements.is_object()) {
    statements = nlohmann::json::array({statements});
  }
  if (!statements.is_array()) {
    throw std::invalid_argument("the bucket policy's Statement is not a list");
  }
  for (const nlohmann::json& statement : statements) {
    // A Sid of another type (a number, say) is some other statement: kept, never an error.
    const auto sid_it = statement.is_object() ? statement.find("Sid") : statement.end();
    const std::string sid =
        sid_it != statement.end() && sid_it->is_string() ? sid_it->get<std::string>() : "";
    if (sid != sid_read_write && sid != sid_read_only) {
      out.other.push_back(statement);
      continue;
    }
    const Access access = sid == sid_read_only ? Access::read_only : Access::read_write;
    nlohmann::json principals = statement.value("Principal", nlohmann::json::object());
    principals = principals.is_object() ? principals.value("AWS", nlohmann::json()) : principals;
    if (principals.is_string()) {
      principals = nlohmann::json::array({principals});
    }
    if (!principals.is_array()) {
      continue;
    }
    for (const nlohmann::json& principal : principals) {
      if (principal.is_string()) {
        // Read-write wins if a principal somehow appears in both.
        auto [it, inserted] = out.grants.emplace(principal.get<std::string>(), access);
        if (!inserted && access == Access::read_write) {
          it->second = access;
        }
      }
    }
  }
  return out;
}

std::optional<std::string> PolicyGrants::render(const std::string& bucket) const {
  nlohmann::json statements = nlohmann::json::array();
  for (Access access : {Access::read_write, Access::read_only}) {
    nlohmann::json principals = nlohmann::json::array();
    for (const auto& [principal, granted] : grants) {
      if (granted == access) {
        principals.push_back(principal);
      }
    }
    if (principals.empty()) {
      continue;
    }
    statements.push_back(
        {{"Sid", access == Access::read_only ? sid_read_only : sid_read_write},
         {"Effect", "Allow"},
         {"Principal", {{"AWS", principals}}},
         {"Action", actions(access)},
         {"Resource", {"arn:aws:s3:::" + bucket, "arn:aws:s3:::" + bucket + "/*"}}});
  }
  for (const nlohmann::json& statement : other) {
    statements.push_back(statement);
  }
  if (statements.empty()) {
    return std::nullopt;
  }
  return nlohmann::json({{"Version", "2012-10-17"}, {"Statement", statements}}).dump();
}

}  // namespace osbd_object_storage
