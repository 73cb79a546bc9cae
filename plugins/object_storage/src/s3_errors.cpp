#include "s3_errors.hpp"

#include <nlohmann/json.hpp>

namespace osbd_object_storage {

namespace {

constexpr std::size_t max_text = 200;

std::string unescape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '&') {
      static constexpr std::pair<std::string_view, char> entities[] = {
          {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
      bool replaced = false;
      for (const auto& [entity, c] : entities) {
        if (text.substr(i, entity.size()) == entity) {
          out.push_back(c);
          i += entity.size() - 1;
          replaced = true;
          break;
        }
      }
      if (replaced) {
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

std::string cut(std::string text) {
  if (text.size() > max_text) {
    text.resize(max_text);
  }
  return text;
}

}  // namespace

std::string xml_element(std::string_view xml, std::string_view tag) {
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  const std::size_t start = xml.find(open);
  if (start == std::string_view::npos) {
    return {};
  }
  const std::size_t from = start + open.size();
  const std::size_t end = xml.find(close, from);
  if (end == std::string_view::npos) {
    return {};
  }
  return unescape(xml.substr(from, end - from));
}

ServerError parse_server_error(std::string_view body) {
  ServerError error;
  const std::size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return error;
  }
  if (body[first] == '{') {
    const nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_object()) {
      if (json.contains("Code") && json["Code"].is_string()) {
        error.code = cut(json["Code"].get<std::string>());
      }
      if (json.contains("Message") && json["Message"].is_string()) {
        error.message = cut(json["Message"].get<std::string>());
      }
    }
    return error;
  }
  const std::size_t at = body.find("<Error>");
  if (at == std::string_view::npos) {
    return error;
  }
  const std::string_view element = body.substr(at);
  error.code = cut(xml_element(element, "Code"));
  error.message = cut(xml_element(element, "Message"));
  return error;
}

}  // namespace osbd_object_storage
