#include "synod/chaos/delayer.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <queue>
#include <string>

#include "synod/base/rng.h"

namespace synod::chaos {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Packets a queue holds before the kernel lets further ones pass unqueued
// (NFQA_CFG_F_FAIL_OPEN): a bound on what a delay can make the kernel keep.
constexpr uint32_t kQueueMaxLen = 8192;
// The socket's receive buffer: room for bursts of packet notices.
constexpr int kReceiveBuffer = 8 << 20;
constexpr size_t kMessageBytes = 1 << 16;

class Message {
 public:
  Message(uint16_t type, uint16_t flags, uint16_t queue) {
    auto* h = header();
    h->nlmsg_len = NLMSG_LENGTH(sizeof(nfgenmsg));
    h->nlmsg_type = static_cast<uint16_t>((NFNL_SUBSYS_QUEUE << 8) | type);
    h->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
    auto* g = static_cast<nfgenmsg*>(NLMSG_DATA(h));
    g->nfgen_family = AF_UNSPEC;
    g->version = NFNETLINK_V0;
    g->res_id = htons(queue);
  }
  void attribute(uint16_t type, const void* data, size_t len) {
    auto* h = header();
    auto* a = reinterpret_cast<nlattr*>(buffer_ + NLMSG_ALIGN(h->nlmsg_len));
    a->nla_type = type;
    a->nla_len = static_cast<uint16_t>(NLA_HDRLEN + len);
    std::memcpy(reinterpret_cast<char*>(a) + NLA_HDRLEN, data, len);
    h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + NLA_ALIGN(a->nla_len);
  }
  bool send(int fd) const {
    sockaddr_nl to{};
    to.nl_family = AF_NETLINK;
    auto* h = const_cast<Message*>(this)->header();
    return ::sendto(fd, buffer_, h->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
           static_cast<ssize_t>(h->nlmsg_len);
  }

 private:
  nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buffer_); }
  alignas(nlmsghdr) char buffer_[256] = {};
};

// Waits for the kernel's answer to a request sent with NLM_F_ACK.
absl::Status read_ack(int fd) {
  char buffer[4096];
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 2000) != 1) return absl::InternalError("nfqueue: no answer from the kernel");
  ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
  if (n < 0) return absl::InternalError(std::string("nfqueue: recv: ") + std::strerror(errno));
  auto* h = reinterpret_cast<nlmsghdr*>(buffer);
  if (!NLMSG_OK(h, static_cast<uint32_t>(n)) || h->nlmsg_type != NLMSG_ERROR)
    return absl::InternalError("nfqueue: unexpected answer");
  auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
  if (e->error != 0)
    return absl::InternalError(std::string("nfqueue: ") + std::strerror(-e->error));
  return absl::OkStatus();
}

absl::Status configure(int fd, uint16_t queue) {
  Message bind(NFQNL_MSG_CONFIG, NLM_F_ACK, queue);
  nfqnl_msg_config_cmd cmd{};
  cmd.command = NFQNL_CFG_CMD_BIND;
  bind.attribute(NFQA_CFG_CMD, &cmd, sizeof cmd);
  if (!bind.send(fd)) return absl::InternalError("nfqueue: cannot send bind");
  if (absl::Status s = read_ack(fd); !s.ok()) return s;

  Message params(NFQNL_MSG_CONFIG, NLM_F_ACK, queue);
  nfqnl_msg_config_params p{};
  p.copy_range = htonl(0);
  p.copy_mode = NFQNL_COPY_META;
  params.attribute(NFQA_CFG_PARAMS, &p, sizeof p);
  uint32_t maxlen = htonl(kQueueMaxLen);
  params.attribute(NFQA_CFG_QUEUE_MAXLEN, &maxlen, sizeof maxlen);
  uint32_t flags = htonl(NFQA_CFG_F_FAIL_OPEN);
  params.attribute(NFQA_CFG_MASK, &flags, sizeof flags);
  params.attribute(NFQA_CFG_FLAGS, &flags, sizeof flags);
  if (!params.send(fd)) return absl::InternalError("nfqueue: cannot send parameters");
  return read_ack(fd);
}

