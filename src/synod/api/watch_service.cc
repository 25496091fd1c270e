#include "synod/api/services.h"
#include "synod/api/watch_hub.h"

namespace synod::api {
namespace {

// One Watch stream: create, cancel and progress requests in, events out.
// The watches themselves live in the member's WatchHub, on the loop.
class WatchStream final
    : public grpc::ServerBidiReactor<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse> {
 public:
  explicit WatchStream(EtcdApi& api)
      : api_(api),
        sink_(std::make_shared<WatchSink>(
            [this](const etcdserverpb::WatchResponse* r) { StartWrite(r); },
            [this](const grpc::Status& s) { Finish(s); })) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return sink_->finish(grpc::Status::OK);
    auto sink = sink_;
    switch (request_.request_union_case()) {
      case etcdserverpb::WatchRequest::kCreateRequest:
        // Ids are this stream's: the client's if it chose one, else the hub
        // picks one no watch of the stream holds. The stream may be gone by
        // the time the loop gets to it: hold the sink and the api, never
        // `this`.
        api_.on_loop([&api = api_, sink, create = request_.create_request()] {
          api.watches().create(sink, create);
        });
        break;
      case etcdserverpb::WatchRequest::kCancelRequest:
        api_.on_loop([&api = api_, sink, id = request_.cancel_request().watch_id()] {
          api.watches().cancel(sink, id);
        });
        break;
      case etcdserverpb::WatchRequest::kProgressRequest:
        api_.on_loop([&api = api_, sink] { api.watches().progress(sink); });
        break;
      case etcdserverpb::WatchRequest::REQUEST_UNION_NOT_SET:
        break;
    }
    StartRead(&request_);
  }

  void OnWriteDone(bool) override { sink_->written(); }

  void OnDone() override {
    sink_->done();
    api_.on_loop([&api = api_, raw = sink_.get(), keep = sink_] { api.watches().drop(raw); });
    delete this;
  }

 private:
  EtcdApi& api_;
  etcdserverpb::WatchRequest request_;
  std::shared_ptr<WatchSink> sink_;
};

class WatchService final : public etcdserverpb::Watch::CallbackService {
 public:
  explicit WatchService(EtcdApi& api) : api_(api) {}
  grpc::ServerBidiReactor<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>* Watch(
      grpc::CallbackServerContext*) override {
    return new WatchStream(api_);
  }

 private:
  EtcdApi& api_;
};

}  // namespace

std::unique_ptr<grpc::Service> watch_service(EtcdApi& api) {
  return std::make_unique<WatchService>(api);
}

}  // namespace synod::api
