// osbctl: the operator's view of an osbd, over its admin API (/admin/...).
//
//   osbctl [options] summary [--usage]     instances and bytes per plan and per owner
//   osbctl [options] instances [--usage]   every instance: plan, owner, times, last operation
//   osbctl [options] bindings              every binding (never its credentials)
//   osbctl [options] plugins               loaded plugins and their services; refused files
//   osbctl [options] usage [--from D] [--to D] [--by organization|plan|catalog|instance]
//                                          the metering report (instance-hours, GiB-hours)
//
// Options: --url URL (OSBCTL_URL, default http://127.0.0.1:8080), --user NAME (OSBCTL_USER),
// --password-file FILE (else OSBCTL_PASSWORD), --cacert FILE (https), --json, --csv.
//
// And plugin signatures, without an osbd (plugin_host/trust.hpp):
//   osbctl sign-plugin --key PRIVATE_KEY.pem FILE     writes FILE.sig, prints the key id
//   osbctl verify-plugin --key PUBLIC_KEY.pem FILE    checks FILE as osbd would with that key
//   osbctl key-id KEY.pem                             the key id of a public or private key

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

#include "api/http_util.hpp"
#include "plugin_host/trust.hpp"
#include "util/csv.hpp"
#include "util/json_parse.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using nlohmann::json;

constexpr int kExitUsage = 64;
constexpr int kExitFailed = 1;

enum class Format { table, json_document, csv };

struct Options {
  std::string url = "http://127.0.0.1:8080";
  std::string user;
  std::string password;
  std::string cacert;
  Format format = Format::table;
  std::string command;
  bool usage = false;
  // usage: the period and grouping, passed to /admin/usage as given ("" leaves osbd's default).
  std::string from;
  std::string to;
  std::string by;
};

void usage_text(std::FILE* out) {
  std::fputs(
      "usage: osbctl [--url URL] [--user NAME] [--password-file FILE] [--cacert FILE]\n"
      "              [--json | --csv] COMMAND\n"
      "       osbctl sign-plugin --key PRIVATE_KEY.pem FILE\n"
      "       osbctl verify-plugin --key PUBLIC_KEY.pem [--key ...] FILE\n"
      "       osbctl key-id KEY.pem\n"
      "commands:\n"
      "  summary [--usage]     instances (and bytes with --usage) per plan and per owner\n"
      "  instances [--usage]   every instance with its plan, owner, times and last operation\n"
      "  bindings              every binding\n"
      "  plugins               each loaded plugin (name, version, vendor, ABI, file, services,\n"
      "                        signer's key id) and the plugin files osbd refused, with why\n"
      "  replicas              the osbd replicas sharing the state store: heartbeat, version,\n"
      "                        plugins, whether each is alive and serves this one's catalogs\n"
      "  usage [--from DATE] [--to DATE] [--by organization|plan|catalog|instance]\n"
      "                        the metering report for [from, to) (default the last 30 days,\n"
      "                        by organization): instance-hours per plan, storage GiB-hours,\n"
      "                        peak storage, instances created and deleted; DATE is YYYY-MM-DD\n"
      "                        or YYYY-MM-DDTHH:MM:SSZ (UTC)\n"
      "  sign-plugin           sign FILE with an Ed25519 key: writes FILE.sig, prints the key id\n"
      "  verify-plugin         check FILE and FILE.sig as osbd does with plugin_trust\n"
      "                        {trusted_keys: [PUBLIC_KEY.pem], require_signed: true}\n"
      "  key-id                the key id of an Ed25519 key (public or private PEM)\n"
      "environment: OSBCTL_URL, OSBCTL_USER, OSBCTL_PASSWORD (the admin credentials of osbd)\n",
      out);
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

std::optional<int> parse_args(int argc, char** argv, Options& o) {
  o.url = env("OSBCTL_URL").empty() ? o.url : env("OSBCTL_URL");
  o.user = env("OSBCTL_USER");
  o.password = env("OSBCTL_PASSWORD");
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "osbctl: %s needs a value\n", a.c_str());
        return std::nullopt;
      }
      return std::string(argv[++i]);
    };
    if (a == "--help" || a == "-h") {
      usage_text(stdout);
      return 0;
    } else if (a == "--url" || a == "--user" || a == "--password-file" || a == "--cacert" ||
               a == "--from" || a == "--to" || a == "--by") {
      auto v = value();
      if (!v) {
        return kExitUsage;
      }
      if (a == "--from" || a == "--to" || a == "--by") {
        (a == "--from" ? o.from : a == "--to" ? o.to : o.by) = *v;
      } else if (a == "--url") {
        o.url = *v;
      } else if (a == "--user") {
        o.user = *v;
      } else if (a == "--cacert") {
        o.cacert = *v;
      } else {
        std::ifstream in(*v);
        if (!in) {
          std::fprintf(stderr, "osbctl: cannot read %s\n", v->c_str());
          return kExitUsage;
        }
        std::getline(in, o.password);
      }
    } else if (a == "--json") {
      o.format = Format::json_document;
    } else if (a == "--csv") {
      o.format = Format::csv;
    } else if (a == "--usage") {
      o.usage = true;
    } else if (o.command.empty() && (a == "summary" || a == "instances" || a == "bindings" ||
                                     a == "plugins" || a == "replicas" || a == "usage")) {
      o.command = a;
    } else {
      std::fprintf(stderr, "osbctl: unknown argument '%s'\n", a.c_str());
      usage_text(stderr);
      return kExitUsage;
    }
  }
  if (o.command.empty()) {
    usage_text(stderr);
    return kExitUsage;
  }
  if (o.user.empty() || o.password.empty()) {
    std::fprintf(stderr,
                 "osbctl: admin credentials are needed: --user and --password-file, or "
                 "OSBCTL_USER and OSBCTL_PASSWORD\n");
    return kExitUsage;
  }
  return std::nullopt;
}

