#include "state/record_codec.hpp"

#include <filesystem>
#include <stdexcept>
#include <utility>
#include <vector>

#include "util/json_parse.hpp"

namespace osbd::state {

namespace {

// Records written before requests were held to util::kMaxJsonDepth may nest deeper; they still
// read, within a bound that keeps every recursive walk of them far from the stack's end.
constexpr std::size_t kStoredJsonDepth = 512;

}  // namespace

RecordCodec::RecordCodec(std::string source, const SecretBox& box)
    : source_(std::move(source)), box_(box) {}

void RecordCodec::fail(std::string_view what) const {
  throw StoreError(source_ + ": " + std::string(what));
}

std::optional<std::string> RecordCodec::encode(const nlohmann::json& value,
                                               const char* column) const {
  if (value.is_null()) {
    return std::nullopt;
  }
  try {
    return value.dump();
  } catch (const nlohmann::json::exception&) {
    // The exception text may quote the offending bytes, which can be credentials.
    fail(std::string("cannot store ") + column + ": not encodable as JSON (invalid UTF-8)");
  }
}

std::optional<std::string> RecordCodec::encode_sealed(const nlohmann::json& value,
                                                      const char* column) const {
  auto text = encode(value, column);
  if (text) {
    text = box_.seal(*text);
  }
  return text;
}

nlohmann::json RecordCodec::parse(const std::string& text, const char* column) const {
  auto value = util::parse_json(text, nullptr, kStoredJsonDepth);
  if (!value) {
    // The parser's message quotes the text it read, so it is not passed on.
    fail(std::string("column ") + column + " does not hold valid JSON");
  }
  return std::move(*value);
}

nlohmann::json RecordCodec::decode(const std::optional<std::string>& text,
                                   const char* column) const {
  return text ? parse(*text, column) : nlohmann::json();
}

nlohmann::json RecordCodec::decode_sealed(const std::optional<std::string>& text,
                                          const char* column) const {
  if (!text || !SecretBox::is_sealed(*text)) {
    return decode(text, column);  // written before sealing existed; resealed at start-up
  }
  std::string plain;
  try {
    plain = box_.open(*text);
  } catch (const std::exception& e) {
    fail(std::string("column ") + column + ": " + e.what());
  }
  return parse(plain, column);
}

ResourceStatus RecordCodec::status(std::string_view text) const {
  const auto v = parse_resource_status(text);
  if (!v) {
    fail("column status holds an unknown resource status");
  }
  return *v;
}

OperationKind RecordCodec::kind(std::string_view text) const {
  const auto v = parse_operation_kind(text);
  if (!v) {
    fail("column operations.kind holds an unknown operation kind");
  }
  return *v;
}

OperationState RecordCodec::state(std::string_view text) const {
  const auto v = parse_operation_state(text);
  if (!v) {
    fail("column operations.state holds an unknown operation state");
  }
  return *v;
}

std::optional<std::string> RecordCodec::resealed(const std::string& stored) const {
  if (SecretBox::key_id_of(stored) == box_.current_key_id()) {
    return std::nullopt;
  }
  return box_.seal(SecretBox::is_sealed(stored) ? box_.open(stored) : stored);
}

SecretBox open_secret_box(const SealingOptions& sealing, const std::string& data_dir,
                          bool create_missing) {
  std::vector<SecretBox::Key> keys;
  try {
    const std::string key_file =
        sealing.key_file.empty() ? (std::filesystem::path(data_dir) / "credentials.key").string()
                                 : sealing.key_file;
    keys.push_back(SecretBox::load_key_file(key_file, create_missing));
    for (const auto& old : sealing.previous_key_files) {
      keys.push_back(SecretBox::load_key_file(old, /*create=*/false));
    }
  } catch (const std::runtime_error& e) {
    throw StoreError(std::string("osbd state store: ") + e.what());
  }
  return SecretBox(std::move(keys));
}

}  // namespace osbd::state
