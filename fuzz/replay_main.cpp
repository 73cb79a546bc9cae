// Replays fuzz inputs without libFuzzer: calls LLVMFuzzerTestOneInput once on every regular file
// of the directories (or files) named on the command line, in name order, so that the committed
// corpus and every crash ever found run as an ordinary test in every build. A directory that does
// not exist counts as empty (git keeps no empty folders); files whose name starts with '.' are
// skipped. Exits 0 when every input returned; a failing input aborts like it would under the
// fuzzer, with its path printed first.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

// The inputs of one command-line argument: itself if a file, else its regular files.
std::vector<fs::path> inputs_of(const fs::path& where) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_regular_file(where, ec)) {
    files.push_back(where);
    return files;
  }
  if (!fs::is_directory(where, ec)) {
    return files;
  }
  for (const auto& entry : fs::directory_iterator(where, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file(ec) && !name.empty() && name.front() != '.') {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The bytes of a file; false when it cannot be read.
bool read_file(const fs::path& path, std::string& bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

// Runs one input; false when it cannot be read.
bool replay(const fs::path& path) {
  std::string bytes;
  if (!read_file(path, bytes)) {
    std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
    return false;
  }
  std::fprintf(stderr, "replay: %s (%zu bytes)\n", path.c_str(), bytes.size());
  // A copy of exactly the input's size, so that AddressSanitizer sees reads past its end.
  // An empty input still gets a valid pointer, as under libFuzzer.
  std::vector<std::uint8_t> copy(bytes.begin(), bytes.end());
  static const std::uint8_t empty = 0;
  LLVMFuzzerTestOneInput(copy.empty() ? &empty : copy.data(), copy.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t count = 0;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    for (const auto& path : inputs_of(argv[i])) {
      ok = replay(path) && ok;
      ++count;
    }
  }
  std::fprintf(stderr, "replay: %zu input(s)\n", count);
  return ok ? 0 : 1;
}
