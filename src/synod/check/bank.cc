#include "synod/check/bank.h"

namespace synod::check {
namespace {

// Why one read breaks the rules; empty when it does not.
std::string wrong(const BankRead& r, const std::vector<std::string>& accounts, int64_t total) {
  int64_t sum = 0;
  for (const std::string& a : accounts) {
    auto it = r.balances.find(a);
    if (it == r.balances.end()) return "account " + a + " is missing";
    if (it->second < 0) return "account " + a + " is negative (" + std::to_string(it->second) + ")";
    sum += it->second;
  }
  if (r.balances.size() != accounts.size())
    return "it has " + std::to_string(r.balances.size()) + " accounts, not " +
           std::to_string(accounts.size());
  if (sum != total) return "the total is " + std::to_string(sum) + ", not " + std::to_string(total);
  return "";
}

}  // namespace

BankVerdict check_bank(const std::vector<BankRead>& reads, const std::vector<std::string>& accounts,
                       int64_t total) {
  BankVerdict v;
  v.reads = reads.size();
  for (size_t i = 0; i < reads.size(); ++i) {
    std::string why = wrong(reads[i], accounts, total);
    if (why.empty()) continue;
    v.ok = false;
    v.bad.push_back(i);
    if (v.explanation.empty()) {
      const BankRead& r = reads[i];
      std::string balances;
      for (const auto& [a, b] : r.balances)
        balances += (balances.empty() ? "" : " ") + a + "=" + std::to_string(b);
      v.explanation = std::string(r.serializable ? "a serializable" : "a linearizable") +
                      " read by client " + std::to_string(r.client) + " saw {" + balances +
                      "}: " + why;
    }
  }
  if (!v.ok)
    v.explanation += " (" + std::to_string(v.bad.size()) + " of " + std::to_string(reads.size()) +
                     " reads wrong)";
  return v;
}

}  // namespace synod::check
