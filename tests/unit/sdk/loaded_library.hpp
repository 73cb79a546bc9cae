#pragma once

#include <dlfcn.h>
#include <elf.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "osb/plugin_abi.h"

namespace osb_sdk_test {

/// A shared library opened with dlopen the way osbd opens plugins (RTLD_NOW | RTLD_LOCAL).
class LoadedLibrary {
 public:
  /// Opens path; throws std::runtime_error with dlerror() on failure.
  explicit LoadedLibrary(const std::string& path)
      : handle_(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {
    if (handle_ == nullptr) {
      throw std::runtime_error("dlopen " + path + ": " + dlerror());
    }
  }
  /// Not copyable.
  LoadedLibrary(const LoadedLibrary&) = delete;
  /// Not assignable.
  LoadedLibrary& operator=(const LoadedLibrary&) = delete;
  /// Closes the library.
  ~LoadedLibrary() { dlclose(handle_); }

  /// The address of symbol, or nullptr.
  void* symbol(const char* name) const { return dlsym(handle_, name); }

  /// The entry point, or nullptr when the library does not export it.
  osb_plugin_entry_fn entry() const {
    return reinterpret_cast<osb_plugin_entry_fn>(symbol(OSB_PLUGIN_ENTRY_SYMBOL));
  }

 private:
  void* handle_;
};

/// Names of the symbols a 64-bit ELF shared library defines in its dynamic symbol table, i.e.
/// what it exports.
inline std::set<std::string> exported_symbols(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(file)),
                                std::istreambuf_iterator<char>());
  auto read = [&bytes](auto& out, std::size_t offset) {
    if (offset + sizeof out > bytes.size()) {
      throw std::runtime_error("truncated ELF file");
    }
    std::memcpy(&out, bytes.data() + offset, sizeof out);
  };
  Elf64_Ehdr header;
  read(header, 0);
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64) {
    throw std::runtime_error(path + " is not a 64-bit ELF file");
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < header.e_shnum; ++i) {
    Elf64_Shdr section;
    read(section, header.e_shoff + i * header.e_shentsize);
    if (section.sh_type != SHT_DYNSYM) {
      continue;
    }
    Elf64_Shdr strings;
    read(strings, header.e_shoff + section.sh_link * header.e_shentsize);
    for (std::size_t offset = 0; offset + sizeof(Elf64_Sym) <= section.sh_size;
         offset += sizeof(Elf64_Sym)) {
      Elf64_Sym symbol;
      read(symbol, section.sh_offset + offset);
      const unsigned binding = ELF64_ST_BIND(symbol.st_info);
      const bool visible =
          binding == STB_GLOBAL || binding == STB_WEAK || binding == STB_GNU_UNIQUE;
      if (symbol.st_shndx != SHN_UNDEF && visible && symbol.st_name != 0) {
        names.insert(std::string(bytes.data() + strings.sh_offset + symbol.st_name));
      }
    }
  }
  return names;
}

}  // namespace osb_sdk_test
