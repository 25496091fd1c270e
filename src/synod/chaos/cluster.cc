#include "synod/chaos/cluster.h"

#include <signal.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "synod/chaos/client.h"
#include "synod/wire/etcd_rpc.grpc.pb.h"

namespace synod::chaos {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Between two tries of something that waits for the cluster.
constexpr Millis kRetryPause = 200ms;
// One status question to one member.
constexpr Millis kStatusTimeout = 1000ms;

Millis left_until(Clock::time_point deadline) {
  return std::max(Millis(0), std::chrono::duration_cast<Millis>(deadline - Clock::now()));
}

}  // namespace

Cluster::Cluster(ClusterOptions options, const Network& network)
    : options_(std::move(options)), network_(network) {
  members_.resize(static_cast<size_t>(network_.members()));
}

Cluster::~Cluster() {
  stop_all();
  std::error_code ignored;
  std::filesystem::remove_all(options_.dir + "/data", ignored);
  for (int i = 0; i < size(); ++i) {
    std::filesystem::remove(options_.dir + "/" + name(i) + ".clock", ignored);
    std::filesystem::remove(options_.dir + "/" + name(i) + ".stall", ignored);
  }
}

std::string Cluster::endpoint(int i) const {
  return Network::member_ip(i) + ":" + std::to_string(kClientPort);
}

std::string Cluster::log_path(int i) const {
  return options_.dir + "/" + name(i) + ".log";
}

std::string Cluster::data_dir(int i) const {
  return options_.dir + "/data/" + name(i);
}

std::string Cluster::peer_url(int i) const {
  return "http://" + Network::member_ip(i) + ":" + std::to_string(kPeerPort);
}

std::string Cluster::initial_cluster() const {
  std::string out;
  for (int i = 0; i < size(); ++i) {
    if (!members_[i].in_cluster) continue;
    out += (out.empty() ? "" : ",") + name(i) + "=" + peer_url(i);
  }
  return out;
}

std::vector<std::string> Cluster::argv(int i) const {
  std::string client = "http://" + endpoint(i);
  std::vector<std::string> args = {options_.binary};
  if (options_.system == System::kSynod) args.push_back("serve");
  std::vector<std::string> flags = {"--name",
                                    name(i),
                                    "--data-dir",
                                    data_dir(i),
                                    "--listen-peer-urls",
                                    peer_url(i),
                                    "--initial-advertise-peer-urls",
                                    peer_url(i),
                                    "--listen-client-urls",
                                    client,
                                    "--advertise-client-urls",
                                    client,
                                    "--initial-cluster",
                                    initial_cluster(),
                                    "--initial-cluster-state",
                                    members_[i].fresh_join ? "existing" : "new",
                                    "--initial-cluster-token",
                                    "synod-chaos",
                                    "--heartbeat-interval",
                                    std::to_string(options_.heartbeat_ms),
                                    "--election-timeout",
                                    std::to_string(options_.election_ms)};
  args.insert(args.end(), flags.begin(), flags.end());
  return args;
}

std::vector<std::string> Cluster::env(int i) const {
  std::string preload;
  std::vector<std::string> out;
  if (!options_.faketime_library.empty()) {
    preload = options_.faketime_library;
    out.push_back("FAKETIME_TIMESTAMP_FILE=" + options_.dir + "/" + name(i) + ".clock");
    out.push_back("FAKETIME_CACHE_DURATION=1");
  }
  if (!options_.disk_stall_library.empty()) {
    preload += (preload.empty() ? "" : " ") + options_.disk_stall_library;
    out.push_back("SYNOD_CHAOS_DISK_STALL=" + options_.dir + "/" + name(i) + ".stall");
  }
  if (!preload.empty()) {
    out.push_back("LD_PRELOAD=" + preload);
    // A sanitizer build refuses to start with a library loaded before its
    // runtime; these two interpose no allocator, so the order is harmless.
    const char* asan = std::getenv("ASAN_OPTIONS");
    out.push_back(std::string("ASAN_OPTIONS=") + (asan ? std::string(asan) + ":" : "") +
                  "verify_asan_link_order=0");
  }
  return out;
}

absl::Status Cluster::spawn(int i) {
  Member& m = members_.at(i);
  if (!options_.faketime_library.empty() && m.clock_offset == 0) set_clock_offset(i, 0);
  { std::ofstream(log_path(i), std::ios::app) << "===== chaos: starting " << name(i) << "\n"; }
  std::filesystem::create_directories(options_.dir + "/data");
  m.process = Process(SpawnOptions{
      .argv = argv(i), .netns = network_.member_ns(i), .env = env(i), .log_path = log_path(i)});
  m.paused = false;
  if (!m.process.started())
    return absl::InternalError("cannot start " + name(i) + ": " + m.process.error());
  return absl::OkStatus();
}

std::optional<uint64_t> Cluster::status_member_id(int i, Millis timeout, uint64_t* leader,
                                                  uint64_t* term) {
  auto stub = etcdserverpb::Maintenance::NewStub(make_channel(endpoint(i)));
  auto ctx = context_with_timeout(timeout);
  etcdserverpb::StatusRequest request;
  etcdserverpb::StatusResponse response;
  if (!stub->Status(ctx.get(), request, &response).ok()) return std::nullopt;
  if (leader) *leader = response.leader();
  if (term) *term = response.raftterm();
  return response.header().member_id();
}

