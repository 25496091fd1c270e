// The gRPC floor: what etcd's KV Put costs through gRPC alone on this
// machine, with no store, no log and no disk. Runs N etcd KV servers (in
// one process) that answer every Put after a fixed delay, standing in for
// consensus. `synod bench` against them shows the throughput and CPU that
// the client and gRPC take at that latency, before any replication work:
// an upper bound for any store served over gRPC on the same cores.
//
//   grpc_floor [--servers N] [--delay-us D]
// Prints one "127.0.0.1:PORT" line per server (free ports, loopback), then
// serves until killed.

#include <grpcpp/grpcpp.h>

#include <asio.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "synod/wire/etcd_rpc.grpc.pb.h"

namespace {

// Answers Put on one Asio thread, as a member's loop answers: after
// `delay`, or at once when it is zero.
class FloorKv final : public etcdserverpb::KV::CallbackService {
 public:
  FloorKv(asio::io_context& loop, std::chrono::microseconds delay) : loop_(loop), delay_(delay) {}

  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* ctx, const etcdserverpb::PutRequest*,
                                etcdserverpb::PutResponse* response) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    asio::post(loop_, [this, reactor, response] {
      auto answer = [reactor, response] {
        response->mutable_header()->set_revision(1);
        reactor->Finish(grpc::Status::OK);
      };
      if (delay_.count() == 0) return answer();
      auto timer = std::make_shared<asio::steady_timer>(loop_, delay_);
      timer->async_wait([timer, answer](asio::error_code) { answer(); });
    });
    return reactor;
  }

 private:
  asio::io_context& loop_;
  std::chrono::microseconds delay_;
};

int usage() {
  std::fprintf(stderr, "usage: grpc_floor [--servers N (1..16)] [--delay-us D (0..1000000)]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  long servers = 3;
  long delay_us = 0;
  for (int i = 1; i < argc; ++i) {
    if (i + 1 >= argc) return usage();
    char* end = nullptr;
    long value = std::strtol(argv[i + 1], &end, 10);
    if (*end != '\0') return usage();
    if (std::strcmp(argv[i], "--servers") == 0) {
      servers = value;
    } else if (std::strcmp(argv[i], "--delay-us") == 0) {
      delay_us = value;
    } else {
      return usage();
    }
    ++i;
  }
  if (servers < 1 || servers > 16 || delay_us < 0 || delay_us > 1'000'000) return usage();

  asio::io_context loop(1);
  auto keep_running = asio::make_work_guard(loop);
  std::thread loop_thread([&loop] { loop.run(); });
  std::vector<std::unique_ptr<FloorKv>> services;
  std::vector<std::unique_ptr<grpc::Server>> running;
  for (long i = 0; i < servers; ++i) {
    services.push_back(std::make_unique<FloorKv>(loop, std::chrono::microseconds(delay_us)));
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(services.back().get());
    running.push_back(builder.BuildAndStart());
    if (!running.back() || port == 0) {
      std::fprintf(stderr, "grpc_floor: could not listen on 127.0.0.1\n");
      return 1;
    }
    std::printf("127.0.0.1:%d\n", port);
  }
  std::fflush(stdout);
  running.front()->Wait();  // until killed
  loop.stop();
  loop_thread.join();
}