struct Url {
  bool tls = false;
  std::string host;
  std::string port;
};

std::optional<Url> parse_url(const std::string& text) {
  Url u;
  std::string rest;
  if (text.rfind("https://", 0) == 0) {
    u.tls = true;
    rest = text.substr(8);
  } else if (text.rfind("http://", 0) == 0) {
    rest = text.substr(7);
  } else {
    return std::nullopt;
  }
  rest = rest.substr(0, rest.find('/'));
  if (!rest.empty() && rest.front() == '[') {  // [v6]:port
    const auto close = rest.find(']');
    if (close == std::string::npos) {
      return std::nullopt;
    }
    u.host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    u.port = rest.rfind(':', 0) == 0 ? rest.substr(1) : "";
  } else {
    const auto colon = rest.rfind(':');
    u.host = rest.substr(0, colon);
    u.port = colon == std::string::npos ? "" : rest.substr(colon + 1);
  }
  if (u.port.empty()) {
    u.port = u.tls ? "443" : "80";
  }
  return u.host.empty() ? std::nullopt : std::optional<Url>(u);
}

// GET target with the admin credentials; returns the status and the body.
std::pair<unsigned, std::string> get(const Options& o, const Url& url, const std::string& target) {
  net::io_context ioc;
  net::ip::tcp::resolver resolver(ioc);
  const auto endpoints = resolver.resolve(url.host, url.port);
  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
  req.set(bhttp::field::host, url.host);
  req.set(bhttp::field::user_agent, "osbctl");
  req.set(bhttp::field::authorization,
          "Basic " + osbd::api::base64_encode(o.user + ":" + o.password));
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  if (url.tls) {
    net::ssl::context ctx(net::ssl::context::tls_client);
    if (o.cacert.empty()) {
      ctx.set_default_verify_paths();
    } else {
      ctx.load_verify_file(o.cacert);
    }
    ctx.set_verify_mode(net::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str());
    stream.set_verify_callback(net::ssl::host_name_verification(url.host));
    beast::get_lowest_layer(stream).connect(endpoints);
    stream.handshake(net::ssl::stream_base::client);
    bhttp::write(stream, req);
    bhttp::read(stream, buffer, res);
  } else {
    beast::tcp_stream stream(ioc);
    stream.connect(endpoints);
    bhttp::write(stream, req);
    bhttp::read(stream, buffer, res);
  }
  return {res.result_int(), res.body()};
}

using Row = std::vector<std::string>;

std::string csv_field(const std::string& v) {
  return v.find_first_of(",\"\n\r") == std::string::npos ? v : osbd::util::csv_quoted(v);
}