absl::Status Cluster::wait_serving(int i, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (!members_[i].process.running())
      return absl::InternalError(name(i) + " exited (code " +
                                 std::to_string(members_[i].process.exit_code().value_or(-1)) +
                                 "); see " + log_path(i));
    if (auto id = status_member_id(i, kStatusTimeout)) {
      members_[i].member_id = *id;
      return absl::OkStatus();
    }
    if (Clock::now() >= deadline)
      return absl::DeadlineExceededError(name(i) + " did not answer in time; see " + log_path(i));
    std::this_thread::sleep_for(kRetryPause);
  }
}

absl::Status Cluster::start(Millis timeout) {
  for (int i = 0; i < size(); ++i) {
    absl::Status s = spawn(i);
    if (!s.ok()) return s;
  }
  auto deadline = Clock::now() + timeout;
  for (int i = 0; i < size(); ++i) {
    absl::Status s = wait_serving(i, left_until(deadline));
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

bool Cluster::running(int i) {
  return members_.at(i).process.running();
}

void Cluster::kill(int i) {
  members_.at(i).process.kill9();
  members_.at(i).paused = false;
}

absl::Status Cluster::restart(int i, Millis timeout) {
  if (running(i)) return absl::OkStatus();
  absl::Status s = spawn(i);
  if (!s.ok()) return s;
  return wait_serving(i, timeout);
}

void Cluster::pause(int i) {
  members_.at(i).process.signal(SIGSTOP);
  members_.at(i).paused = true;
}

void Cluster::resume(int i) {
  members_.at(i).process.signal(SIGCONT);
  members_.at(i).paused = false;
}

void Cluster::stop_all() {
  for (Member& m : members_)
    m.process.kill9();
}

std::optional<int> Cluster::leader() {
  std::optional<int> best;
  uint64_t best_term = 0;
  for (int i = 0; i < size(); ++i) {
    if (!members_[i].in_cluster || members_[i].paused || !running(i)) continue;
    uint64_t leader = 0, term = 0;
    auto id = status_member_id(i, kStatusTimeout, &leader, &term);
    if (!id || *id != leader || leader == 0) continue;
    if (!best || term > best_term) {
      best = i;
      best_term = term;
    }
  }
  return best;
}

absl::Status Cluster::remove_member(int i, Millis timeout) {
  Member& m = members_.at(i);
  if (!m.in_cluster) return absl::FailedPreconditionError(name(i) + " is not a member");
  auto deadline = Clock::now() + timeout;
  std::string last_error = "no other member answered";
  for (;;) {
    for (int j = 0; j < size(); ++j) {
      if (j == i || !members_[j].in_cluster || members_[j].paused || !running(j)) continue;
      auto stub = etcdserverpb::Cluster::NewStub(make_channel(endpoint(j)));
      auto ctx = context_with_timeout(std::chrono::seconds(5));
      etcdserverpb::MemberRemoveRequest request;
      request.set_id(m.member_id);
      etcdserverpb::MemberRemoveResponse response;
      grpc::Status status = stub->MemberRemove(ctx.get(), request, &response);
      // "member not found": an earlier try that timed out took effect.
      if (status.ok() || status.error_message().find("member not found") != std::string::npos) {
        kill(i);
        m.in_cluster = false;
        std::error_code ignored;
        std::filesystem::remove_all(data_dir(i), ignored);
        return absl::OkStatus();
      }
      last_error = status.error_message();
    }
    if (Clock::now() >= deadline) return absl::UnavailableError("member remove: " + last_error);
    std::this_thread::sleep_for(kRetryPause);
  }
}

absl::Status Cluster::add_member(int i, Millis timeout) {
  Member& m = members_.at(i);
  if (m.in_cluster) return absl::FailedPreconditionError(name(i) + " is a member already");
  auto deadline = Clock::now() + timeout;
  std::string last_error = "no member answered";
  bool added = false;
  while (!added) {
    for (int j = 0; j < size() && !added; ++j) {
      if (j == i || !members_[j].in_cluster || members_[j].paused || !running(j)) continue;
      auto stub = etcdserverpb::Cluster::NewStub(make_channel(endpoint(j)));
      auto ctx = context_with_timeout(std::chrono::seconds(5));
      etcdserverpb::MemberAddRequest request;
      request.add_peerurls(peer_url(i));
      etcdserverpb::MemberAddResponse response;
      grpc::Status status = stub->MemberAdd(ctx.get(), request, &response);
      // "peerURL exists": an earlier try that timed out took effect.
      added = status.ok() || status.error_message().find("exists") != std::string::npos;
      if (!added) last_error = status.error_message();
    }
    if (!added && Clock::now() >= deadline)
      return absl::UnavailableError("member add: " + last_error);
    if (!added) std::this_thread::sleep_for(kRetryPause);
  }
  m.in_cluster = true;
  m.fresh_join = true;
  absl::Status s = spawn(i);
  if (!s.ok()) return s;
  return wait_serving(i, left_until(deadline) + std::chrono::seconds(10));
}

void Cluster::set_clock_offset(int i, double seconds) {
  Member& m = members_.at(i);
  m.clock_offset = std::max(m.clock_offset, seconds);
  std::string path = options_.dir + "/" + name(i) + ".clock";
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "+" << static_cast<int64_t>(std::llround(m.clock_offset)) << "s\n";
  }
  std::error_code ignored;
  std::filesystem::rename(tmp, path, ignored);  // libfaketime never reads half a file
}

void Cluster::stall_disk(int i, bool on) {
  std::string path = options_.dir + "/" + name(i) + ".stall";
  std::error_code ignored;
  if (on) {
    std::ofstream(path, std::ios::trunc) << "stall\n";
  } else {
    std::filesystem::remove(path, ignored);
  }
}

}  // namespace synod::chaos
