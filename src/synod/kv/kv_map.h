#pragma once

#include <map>
#include <string>

#include "synod/wire/client.pb.h"

namespace synod {

// The semantics of a key-value command (wire::KvOp) on a plain map: what
// every replica applies, in log order. Deterministic: iteration is by key.
class KvMap {
 public:
  wire::KvResult apply(const wire::KvOp& op);
  wire::KvResult get(const std::string& key) const;
  void put(std::string key, std::string value) { entries_[std::move(key)] = std::move(value); }
  static bool is_write(const wire::KvOp& op) { return op.kind() != wire::KvOp::GET; }

  const std::map<std::string, std::string>& entries() const { return entries_; }

 private:
  std::map<std::string, std::string> entries_;
};

}  // namespace synod
