#include "api/request_log.hpp"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <utility>

#include "log/log.hpp"
#include "metrics/metrics.hpp"

namespace osbd::api {

namespace bhttp = boost::beast::http;
using nlohmann::json;

namespace {

// An identity for the log lines of a request that brought none: unique within this process and
// across restarts (it starts with the process's start time).
std::string generated_identity() {
  static const std::string prefix = [] {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    char buf[32];
    std::snprintf(buf, sizeof buf, "osbd-%llx-",
                  static_cast<unsigned long long>(
                      std::chrono::duration_cast<std::chrono::milliseconds>(now).count()));
    return std::string(buf);
  }();
  static std::atomic<uint64_t> next{0};
  return prefix + std::to_string(next.fetch_add(1, std::memory_order_relaxed));
}

}  // namespace

http::Response to_response(const ApiReply& reply, unsigned version,
                           const std::string& request_identity) {
  http::Response res{static_cast<bhttp::status>(reply.status), version};
  res.set(bhttp::field::server, "osbd");
  res.set(bhttp::field::content_type,
          reply.content_type.empty() ? "application/json" : reply.content_type);
  if (!request_identity.empty()) {
    res.set(kRequestIdentity, request_identity);
  }
  for (const auto& [name, value] : reply.headers) {
    res.set(name, value);
  }
  res.body() = !reply.content_type.empty()
                   ? reply.text
                   : reply.body.dump(-1, ' ', false, json::error_handler_t::replace);
  return res;
}

const char* method_label(bhttp::verb verb) {
  static constexpr std::pair<bhttp::verb, const char*> kLabels[] = {
      {bhttp::verb::get, "GET"},        {bhttp::verb::put, "PUT"},   {bhttp::verb::patch, "PATCH"},
      {bhttp::verb::delete_, "DELETE"}, {bhttp::verb::post, "POST"}, {bhttp::verb::head, "HEAD"}};
  for (const auto& [known, label] : kLabels) {
    if (known == verb) {
      return label;
    }
  }
  return "OTHER";
}

RequestLog::RequestLog(const http::Request& request, std::chrono::steady_clock::time_point started,
                       http::Reply reply)
    : reply_(std::move(reply)),
      started_(started),
      version_(request.version()),
      method_(request.method_string()),
      label_(api::method_label(request.method())),
      identity_(request[kRequestIdentity]) {
  const std::string_view target(request.target().data(), request.target().size());
  path_ = std::string(target.substr(0, target.find('?')));
}

void RequestLog::finish(const ApiReply& r) const {
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started_;
  metrics::global().count_request(subject_.route, label_, r.status, took.count());
  const log::Level level = r.status >= 500 ? log::Level::error : log::Level::info;
  if (log::enabled(level)) {
    json fields = {{"method", method_},
                   {"path", path_},
                   {"route", subject_.route},
                   {"status", r.status},
                   {"duration_ms", took.count() * 1000.0},
                   {"request_identity", identity_.empty() ? generated_identity() : identity_}};
    for (const auto& [key, value] :
         {std::pair{"catalog", &subject_.catalog}, std::pair{"instance_id", &subject_.instance_id},
          std::pair{"binding_id", &subject_.binding_id}}) {
      if (*value) {
        fields[key] = **value;
      }
    }
    log::write(level, "request", fields);
  }
  reply_(to_response(r, version_, identity_));
}

}  // namespace osbd::api
