#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "synod/wire/etcd_rpc.grpc.pb.h"

namespace synod::cli {

// Watch streams that run beside a bench's load (synod bench --watchers):
// each stream holds one watch on `prefix` from revision `from` and counts
// what it receives, so a bench shows what watchers far behind cost the
// writers.
class BenchWatchers {
 public:
  BenchWatchers(const std::vector<std::shared_ptr<grpc::Channel>>& channels, int count,
                const std::string& prefix, int64_t from);
  ~BenchWatchers();  // cancels every stream and waits for it to end

  // "watchers 100  events 12345678  slowest at revision 999999  ended early 0"
  std::string summary() const;

 private:
  class Stream;
  std::vector<std::unique_ptr<etcdserverpb::Watch::Stub>> stubs_;
  std::vector<std::unique_ptr<Stream>> streams_;
};

}  // namespace synod::cli
