#pragma once

// The bank check: money moves between accounts in transactions, so every
// read of all accounts (linearizable or serializable, each a snapshot of one
// revision) must see every account, none negative, and the same total.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace synod::check {

struct BankRead {
  uint64_t client = 0;
  int64_t call = 0, ret = 0;  // ns
  std::map<std::string, int64_t> balances;
  bool serializable = false;
};

struct BankVerdict {
  bool ok = true;
  size_t reads = 0;
  std::vector<size_t> bad;  // indexes of the reads that break it
  std::string explanation;  // the first bad read, in words
};

BankVerdict check_bank(const std::vector<BankRead>& reads, const std::vector<std::string>& accounts,
                       int64_t total);

}  // namespace synod::check
