#include "synod/net/http_server.h"

#include <gtest/gtest.h>

#include <asio/connect.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <string>
#include <thread>

namespace synod::net {
namespace {

using asio::ip::tcp;

HttpServer::Response serve(std::string_view path) {
  if (path == "/metrics") return {200, "text/plain; version=0.0.4", "m 1\n"};
  if (path == "/health") return {200, "text/plain", "ok\n"};
  return {404, "text/plain", "no such page\n"};
}

// A server on 127.0.0.1:0 with its io_context on its own thread; the test
// talks to it with plain blocking sockets.
class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = HttpServer::listen(io_, {asio::ip::make_address("127.0.0.1"), 0}, serve);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ASSERT_NE(server_->local_endpoint().port(), 0);
    loop_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (server_) server_->stop();  // from this thread: dispatched to the loop
    if (loop_.joinable()) loop_.join();
  }

  tcp::socket connect() {
    tcp::socket s(client_io_);
    s.connect(server_->local_endpoint());
    return s;
  }

  // Reads until the server closes.
  static std::string read_all(tcp::socket& s) {
    std::string reply;
    std::error_code ec;
    asio::read(s, asio::dynamic_buffer(reply), ec);
    EXPECT_EQ(ec, asio::error::eof);
    return reply;
  }

  std::string exchange(std::string_view request) {
    tcp::socket s = connect();
    asio::write(s, asio::buffer(request));
    return read_all(s);
  }

  static std::string status_line(const std::string& reply) {
    return reply.substr(0, reply.find("\r\n"));
  }

  void expect_metrics_served() {
    EXPECT_EQ(exchange("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
              "HTTP/1.1 200 OK\r\n"
              "Content-Type: text/plain; version=0.0.4\r\n"
              "Content-Length: 4\r\n"
              "Connection: close\r\n"
              "\r\n"
              "m 1\n");
  }

  asio::io_context io_;
  asio::io_context client_io_;  // never run: the client side only blocks
  std::unique_ptr<HttpServer> server_;
  std::thread loop_;
};

TEST_F(HttpServerTest, ServesTheHandlersBody) {
  expect_metrics_served();
  EXPECT_EQ(exchange("GET /health?verbose=1 HTTP/1.0\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
            "Connection: close\r\n\r\nok\n");
  EXPECT_EQ(status_line(exchange("GET /nope HTTP/1.1\r\n\r\n")), "HTTP/1.1 404 Not Found");
}

TEST_F(HttpServerTest, GarbageGets400AndTheServerCarriesOn) {
  constexpr char kGarbage[] = "\x00\xff\x13 nonsense \x7f\r\nmore: \x01\r\n\r\n";
  std::string garbage(kGarbage, sizeof kGarbage - 1);  // keeps the NUL
  EXPECT_EQ(status_line(exchange(garbage)), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(status_line(exchange("GET\r\n\r\n")), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(status_line(exchange("GET metrics HTTP/1.1\r\n\r\n")), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(status_line(exchange("GET /metrics HTTP/9\r\n\r\n")), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(status_line(exchange("GET /metrics HTTP/1.1\r\nno colon\r\n\r\n")),
            "HTTP/1.1 400 Bad Request");
  expect_metrics_served();
}

TEST_F(HttpServerTest, HeadCutShortBySenderGets400) {
  tcp::socket s = connect();
  asio::write(s, asio::buffer(std::string_view("GET /metr")));
  s.shutdown(tcp::socket::shutdown_send);
  EXPECT_EQ(status_line(read_all(s)), "HTTP/1.1 400 Bad Request");
  expect_metrics_served();
}

TEST_F(HttpServerTest, OversizedHeadGets400) {
  std::string request =
      "GET /metrics HTTP/1.1\r\nX-Pad: " + std::string(kMaxHttpHeadBytes, 'a') + "\r\n\r\n";
  EXPECT_EQ(status_line(exchange(request)), "HTTP/1.1 400 Bad Request");
  expect_metrics_served();
}

TEST_F(HttpServerTest, PostGets405) {
  std::string reply = exchange("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(status_line(reply), "HTTP/1.1 405 Method Not Allowed");
  EXPECT_NE(reply.find("\r\nAllow: GET\r\n"), std::string::npos);
  expect_metrics_served();
}

TEST_F(HttpServerTest, StopClosesIdleConnections) {
  tcp::socket idle = connect();
  // Accepts are in order, so once this is answered the idle one is accepted.
  expect_metrics_served();
  server_->stop();
  loop_.join();  // returns only once nothing is pending, the idle connection included
  EXPECT_EQ(read_all(idle), "");
}

TEST(HttpServer, PortInUseIsAStatusNamingTheAddress) {
  asio::io_context io;
  auto first = HttpServer::listen(io, {asio::ip::make_address("127.0.0.1"), 0}, serve);
  ASSERT_TRUE(first.ok()) << first.status();
  tcp::endpoint taken = (*first)->local_endpoint();
  auto second = HttpServer::listen(io, taken, serve);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("127.0.0.1:" + std::to_string(taken.port())),
            std::string::npos)
      << second.status();
}

}  // namespace
}  // namespace synod::net
