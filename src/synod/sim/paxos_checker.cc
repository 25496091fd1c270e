#include "synod/sim/paxos_checker.h"

#include <bit>

#include "synod/base/hash64.h"

namespace synod::sim {

using paxos::Ballot;
using paxos::Slot;

PaxosChecker::PaxosChecker(size_t nodes, SimContext& context)
    : context_(context), majority_(paxos::majority(nodes)), sent_(nodes) {}

uint64_t PaxosChecker::digest(const paxos::Value& value) {
  return hash64(value.command(), value.noop() ? 1 : 0);
}

std::optional<uint64_t> PaxosChecker::chosen(Slot slot) const {
  auto it = chosen_.find(slot);
  if (it == chosen_.end()) return std::nullopt;
  return it->second.digest;
}

void PaxosChecker::promised(NodeId node, Ballot ballot) {
  Ballot& sent = sent_[node].promised;
  sent = std::max(sent, ballot);
}

void PaxosChecker::accepted(NodeId node, Slot slot, Ballot ballot, const paxos::Value& value) {
  uint64_t d = digest(value);
  Ballot& acked = sent_[node].acked[slot];
  acked = std::max(acked, ballot);
  if (auto c = chosen_.find(slot);
      c != chosen_.end() && c->second.ballot <= ballot && c->second.digest != d)
    context_.invariant_failed("one-value-per-slot",
                              "node " + std::to_string(node) + " accepted, in ballot " +
                                  ballot.to_string() + ", another value for slot " +
                                  std::to_string(slot) + " than the one chosen in ballot " +
                                  c->second.ballot.to_string());
  Votes& votes = votes_[{slot, ballot}];
  if (votes.nodes == 0)
    votes.digest = d;
  else if (votes.digest != d)
    context_.invariant_failed("one-value-per-slot", "two values proposed for slot " +
                                                        std::to_string(slot) + " in ballot " +
                                                        ballot.to_string());
  votes.nodes |= uint64_t{1} << node;
  if (static_cast<uint64_t>(std::popcount(votes.nodes)) != majority_) return;
  auto [c, fresh] = chosen_.emplace(slot, Chosen{d, ballot});
  if (!fresh && c->second.digest != d)
    context_.invariant_failed("one-value-per-slot",
                              "slot " + std::to_string(slot) + " chosen in ballot " +
                                  c->second.ballot.to_string() + " and, with another value, in " +
                                  ballot.to_string());
  c->second.ballot = std::min(c->second.ballot, ballot);
}

void PaxosChecker::learned(NodeId node, Slot slot, const paxos::Value& value) {
  auto c = chosen_.find(slot);
  if (c == chosen_.end() || c->second.digest != digest(value))
    context_.invariant_failed(
        "learned-only-chosen",
        "node " + std::to_string(node) + " learned " + (value.noop() ? "a no-op" : "a value") +
            " for slot " + std::to_string(slot) +
            (c == chosen_.end() ? " where nothing was chosen" : " that was not chosen"));
}

void PaxosChecker::check_restarted(NodeId node, Ballot promised, Slot compacted, const Held& held,
                                   const std::vector<const paxos::SlotState*>& chosen) {
  Sent& sent = sent_[node];
  const std::string who = "node " + std::to_string(node);
  for (const paxos::SlotState* state : chosen) {
    auto c = chosen_.find(state->slot());
    if (c == chosen_.end() || c->second.digest != digest(state->value())) {
      context_.invariant_failed("durability", who + " restarted holding as chosen, for slot " +
                                                  std::to_string(state->slot()) +
                                                  ", a value that was not chosen");
      return;
    }
  }
  if (promised < sent.promised)
    context_.invariant_failed("durability", who + " promised ballot " + sent.promised.to_string() +
                                                " but restarted having promised only " +
                                                promised.to_string());
  sent.acked.erase(sent.acked.begin(), sent.acked.upper_bound(compacted));
  for (const auto& [slot, ballot] : sent.acked) {
    const paxos::SlotState* state = held(slot);
    if (!state || (!state->chosen() && paxos::ballot_of(*state) < ballot)) {
      context_.invariant_failed("durability", who + " accepted slot " + std::to_string(slot) +
                                                  " in ballot " + ballot.to_string() +
                                                  " and lost it in a restart");
      return;
    }
  }
}

}  // namespace synod::sim