void print(const Row& header, const std::vector<Row>& rows, Format format) {
  if (format == Format::csv) {
    for (const Row* r : {&header}) {
      for (std::size_t i = 0; i < r->size(); ++i) {
        std::cout << (i ? "," : "") << csv_field((*r)[i]);
      }
      std::cout << "\r\n";
    }
    for (const auto& r : rows) {
      for (std::size_t i = 0; i < r.size(); ++i) {
        std::cout << (i ? "," : "") << csv_field(r[i]);
      }
      std::cout << "\r\n";
    }
    return;
  }
  std::vector<std::size_t> width(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) {
    width[i] = header[i].size();
    for (const auto& r : rows) {
      width[i] = std::max(width[i], r[i].size());
    }
  }
  auto line = [&](const Row& r) {
    for (std::size_t i = 0; i < r.size(); ++i) {
      std::cout << r[i];
      if (i + 1 < r.size()) {
        std::cout << std::string(width[i] - r[i].size() + 2, ' ');
      }
    }
    std::cout << '\n';
  };
  line(header);
  for (const auto& r : rows) {
    line(r);
  }
}

std::string text(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) {
    return "";
  }
  const json& v = j.at(key);
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// 1073741824 -> "1.0 GiB"; the CSV and JSON keep exact bytes.
std::string human_bytes(const json& bytes) {
  if (!bytes.is_number()) {
    return "";
  }
  double v = bytes.get<double>();
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string bytes_cell(const json& bytes, Format format) {
  if (!bytes.is_number()) {
    return "";
  }
  return format == Format::csv ? std::to_string(bytes.get<int64_t>()) : human_bytes(bytes);
}

void print_summary(const json& body, const Options& o) {
  Row header{"SERVICE", "PLAN", "INSTANCES", "OWNERS"};
  if (o.usage) {
    header.push_back("BYTES");
  }
  std::vector<Row> rows;
  for (const auto& p : body.at("plans")) {
    std::string owners;
    for (const auto& owner : p.at("organizations")) {
      owners += (owners.empty() ? "" : " ") + owner.get<std::string>();
    }
    Row r{text(p, "service"), text(p, "plan"), text(p, "instances"), owners};
    if (o.usage) {
      r.push_back(bytes_cell(p.value("bytes", json()), o.format));
    }
    rows.push_back(std::move(r));
  }
  print(header, rows, o.format);
  if (o.format == Format::csv) {
    return;  // one table per CSV: `instances --csv` has the per-owner detail
  }
  std::cout << '\n';
  Row owner_header{"OWNER", "INSTANCES", "PLANS"};
  if (o.usage) {
    owner_header.push_back("BYTES");
  }
  rows.clear();
  for (const auto& w : body.at("owners")) {
    std::string plans;
    for (const auto& [plan, n] : w.at("plans").items()) {
      plans += (plans.empty() ? "" : " ") + plan + "=" + n.dump();
    }
    Row r{text(w, "owner"), text(w, "instances"), plans};
    if (o.usage) {
      r.push_back(bytes_cell(w.value("bytes", json()), o.format));
    }
    rows.push_back(std::move(r));
  }
  print(owner_header, rows, o.format);
  std::cout << "\ntotal instances: " << body.at("instances").dump() << '\n';
}

void print_instances(const json& body, const Options& o) {
  Row header{"CATALOG",         "ID",   "SERVICE", "PLAN",    "STATUS",         "OWNER",
             "SPACE/NAMESPACE", "USER", "CREATED", "UPDATED", "LAST OPERATION", "BINDINGS"};
  if (o.usage) {
    header.push_back("BYTES");
  }
  std::vector<Row> rows;
  for (const auto& i : body.at("instances")) {
    const json& owner = i.at("owner");
    const std::string space =
        text(owner, "space").empty() ? text(owner, "namespace") : text(owner, "space");
    const json last = i.value("last_operation", json::object());
    const std::string last_text =
        last.empty() ? "" : text(last, "kind") + " " + text(last, "state");
    Row r{text(i, "catalog"),
          text(i, "id"),
          text(i, "service"),
          text(i, "plan"),
          text(i, "status"),
          text(owner, "key"),
          space,
          text(i, "originating_user"),
          text(i, "created_at"),
          text(i, "updated_at"),
          last_text,
          text(i, "bindings")};
    if (o.usage) {
      r.push_back(bytes_cell(i.value("usage", json::object()).value("bytes", json()), o.format));
    }
    rows.push_back(std::move(r));
  }
  print(header, rows, o.format);
}

void print_bindings(const json& body, const Options& o) {
  Row header{"CATALOG", "INSTANCE", "BINDING", "STATUS", "OWNER", "APP", "CREATED"};
  std::vector<Row> rows;
  for (const auto& b : body.at("bindings")) {
    rows.push_back({text(b, "catalog"), text(b, "instance_id"), text(b, "id"), text(b, "status"),
                    text(b.at("owner"), "key"), text(b, "app_guid"), text(b, "created_at")});
  }
  print(header, rows, o.format);
}

void print_plugins(const json& body, const Options& o) {
  Row header{"PLUGIN",   "VERSION",   "VENDOR",    "ABI",      "FILE",
             "SERVICES", "INSTANCES", "ISOLATION", "PID",      "STATE",
             "RESTARTS", "LAST EXIT", "IN FLIGHT", "TIMEOUTS", "SIGNER"};
  std::vector<Row> rows;
  for (const auto& p : body.at("plugins")) {
    std::string services;
    for (const auto& s : p.at("services")) {
      std::string catalogs;
      for (const auto& c : s.at("catalogs")) {
        catalogs += (catalogs.empty() ? "" : ",") + c.get<std::string>();
      }
      services += (services.empty() ? "" : " ") + text(s, "name") + "[" + catalogs + "]";
    }
    rows.push_back({text(p, "name"), text(p, "version"), text(p, "vendor"), text(p, "abi_version"),
                    text(p, "file"), services, text(p, "instances"), text(p, "isolation"),
                    text(p, "pid"), text(p, "state"), text(p, "restarts"), text(p, "last_exit"),
                    text(p, "calls_in_flight"), text(p, "call_timeouts"), text(p, "signer")});
  }
  print(header, rows, o.format);
  if (o.format == Format::csv) {
    return;
  }
  for (const auto& r : body.at("refused")) {
    std::cout << "\nrefused: " << text(r, "file") << "\n  " << text(r, "error") << '\n';
  }
  for (const auto& w : body.at("warnings")) {
    std::cout << "\nwarning: " << w.get<std::string>() << '\n';
  }
}

void print_replicas(const json& body, const Options& o) {
  Row header{"REPLICA", "HOST",      "LISTEN", "VERSION", "PLUGINS",
             "STARTED", "HEARTBEAT", "ALIVE",  "CATALOGS"};
  std::vector<Row> rows;
  const std::string self = text(body, "self");
  for (const auto& r : body.at("replicas")) {
    std::string plugins;
    for (const auto& p : r.at("plugins")) {
      plugins += (plugins.empty() ? "" : ",") + text(p, "name") + "@" + text(p, "version");
    }
    const std::string id = text(r, "id") + (text(r, "id") == self ? " (this)" : "");
    const bool mismatch = r.value("catalog_mismatch", false);
    rows.push_back({id, text(r, "host"), text(r, "listen"), text(r, "version"), plugins,
                    text(r, "started_at"), text(r, "heartbeat_at"),
                    r.value("alive", false) ? "yes" : "no",
                    mismatch ? "DIFFERENT (" + text(r, "catalog_fingerprint") + ")" : "same"});
  }
  print(header, rows, o.format);
}

std::string plan_hours(const json& plans) {
  std::string out;
  for (const auto& [plan, hours] : plans.items()) {
    out += (out.empty() ? "" : " ") + plan + "=" + hours.dump();
  }
  return out;
}

Row usage_row(const std::string& key, const json& g) {
  return {key,
          text(g, "instance_hours"),
          plan_hours(g.at("plans")),
          text(g, "storage_gib_hours"),
          human_bytes(g.at("peak_storage_bytes")),
          text(g, "created"),
          text(g, "deleted")};
}

void print_usage(const json& body, const Options& o) {
  std::string by = text(body, "by");
  for (char& c : by) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  Row header{by, "INSTANCE-HOURS", "PER PLAN", "GIB-HOURS", "PEAK", "CREATED", "DELETED"};
  std::vector<Row> rows;
  for (const auto& g : body.at("groups")) {
    rows.push_back(usage_row(text(g, "key").empty() ? "(none)" : text(g, "key"), g));
  }
  rows.push_back(usage_row("TOTAL", body.at("totals")));
  std::cout << "from " << text(body, "from") << " to " << text(body, "to") << "\n\n";
  print(header, rows, o.format);
}

// value percent-encoded for a query string (RFC 3986 unreserved characters kept).
std::string query_escape(const std::string& value) {
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// /admin/usage with the period and grouping asked for.
std::string usage_target(const Options& o) {
  std::string query;
  for (const auto& [key, value] :
       {std::pair{"from", o.from}, std::pair{"to", o.to}, std::pair{"by", o.by}}) {
    if (!value.empty()) {
      query += std::string(query.empty() ? "?" : "&") + key + "=" + query_escape(value);
    }
  }
  if (o.format == Format::csv) {
    query += std::string(query.empty() ? "?" : "&") + "format=csv";
  }
  return "/admin/usage" + query;
}

struct SigningArgs {
  std::string command;
  std::vector<std::string> keys;  // --key
  std::string file;               // FILE, or KEY.pem of key-id
};

// The arguments of sign-plugin, verify-plugin and key-id (args[0]); nullopt after a usage error.
std::optional<SigningArgs> parse_signing_args(const std::vector<std::string>& args) {
  SigningArgs s{args.at(0), {}, ""};
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--key" && i + 1 < args.size() && s.command != "key-id") {
      s.keys.push_back(args[++i]);
    } else if (s.file.empty() && args[i].rfind("--", 0) != 0) {
      s.file = args[i];
    } else {
      std::fprintf(stderr, "osbctl: %s: unexpected argument '%s'\n", s.command.c_str(),
                   args[i].c_str());
      return std::nullopt;
    }
  }
  const bool keys_ok = s.command == "key-id"        ? s.keys.empty()
                       : s.command == "sign-plugin" ? s.keys.size() == 1
                                                    : !s.keys.empty();
  if (s.file.empty() || !keys_ok) {
    std::fprintf(stderr, "osbctl: %s needs %s\n", s.command.c_str(),
                 s.command == "key-id" ? "KEY.pem" : "--key KEY.pem and FILE");
    return std::nullopt;
  }
  return s;
}

