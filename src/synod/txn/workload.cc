#include "synod/txn/workload.h"

#include <algorithm>

#include "synod/base/assert.h"

namespace synod::txn {

Transfer make_transfer(TxnId txn, const std::vector<NodeId>& participants,
                       int accounts_per_participant, Rng& rng) {
  SYNOD_ASSERT(participants.size() >= 2);
  size_t a = rng.uniform(participants.size());
  size_t b = rng.uniform(participants.size() - 1);
  if (b >= a) ++b;
  NodeId from = participants[a], to = participants[b];
  auto account = [&](NodeId p) {
    return account_name(
        p, static_cast<int>(rng.uniform(static_cast<uint64_t>(accounts_per_participant))));
  };
  int64_t amount = 1 + static_cast<int64_t>(rng.uniform(30));
  Transfer t;
  t.participants = {std::min(from, to), std::max(from, to)};
  for (auto [p, acct, delta] :
       {std::tuple{from, account(from), -amount}, std::tuple{to, account(to), amount}}) {
    wire::TxnMessage& m = t.prepares.emplace_back(p, wire::TxnMessage{}).second;
    m.set_txn(txn);
    wire::TxnOp* op = m.mutable_prepare()->add_ops();
    op->set_account(acct);
    op->set_delta(delta);
    for (NodeId q : t.participants)
      m.mutable_prepare()->add_participants(q);
  }
  return t;
}

std::optional<bool> Voting::add(NodeId from, bool commit) {
  if (std::find(participants.begin(), participants.end(), from) == participants.end())
    return std::nullopt;
  votes[from] = commit;
  if (!commit) return false;
  for (NodeId p : participants)
    if (!votes.count(p)) return std::nullopt;
  return true;
}

std::vector<std::pair<TxnId, std::vector<NodeId>>> take_late(std::map<TxnId, Voting>& voting,
                                                             Time now, Duration timeout) {
  std::vector<std::pair<TxnId, std::vector<NodeId>>> late;
  for (auto it = voting.begin(); it != voting.end();) {
    if (now - it->second.started < timeout) {
      ++it;
      continue;
    }
    late.emplace_back(it->first, std::move(it->second.participants));
    it = voting.erase(it);
  }
  return late;
}

void start_transfer(Env& env, TxnId txn, const std::vector<NodeId>& participants,
                    int accounts_per_participant, Rng& rng, std::map<TxnId, Voting>& voting) {
  Transfer t = make_transfer(txn, participants, accounts_per_participant, rng);
  Voting& v = voting[txn];
  v.participants = t.participants;
  v.started = env.now();
  for (const auto& [p, m] : t.prepares)
    env.send(p, m.SerializeAsString());
}

}  // namespace synod::txn
