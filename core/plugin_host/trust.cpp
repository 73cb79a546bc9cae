#include "plugin_host/trust.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <vector>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "plugin_host/loader.hpp"
#include "util/codec.hpp"

namespace osbd::plugin_host {

namespace {

constexpr std::size_t kSignatureBytes = 64;     // Ed25519
constexpr std::size_t kPublicKeyBytes = 32;     // Ed25519
constexpr std::size_t kKeyIdDigits = 16;        // of the public key's SHA-256
constexpr std::size_t kMaxSigFileBytes = 4096;  // either form is far smaller
constexpr std::size_t kMaxKeyFileBytes = 64 * 1024;
constexpr std::size_t kMaxPluginBytes = std::size_t{1} << 30;  // read whole to verify
constexpr std::string_view kSigHeader = "osbd-plugin-signature 1";
constexpr std::string_view kSigMagic = "osbd-plugin-signature";

using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

// Failures inside this file: the callers add the plugin file's path (check_plugin_file) or not.
using Failure = std::runtime_error;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string errno_text(int err) {
  return std::generic_category().message(err);
}

// The rest of fd; nullopt when it holds more than limit bytes. path names it in errors.
std::optional<std::string> read_bounded(int fd, const std::string& path, std::size_t limit) {
  std::string out;
  std::array<char, 64 * 1024> buf;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      throw Failure("cannot read " + path + ": " + errno_text(errno));
    }
    if (n == 0) {
      return out;
    }
    if (out.size() + static_cast<std::size_t>(n) > limit) {
      return std::nullopt;
    }
    out.append(buf.data(), static_cast<std::size_t>(n));
  }
}

// The whole of a file that is at most limit bytes; what says what the file is in errors.
std::string read_small_file(const std::string& path, std::size_t limit, const std::string& what) {
  const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    throw Failure("cannot read " + what + " " + path + ": " + errno_text(errno));
  }
  auto text = read_bounded(fd.get(), path, limit);
  if (!text) {
    throw Failure(what + " " + path + " is larger than " + std::to_string(limit) + " bytes");
  }
  return std::move(*text);
}

// "0664"
std::string octal_mode(mode_t mode) {
  std::array<char, 8> buf{};
  std::snprintf(buf.data(), buf.size(), "%04o", static_cast<unsigned>(mode & 07777));
  return buf.data();
}

// "uid 0 (root)", or "uid 1234" without a passwd entry.
std::string owner_text(uid_t uid) {
  std::string text = "uid " + std::to_string(uid);
  struct passwd entry {};
  struct passwd* found = nullptr;
  std::array<char, 4096> buf{};
  if (::getpwuid_r(uid, &entry, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    text += " (" + std::string(entry.pw_name) + ")";
  }
  return text;
}

// what: "the plugin file" or "its directory DIR"; path: what chmod/chown should be given.
void check_mode_and_owner(const struct stat& st, const std::string& what, const std::string& path) {
  const std::string detail =
      " (mode " + octal_mode(st.st_mode) + ", owner " + owner_text(st.st_uid) + ")";
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    throw Failure(what + " is writable by group or others" + detail +
                  ": other users could change the code osbd runs; fix: chmod go-w " + path);
  }
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    throw Failure(what + " is owned by neither osbd's user (" + owner_text(::geteuid()) +
                  ") nor root" + detail + "; fix: chown root " + path);
  }
}

// The directory the path names the file in and, for a link, the target's directory.
std::vector<std::string> directories_of(const std::string& file) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(file).has_parent_path() ? fs::path(file).parent_path() : ".";
  std::vector<std::string> dirs{dir.string()};
  std::error_code ec;
  const fs::path target_dir = fs::canonical(file, ec).parent_path();
  const fs::path canonical_dir = ec ? fs::path() : fs::canonical(dir, ec);
  if (!ec && target_dir != canonical_dir) {
    dirs.push_back(target_dir.string());
  }
  return dirs;
}

void check_directory(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    throw Failure("cannot stat its directory " + dir + ": " + errno_text(errno));
  }
  check_mode_and_owner(st, "its directory " + dir, dir);
}

// Checks the opened plugin file and its directories; returns the file's stat.
struct stat check_permissions(const std::string& file, const Fd& fd) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    throw Failure("cannot stat: " + errno_text(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    throw Failure("not a regular file");
  }
  check_mode_and_owner(st, "the plugin file", file);
  for (const auto& dir : directories_of(file)) {
    check_directory(dir);
  }
  return st;
}

std::string key_id(EVP_PKEY* key) {
  std::array<unsigned char, kPublicKeyBytes> raw{};
  std::size_t size = raw.size();
  if (EVP_PKEY_get_raw_public_key(key, raw.data(), &size) != 1 || size != raw.size()) {
    return "";
  }
  return util::sha256_hex(std::string_view(reinterpret_cast<const char*>(raw.data()), size))
      .substr(0, kKeyIdDigits);
}

// The key in PEM text (a public key, or with private_key a private one); null if there is none.
Pkey parse_pem(const std::string& pem, bool private_key) {
  const Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  EVP_PKEY* key = nullptr;
  if (bio) {
    key = private_key ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                      : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  }
  ERR_clear_error();
  return Pkey(key, &EVP_PKEY_free);
}

