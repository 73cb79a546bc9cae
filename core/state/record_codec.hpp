#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "state/records.hpp"
#include "state/secret_box.hpp"
#include "state/store.hpp"

namespace osbd::state {

/// Turns record fields into the text a store keeps and back, the same for every backend: JSON as
/// compact text (JSON null as no value), binding responses sealed with the current key, enum
/// spellings checked on the way back. A value that does not encode, or a stored text that does not
/// decode, throws StoreError prefixed with the store's name; messages name the column, never what
/// it holds (it may be credentials).
class RecordCodec {
 public:
  /// source starts every error message ("osbd state store <path>"); box must outlive the codec.
  RecordCodec(std::string source, const SecretBox& box);

  /// The compact JSON text of value, nullopt for null.
  std::optional<std::string> encode(const nlohmann::json& value, const char* column) const;
  /// As encode, then sealed: for binding responses, which hold credentials.
  std::optional<std::string> encode_sealed(const nlohmann::json& value, const char* column) const;
  /// The JSON a column holds (null for no value).
  nlohmann::json decode(const std::optional<std::string>& text, const char* column) const;
  /// As decode for a sealed column; plaintext written before sealing existed still reads.
  nlohmann::json decode_sealed(const std::optional<std::string>& text, const char* column) const;

  /// A stored resource status.
  ResourceStatus status(std::string_view text) const;
  /// A stored operation kind.
  OperationKind kind(std::string_view text) const;
  /// A stored operation state.
  OperationState state(std::string_view text) const;

  /// stored (plaintext or sealed with any key of the box) sealed with the current key; nullopt
  /// when it already is. Throws what SecretBox::open throws for a key the box does not hold.
  std::optional<std::string> resealed(const std::string& stored) const;

 private:
  [[noreturn]] void fail(std::string_view what) const;
  nlohmann::json parse(const std::string& text, const char* column) const;

  std::string source_;
  const SecretBox& box_;
};

/// The keys of sealing as a SecretBox: key_file (data_dir/credentials.key if empty; created when
/// missing if create_missing) seals, previous_key_files still open. Throws StoreError naming a key
/// file that fails.
SecretBox open_secret_box(const SealingOptions& sealing, const std::string& data_dir,
                          bool create_missing = true);

}  // namespace osbd::state
