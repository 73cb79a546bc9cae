// Plugin trust: the permission rule for plugin files and their directories, and Ed25519
// signatures in both forms (raw 64 bytes, osbctl's text), each refusal with its own message.

#include "plugin_host/trust.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "plugin_host/loader.hpp"
#include "util/codec.hpp"

namespace osbd::plugin_host {
namespace {

namespace fs = std::filesystem;

using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE((haystack).find(needle), std::string::npos) << "message: " << (haystack)

void write_file(const std::string& path, const std::string& bytes, mode_t mode = 0644) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// An Ed25519 key pair made with OpenSSL, as `openssl genpkey -algorithm ed25519` would.
struct KeyPair {
  Pkey key{EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), &EVP_PKEY_free};

  std::string public_pem() const {
    const Bio bio(BIO_new(BIO_s_mem()), &BIO_free);
    PEM_write_bio_PUBKEY(bio.get(), key.get());
    return bio_text(bio.get());
  }
  std::string private_pem() const {
    const Bio bio(BIO_new(BIO_s_mem()), &BIO_free);
    PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    return bio_text(bio.get());
  }
  // First 16 hex digits of SHA-256 over the raw public key, computed here on its own.
  std::string id() const {
    unsigned char raw[32];
    std::size_t size = sizeof raw;
    EVP_PKEY_get_raw_public_key(key.get(), raw, &size);
    return util::sha256_hex(std::string_view(reinterpret_cast<const char*>(raw), size))
        .substr(0, 16);
  }
  // What `openssl pkeyutl -sign -rawin` writes: the 64 signature bytes.
  std::string raw_signature(const std::string& data) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    std::string sig(64, '\0');
    std::size_t size = sig.size();
    EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get());
    EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size,
                   reinterpret_cast<const unsigned char*>(data.data()), data.size());
    return sig;
  }
};

// A directory (mode 0755) with a plugin file (0644), the keys' PEM files, and FILE.sig as needed.
class TrustTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "osbd-trust-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
    plugin_ = dir_ + "/plugin.so";
    write_file(plugin_, contents_);
    write_file(dir_ + "/trusted.pub", trusted_.public_pem());
    write_file(dir_ + "/trusted.key", trusted_.private_pem(), 0600);
    write_file(dir_ + "/other.pub", other_.public_pem());
    write_file(dir_ + "/other.key", other_.private_pem(), 0600);
  }
  void TearDown() override { fs::remove_all(dir_); }

  TrustSettings trusting(bool require_signed = true) const {
    return TrustSettings{{dir_ + "/trusted.pub"}, require_signed};
  }
  // check_plugin_file's message, or "" when it passes.
  std::string refusal(const TrustSettings& trust) const {
    try {
      check_plugin_file(plugin_, trust);
    } catch (const PluginLoadError& e) {
      return e.what();
    }
    return "";
  }
  void flip_a_byte() {
    std::string changed = contents_;
    changed[100] = static_cast<char>(changed[100] ^ 0x01);
    write_file(plugin_, changed);
  }

  std::string contents_ = std::string(
                              "\x7f"
                              "ELF not really a library ") +
                          std::string(4000, 'x');
  KeyPair trusted_;
  KeyPair other_;
  std::string dir_;
  std::string plugin_;
};

TEST_F(TrustTest, RawSignatureByATrustedKeyPasses) {
  write_file(plugin_ + ".sig", trusted_.raw_signature(contents_));
  EXPECT_EQ(check_plugin_file(plugin_, trusting()).signer_key_id, trusted_.id());
}

TEST_F(TrustTest, OsbctlSignatureByATrustedKeyPasses) {
  EXPECT_EQ(sign_plugin_file(plugin_, dir_ + "/trusted.key"), trusted_.id());
  const std::string sig = read_file(plugin_ + ".sig");
  EXPECT_EQ(sig.rfind("osbd-plugin-signature 1\nkey-id " + trusted_.id() + "\nsignature ", 0), 0u)
      << sig;
  EXPECT_FALSE(fs::exists(plugin_ + ".sig.tmp"));
  EXPECT_EQ(check_plugin_file(plugin_, trusting()).signer_key_id, trusted_.id());
}

