#pragma once

#include <string>

#include "plugin_host/settings.hpp"

namespace osbd::plugin_host {

// Plugin signatures. The signature of X.so is X.so.sig next to it, an Ed25519 signature over
// the whole file, in one of two forms:
//   - raw: exactly the 64 signature bytes, as
//       openssl pkeyutl -sign -rawin -inkey KEY.pem -in X.so -out X.so.sig
//     writes them;
//   - text, as `osbctl sign-plugin --key KEY.pem X.so` writes it (sign_plugin_file()):
//       osbd-plugin-signature 1
//       key-id 0123456789abcdef
//       signature <base64 of the 64 signature bytes>
//     three lines ("\n" or "\r\n"), in this order after the first; empty lines are ignored.
// A key id is the first 16 hexadecimal digits (lower case) of SHA-256 over the 32-byte raw
// Ed25519 public key.

/// What the trust checks found out about a plugin file that passed them.
struct TrustVerdict {
  /// Key id of the trusted key whose signature verified ("" when the file is unsigned and
  /// unsigned plugins are allowed): the first 16 hex digits of SHA-256 over the raw public key.
  std::string signer_key_id;
};

/// Checks a plugin file before anything of it is loaded: the file (a link is followed) and its
/// directory must not be writable by group or others, nor owned by another user than osbd's
/// effective one or root. With trust.trusted_keys empty and trust.require_signed false, that is
/// all. Otherwise a FILE.sig next to it must verify, over the file's bytes, with one of
/// trust.trusted_keys (each of which must be an Ed25519 public key), and with
/// trust.require_signed a missing FILE.sig is refused too. Throws PluginLoadError whose message
/// starts with the path and says which check failed, and how to fix it.
TrustVerdict check_plugin_file(const std::string& file, const TrustSettings& trust);

/// Signs file with the Ed25519 private key in the PEM file private_key_file, writes file + ".sig"
/// in the text form (through a temporary file and a rename) and returns the key id. Throws
/// std::runtime_error naming the file that could not be read, parsed or written.
std::string sign_plugin_file(const std::string& file, const std::string& private_key_file);

/// The key id of the Ed25519 key, public or private, in the PEM file key_file. Throws
/// std::runtime_error naming the file when it cannot be read or holds no Ed25519 key.
std::string key_id_of_key_file(const std::string& key_file);

}  // namespace osbd::plugin_host
