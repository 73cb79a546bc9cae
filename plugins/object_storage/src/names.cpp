#include "names.hpp"

#include <osb/plugins/codec.hpp>

namespace osbd_object_storage {

namespace {

bool lower_or_digit(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool looks_like_ipv4(std::string_view name) {
  int dots = 0;
  for (char c : name) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

}  // namespace

bool is_valid_bucket_name(std::string_view name) {
  if (name.size() < 3 || name.size() > 63) {
    return false;
  }
  if (!lower_or_digit(name.front()) || !lower_or_digit(name.back())) {
    return false;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!lower_or_digit(c) && c != '-' && c != '.') {
      return false;
    }
    if (i > 0 && c == '.' && (name[i - 1] == '.' || name[i - 1] == '-')) {
      return false;
    }
    if (i > 0 && c == '-' && name[i - 1] == '.') {
      return false;
    }
  }
  if (looks_like_ipv4(name) || name.rfind("xn--", 0) == 0 || ends_with(name, "-s3alias") ||
      ends_with(name, "--ol-s3")) {
    return false;
  }
  return true;
}

bool is_valid_name_prefix(std::string_view prefix) {
  if (prefix.empty() || prefix.size() > 16 || !lower_or_digit(prefix.front())) {
    return false;
  }
  for (char c : prefix) {
    if (!lower_or_digit(c) && c != '-') {
      return false;
    }
  }
  return true;
}

InstanceNames InstanceNames::of(const std::string& prefix, const std::string& instance_id) {
  InstanceNames names;
  names.bucket = prefix + osb::plugins::sha256_hex(instance_id).substr(0, 24);
  names.owner = names.bucket;
  return names;
}

std::string InstanceNames::binding_user(const std::string& binding_id) const {
  return binding_prefix() + osb::plugins::sha256_hex(binding_id).substr(0, 16);
}

}  // namespace osbd_object_storage
