#pragma once

#include <deque>
#include <optional>
#include <vector>

#include "synod/protocol/storage.h"

namespace synod {

// What may leave only once the disk holds what it depends on: an acceptor's
// promise, a participant's vote, a coordinator's decision. The items made
// by one input wait for that input's sync or, if it wrote nothing, behind
// whatever already waits (they may depend on those writes).
template <typename T>
class DurableQueue {
 public:
  // The items one input made, and the sync of its writes if it wrote any.
  // Returns the items that may leave at once.
  std::vector<T> hold(std::optional<SyncId> sync, std::vector<T> items) {
    if (sync) {
      held_.push_back({*sync, std::move(items)});
      return {};
    }
    if (held_.empty()) return items;
    for (T& item : items)
      held_.back().items.push_back(std::move(item));
    return {};
  }

  // Sync `synced` completed: the items that waited for it, in order.
  std::vector<T> release(SyncId synced) {
    std::vector<T> out;
    while (!held_.empty() && held_.front().sync <= synced) {
      for (T& item : held_.front().items)
        out.push_back(std::move(item));
      held_.pop_front();
    }
    return out;
  }

  void clear() { held_.clear(); }

 private:
  struct Held {
    SyncId sync;
    std::vector<T> items;
  };
  std::deque<Held> held_;
};

}  // namespace synod