// Throws unless key is an Ed25519 key; name says which key.
void require_ed25519(const Pkey& key, const std::string& name) {
  if (EVP_PKEY_is_a(key.get(), "ED25519") != 1) {
    const char* type = EVP_PKEY_get0_type_name(key.get());
    throw Failure(name + " is not an Ed25519 key (it is " + (type != nullptr ? type : "unknown") +
                  ")");
  }
}

struct TrustedKey {
  std::string name;  // its path, or which entry of trusted_keys when inline
  std::string id;
  Pkey key{nullptr, &EVP_PKEY_free};
};

bool is_inline_pem(const std::string& entry) {
  const auto start = entry.find_first_not_of(" \t\r\n");
  return start != std::string::npos && entry.compare(start, 10, "-----BEGIN") == 0;
}

TrustedKey load_trusted_key(const std::string& entry, std::size_t index) {
  TrustedKey k;
  const bool inline_pem = is_inline_pem(entry);
  k.name = "trusted key " +
           (inline_pem ? "plugin_trust.trusted_keys[" + std::to_string(index) + "] (inline PEM)"
                       : entry);
  k.key = parse_pem(inline_pem ? entry : read_small_file(entry, kMaxKeyFileBytes, "trusted key"),
                    false);
  if (!k.key) {
    throw Failure(k.name + " is not a PEM public key (-----BEGIN PUBLIC KEY-----)");
  }
  require_ed25519(k.key, k.name);
  k.id = key_id(k.key.get());
  return k;
}

std::vector<TrustedKey> load_trusted_keys(const std::vector<std::string>& entries) {
  std::vector<TrustedKey> keys;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    keys.push_back(load_trusted_key(entries[i], i));
  }
  return keys;
}

struct Signature {
  std::string key_id;  // "" for the raw form
  std::string bytes;
};

// The contents of sig_path; nullopt when it does not exist.
std::optional<std::string> read_signature_file(const std::string& sig_path) {
  const Fd fd(::open(sig_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0 && errno == ENOENT) {
    return std::nullopt;
  }
  if (fd.get() < 0) {
    throw Failure("cannot read " + sig_path + ": " + errno_text(errno));
  }
  auto text = read_bounded(fd.get(), sig_path, kMaxSigFileBytes);
  if (!text) {
    throw Failure(sig_path + " is larger than " + std::to_string(kMaxSigFileBytes) +
                  " bytes: not a signature");
  }
  return text;
}

bool is_key_id(const std::string& text) {
  return text.size() == kKeyIdDigits &&
         text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

Failure malformed(const std::string& sig_path, unsigned line, const std::string& why) {
  return Failure(sig_path + ": malformed signature, line " + std::to_string(line) + ": " + why);
}

// One "NAME VALUE" line of the text form into sig.
void parse_signature_line(const std::string& sig_path, unsigned number, const std::string& line,
                          Signature& sig) {
  const auto space = line.find(' ');
  const std::string name = line.substr(0, space);
  const std::string value = space == std::string::npos ? "" : line.substr(space + 1);
  if (name == "key-id" && sig.key_id.empty()) {
    if (!is_key_id(value)) {
      throw malformed(sig_path, number, "key-id is not 16 lower-case hexadecimal digits");
    }
    sig.key_id = value;
  } else if (name == "signature" && sig.bytes.empty()) {
    const auto bytes = util::base64_decode(value);
    if (!bytes || bytes->size() != kSignatureBytes) {
      throw malformed(sig_path, number, "signature is not the base64 of 64 bytes");
    }
    sig.bytes = *bytes;
  } else {
    throw malformed(sig_path, number, "expected one \"key-id\" and one \"signature\" line");
  }
}

Signature parse_text_signature(const std::string& sig_path, const std::string& text) {
  std::istringstream in(text);
  std::string line;
  unsigned number = 0;
  Signature sig;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (number == 1 && line != kSigHeader) {
      throw malformed(sig_path, 1, "expected \"" + std::string(kSigHeader) + "\"");
    }
    if (number > 1 && !line.empty()) {
      parse_signature_line(sig_path, number, line, sig);
    }
  }
  if (sig.key_id.empty() || sig.bytes.empty()) {
    throw malformed(sig_path, number, "the \"key-id\" or the \"signature\" line is missing");
  }
  return sig;
}

Signature parse_signature(const std::string& sig_path, const std::string& text) {
  if (text.compare(0, kSigMagic.size(), kSigMagic) == 0) {
    return parse_text_signature(sig_path, text);
  }
  if (text.size() == kSignatureBytes) {
    return Signature{"", text};
  }
  throw Failure(sig_path +
                " is not a signature: neither 64 raw bytes (Ed25519) nor the text of "
                "osbctl sign-plugin");
}

bool verifies(const TrustedKey& key, std::string_view data, std::string_view signature) {
  const MdCtx ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  const bool ok =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.key.get()) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                       data.size()) == 1;
  ERR_clear_error();
  return ok;
}

