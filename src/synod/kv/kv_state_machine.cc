#include "synod/kv/kv_state_machine.h"

#include "synod/wire/kv.pb.h"

namespace synod {

bool KvStateMachine::is_read(const wire::ClientRequest& request) const {
  return request.has_kv() && !KvMap::is_write(request.kv());
}

wire::ClientReply KvStateMachine::apply(const wire::ClientRequest& request) {
  wire::ClientReply reply;
  if (!request.has_kv()) {
    reply.mutable_rejected()->set_reason("not a key-value command");
    return reply;
  }
  *reply.mutable_kv() = map_.apply(request.kv());
  return reply;
}

wire::ClientReply KvStateMachine::read(const wire::ClientRequest& request) const {
  wire::ClientReply reply;
  *reply.mutable_kv() = map_.get(request.kv().key());
  return reply;
}

std::string KvStateMachine::snapshot() const {
  wire::KvSnapshot snapshot;
  for (const auto& [key, value] : map_.entries()) {
    wire::KvPair* pair = snapshot.add_pairs();
    pair->set_key(key);
    pair->set_value(value);
  }
  return snapshot.SerializeAsString();
}

bool KvStateMachine::restore(std::string_view bytes) {
  wire::KvSnapshot snapshot;
  if (!snapshot.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return false;
  KvMap map;
  for (const wire::KvPair& pair : snapshot.pairs())
    map.put(pair.key(), pair.value());
  map_ = std::move(map);
  return true;
}

}  // namespace synod
