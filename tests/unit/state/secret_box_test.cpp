// SecretBox: AES-256-GCM sealing of credentials at rest, its key ids and key files.

#include "state/secret_box.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <stdexcept>
#include <string>

#include "test_support.hpp"

namespace osbd::state {
namespace {

using testing::TempDir;

SecretBox::Key key_of(std::uint8_t fill) {
  SecretBox::Key k{};
  k.fill(fill);
  return k;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(SecretBox, SealsAndOpensWithoutLeakingThePlaintext) {
  const SecretBox box({key_of(1)});
  const std::string secret = R"({"credentials":{"password":"pa55-word"}})";
  const std::string sealed = box.seal(secret);
  EXPECT_TRUE(SecretBox::is_sealed(sealed));
  EXPECT_EQ(sealed.find("pa55-word"), std::string::npos);
  EXPECT_EQ(SecretBox::key_id_of(sealed), box.current_key_id());
  EXPECT_EQ(box.open(sealed), secret);
  EXPECT_EQ(box.open(box.seal("")), "");
}

TEST(SecretBox, EverySealUsesAFreshNonce) {
  const SecretBox box({key_of(2)});
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(seen.insert(box.seal("same text")).second);
  }
}

TEST(SecretBox, KeyIdsDifferPerKeyAndAreStable) {
  EXPECT_EQ(SecretBox::key_id(key_of(3)), SecretBox::key_id(key_of(3)));
  EXPECT_NE(SecretBox::key_id(key_of(3)), SecretBox::key_id(key_of(4)));
  EXPECT_EQ(SecretBox::key_id(key_of(3)).size(), 16u);
}

TEST(SecretBox, AlteredTextFailsAuthentication) {
  const SecretBox box({key_of(5)});
  std::string sealed = box.seal("the password");
  // Flip one base64 digit of the ciphertext (not the padding).
  const std::size_t at = sealed.size() - 6;
  sealed[at] = sealed[at] == 'A' ? 'B' : 'A';
  const std::string message = error_of([&] { box.open(sealed); });
  EXPECT_NE(message.find("fails authentication"), std::string::npos) << message;
  EXPECT_EQ(message.find("the password"), std::string::npos);
}

TEST(SecretBox, UnknownKeyIsNamed) {
  const SecretBox a({key_of(6)});
  const SecretBox b({key_of(7)});
  const std::string message = error_of([&] { b.open(a.seal("x")); });
  EXPECT_NE(message.find(a.current_key_id()), std::string::npos) << message;
  EXPECT_NE(message.find("not among the configured keys"), std::string::npos);
}

TEST(SecretBox, PreviousKeysStillOpen) {
  const SecretBox old_box({key_of(8)});
  const SecretBox rotated({key_of(9), key_of(8)});
  const std::string sealed = old_box.seal("kept");
  EXPECT_EQ(rotated.open(sealed), "kept");
  EXPECT_EQ(SecretBox::key_id_of(rotated.seal("new")), SecretBox::key_id(key_of(9)));
}

TEST(SecretBox, KeyFileIsCreatedOwnerOnlyAndReadBack) {
  TempDir dir;
  std::filesystem::create_directories(dir.data_dir());
  const std::string path = dir.data_dir() + "/credentials.key";
  const auto created = SecretBox::load_key_file(path, true);
  struct stat sb {};
  ASSERT_EQ(::stat(path.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600u);
  EXPECT_EQ(SecretBox::load_key_file(path, false), created);
  EXPECT_NE(created, key_of(0));
}

TEST(SecretBox, BadKeyFilesAreRefusedWithTheirPath) {
  TempDir dir;
  std::filesystem::create_directories(dir.data_dir());
  const std::string missing = dir.data_dir() + "/missing.key";
  EXPECT_NE(error_of([&] { SecretBox::load_key_file(missing, false); }).find(missing),
            std::string::npos);
  const std::string short_key = dir.data_dir() + "/short.key";
  std::ofstream(short_key) << "abcd\n";
  ::chmod(short_key.c_str(), 0600);
  EXPECT_NE(error_of([&] { SecretBox::load_key_file(short_key, false); }).find("64 hex digits"),
            std::string::npos);
  const std::string open_key = dir.data_dir() + "/open.key";
  std::ofstream(open_key) << std::string(64, 'a') << "\n";
  ::chmod(open_key.c_str(), 0644);
  EXPECT_NE(error_of([&] { SecretBox::load_key_file(open_key, false); }).find("chmod 600"),
            std::string::npos);
  ::chmod(open_key.c_str(), 0600);
  EXPECT_EQ(SecretBox::load_key_file(open_key, false), key_of(0xaa));
}

}  // namespace
}  // namespace osbd::state