int run_signing(const SigningArgs& s) {
  namespace ph = osbd::plugin_host;
  try {
    if (s.command == "sign-plugin") {
      const std::string id = ph::sign_plugin_file(s.file, s.keys.front());
      std::printf("%s.sig: signature of %s by key %s\n", s.file.c_str(), s.file.c_str(),
                  id.c_str());
    } else if (s.command == "verify-plugin") {
      const auto verdict = ph::check_plugin_file(s.file, ph::TrustSettings{s.keys, true});
      std::printf("%s: signed by key %s, verified\n", s.file.c_str(),
                  verdict.signer_key_id.c_str());
    } else {
      std::printf("%s\n", ph::key_id_of_key_file(s.file).c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "osbctl: %s\n", e.what());
    return kExitFailed;
  }
  return 0;
}

// sign-plugin, verify-plugin and key-id, which need no osbd; nullopt for the other commands.
std::optional<int> signing_command(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() ||
      (args[0] != "sign-plugin" && args[0] != "verify-plugin" && args[0] != "key-id")) {
    return std::nullopt;
  }
  const auto parsed = parse_signing_args(args);
  return parsed ? run_signing(*parsed) : kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  if (auto code = signing_command(argc, argv)) {
    return *code;
  }
  Options o;
  if (auto code = parse_args(argc, argv, o)) {
    return *code;
  }
  const auto url = parse_url(o.url);
  if (!url) {
    std::fprintf(stderr, "osbctl: --url must be http://HOST:PORT or https://HOST:PORT\n");
    return kExitUsage;
  }
  std::string target = o.command == "usage" ? usage_target(o) : "/admin/" + o.command;
  if (o.usage && (o.command == "summary" || o.command == "instances")) {
    target += "?usage=true";
  }
  std::pair<unsigned, std::string> got;
  try {
    got = get(o, *url, target);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "osbctl: %s: %s\n", o.url.c_str(), e.what());
    return kExitFailed;
  }
  if (got.first == 200 && o.command == "usage" && o.format == Format::csv) {
    std::cout << got.second;  // osbd's CSV, the same as the console's download
    return 0;
  }
  const json body = osbd::util::parse_json(got.second).value_or(json(json::value_t::discarded));
  if (got.first != 200 || body.is_discarded()) {
    const std::string why = body.is_object() ? body.value("description", "") : "";
    std::fprintf(stderr, "osbctl: %s%s answered %u%s%s\n", o.url.c_str(), target.c_str(), got.first,
                 why.empty() ? "" : ": ", why.c_str());
    return kExitFailed;
  }
  if (o.format == Format::json_document) {
    std::cout << body.dump(2) << '\n';
  } else if (o.command == "summary") {
    print_summary(body, o);
  } else if (o.command == "instances") {
    print_instances(body, o);
  } else if (o.command == "plugins") {
    print_plugins(body, o);
  } else if (o.command == "replicas") {
    print_replicas(body, o);
  } else if (o.command == "usage") {
    print_usage(body, o);
  } else {
    print_bindings(body, o);
  }
  return 0;
}
