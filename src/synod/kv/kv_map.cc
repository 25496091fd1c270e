#include "synod/kv/kv_map.h"

namespace synod {

wire::KvResult KvMap::get(const std::string& key) const {
  wire::KvResult result;
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    result.set_found(true);
    result.set_value(it->second);
  }
  return result;
}

wire::KvResult KvMap::apply(const wire::KvOp& op) {
  wire::KvResult result;
  auto it = entries_.find(op.key());
  switch (op.kind()) {
    case wire::KvOp::GET:
      return get(op.key());
    case wire::KvOp::PUT:
      entries_[op.key()] = op.value();
      break;
    case wire::KvOp::DELETE:
      if (it != entries_.end()) {
        result.set_found(true);
        entries_.erase(it);
      }
      break;
    case wire::KvOp::CAS:
      if (it != entries_.end() && it->second == op.expected()) {
        it->second = op.value();
        result.set_swapped(true);
      }
      break;
    default:
      break;  // an unknown kind changes nothing
  }
  return result;
}

}  // namespace synod
