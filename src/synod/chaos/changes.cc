#include "synod/chaos/changes.h"

#include "synod/wire/etcd_rpc.grpc.pb.h"

namespace synod::chaos {

std::optional<std::vector<check::WatchEvent>> read_changes(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& prefix,
    const std::string& prefix_end, int64_t from, int64_t until, std::chrono::milliseconds timeout) {
  std::vector<check::WatchEvent> out;
  if (until < from) return out;
  auto ctx = context_with_timeout(timeout);
  auto stream = etcdserverpb::Watch::NewStub(channel)->Watch(ctx.get());
  etcdserverpb::WatchRequest create;
  create.mutable_create_request()->set_key(prefix);
  create.mutable_create_request()->set_range_end(prefix_end);
  create.mutable_create_request()->set_start_revision(from);
  if (!stream->Write(create)) return std::nullopt;
  etcdserverpb::WatchResponse response;
  bool reached = false;
  while (!reached && stream->Read(&response)) {
    if (response.canceled()) break;
    for (const auto& e : response.events()) {
      bool del = e.type() == mvccpb::Event::DELETE;
      out.push_back({.revision = e.kv().mod_revision(),
                     .key = e.kv().key(),
                     .value = del ? "" : e.kv().value(),
                     .is_delete = del});
      reached = reached || e.kv().mod_revision() >= until;
    }
  }
  ctx->TryCancel();
  stream->Finish().IgnoreError();
  if (!reached) return std::nullopt;
  return out;
}

std::optional<PrefixState> prefix_state(const std::shared_ptr<grpc::Channel>& channel,
                                        const std::string& prefix, const std::string& prefix_end,
                                        std::chrono::milliseconds timeout) {
  etcdserverpb::RangeRequest request;
  request.set_key(prefix);
  request.set_range_end(prefix_end);
  request.set_keys_only(true);
  etcdserverpb::RangeResponse response;
  auto ctx = context_with_timeout(timeout);
  if (!etcdserverpb::KV::NewStub(channel)->Range(ctx.get(), request, &response).ok())
    return std::nullopt;
  PrefixState s{.revision = response.header().revision()};
  for (const auto& kv : response.kvs())
    s.last_change = std::max(s.last_change, kv.mod_revision());
  return s;
}

}  // namespace synod::chaos
