#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace osbd::state {

/// Seals secrets (binding responses, which hold credentials) before they reach the state store,
/// with AES-256-GCM under a key ring: the first key seals, every key opens. A sealed text names
/// its key, so keys can rotate: put the new key first and keep the old one among the previous
/// keys until the store re-sealed everything with the new one (osbd does that at start-up).
///
/// Sealed form: "osbd-sealed-v1:<key id>:<base64(nonce[12] | ciphertext | tag[16])>", where the
/// key id is the first 16 hex digits of SHA-256 of the key. Errors never quote the plaintext.
class SecretBox {
 public:
  /// A 256-bit key.
  using Key = std::array<std::uint8_t, 32>;

  /// keys[0] seals; all of them open. Throws std::invalid_argument when keys is empty.
  explicit SecretBox(std::vector<Key> keys);

  /// Seals plaintext with the current key and a fresh random nonce.
  std::string seal(std::string_view plaintext) const;

  /// Opens a sealed text. Throws std::runtime_error naming the key id when the key is not in the
  /// ring, or saying the text was altered when authentication fails.
  std::string open(std::string_view sealed) const;

  /// True when text has the sealed form's prefix.
  static bool is_sealed(std::string_view text) noexcept;

  /// The key id a sealed text names ("" when text is not sealed).
  static std::string key_id_of(std::string_view text);

  /// The id of the current (sealing) key.
  const std::string& current_key_id() const noexcept { return ids_.front(); }

  /// The id of a key: the first 16 hex digits of its SHA-256.
  static std::string key_id(const Key& key);

  /// A new random key from the system's CSPRNG.
  static Key generate_key();

  /// Reads a key file: 64 hex digits (optionally followed by a newline). With create, a missing
  /// file is created (mode 0600) holding a new random key. Refuses files that other users can
  /// read. Throws std::runtime_error naming the path.
  static Key load_key_file(const std::string& path, bool create);

 private:
  std::vector<Key> keys_;
  std::vector<std::string> ids_;
};

}  // namespace osbd::state