TEST_F(TrustTest, InlinePemKeyAndSecondOfTwoKeys) {
  sign_plugin_file(plugin_, dir_ + "/trusted.key");
  const TrustSettings trust{{dir_ + "/other.pub", trusted_.public_pem()}, true};
  EXPECT_EQ(check_plugin_file(plugin_, trust).signer_key_id, trusted_.id());
}

TEST_F(TrustTest, OneFlippedByteFailsTheOsbctlSignature) {
  sign_plugin_file(plugin_, dir_ + "/trusted.key");
  flip_a_byte();
  EXPECT_EQ(refusal(trusting()),
            plugin_ + ": signature by key " + trusted_.id() +
                " does not match the file's contents (changed after signing?)");
}

TEST_F(TrustTest, OneFlippedByteFailsTheRawSignature) {
  write_file(plugin_ + ".sig", trusted_.raw_signature(contents_));
  flip_a_byte();
  EXPECT_EQ(refusal(trusting()),
            plugin_ + ": " + plugin_ +
                ".sig verifies with none of plugin_trust.trusted_keys: the file changed after "
                "signing, or its key is not trusted");
}

TEST_F(TrustTest, OsbctlSignatureByAnUntrustedKeyIsRefused) {
  sign_plugin_file(plugin_, dir_ + "/other.key");
  EXPECT_EQ(refusal(trusting()), plugin_ + ": signed by key " + other_.id() +
                                     ", which is not in plugin_trust.trusted_keys (" +
                                     trusted_.id() + ")");
}

TEST_F(TrustTest, RawSignatureByAnUntrustedKeyIsRefused) {
  write_file(plugin_ + ".sig", other_.raw_signature(contents_));
  EXPECT_CONTAINS(refusal(trusting()), ".sig verifies with none of plugin_trust.trusted_keys");
}

TEST_F(TrustTest, MissingSignatureIsRefusedWhenRequired) {
  EXPECT_EQ(refusal(trusting(true)), plugin_ + ": not signed: " + plugin_ +
                                         ".sig is missing and plugin_trust.require_signed is true");
  EXPECT_CONTAINS(refusal(TrustSettings{{}, true}), "not signed: ");
}

TEST_F(TrustTest, MissingSignatureIsAllowedWhenNotRequired) {
  EXPECT_EQ(check_plugin_file(plugin_, trusting(false)).signer_key_id, "");
  EXPECT_EQ(check_plugin_file(plugin_, TrustSettings{}).signer_key_id, "");
}

TEST_F(TrustTest, WithoutTrustSettingsSignaturesAreNotLookedAt) {
  write_file(plugin_ + ".sig", "garbage");
  EXPECT_EQ(check_plugin_file(plugin_, TrustSettings{}).signer_key_id, "");
}

TEST_F(TrustTest, PresentSignatureMustVerifyEvenWhenNotRequired) {
  sign_plugin_file(plugin_, dir_ + "/other.key");
  EXPECT_CONTAINS(refusal(trusting(false)), "which is not in plugin_trust.trusted_keys");
}

TEST_F(TrustTest, GroupWritableFileIsRefused) {
  ASSERT_EQ(::chmod(plugin_.c_str(), 0664), 0);
  const std::string message = refusal(TrustSettings{});
  EXPECT_CONTAINS(message, plugin_ + ": the plugin file is writable by group or others (mode 0664");
  EXPECT_CONTAINS(message, "fix: chmod go-w " + plugin_);
}

TEST_F(TrustTest, WorldWritableDirectoryIsRefused) {
  ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);
  const std::string message = refusal(TrustSettings{});
  EXPECT_CONTAINS(
      message, plugin_ + ": its directory " + dir_ + " is writable by group or others (mode 0777");
  EXPECT_CONTAINS(message, "fix: chmod go-w " + dir_);
}

