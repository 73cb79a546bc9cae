// Shutdown drain: after stop(), http::Server calls its on_drained() function once, when its last
// connection closes; a request in flight gets its answer first.

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "http/server.hpp"

namespace osbd::http {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// Keeps each request's reply for the test to send.
class HeldHandler : public Handler {
 public:
  void handle(Request&& request, Reply reply) override {
    (void)request;
    replies_.set_value(std::move(reply));
  }
  Response too_large(unsigned version, std::size_t limit) override {
    (void)limit;
    return error_response(version, boost::beast::http::status::payload_too_large, "TooLarge", "");
  }
  std::future<Reply> next_reply() { return replies_.get_future(); }

 private:
  std::promise<Reply> replies_;
};

class DrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    contexts_.push_back(std::make_unique<net::io_context>(1));
    server_ = std::make_shared<Server>(
        contexts_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0), handler_, ServerOptions{});
    server_->start();
    guard_.emplace(net::make_work_guard(*contexts_.front()));
    io_ = std::thread([this] { contexts_.front()->run(); });
  }
  void TearDown() override {
    guard_.reset();
    contexts_.front()->stop();
    io_.join();
  }
  // Registers the drain notification; the future is ready once it was called.
  std::future<void> watch_drain() {
    auto drained = std::make_shared<std::promise<void>>();
    auto future = drained->get_future();
    server_->on_drained([drained] { drained->set_value(); });
    return future;
  }

  HeldHandler handler_;
  IoContexts contexts_;
  std::shared_ptr<Server> server_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> guard_;
  std::thread io_;
};

TEST_F(DrainTest, WithoutConnectionsDrainsAtStop) {
  auto drained = watch_drain();
  EXPECT_EQ(drained.wait_for(50ms), std::future_status::timeout);  // not before stop()
  server_->stop();
  EXPECT_EQ(drained.wait_for(5s), std::future_status::ready);
}

TEST_F(DrainTest, RegisteredAfterStopStillCalled) {
  server_->stop();
  auto drained = watch_drain();
  EXPECT_EQ(drained.wait_for(5s), std::future_status::ready);
}

TEST_F(DrainTest, WaitsForTheRequestInFlight) {
  auto reply = handler_.next_reply();
  net::io_context client_context;
  tcp::socket client(client_context);
  client.connect(server_->local_endpoint());
  const std::string request = "GET /slow HTTP/1.1\r\nHost: test\r\n\r\n";
  net::write(client, net::buffer(request));
  ASSERT_EQ(reply.wait_for(5s), std::future_status::ready);

  server_->stop();
  auto drained = watch_drain();
  EXPECT_EQ(drained.wait_for(100ms), std::future_status::timeout);
  EXPECT_EQ(server_->open_sessions(), 1u);

  Response response{boost::beast::http::status::ok, 11};
  response.body() = "done";
  reply.get()(std::move(response));
  std::string answer;
  boost::system::error_code ec;
  net::read(client, net::dynamic_buffer(answer), ec);  // to the close
  EXPECT_NE(answer.find("200 OK"), std::string::npos) << answer;
  EXPECT_NE(answer.find("done"), std::string::npos) << answer;
  EXPECT_EQ(drained.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(server_->open_sessions(), 0u);
}

}  // namespace
}  // namespace osbd::http
