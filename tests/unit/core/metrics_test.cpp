#include "metrics/metrics.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

using osbd::metrics::Gauges;
using osbd::metrics::Histogram;
using osbd::metrics::Metrics;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(Metrics, LabelValuesAreEscaped) {
  EXPECT_EQ(osbd::metrics::escape_label(R"(a"b\c)"
                                        "\n"),
            R"(a\"b\\c\n)");
}

TEST(Metrics, HistogramBucketsAreCumulativeAndEndInTheCount) {
  Metrics m;
  m.count_request("instance", "PUT", 201, 0.0004);  // first bucket
  m.count_request("instance", "PUT", 201, 0.003);   // 0.005
  m.count_request("instance", "PUT", 422, 30);      // beyond the last bound: +Inf only
  const std::string text = m.render({});
  EXPECT_THAT(text, HasSubstr("osbd_http_requests_total{route=\"instance\",method=\"PUT\","
                              "status=\"201\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("osbd_http_requests_total{route=\"instance\",method=\"PUT\","
                              "status=\"422\"} 1\n"));
  const std::string prefix =
      "osbd_http_request_duration_seconds_bucket{route=\"instance\",method=\"PUT\",";
  EXPECT_THAT(text, HasSubstr(prefix + "le=\"0.0005\"} 1\n"));
  EXPECT_THAT(text, HasSubstr(prefix + "le=\"0.0025\"} 1\n"));
  EXPECT_THAT(text, HasSubstr(prefix + "le=\"0.005\"} 2\n"));
  EXPECT_THAT(text, HasSubstr(prefix + "le=\"10\"} 2\n"));
  EXPECT_THAT(text, HasSubstr(prefix + "le=\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("osbd_http_request_duration_seconds_count{route=\"instance\","
                              "method=\"PUT\"} 3\n"));
}

TEST(Metrics, CachedCatalogAnswersAreCountedWithTheOthers) {
  Metrics m;
  m.count_cached_catalog();
  m.count_cached_catalog();
  m.count_request("catalog", "GET", 200, 0.001);
  EXPECT_THAT(m.render({}), HasSubstr("osbd_http_requests_total{route=\"catalog\",method=\"GET\","
                                      "status=\"200\"} 3\n"));
}

TEST(Metrics, PluginCallsOperationsAndGaugesAreRendered) {
  Metrics m;
  m.observe_plugin_call("org.osbd.example", "provision", 0.002, false);
  m.observe_plugin_call("org.osbd.example", "provision", 0.002, true);
  m.observe_plugin_call("org.osbd.example", "bind", 0.002, false);
  m.count_operation_end("provision", "succeeded");
  Gauges g;
  g.instances_per_plan.push_back({"svc", "plan", "example", "small \"s\"", 7});
  g.operations_in_progress["update"] = 2;
  g.plugins_loaded = 1;
  const std::string text = m.render(g);
  EXPECT_THAT(text, HasSubstr("osbd_plugin_call_failures_total{plugin=\"org.osbd.example\","
                              "operation=\"provision\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("osbd_plugin_call_failures_total{plugin=\"org.osbd.example\","
                                  "operation=\"bind\"}")));
  EXPECT_THAT(text, HasSubstr("osbd_plugin_call_duration_seconds_count{plugin="
                              "\"org.osbd.example\",operation=\"provision\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("osbd_operations_total{kind=\"provision\",state=\"succeeded\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("osbd_instances{service_id=\"svc\",plan_id=\"plan\","
                              "service=\"example\",plan=\"small \\\"s\\\"\"} 7\n"));
  EXPECT_THAT(text, HasSubstr("osbd_operations_in_progress{kind=\"update\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE osbd_plugins_loaded gauge\nosbd_plugins_loaded 1\n"));
}

}  // namespace
