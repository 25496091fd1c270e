#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace synod {

using SyncId = uint64_t;

// Durable state, as a protocol sees it: named files it appends to or
// replaces, and a sync that makes them durable. The simulated disk and the
// real files implement it; a protocol cannot tell which it has.
//
// Contract: writes are visible to read() at once but are durable only once a
// sync() issued after them completes (Protocol::on_synced). After a crash a
// node gets back what was durable; unsynced writes may be gone, and the last
// unsynced append may survive torn (a prefix of it). Use framed records
// (base/record.h) for anything appended.
class Storage {
 public:
  virtual ~Storage() = default;

  virtual void append(std::string_view file, std::string_view bytes) = 0;
  // Replaces the whole file atomically: after a crash it holds the old or the
  // new contents, never a mix.
  virtual void overwrite(std::string_view file, std::string_view bytes) = 0;
  virtual void remove(std::string_view file) = 0;
  // Asks for every write so far to become durable. Ids increase; completion of
  // one implies completion of every earlier one.
  virtual SyncId sync() = 0;

  virtual std::optional<std::string> read(std::string_view file) const = 0;
  virtual std::vector<std::string> list() const = 0;  // sorted
};

}  // namespace synod