// A netlink socket made inside another namespace: a short-lived thread
// enters it (namespaces are per thread), so the caller's stays as it was.
absl::StatusOr<int> socket_in(const std::string& netns, uint16_t queue) {
  absl::StatusOr<int> result = absl::InternalError("not run");
  std::thread([&] {
    std::string path = "/run/netns/" + netns;
    int ns = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) {
      result = absl::InternalError("cannot enter " + netns + ": " + std::strerror(errno));
      if (ns >= 0) ::close(ns);
      return;
    }
    ::close(ns);
    int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (fd < 0) {
      result = absl::InternalError(std::string("netlink socket: ") + std::strerror(errno));
      return;
    }
    int size = kReceiveBuffer, on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
    ::setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &on, sizeof on);
    absl::Status s = configure(fd, queue);
    if (!s.ok()) {
      ::close(fd);
      result = s;
      return;
    }
    result = fd;
  }).join();
  return result;
}

void verdict(int fd, uint16_t queue, uint32_t id) {
  Message m(NFQNL_MSG_VERDICT, 0, queue);
  nfqnl_msg_verdict_hdr v{};
  v.verdict = htonl(NF_ACCEPT);
  v.id = htonl(id);
  m.attribute(NFQA_VERDICT_HDR, &v, sizeof v);
  m.send(fd);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Delayer>> Delayer::create(const Network& network, int queue,
                                                         uint64_t seed) {
  std::unique_ptr<Delayer> d(new Delayer(queue, seed));
  for (int i = 0; i < network.members(); ++i) {
    absl::StatusOr<int> fd = socket_in(network.member_ns(i), static_cast<uint16_t>(queue));
    if (!fd.ok()) return fd.status();  // the destructor closes the others
    d->sockets_.push_back(*fd);
  }
  d->thread_ = std::thread([p = d.get()] { p->loop(); });
  return d;
}

Delayer::~Delayer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  for (int fd : sockets_)
    ::close(fd);
}

void Delayer::set(std::chrono::microseconds delay, std::chrono::microseconds jitter) {
  delay_us_ = delay.count();
  jitter_us_ = jitter.count();
}

void Delayer::loop() {
  struct Held {
    SteadyClock::time_point release;
    size_t socket;
    uint32_t id;
    bool operator>(const Held& o) const { return release > o.release; }
  };
  std::priority_queue<Held, std::vector<Held>, std::greater<>> held;
  Rng rng(seed_);
  std::vector<pollfd> fds;
  for (int fd : sockets_)
    fds.push_back({fd, POLLIN, 0});
  std::vector<char> buffer(kMessageBytes);
  auto q = static_cast<uint16_t>(queue_);
  while (!stop_.load() || !held.empty()) {
    auto now = SteadyClock::now();
    while (!held.empty() && (held.top().release <= now || stop_.load())) {
      verdict(sockets_[held.top().socket], q, held.top().id);
      held.pop();
    }
    if (stop_.load()) break;
    int wait_ms = 50;
    if (!held.empty()) {
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(held.top().release - now);
      wait_ms = static_cast<int>(std::clamp<int64_t>(until.count(), 0, 50));
    }
    if (::poll(fds.data(), fds.size(), wait_ms) <= 0) continue;
    for (size_t s = 0; s < fds.size(); ++s) {
      if (!(fds[s].revents & POLLIN)) continue;
      ssize_t n = ::recv(fds[s].fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (n <= 0) continue;
      int64_t jitter = jitter_us_.load();
      for (auto* h = reinterpret_cast<nlmsghdr*>(buffer.data());
           NLMSG_OK(h, static_cast<uint32_t>(n)); h = NLMSG_NEXT(h, n)) {
        if ((h->nlmsg_type & 0xff) != NFQNL_MSG_PACKET) continue;
        auto* a = reinterpret_cast<nlattr*>(static_cast<char*>(NLMSG_DATA(h)) +
                                            NLMSG_ALIGN(sizeof(nfgenmsg)));
        int len = static_cast<int>(h->nlmsg_len) - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(nfgenmsg)));
        for (; len >= static_cast<int>(NLA_HDRLEN) && a->nla_len >= NLA_HDRLEN && a->nla_len <= len;
             len -= NLA_ALIGN(a->nla_len),
             a = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(a) + NLA_ALIGN(a->nla_len))) {
          if ((a->nla_type & NLA_TYPE_MASK) != NFQA_PACKET_HDR) continue;
          nfqnl_msg_packet_hdr ph;
          std::memcpy(&ph, reinterpret_cast<char*>(a) + NLA_HDRLEN, sizeof ph);
          int64_t us =
              delay_us_.load() +
              (jitter > 0 ? static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(jitter))) : 0);
          held.push({SteadyClock::now() + std::chrono::microseconds(us), s, ntohl(ph.packet_id)});
          ++packets_;
        }
      }
    }
  }
}

}  // namespace synod::chaos
