#include "state/secret_box.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>

#include "util/codec.hpp"

namespace osbd::state {

namespace {

using osbd::util::hex_value;

constexpr std::string_view kPrefix = "osbd-sealed-v1:";
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

CipherCtx new_ctx() {
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!ctx) {
    throw std::runtime_error("secret box: cannot allocate a cipher context");
  }
  return ctx;
}

std::string base64_decode(std::string_view text) {
  auto bytes = util::base64_decode(text);
  if (!bytes) {
    throw std::runtime_error("secret box: sealed text is damaged (not base64)");
  }
  return std::move(*bytes);
}

}  // namespace

SecretBox::SecretBox(std::vector<Key> keys) : keys_(std::move(keys)) {
  if (keys_.empty()) {
    throw std::invalid_argument("secret box: no key");
  }
  for (const Key& k : keys_) {
    ids_.push_back(key_id(k));
  }
}

std::string SecretBox::key_id(const Key& key) {
  const util::Sha256Digest digest =
      util::sha256(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
  return util::to_hex(digest.data(), 8);
}

SecretBox::Key SecretBox::generate_key() {
  Key key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    throw std::runtime_error("secret box: the system's random generator failed");
  }
  return key;
}

std::string SecretBox::seal(std::string_view plaintext) const {
  unsigned char nonce[kNonceBytes];
  if (RAND_bytes(nonce, sizeof nonce) != 1) {
    throw std::runtime_error("secret box: the system's random generator failed");
  }
  CipherCtx ctx = new_ctx();
  std::string raw(reinterpret_cast<const char*>(nonce), kNonceBytes);
  raw.resize(kNonceBytes + plaintext.size() + kTagBytes);
  auto* out = reinterpret_cast<unsigned char*>(raw.data()) + kNonceBytes;
  int len = 0;
  int total = 0;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, keys_.front().data(), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out, &len,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1) {
    throw std::runtime_error("secret box: encryption failed");
  }
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), out + total, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, out + total + len) != 1) {
    throw std::runtime_error("secret box: encryption failed");
  }
  return std::string(kPrefix) + ids_.front() + ":" + util::base64_encode(raw);
}

std::string SecretBox::open(std::string_view sealed) const {
  if (!is_sealed(sealed)) {
    throw std::runtime_error("secret box: text is not sealed");
  }
  const std::string id = key_id_of(sealed);
  std::size_t index = ids_.size();
  for (std::size_t i = 0; i < ids_.size(); ++i) {
    if (ids_[i] == id) {
      index = i;
      break;
    }
  }
  if (index == ids_.size()) {
    throw std::runtime_error("secret box: sealed with key " + id +
                             ", which is not among the configured keys");
  }
  const std::string raw = base64_decode(sealed.substr(kPrefix.size() + id.size() + 1));
  if (raw.size() < kNonceBytes + kTagBytes) {
    throw std::runtime_error("secret box: sealed text is damaged (too short)");
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  const std::size_t body = raw.size() - kNonceBytes - kTagBytes;
  std::string plain(body, '\0');
  unsigned char tag[kTagBytes];
  std::memcpy(tag, bytes + kNonceBytes + body, kTagBytes);
  CipherCtx ctx = new_ctx();
  int len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, keys_[index].data(), bytes) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len,
                        bytes + kNonceBytes, static_cast<int>(body)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag) != 1) {
    throw std::runtime_error("secret box: decryption failed");
  }
  int final_len = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + len,
                          &final_len) != 1) {
    throw std::runtime_error("secret box: sealed text (key " + id +
                             ") fails authentication: it was altered or the key is wrong");
  }
  plain.resize(static_cast<std::size_t>(len + final_len));
  return plain;
}

bool SecretBox::is_sealed(std::string_view text) noexcept {
  return text.substr(0, kPrefix.size()) == kPrefix;
}

std::string SecretBox::key_id_of(std::string_view text) {
  if (!is_sealed(text)) {
    return "";
  }
  const std::string_view rest = text.substr(kPrefix.size());
  const std::size_t colon = rest.find(':');
  return std::string(rest.substr(0, colon == std::string_view::npos ? 0 : colon));
}

namespace {

std::runtime_error key_file_error(const std::string& path, const std::string& what) {
  return std::runtime_error("credentials key file " + path + ": " + what);
}

/// Writes a new random key to path (mode 0600, created exclusively, synced).
SecretBox::Key create_key_file(const std::string& path) {
  const SecretBox::Key key = SecretBox::generate_key();
  const std::string text = util::to_hex(key.data(), key.size()) + "\n";
  const int out = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    throw key_file_error(path, std::string("cannot create: ") + std::strerror(errno));
  }
  const bool written =
      ::write(out, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
      ::fsync(out) == 0;
  ::close(out);
  if (!written) {
    ::unlink(path.c_str());
    throw key_file_error(path, "cannot write");
  }
  return key;
}

/// Reads the start of an owner-only regular file (fd is closed).
std::string read_private_file(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw key_file_error(path, "not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    throw key_file_error(path, "other users may read it; make it owner-only (chmod 600)");
  }
  char buffer[130];
  const ssize_t n = ::read(fd, buffer, sizeof buffer);
  ::close(fd);
  return std::string(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
}

/// The key written as 64 hexadecimal digits (a final newline allowed).
std::optional<SecretBox::Key> parse_hex_key(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  SecretBox::Key key{};
  if (text.size() != 2 * key.size()) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < key.size(); ++i) {
    const int hi = hex_value(text[2 * i]);
    const int lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    key[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return key;
}

}  // namespace

SecretBox::Key SecretBox::load_key_file(const std::string& path, bool create) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT && create) {
    return create_key_file(path);
  }
  if (fd < 0) {
    throw key_file_error(path, std::string("cannot open: ") + std::strerror(errno));
  }
  const auto key = parse_hex_key(read_private_file(fd, path));
  if (!key) {
    throw key_file_error(path,
                         "expected 64 hex digits (a 256-bit key; e.g. `openssl rand -hex 32`)");
  }
  return *key;
}

}  // namespace osbd::state