TEST_F(TrustTest, LinkIntoAWorldWritableDirectoryIsRefused) {
  const std::string open_dir = dir_ + "/open";
  fs::create_directory(open_dir);
  ASSERT_EQ(::chmod(open_dir.c_str(), 0777), 0);
  write_file(open_dir + "/real.so", contents_);
  fs::remove(plugin_);
  fs::create_symlink(open_dir + "/real.so", plugin_);
  EXPECT_CONTAINS(refusal(TrustSettings{}),
                  ": its directory " + open_dir + " is writable by group or others (mode 0777");
}

TEST_F(TrustTest, FileOfAnotherUserIsRefused) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to give the file away";
  }
  ASSERT_EQ(::chown(plugin_.c_str(), 4242, static_cast<gid_t>(-1)), 0);
  EXPECT_CONTAINS(refusal(TrustSettings{}),
                  ": the plugin file is owned by neither osbd's user (uid 0");
}

TEST_F(TrustTest, BadTrustedKeysAreRefusedByName) {
  write_file(plugin_ + ".sig", trusted_.raw_signature(contents_));
  write_file(dir_ + "/junk.pub", "not a key\n");
  EXPECT_EQ(refusal(TrustSettings{{dir_ + "/junk.pub"}, true}),
            plugin_ + ": trusted key " + dir_ +
                "/junk.pub is not a PEM public key (-----BEGIN PUBLIC KEY-----)");
  EXPECT_EQ(
      refusal(TrustSettings{{dir_ + "/missing.pub"}, false}),
      plugin_ + ": cannot read trusted key " + dir_ + "/missing.pub: No such file or directory");
  const Pkey ec(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), &EVP_PKEY_free);
  const Bio bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_PUBKEY(bio.get(), ec.get());
  write_file(dir_ + "/ec.pub", bio_text(bio.get()));
  EXPECT_EQ(refusal(TrustSettings{{dir_ + "/ec.pub"}, true}),
            plugin_ + ": trusted key " + dir_ + "/ec.pub is not an Ed25519 key (it is EC)");
}

TEST_F(TrustTest, MalformedSignaturesAreRefused) {
  write_file(plugin_ + ".sig",
             "osbd-plugin-signature 1\nkey-id " + trusted_.id() + "\nsignature not*base64\n");
  EXPECT_EQ(refusal(trusting()), plugin_ + ": " + plugin_ +
                                     ".sig: malformed signature, line 3: signature is not the "
                                     "base64 of 64 bytes");
  write_file(plugin_ + ".sig", "osbd-plugin-signature 2\n");
  EXPECT_CONTAINS(refusal(trusting()), "line 1: expected \"osbd-plugin-signature 1\"");
  write_file(plugin_ + ".sig", "osbd-plugin-signature 1\nkey-id " + trusted_.id() + "\n");
  EXPECT_CONTAINS(refusal(trusting()), "the \"key-id\" or the \"signature\" line is missing");
  write_file(plugin_ + ".sig", std::string(63, 'x'));
  EXPECT_CONTAINS(refusal(trusting()), ".sig is not a signature: neither 64 raw bytes");
  write_file(plugin_ + ".sig", std::string(5000, 'x'));
  EXPECT_CONTAINS(refusal(trusting()), ".sig is larger than 4096 bytes: not a signature");
}

TEST_F(TrustTest, KeyIdOfPublicAndPrivateKeyFiles) {
  EXPECT_EQ(key_id_of_key_file(dir_ + "/trusted.pub"), trusted_.id());
  EXPECT_EQ(key_id_of_key_file(dir_ + "/trusted.key"), trusted_.id());
  EXPECT_NE(trusted_.id(), other_.id());
}

TEST_F(TrustTest, SigningWithAPublicKeyFails) {
  try {
    sign_plugin_file(plugin_, dir_ + "/trusted.pub");
    FAIL() << "signed with a public key";
  } catch (const std::runtime_error& e) {
    EXPECT_CONTAINS(std::string(e.what()), "/trusted.pub is not a PEM private key");
  }
  EXPECT_FALSE(fs::exists(plugin_ + ".sig"));
}

}  // namespace
}  // namespace osbd::plugin_host
