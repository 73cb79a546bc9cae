// The plugin ABI header is the binary contract with separately built plugins: any change to it
// must come with a version bump, and this test makes that impossible to forget.

#include <openssl/sha.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "osb/plugin_abi.h"

namespace {

struct AbiFingerprint {
  int major;
  int minor;
  const char* sha256;
};

// Update together with OSB_PLUGIN_ABI_VERSION_MAJOR/MINOR, never alone.
constexpr AbiFingerprint kCommitted{
    1, 1, "bfbd0c12357141c533eee456cda80da17dd5545d874447ebf2298197b8db4170"};

std::string sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  std::string hex;
  char buf[3];
  for (unsigned char b : digest) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    hex += buf;
  }
  return hex;
}

TEST(AbiHeader, MatchesCommittedFingerprint) {
  const std::string hash = sha256_file(OSBD_SOURCE_DIR "/sdk/include/osb/plugin_abi.h");
  EXPECT_EQ(OSB_PLUGIN_ABI_VERSION_MAJOR, kCommitted.major);
  EXPECT_EQ(OSB_PLUGIN_ABI_VERSION_MINOR, kCommitted.minor);
  EXPECT_EQ(hash, kCommitted.sha256)
      << "plugin_abi.h changed: bump OSB_PLUGIN_ABI_VERSION_MINOR (compatible addition at the end "
         "of a table) or _MAJOR (anything else), then update kCommitted";
}

TEST(AbiHeader, TablesKeepTheirLayout) {
  // Slots never move within a major version.
  EXPECT_EQ(offsetof(osb_host_v1, struct_size), 0u);
  EXPECT_EQ(offsetof(osb_plugin_v1, struct_size), 0u);
  EXPECT_LT(offsetof(osb_plugin_v1, create), offsetof(osb_plugin_v1, poll));
  EXPECT_LT(offsetof(osb_host_v1, log), offsetof(osb_host_v1, set_error));
}

}  // namespace
