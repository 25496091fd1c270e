#include "synod/sim/client.h"

#include "synod/base/assert.h"

namespace synod::sim {
namespace {

check::OpKind op_kind(wire::KvOp::Kind kind) {
  switch (kind) {
    case wire::KvOp::GET:
      return check::OpKind::kGet;
    case wire::KvOp::PUT:
      return check::OpKind::kPut;
    case wire::KvOp::DELETE:
      return check::OpKind::kDelete;
    case wire::KvOp::CAS:
      return check::OpKind::kCas;
    default:
      SYNOD_UNREACHABLE();
  }
}

}  // namespace

SimClient::SimClient(ProcessId id, int nodes, const WorkloadConfig& config, bool spread_reads,
                     bool duplicates, bool through_member, Rng rng)
    : id_(id),
      nodes_(nodes),
      config_(config),
      spread_reads_(spread_reads),
      duplicates_(duplicates),
      through_member_(through_member),
      rng_(std::move(rng)) {
  SYNOD_ASSERT(nodes > 0);
  SYNOD_ASSERT(config.keys > 0);
  member_ = random_node();
}

void SimClient::start(ClientHost& host) {
  think(host);
}

void SimClient::think(ClientHost& host) {
  if (finished_ || stopped_) return;
  host.client_timer(id_, rng_.exponential_duration(config_.think), seq_ + 1, 0);
}

NodeId SimClient::random_node() {
  return static_cast<NodeId>(rng_.uniform(static_cast<uint64_t>(nodes_)));
}

NodeId SimClient::other_node(NodeId than) {
  if (nodes_ == 1) return 0;
  NodeId n = static_cast<NodeId>(rng_.uniform(static_cast<uint64_t>(nodes_ - 1)));
  return n >= than ? n + 1 : n;
}

wire::KvOp SimClient::next_op() {
  wire::KvOp op;
  op.set_key("k" + std::to_string(rng_.uniform(static_cast<uint64_t>(config_.keys))));
  // Values are unique per write, so a read tells which write it saw.
  std::string value = std::to_string(id_ - kFirstClientId) + "." + std::to_string(seq_);
  uint64_t dice = rng_.uniform(100);
  if (dice < 40) {
    op.set_kind(wire::KvOp::GET);
  } else if (dice < 75) {
    op.set_kind(wire::KvOp::PUT);
    op.set_value(value);
  } else if (dice < 90) {
    op.set_kind(wire::KvOp::CAS);
    auto seen = last_seen_.find(op.key());
    op.set_expected(seen != last_seen_.end() ? seen->second : "none");
    op.set_value(value);
  } else {
    op.set_kind(wire::KvOp::DELETE);
  }
  return op;
}

void SimClient::on_timer(ClientHost& host, uint64_t seq, uint32_t send_number) {
  if (finished_) return;
  if (send_number == 0) {
    if (in_flight_) {
      // A backoff is over: try anywhere.
      if (in_flight_->request.seq() == seq) send(host, random_node());
      return;
    }
    if (seq == seq_ + 1) begin_op(host);
    return;
  }
  // A timeout: only the newest send of the current operation counts.
  if (!in_flight_ || in_flight_->request.seq() != seq || in_flight_->sends != send_number) return;
  if (through_member_) {
    // No answer at all (the member crashed, or is paused): the next request
    // goes to another member, as a client's balancer moves on.
    member_ = other_node(member_);
    complete(host, check::Outcome::kUnknown);
    return;
  }
  in_flight_->maybe_applied = true;
  leader_hint_.reset();
  if (++in_flight_->timeouts >= static_cast<uint32_t>(config_.attempts)) {
    complete(host, check::Outcome::kUnknown);
    return;
  }
  send(host, other_node(in_flight_->target));
}

void SimClient::begin_op(ClientHost& host) {
  ++seq_;
  InFlight f;
  f.request.set_client(id_);
  f.request.set_seq(seq_);
  *f.request.mutable_kv() = next_op();
  const wire::KvOp& kv = f.request.kv();
  f.op.client = id_ - kFirstClientId;
  f.op.kind = op_kind(kv.kind());
  f.op.key = kv.key();
  if (kv.kind() == wire::KvOp::PUT || kv.kind() == wire::KvOp::CAS) f.op.value = kv.value();
  if (kv.kind() == wire::KvOp::CAS) f.op.expected = kv.expected();
  f.op.call = host.now_ns();
  in_flight_ = std::move(f);
  if (through_member_) {
    in_flight_->request.set_through_member(true);
    in_flight_->target = member_;
    ++in_flight_->sends;
    host.client_send(id_, member_, in_flight_->request);
    // The member answers by its own deadline; this is for a member that
    // cannot answer at all.
    host.client_timer(id_, config_.timeout * config_.attempts, in_flight_->request.seq(),
                      in_flight_->sends);
    return;
  }
  bool read = kv.kind() == wire::KvOp::GET;
  send(host, (read && spread_reads_) || !leader_hint_ ? random_node() : *leader_hint_);
}

void SimClient::send(ClientHost& host, NodeId to) {
  SYNOD_ASSERT(in_flight_);
  in_flight_->target = to;
  ++in_flight_->sends;
  host.client_send(id_, to, in_flight_->request);
  host.client_timer(id_, config_.timeout, in_flight_->request.seq(), in_flight_->sends);
}

check::Outcome SimClient::refused_outcome() const {
  // A member refuses a request left to it only when no copy can apply (it
  // is never sent twice on the way there).
  if (through_member_) return check::Outcome::kFailed;
  return in_flight_->maybe_applied || duplicates_ ? check::Outcome::kUnknown
                                                  : check::Outcome::kFailed;
}

void SimClient::on_reply(ClientHost& host, const wire::ClientReply& reply) {
  if (finished_ || !in_flight_ || reply.seq() != in_flight_->request.seq()) return;  // stale
  switch (reply.outcome_case()) {
    case wire::ClientReply::kKv: {
      const wire::KvResult& r = reply.kv();
      check::Operation& op = in_flight_->op;
      if (op.kind == check::OpKind::kGet) {
        if (r.found())
          op.value = r.value();
        else
          op.value.reset();
        if (r.found()) last_seen_[op.key] = r.value();
      } else if (op.kind == check::OpKind::kCas) {
        op.swapped = r.swapped();
        if (r.swapped()) last_seen_[op.key] = *op.value;
      } else if (op.kind == check::OpKind::kPut) {
        last_seen_[op.key] = *op.value;
      }
      leader_hint_ = in_flight_->target;
      complete(host, check::Outcome::kOk);
      return;
    }
    case wire::ClientReply::kRedirect: {
      if (++in_flight_->redirects > kMaxRedirectsPerOp) {
        complete(host, refused_outcome());
        return;
      }
      if (reply.redirect().known() && reply.redirect().node() < static_cast<uint32_t>(nodes_)) {
        leader_hint_ = reply.redirect().node();
        send(host, *leader_hint_);
      } else {
        // No leader known: back off, then try anywhere. The pending timeout
        // of the refused send goes stale.
        leader_hint_.reset();
        ++in_flight_->sends;
        host.client_timer(id_, rng_.exponential_duration(config_.think), in_flight_->request.seq(),
                          0);
      }
      return;
    }
    case wire::ClientReply::kRejected:
      complete(host, refused_outcome());
      return;
    case wire::ClientReply::kTimedOut:
      // The member gave up: the command may or may not apply. A client with
      // a session sends a copy; one that left it to a member moves on.
      if (through_member_) {
        member_ = other_node(member_);  // that member cannot get it done
        return complete(host, check::Outcome::kUnknown);
      }
      in_flight_->maybe_applied = true;
      if (++in_flight_->timeouts >= static_cast<uint32_t>(config_.attempts))
        return complete(host, check::Outcome::kUnknown);
      send(host, other_node(in_flight_->target));
      return;
    case wire::ClientReply::kEtcd:  // never asked for: treat as malformed
    case wire::ClientReply::OUTCOME_NOT_SET:
      return;  // malformed: ignore it, the timeout acts
  }
}

void SimClient::complete(ClientHost& host, check::Outcome outcome) {
  SYNOD_ASSERT(in_flight_);
  check::Operation op = std::move(in_flight_->op);
  op.outcome = outcome;
  op.ret = outcome == check::Outcome::kUnknown ? -1 : host.now_ns();
  in_flight_.reset();
  host.record(op);
  think(host);
}

void SimClient::finish(ClientHost& host) {
  if (in_flight_) complete(host, check::Outcome::kUnknown);
  finished_ = true;
}

}  // namespace synod::sim
