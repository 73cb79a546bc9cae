// The formats osbd asserts. Cases beyond the Debian JSON-Schema-Test-Suite come from the RFCs and
// from later revisions of the suite, so that a format is only checked where the check is right.

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "schema/format.hpp"
#include "schema/schema.hpp"

namespace {

using osbd::schema::detail::is_date_time;
using osbd::schema::detail::is_email;
using osbd::schema::detail::is_ipv4;
using osbd::schema::detail::is_ipv6;
using osbd::schema::detail::is_uri;

void expect_all(bool (*check)(std::string_view), const std::vector<std::string>& values,
                bool expected) {
  for (const auto& value : values) {
    EXPECT_EQ(check(value), expected) << "\"" << value << "\"";
  }
}

TEST(Format, DateTime) {
  expect_all(is_date_time,
             {"1963-06-19T08:30:06.283185Z", "1963-06-19T08:30:06Z", "1937-01-01T12:00:27.87+00:20",
              "1990-12-31T15:59:50.123-08:00", "1998-12-31T23:59:60Z",
              "1998-12-31T15:59:60.123-08:00", "1963-06-19t08:30:06.283185z",
              "1985-04-12T00:59:59.999999999999999Z", "2021-02-28T00:00:00Z",
              "2020-02-29T00:00:00Z", "0400-02-29T00:00:00Z", "2024-01-01T00:00:00+23:59"},
             true);
  expect_all(is_date_time, {"1998-12-31T23:59:61Z",
                            "1998-12-31T23:58:60Z",
                            "1998-12-31T22:59:60Z",
                            "1990-12-31T24:00:00Z",
                            "1990-12-31T15:60:00Z",
                            "1990-12-31T10:00:00+10:60",
                            "1990-02-31T15:59:59.123-08:00",
                            "1990-12-31T15:59:59-24:00",
                            "1963-06-19T08:30:06.28123+01:00Z",
                            "06/19/1963 08:30:06 PST",
                            "2013-350T01:01:01",
                            "1963-6-19T08:30:06.283185Z",
                            "1963-06-1T08:30:06.283185Z",
                            "1963-06-1\u09EAT00:00:00Z",
                            "1963-06-11T0\u09EA:00:00Z",
                            "+11963-06-19T08:30:06.283185Z",
                            "1985-04-12T23:20:50+01",
                            "2016-12-31T24:59:60+01:00",
                            "1985-04-12T23:20:50Z\n",
                            "1985-04-12T23:20Z",
                            "1985-04-12T23:20:50Ztail",
                            "1985-04-12T23:60:00+00:01",
                            "2020-02-30T00:00:00Z",
                            "2021-02-29T00:00:00Z",
                            "0100-02-29T00:00:00Z",
                            "2100-02-29T00:00:00Z",
                            "2024-01-01 00:00:00Z",
                            "2024-01-01T00:00:00.Z",
                            "2024-01-01T00:00:00",
                            ""},
             false);
}

TEST(Format, Email) {
  expect_all(is_email,
             {"joe.bloggs@example.com", "joe.bloggs@123.24-7-examples.com", "te~st@example.com",
              "~test@example.com", "test~@example.com", "\"joe bloggs\"@example.com",
              "\"joe..bloggs\"@example.com", "\"a\\\"b\"@example.com", "te.s.t@example.com",
              "joe.bloggs@[127.0.0.1]", "joe.bloggs@[IPv6:::1]", "a@b", "user+tag@sub.example.org",
              "x!#$%&'*+/=?^_`{|}~-@example.com"},
             true);
  expect_all(is_email,
             {"2962", ".test@example.com", "test.@example.com", "te..st@example.com",
              "joe.bloggs@invalid=domain.com", "joe.bloggs@[127.0.0.300]", "@example.com", "joe@",
              "joe@-example.com", "joe@example-.com", "joe@exa..mple.com", "jo e@example.com",
              "joe@example.com.", "\"unterminated@example.com", "j\u00F6e@example.com",
              "joe@[IPv6:1::2::3]", "a@b@c"},
             false);
}

TEST(Format, Ipv4) {
  expect_all(is_ipv4, {"192.168.0.1", "87.10.0.1", "0.0.0.0", "255.255.255.255"}, true);
  expect_all(is_ipv4,
             {"127.0.0.0.1", "256.256.256.256", "127.0", "0x7f000001", "2130706433", "087.10.0.1",
              "1\u09E87.0.0.1", "192.168.1.0/24", "1.2.3", "1.2.3.-1", "1.2.3.4.", "1.2.3. 4", "",
              "...", "1..2.3"},
             false);
}

TEST(Format, Ipv6) {
  expect_all(is_ipv6,
             {"::1", "::", "::42:ff:1", "d6::", "1:d6::42", "1::d6:192.168.0.1", "1:2::192.168.0.1",
              "::ffff:192.168.0.1", "1:2:3:4:5:6:7:8",
              "1000:1000:1000:1000:1000:1000:255.255.255.255", "FE80::ABCD", "1::2:3:4:5:6:7"},
             true);
  expect_all(is_ipv6,
             {"12345::",
              "1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1",
              "::laptop",
              ":2:3:4:5:6:7:8",
              "1:2:3:4:5:6:7:",
              ":2:3:4::8",
              "1::d6::42",
              "1::2:192.168.256.1",
              "1::2:192.168.ff.1",
              "1:2:3:4:5:::8",
              "1:2:3:4:5:6:7",
              "1",
              "127.0.0.1",
              "1:2:3:4:1.2.3",
              "  ::1",
              "::1  ",
              "fe80::/64",
              "fe80::a%eth1",
              "100:100:100:100:100:100:255.255.255.255.255",
              "100:100:100:100:100:100:100:255.255.255.255",
              "1:2:3:4:5:6:7:\u09EA",
              "1.2.3.4::",
              "1:2:3:4:5:6:7::8",
              ""},
             false);
}

TEST(Format, Uri) {
  expect_all(is_uri,
             {"http://foo.bar/?baz=qux#quux", "http://foo.com/blah_(wikipedia)_blah#cite-1",
              "http://foo.bar/?q=Test%20URL-encoded%20stuff", "http://xn--nw2a.xn--j6w193g/",
              "http://-.~_!$&'()*+,;=:%40:80%2f::::::@example.com", "http://223.255.255.254",
              "ftp://ftp.is.co.za/rfc/rfc1808.txt", "ldap://[2001:db8::7]/c=GB?objectClass?one",
              "mailto:John.Doe@example.com", "news:comp.infosystems.www.servers.unix",
              "tel:+1-816-555-1212", "urn:oasis:names:specification:docbook:dtd:xml:4.1.2",
              "http://087.10.0.1/", "http://999.999.999.999/", "file:///etc/hosts",
              "https://example.com:8443", "http://[v1.fe80::a+en1]/", "s3:bucket"},
             true);
  expect_all(is_uri,
             {"//foo.bar/?baz=qux#quux",
              "/abc",
              "\\\\WINDOWS\\fileshare",
              "abc",
              "http:// shouldfail.com",
              ":// should fail",
              "bar,baz:foo",
              "https://[@example.org/test.txt",
              "https://example.org/foobar\u00AE.txt",
              "https://example.org/foobar\\.txt",
              "https://example.org/foobar\".txt",
              "https://example.org/foobar<>.txt",
              "https://example.org/foobar{}.txt",
              "https://example.org/foobar^.txt",
              "https://example.org/foobar`.txt",
              "https://example.org/foo bar.txt",
              "https://example.org/foobar|.txt",
              "http://example.com/%6G",
              "http://example.com/%A",
              "http://example.com/%",
              "1http://example.com",
              "ht_tp://example.com",
              "http://example.com:abc/path",
              "http://2001:0db8:85a3:0000:0000:8a2e:0370:7334",
              "http://[::1",
              "http://a#b#c",
              ""},
             false);
}

TEST(Format, UncheckedFormatsAreAnnotations) {
  const auto schema = osbd::schema::Schema::compile({{"properties",
                                                      {{"host", {{"format", "hostname"}}},
                                                       {"day", {{"format", "date"}}},
                                                       {"mail", {{"format", "email"}}}}}});
  EXPECT_TRUE(schema.validate({{"host", "not a host!"}, {"day", "tomorrow"}}).empty());
  const auto violations = schema.validate({{"mail", "nobody"}, {"host", 7}});
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].path, "parameters.mail");
  EXPECT_EQ(violations[0].message, "must be an email address");
}

}  // namespace
