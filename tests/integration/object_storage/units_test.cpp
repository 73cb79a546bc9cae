// Unit tests of the object storage plugin's pure parts: the SigV4 signer against AWS's published
// examples, URI encoding, names, bucket policies, error bodies, endpoints and configuration.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <osb/plugins/codec.hpp>
#include <osb/plugins/uri.hpp>
#include <osb/sdk/errors.hpp>

#include "bucket_policy.hpp"
#include "catalog.hpp"
#include "config_checks.hpp"
#include "http_transport.hpp"
#include "names.hpp"
#include "s3_errors.hpp"
#include "settings.hpp"
#include "sigv4.hpp"
#include "uri_encoding.hpp"

namespace osbd_object_storage {
namespace {

using osb::plugins::percent_encode;
using osb::plugins::sha256_hex;
using osb::plugins::to_hex;

// --- SigV4: AWS's published examples ------------------------------------------------------------
//
// The IAM ListUsers example of the AWS General Reference, "Signature Version 4 signing process"
// (Create a canonical request / Create a string to sign / Calculate the signature; pages
// sigv4-create-canonical-request.html, sigv4-calculate-signature.html): access key AKIDEXAMPLE,
// secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 2015-08-30 12:36:00 UTC, us-east-1, iam.
TEST(SigV4, AwsIamListUsersExample) {
  SigningInput input;
  input.method = "GET";
  input.canonical_uri = "/";
  input.query = {{"Version", "2010-05-08"}, {"Action", "ListUsers"}};
  input.headers = {{"Host", "iam.amazonaws.com"},
                   {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                   {"X-Amz-Date", "20150830T123600Z"}};
  input.payload_hash = sha256_hex("");
  EXPECT_EQ(input.payload_hash, empty_payload_sha256);

  const SignatureParts parts =
      sign_v4(input, {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}, "us-east-1",
              "iam", "20150830T123600Z");
  EXPECT_EQ(parts.canonical_request,
            "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
            "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
            "host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "content-type;host;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex(parts.canonical_request),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  EXPECT_EQ(parts.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  EXPECT_EQ(to_hex(signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1",
                               "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
  EXPECT_EQ(parts.signature, "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
  EXPECT_EQ(parts.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

// The S3 examples of the Amazon S3 API Reference, "Signature Calculations for the Authorization
// Header: Transferring Payload in a Single Chunk (AWS Signature Version 4)"
// (sig-v4-header-based-auth.html): access key AKIAIOSFODNN7EXAMPLE, secret
// wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, bucket examplebucket, 2013-05-24 00:00:00 UTC.
const Credentials s3_example_key{"AKIAIOSFODNN7EXAMPLE",
                                 "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"};

SigningInput s3_example(const std::string& method, const std::string& path,
                        std::vector<QueryParam> query, const std::string& payload_hash) {
  SigningInput input;
  input.method = method;
  input.canonical_uri = path;
  input.query = std::move(query);
  input.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                   {"x-amz-date", "20130524T000000Z"},
                   {"x-amz-content-sha256", payload_hash}};
  input.payload_hash = payload_hash;
  return input;
}

// Example "GET Object": the first 10 bytes of test.txt (Range header).
TEST(SigV4, AwsS3GetObjectWithRangeExample) {
  SigningInput input = s3_example("GET", "/test.txt", {}, std::string(empty_payload_sha256));
  input.headers.emplace_back("Range", "bytes=0-9");
  const SignatureParts parts =
      sign_v4(input, s3_example_key, "us-east-1", "s3", "20130524T000000Z");
  EXPECT_EQ(parts.canonical_request,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(parts.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(parts.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
            "aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

// Example "PUT Object": a key with '$' (URI-encoded), a Date and a storage class header.
TEST(SigV4, AwsS3PutObjectExample) {
  const std::string body = "Welcome to Amazon S3.";
  EXPECT_EQ(sha256_hex(body), "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  SigningInput input =
      s3_example("PUT", "/" + percent_encode("test$file.text", "/"), {}, sha256_hex(body));
  EXPECT_EQ(input.canonical_uri, "/test%24file.text");
  input.headers.emplace_back("Date", "Fri, 24 May 2013 00:00:00 GMT");
  input.headers.emplace_back("x-amz-storage-class", "REDUCED_REDUNDANCY");
  const SignatureParts parts =
      sign_v4(input, s3_example_key, "us-east-1", "s3", "20130524T000000Z");
  EXPECT_EQ(parts.signed_headers, "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class");
  EXPECT_EQ(parts.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

// Example "GET Bucket Lifecycle": a sub-resource without a value ("?lifecycle").
TEST(SigV4, AwsS3GetBucketLifecycleExample) {
  const SigningInput input =
      s3_example("GET", "/", {{"lifecycle", ""}}, std::string(empty_payload_sha256));
  const SignatureParts parts =
      sign_v4(input, s3_example_key, "us-east-1", "s3", "20130524T000000Z");
  EXPECT_NE(parts.canonical_request.find("\n/\nlifecycle=\n"), std::string::npos);
  EXPECT_EQ(parts.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

// Example "Get Bucket (List Objects)": query parameters sorted by name.
TEST(SigV4, AwsS3ListObjectsExample) {
  const SigningInput input = s3_example("GET", "/", {{"prefix", "J"}, {"max-keys", "2"}},
                                        std::string(empty_payload_sha256));
  const SignatureParts parts =
      sign_v4(input, s3_example_key, "us-east-1", "s3", "20130524T000000Z");
  EXPECT_NE(parts.canonical_request.find("\n/\nmax-keys=2&prefix=J\n"), std::string::npos);
  EXPECT_EQ(parts.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, NoPartOfTheSignatureHoldsTheSecret) {
  const std::string secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  const SigningInput input = s3_example("GET", "/x", {}, std::string(empty_payload_sha256));
  const SignatureParts parts =
      sign_v4(input, s3_example_key, "us-east-1", "s3", "20130524T000000Z");
  for (const std::string& text :
       {parts.canonical_request, parts.string_to_sign, parts.credential_scope, parts.signed_headers,
        parts.signature, parts.authorization}) {
    EXPECT_EQ(text.find(secret), std::string::npos);
  }
}

TEST(SigV4, HeadersAreTrimmedCollapsedAndJoined) {
  SigningInput input;
  input.method = "GET";
  input.canonical_uri = "/";
  input.headers = {{"My-Header", "  a   b  c "}, {"my-header", "second"}, {"Host", "h"}};
  input.payload_hash = std::string(empty_payload_sha256);
  std::string names;
  const std::string text = canonical_request(input, &names);
  EXPECT_NE(text.find("my-header:a b c,second\n"), std::string::npos) << text;
  EXPECT_EQ(names, "host;my-header");
}

TEST(SigV4, AmzDateIsUtcBasicFormat) {
  EXPECT_EQ(amz_date(std::chrono::system_clock::from_time_t(1369353600)), "20130524T000000Z");
}

// --- URI encoding
// ---------------------------------------------------------------------------------

TEST(UriEncoding, FollowsSigV4Rules) {
  EXPECT_EQ(percent_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(percent_encode("a b+c=d/e"), "a%20b%2Bc%3Dd%2Fe");
  EXPECT_EQ(percent_encode("dir/a b", "/"), "dir/a%20b");
  EXPECT_EQ(percent_encode("\xc3\xa9"), "%C3%A9");
  EXPECT_EQ(canonical_query({{"b", "2"}, {"a", ""}, {"a b", "x y"}}), "a=&a%20b=x%20y&b=2");
  EXPECT_EQ(wire_query({{"policy", ""}, {"uid", "a b"}}), "policy&uid=a%20b");
}

// --- names
// ----------------------------------------------------------------------------------------

TEST(Names, BucketNamesAreValidated) {
  for (const char* good : {"abc", "osb-0123456789abcdef01234567", "a.b-c", "a1"}) {
    if (std::string(good).size() >= 3) {
      EXPECT_TRUE(is_valid_bucket_name(good)) << good;
    }
  }
  for (const char* bad : {"ab", "Abc", "-abc", "abc-", "a..b", "a.-b", "a-.b", "192.168.1.1",
                          "xn--abc", "abc-s3alias", "a_b", "a b", "../x", "abc/def"}) {
    EXPECT_FALSE(is_valid_bucket_name(bad)) << bad;
  }
  EXPECT_FALSE(is_valid_bucket_name(std::string(64, 'a')));
  EXPECT_TRUE(is_valid_bucket_name(std::string(63, 'a')));
}

TEST(Names, DerivedFromHashesNeverFromIds) {
  const std::string hostile = "../../x'; DROP\n\xff" + std::string(300, 'A');
  const InstanceNames names = InstanceNames::of("osb-", hostile);
  EXPECT_TRUE(is_valid_bucket_name(names.bucket)) << names.bucket;
  EXPECT_EQ(names.bucket.size(), 4u + 24u);
  EXPECT_EQ(names.owner, names.bucket);
  EXPECT_EQ(names.binding_user(hostile).rfind(names.binding_prefix(), 0), 0u);
  EXPECT_EQ(names.binding_user(hostile).size(), names.binding_prefix().size() + 16);
  EXPECT_NE(InstanceNames::of("osb-", "a").bucket, InstanceNames::of("osb-", "b").bucket);
  EXPECT_EQ(InstanceNames::of("osb-", "a").bucket, InstanceNames::of("osb-", "a").bucket);
  EXPECT_TRUE(is_valid_name_prefix("osb-"));
  EXPECT_FALSE(is_valid_name_prefix("-x"));
  EXPECT_FALSE(is_valid_name_prefix("OSB"));
  EXPECT_FALSE(is_valid_name_prefix(std::string(17, 'a')));
}

// --- bucket policies
// ------------------------------------------------------------------------------

TEST(BucketPolicy, RendersGrantsAndParsesThemBack) {
  PolicyGrants grants;
  EXPECT_FALSE(grants.render("b").has_value());
  grants.grants["arn:aws:iam:::user/rw"] = Access::read_write;
  grants.grants["arn:aws:iam:::user/ro"] = Access::read_only;
  const std::string text = *grants.render("bucket-1");
  const nlohmann::json policy = nlohmann::json::parse(text);
  ASSERT_EQ(policy["Statement"].size(), 2u);
  EXPECT_EQ(policy["Statement"][0]["Resource"][1], "arn:aws:s3:::bucket-1/*");
  const nlohmann::json read_only = policy["Statement"][1]["Action"];
  EXPECT_EQ(read_only, nlohmann::json({"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"}));
  const PolicyGrants back = PolicyGrants::parse(text);
  EXPECT_EQ(back.grants, grants.grants);
  EXPECT_TRUE(back.other.empty());
}

TEST(BucketPolicy, KeepsForeignStatementsAndSinglePrincipals) {
  const std::string text = R"({"Version":"2012-10-17","Statement":[
    {"Sid":"operator","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"},
    {"Sid":"osbdReadOnly","Effect":"Allow","Principal":{"AWS":"arn:aws:iam:::user/x"},
     "Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b"]}]})";
  const PolicyGrants grants = PolicyGrants::parse(text);
  EXPECT_EQ(grants.grants.at("arn:aws:iam:::user/x"), Access::read_only);
  ASSERT_EQ(grants.other.size(), 1u);
  const nlohmann::json rendered = nlohmann::json::parse(*grants.render("b"));
  EXPECT_EQ(rendered["Statement"].back()["Sid"], "operator");
  EXPECT_THROW(PolicyGrants::parse("[1]"), std::invalid_argument);
  EXPECT_TRUE(PolicyGrants::parse("").grants.empty());
}

TEST(BucketPolicy, AccessNames) {
  EXPECT_EQ(access_from_string("read-only"), Access::read_only);
  EXPECT_EQ(access_from_string("read-write"), Access::read_write);
  EXPECT_FALSE(access_from_string("admin").has_value());
  EXPECT_STREQ(to_string(Access::read_only), "read-only");
}

// --- error bodies
// ---------------------------------------------------------------------------------

TEST(ServerErrors, ParsesS3XmlAndAdminJson) {
  const ServerError xml =
      parse_server_error(R"(<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code>)"
                         R"(<Message>a &amp; b</Message><BucketName>x</BucketName></Error>)");
  EXPECT_EQ(xml.code, "NoSuchBucket");
  EXPECT_EQ(xml.message, "a & b");
  const ServerError json = parse_server_error(R"({"Code":"NoSuchUser","Message":""})");
  EXPECT_EQ(json.code, "NoSuchUser");
  EXPECT_EQ(parse_server_error("").code, "");
  EXPECT_EQ(parse_server_error("<html>oops</html>").code, "");
  EXPECT_EQ(parse_server_error("{broken").code, "");
  const ServerError long_text =
      parse_server_error("<Error><Code>" + std::string(1000, 'x') + "</Code></Error>");
  EXPECT_EQ(long_text.code.size(), 200u);
}

// --- endpoints
// ------------------------------------------------------------------------------------

TEST(Endpoints, ParsesHttpAndHttps) {
  auto a = Endpoint::parse("http://127.0.0.1:27480");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->tls);
  EXPECT_EQ(a->port, 27480);
  EXPECT_EQ(a->host_header(), "127.0.0.1:27480");
  auto b = Endpoint::parse("https://s3.example.com/");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->tls);
  EXPECT_EQ(b->port, 443);
  EXPECT_EQ(b->host_header(), "s3.example.com");
  auto c = Endpoint::parse("http://[::1]:8080");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->host_header(), "[::1]:8080");
  for (const char* bad : {"ftp://x", "http://", "http://x:0", "http://x:70000", "http://x/path",
                          "http://u:p@x", "http://x:port", "s3.example.com", "http://a b"}) {
    std::string why;
    EXPECT_FALSE(Endpoint::parse(bad, &why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

TEST(Endpoints, UnreachableServerIsATransportError) {
  // Port 1 on loopback: nothing listens there.
  const HttpClient client(*Endpoint::parse("http://127.0.0.1:1"), {}, std::chrono::seconds(2));
  EXPECT_THROW(client.send({"GET", "/", {}, ""}), TransportError);
}

// --- configuration
// --------------------------------------------------------------------------------

nlohmann::json minimal_config() {
  return {{"endpoint", "http://127.0.0.1:27480"},
          {"admin_access_key", "AK"},
          {"admin_secret_key", "SK"},
          {"services",
           {{{"id", "s-1"},
             {"name", "s3"},
             {"description", "d"},
             {"plans", {{{"id", "p-1"}, {"name", "small"}, {"description", "d"}}}}}}}};
}

std::string config_error(const nlohmann::json& config) {
  return osbd_plugin_test::config_error<Settings>(config);
}

TEST(Configuration, ReadsEveryKey) {
  nlohmann::json config = minimal_config();
  config["region"] = "eu-1";
  config["public_endpoint"] = "https://s3.example.com";
  config["name_prefix"] = "shop-";
  config["services"][0]["plans"][0]["max_size_mb"] = 100;
  config["services"][0]["plans"][0]["max_objects"] = 1000;
  config["services"][0]["plans"][0]["delete_non_empty"] = false;
  const Settings settings = Settings::from_json(config);
  EXPECT_EQ(settings.region, "eu-1");
  EXPECT_EQ(settings.public_endpoint, "https://s3.example.com");
  const PlanSettings& plan = settings.services[0].plans[0];
  EXPECT_EQ(plan.quota().max_bytes, 100LL * 1024 * 1024);
  EXPECT_EQ(plan.quota().max_objects, 1000);
  EXPECT_FALSE(plan.delete_non_empty);
  EXPECT_FALSE(Settings::from_json(minimal_config()).services[0].plans[0].quota().enabled());
  EXPECT_TRUE(Settings::from_json(nlohmann::json::object()).services.empty());
}

TEST(Configuration, BadConfigurationNamesTheKey) {
  auto with = [](const char* key, nlohmann::json value) {
    nlohmann::json config = minimal_config();
    config[key] = std::move(value);
    return config;
  };
  EXPECT_EQ(config_error(with("endpoint", "ftp://x")).rfind("endpoint:", 0), 0u);
  EXPECT_EQ(config_error(with("public_endpoint", "nope")).rfind("public_endpoint:", 0), 0u);
  EXPECT_EQ(config_error(with("region", "US EAST")).rfind("region:", 0), 0u);
  EXPECT_EQ(config_error(with("name_prefix", "Bad_")).rfind("name_prefix:", 0), 0u);
  EXPECT_EQ(config_error(with("timeout_seconds", 0)).rfind("timeout_seconds:", 0), 0u);
  EXPECT_EQ(config_error(with("endpiont", "x")).rfind("endpiont:", 0), 0u);
  nlohmann::json no_secret = minimal_config();
  no_secret.erase("admin_secret_key");
  EXPECT_EQ(config_error(no_secret).rfind("admin_secret_key:", 0), 0u);
  nlohmann::json missing_file = minimal_config();
  missing_file.erase("admin_secret_key");
  missing_file["admin_secret_key_file"] = "/nonexistent/secret";
  EXPECT_EQ(config_error(missing_file).rfind("admin_secret_key_file:", 0), 0u);
  nlohmann::json bad_quota = minimal_config();
  bad_quota["services"][0]["plans"][0]["max_size_mb"] = -1;
  EXPECT_EQ(config_error(bad_quota).rfind("services[0].plans[0].max_size_mb:", 0), 0u)
      << config_error(bad_quota);
  nlohmann::json unknown_plan_key = minimal_config();
  unknown_plan_key["services"][0]["plans"][0]["quota"] = 1;
  EXPECT_EQ(config_error(unknown_plan_key).rfind("services[0].plans[0].quota:", 0), 0u);
  nlohmann::json twice = minimal_config();
  twice["services"][0]["plans"].push_back(twice["services"][0]["plans"][0]);
  EXPECT_EQ(config_error(twice).rfind("services[0].plans[1].name:", 0), 0u);
  // No message carries the secret.
  EXPECT_EQ(config_error(with("endpoint", "ftp://x")).find("SK"), std::string::npos);
}

TEST(Catalog, PlansCarryParameterSchemas) {
  const nlohmann::json catalog = make_catalog(Settings::from_json(minimal_config()));
  const nlohmann::json plan = catalog["services"][0]["plans"][0];
  EXPECT_EQ(
      plan["schemas"]["service_binding"]["create"]["parameters"]["properties"]["access"]["enum"],
      nlohmann::json({"read-write", "read-only"}));
  EXPECT_EQ(plan["schemas"]["service_instance"]["create"]["parameters"]["additionalProperties"],
            false);
}

}  // namespace
}  // namespace osbd_object_storage