std::string key_ids(const std::vector<TrustedKey>& keys) {
  std::string ids;
  for (const auto& k : keys) {
    ids += (ids.empty() ? "" : ", ") + k.id;
  }
  return ids.empty() ? "none" : ids;
}

// The id of the trusted key whose signature sig is over contents.
std::string verify(const std::string& file, const std::string& contents, const Signature& sig,
                   const std::vector<TrustedKey>& keys) {
  if (sig.key_id.empty()) {
    for (const auto& key : keys) {
      if (verifies(key, contents, sig.bytes)) {
        return key.id;
      }
    }
    throw Failure(file +
                  ".sig verifies with none of plugin_trust.trusted_keys: the file changed after "
                  "signing, or its key is not trusted");
  }
  for (const auto& key : keys) {
    if (key.id != sig.key_id) {
      continue;
    }
    if (!verifies(key, contents, sig.bytes)) {
      throw Failure("signature by key " + sig.key_id +
                    " does not match the file's contents (changed after signing?)");
    }
    return key.id;
  }
  throw Failure("signed by key " + sig.key_id + ", which is not in plugin_trust.trusted_keys (" +
                key_ids(keys) + ")");
}

std::string read_plugin(const std::string& file, const Fd& fd, const struct stat& st) {
  if (static_cast<std::uintmax_t>(st.st_size) > kMaxPluginBytes) {
    throw Failure("larger than " + std::to_string(kMaxPluginBytes) +
                  " bytes: too large to verify its signature");
  }
  auto contents = read_bounded(fd.get(), file, kMaxPluginBytes);
  if (!contents) {
    throw Failure("grew beyond " + std::to_string(kMaxPluginBytes) + " bytes while being read");
  }
  return std::move(*contents);
}

TrustVerdict check(const std::string& file, const TrustSettings& trust) {
  const Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));  // follows a link
  if (fd.get() < 0) {
    throw Failure("cannot open: " + errno_text(errno));
  }
  const struct stat st = check_permissions(file, fd);
  if (trust.trusted_keys.empty() && !trust.require_signed) {
    return {};
  }
  const auto keys = load_trusted_keys(trust.trusted_keys);
  const auto sig_text = read_signature_file(file + ".sig");
  if (!sig_text && trust.require_signed) {
    throw Failure("not signed: " + file +
                  ".sig is missing and plugin_trust.require_signed is true");
  }
  if (!sig_text) {
    return {};
  }
  const Signature sig = parse_signature(file + ".sig", *sig_text);
  return {verify(file, read_plugin(file, fd, st), sig, keys)};
}

Pkey load_private_key(const std::string& key_file) {
  Pkey key = parse_pem(read_small_file(key_file, kMaxKeyFileBytes, "private key"), true);
  if (!key) {
    throw Failure(key_file +
                  " is not a PEM private key (make an Ed25519 one with: openssl genpkey "
                  "-algorithm ed25519 -out KEY.pem)");
  }
  require_ed25519(key, key_file);
  return key;
}

std::string sign_bytes(EVP_PKEY* key, std::string_view data) {
  const MdCtx ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::string sig(kSignatureBytes, '\0');
  std::size_t size = sig.size();
  const bool ok =
      ctx && EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key) == 1 &&
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1 &&
      size == kSignatureBytes;
  ERR_clear_error();
  if (!ok) {
    throw Failure("Ed25519 signing failed");
  }
  return sig;
}

void write_all(int fd, const std::string& path, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      throw Failure("cannot write " + path + ": " + errno_text(errno));
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Writes path through path + ".tmp" and a rename, so that no reader sees half of it.
void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    const Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) {
      throw Failure("cannot create " + tmp + ": " + errno_text(errno));
    }
    write_all(fd.get(), tmp, text);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Failure("cannot rename " + tmp + " to " + path + ": " + errno_text(err));
  }
}

}  // namespace

TrustVerdict check_plugin_file(const std::string& file, const TrustSettings& trust) {
  try {
    return check(file, trust);
  } catch (const Failure& e) {
    ERR_clear_error();
    throw PluginLoadError(file + ": " + e.what());
  }
}

std::string sign_plugin_file(const std::string& file, const std::string& private_key_file) {
  const Pkey key = load_private_key(private_key_file);
  const std::string contents = read_small_file(file, kMaxPluginBytes, "plugin file");
  const std::string id = key_id(key.get());
  const std::string sig = sign_bytes(key.get(), contents);
  write_file_atomically(file + ".sig", std::string(kSigHeader) + "\nkey-id " + id + "\nsignature " +
                                           util::base64_encode(sig) + "\n");
  return id;
}

std::string key_id_of_key_file(const std::string& key_file) {
  const std::string pem = read_small_file(key_file, kMaxKeyFileBytes, "key");
  Pkey key = parse_pem(pem, false);
  if (!key) {
    key = parse_pem(pem, true);
  }
  if (!key) {
    throw Failure(key_file + " holds no PEM key");
  }
  require_ed25519(key, key_file);
  return key_id(key.get());
}

}  // namespace osbd::plugin_host
