#pragma once

#include <grpcpp/grpcpp.h>

#include <deque>
#include <mutex>

namespace synod::api {

// The writing side of one server stream: responses queue here from the
// member's loop and go out one write at a time from gRPC's threads. Once
// the stream is done, writes are dropped. Bounded: a client that stops
// reading is cut off rather than allowed to grow the queue without end.
template <typename Response>
class StreamSink {
 public:
  // Responses queued for one stream, at most.
  static constexpr size_t kMaxQueued = 16'384;

  using Start = std::function<void(const Response*)>;    // reactor->StartWrite
  using End = std::function<void(const grpc::Status&)>;  // reactor->Finish

  StreamSink(Start start, End end) : start_(std::move(start)), end_(std::move(end)) {}

  // Any thread.
  void send(Response response) {
    std::lock_guard lock(mu_);
    if (done_ || finishing_) return;
    if (queue_.size() >= kMaxQueued) {
      while (queue_.size() > 1)
        queue_.pop_back();  // keep only the write under way
      finish_locked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "etcdserver: the client reads too slowly; stream closed"));
      return;
    }
    queue_.push_back(std::move(response));
    if (queue_.size() == 1) start_(&queue_.front());
  }

  // From OnWriteDone.
  void written() {
    std::lock_guard lock(mu_);
    if (!queue_.empty()) queue_.pop_front();
    if (done_) return;
    if (!queue_.empty()) {
      start_(&queue_.front());
    } else if (finishing_ && !finished_) {
      finished_ = true;
      end_(status_);
    }
  }

  // Ends the stream once what is queued has gone out.
  void finish(grpc::Status status) {
    std::lock_guard lock(mu_);
    finish_locked(std::move(status));
  }

  // From OnDone: nothing more may touch the reactor.
  void done() {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  bool is_done() {
    std::lock_guard lock(mu_);
    return done_ || finishing_;
  }
  // Responses waiting to go out, the one under way included.
  size_t queued() {
    std::lock_guard lock(mu_);
    return queue_.size();
  }

 private:
  void finish_locked(grpc::Status status) {
    if (done_ || finishing_) return;
    finishing_ = true;
    status_ = std::move(status);
    if (queue_.empty()) {
      finished_ = true;
      end_(status_);
    }
  }

  std::mutex mu_;
  std::deque<Response> queue_;  // front: the write under way
  Start start_;
  End end_;
  grpc::Status status_;
  bool finishing_ = false, finished_ = false, done_ = false;
};

}  // namespace synod::api
