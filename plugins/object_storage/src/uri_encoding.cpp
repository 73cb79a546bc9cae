#include "uri_encoding.hpp"

#include <algorithm>

#include <osb/plugins/uri.hpp>

namespace osbd_object_storage {

using osb::plugins::percent_encode;

std::string canonical_query(const std::vector<QueryParam>& params) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(params.size());
  for (const QueryParam& param : params) {
    encoded.emplace_back(percent_encode(param.first), percent_encode(param.second));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) {
      out.push_back('&');
    }
    out += name;
    out.push_back('=');
    out += value;
  }
  return out;
}

std::string wire_query(const std::vector<QueryParam>& params) {
  std::string out;
  for (const QueryParam& param : params) {
    if (!out.empty()) {
      out.push_back('&');
    }
    out += percent_encode(param.first);
    if (!param.second.empty()) {
      out.push_back('=');
      out += percent_encode(param.second);
    }
  }
  return out;
}

}  // namespace osbd_object_storage
