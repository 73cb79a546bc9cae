// The operator console under /admin/ui/: its files compiled in (core/ui/), served behind the admin
// credentials with their security headers, ETags and 304s, on the OSB listener and on the
// operator's own listener.

#include <regex>
#include <string>

#include "api/console.hpp"
#include "api_fixture.hpp"

namespace osbd::test {
namespace {

using ConsoleTest = ApiTest;

const char* const kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

http::Request anonymous(const std::string& target) {
  return http::Request{bhttp::verb::get, target, 11};
}

http::Request with_if_none_match(http::Request request, const std::string& tags) {
  request.set(bhttp::field::if_none_match, tags);
  return request;
}

void expect_security_headers(const Reply& r, const std::string& what) {
  EXPECT_EQ(r.header("Content-Security-Policy"), kCsp) << what;
  EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff") << what;
  EXPECT_EQ(r.header("Referrer-Policy"), "no-referrer") << what;
  EXPECT_EQ(r.header("Cache-Control"), "no-cache") << what;
}

TEST_F(ConsoleTest, ServesEveryPageWithItsTypeAndSecurityHeaders) {
  const struct {
    const char* target;
    const char* type;
    const char* marker;
  } kFiles[] = {
      {"/admin/ui/", "text/html; charset=utf-8", "data-page=\"overview\""},
      {"/admin/ui/index.html", "text/html; charset=utf-8", "data-page=\"overview\""},
      {"/admin/ui/instances.html", "text/html; charset=utf-8", "data-page=\"instances\""},
      {"/admin/ui/usage.html", "text/html; charset=utf-8", "data-page=\"usage\""},
      {"/admin/ui/operations.html", "text/html; charset=utf-8", "data-page=\"operations\""},
      {"/admin/ui/console.js", "text/javascript; charset=utf-8", "'use strict';"},
      {"/admin/ui/console.css", "text/css; charset=utf-8", ":root"},
      {"/admin/ui/favicon.svg", "image/svg+xml", "<svg"},
  };
  for (const auto& f : kFiles) {
    const Reply r = send(admin_request(bhttp::verb::get, f.target));
    ASSERT_EQ(r.status, 200u) << f.target;
    EXPECT_EQ(r.header("Content-Type"), f.type) << f.target;
    EXPECT_NE(r.raw.body().find(f.marker), std::string::npos) << f.target;
    EXPECT_FALSE(r.header("ETag").empty()) << f.target;
    expect_security_headers(r, f.target);
  }
  // A query does not change the file.
  const Reply queried = send(admin_request(bhttp::verb::get, "/admin/ui/usage.html?by=plan"));
  EXPECT_EQ(queried.status, 200u);
  EXPECT_EQ(queried.raw.body(), api::find_ui_asset("usage.html")->body);
}

TEST_F(ConsoleTest, UiWithoutSlashRedirectsToTheIndex) {
  const Reply r = send(admin_request(bhttp::verb::get, "/admin/ui"));
  EXPECT_EQ(r.status, 301u);
  EXPECT_EQ(r.header("Location"), "ui/");
  EXPECT_TRUE(r.raw.body().empty());
}

TEST_F(ConsoleTest, WithoutAdminCredentialsNothingOfTheConsoleIsSent) {
  for (const auto& target : {"/admin/ui", "/admin/ui/", "/admin/ui/console.js", "/admin/ui/nope"}) {
    http::Request wrong = anonymous(target);
    wrong.set(bhttp::field::authorization, "Basic " + api::base64_encode("operator:wrong"));
    const Reply replies[] = {send(anonymous(target)), send(std::move(wrong)),
                             send(platform_request(bhttp::verb::get, target))};
    for (const Reply& r : replies) {
      EXPECT_TRUE(IsOsbError(r, 401, "Unauthorized")) << target;
      EXPECT_EQ(r.header("WWW-Authenticate"), "Basic realm=\"osbd admin\"") << target;
      EXPECT_TRUE(r.header("ETag").empty()) << target;
      EXPECT_EQ(r.raw.body().find("osbd console"), std::string::npos) << target;
      EXPECT_EQ(r.raw.body().find("<"), std::string::npos) << target;
    }
  }
  // Refused on the headers alone too, before any body is read.
  const auto refused = broker_->refuse_before_body(anonymous("/admin/ui/"));
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->result_int(), 401u);
}

TEST_F(ConsoleTest, UnknownAssetIs404InTheOsbErrorFormat) {
  for (const auto& target : {"/admin/ui/nope.html", "/admin/ui/ui/index.html",
                             "/admin/ui/../instances", "/admin/ui/index.html/"}) {
    const Reply r = send(admin_request(bhttp::verb::get, target));
    EXPECT_TRUE(IsOsbError(r, 404, "NotFound")) << target;
    EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff") << target;
  }
  // Not the console: the admin API's own 404.
  EXPECT_TRUE(IsOsbError(send(admin_request(bhttp::verb::get, "/admin/uix")), 404, "NotFound"));
}

TEST_F(ConsoleTest, MatchingIfNoneMatchIs304WithoutBody) {
  const Reply first = send(admin_request(bhttp::verb::get, "/admin/ui/console.js"));
  ASSERT_EQ(first.status, 200u);
  const std::string etag = first.header("ETag");
  // Strong: a quoted hash, no W/.
  EXPECT_TRUE(std::regex_match(etag, std::regex("\"[0-9a-f]{32}\""))) << etag;
  EXPECT_EQ(etag, api::find_ui_asset("console.js")->etag);

  for (const std::string& tags : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    const Reply again =
        send(with_if_none_match(admin_request(bhttp::verb::get, "/admin/ui/console.js"), tags));
    EXPECT_EQ(again.status, 304u) << tags;
    EXPECT_TRUE(again.raw.body().empty()) << tags;
    EXPECT_EQ(again.header("ETag"), etag) << tags;
    expect_security_headers(again, tags);
  }
  const Reply changed = send(
      with_if_none_match(admin_request(bhttp::verb::get, "/admin/ui/console.js"), "\"other\""));
  EXPECT_EQ(changed.status, 200u);
  EXPECT_EQ(changed.raw.body(), first.raw.body());
  // Another file's tag does not match.
  const Reply index = send(with_if_none_match(admin_request(bhttp::verb::get, "/admin/ui/"), etag));
  EXPECT_EQ(index.status, 200u);
  EXPECT_NE(index.header("ETag"), etag);
}

TEST_F(ConsoleTest, ConsoleIsReadOnly) {
  const Reply r = send(admin_request(bhttp::verb::post, "/admin/ui/"));
  EXPECT_TRUE(IsOsbError(r, 405, "MethodNotAllowed"));
  EXPECT_EQ(r.header("Allow"), "GET");
}

TEST_F(ConsoleTest, ServedOnTheOperatorListenerOnlyWhenItHasOne) {
  api::BrokerOptions options = default_options();
  options.separate_operator_listener = true;
  rewire(options);
  EXPECT_TRUE(IsOsbError(send(admin_request(bhttp::verb::get, "/admin/ui/")), 404, "NotFound"));
  const Reply r = send(admin_request(bhttp::verb::get, "/admin/ui/"), &broker_->operator_handler());
  EXPECT_EQ(r.status, 200u);
  expect_security_headers(r, "operator listener");
  EXPECT_TRUE(
      IsOsbError(send(anonymous("/admin/ui/"), &broker_->operator_handler()), 401, "Unauthorized"));
}

// The pages keep to what the Content-Security-Policy allows and need nothing from outside: no
// inline script or style, no other origin.
TEST(ConsoleAssets, NoInlineCodeAndNoExternalUrl) {
  ASSERT_FALSE(api::ui_assets().empty());
  const std::regex inline_script("<script(?![^>]*\\bsrc=)[^>]*>", std::regex::icase);
  const std::regex inline_handler("\\son[a-z]+\\s*=", std::regex::icase);
  const std::regex style_element("<style", std::regex::icase);
  const std::regex style_attribute("\\sstyle\\s*=", std::regex::icase);
  const std::regex url("(https?:)?//[a-z0-9.-]+\\.[a-z]{2,}", std::regex::icase);
  for (const auto& asset : api::ui_assets()) {
    const std::string body(asset.body);
    const std::string name(asset.name);
    EXPECT_FALSE(asset.etag.empty()) << name;
    EXPECT_EQ(api::find_ui_asset(asset.name), &asset) << name;
    // The SVG namespace names a URL but fetches nothing.
    const std::string without_ns =
        std::regex_replace(body, std::regex("http://www\\.w3\\.org/2000/svg"), "");
    EXPECT_FALSE(std::regex_search(without_ns, url)) << name;
    if (name.ends_with(".html")) {
      EXPECT_FALSE(std::regex_search(body, inline_script)) << name;
      EXPECT_FALSE(std::regex_search(body, inline_handler)) << name;
      EXPECT_FALSE(std::regex_search(body, style_element)) << name;
      EXPECT_FALSE(std::regex_search(body, style_attribute)) << name;
      EXPECT_NE(body.find("<script src=\"console.js\""), std::string::npos) << name;
    }
    if (name == "console.js") {
      EXPECT_EQ(body.find("innerHTML"), std::string::npos);
      EXPECT_EQ(body.find("eval("), std::string::npos);
    }
  }
  EXPECT_EQ(api::find_ui_asset("nope.html"), nullptr);
}

TEST(ConsoleAssets, IfNoneMatchComparison) {
  EXPECT_TRUE(api::etag_matches("\"a\"", "\"a\""));
  EXPECT_TRUE(api::etag_matches("W/\"a\"", "\"a\""));
  EXPECT_TRUE(api::etag_matches(" \"b\" ,\t\"a\" ", "\"a\""));
  EXPECT_TRUE(api::etag_matches("*", "\"a\""));
  EXPECT_FALSE(api::etag_matches("", "\"a\""));
  EXPECT_FALSE(api::etag_matches("\"b\"", "\"a\""));
  EXPECT_FALSE(api::etag_matches("a", "\"a\""));
  EXPECT_FALSE(api::etag_matches(",,", "\"a\""));
}

}  // namespace
}  // namespace osbd::test
