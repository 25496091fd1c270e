// etcd compatibility, judged by an independent client: Debian's etcdctl
// runs the same scenarios against a 3-member synod cluster and a 3-member
// etcd cluster (Debian's etcd-server, started here), and what it prints must
// be the same, once the parts that differ by nature (ids, terms, timings)
// are masked. Nothing here is an expected string copied from etcd: etcd
// itself is the oracle, in the same run.

// GCC 12 warns of an uninitialized std::function inside std::regex when
// the sanitizers are on: a false positive in the library's own code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "serve/cluster.h"
#include "synod/wire/etcd_rpc.grpc.pb.h"

namespace synod::serve::testing {
namespace {

// A cluster etcdctl can talk to.
struct Target {
  std::string name;
  std::string endpoints;           // host:port,...
  std::string scratch;             // a directory for command output
  std::vector<std::string> serve;  // what starts a member: synod serve or etcd, same flags
  std::string token;               // the cluster's --initial-cluster-token
};

// The flags a member starts with: synod serve takes etcd's, so an etcd
// start script runs either.
std::vector<std::string> member_flags(const std::string& name, const std::string& data_dir,
                                      const std::string& peer, const std::string& client,
                                      const std::string& initial_cluster, const std::string& state,
                                      const std::string& token) {
  return {"--name",
          name,
          "--data-dir",
          data_dir,
          "--listen-peer-urls",
          peer,
          "--initial-advertise-peer-urls",
          peer,
          "--listen-client-urls",
          client,
          "--advertise-client-urls",
          client,
          "--initial-cluster",
          initial_cluster,
          "--initial-cluster-state",
          state,
          "--initial-cluster-token",
          token,
          "--heartbeat-interval",
          "20",
          "--election-timeout",
          "200"};
}

// Three real etcd members on loopback, in a temporary directory, killed and
// removed at the end.
class EtcdCluster {
 public:
  EtcdCluster() {
    std::string pattern = ::testing::TempDir() + "synod-etcd-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) return;
    dir_ = pattern;
    std::vector<uint16_t> ports = free_ports(6);
    if (ports.size() != 6) return;
    std::string initial;
    for (int i = 0; i < 3; ++i)
      initial += (i ? "," : "") + name(i) + "=" + url(ports[2 * i]);
    for (int i = 0; i < 3; ++i) {
      std::string peer = url(ports[2 * i]), client = url(ports[2 * i + 1]);
      std::vector<std::string> argv = {"etcd"};
      for (std::string& flag :
           member_flags(name(i), dir_ + "/" + name(i), peer, client, initial, "new", "compat"))
        argv.push_back(std::move(flag));
      members_.emplace_back(argv, dir_ + "/" + name(i) + ".log", dir_ + "/" + name(i) + ".log");
      endpoints_ += (i ? "," : "") + std::string("127.0.0.1:") + std::to_string(ports[2 * i + 1]);
    }
  }
  ~EtcdCluster() {
    members_.clear();  // SIGKILL and reap
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }
  const std::string& endpoints() const { return endpoints_; }
  const std::string& dir() const { return dir_; }

 private:
  static std::string name(int i) { return "e" + std::to_string(i + 1); }
  static std::string url(uint16_t port) { return "http://127.0.0.1:" + std::to_string(port); }
  std::string dir_, endpoints_;
  std::vector<Child> members_;
};

// A lease's attached keys sorted: etcd lists them in Go map order, which
// changes from run to run; the set is what the API promises.
std::string sorted_lease_keys(const std::string& text) {
  static const std::regex keys(R"(attached keys\(\[([^\]]*)\]\))");
  std::string out;
  auto last = text.cbegin();
  for (auto it = std::sregex_iterator(text.begin(), text.end(), keys); it != std::sregex_iterator();
       ++it) {
    std::istringstream words((*it)[1].str());
    std::vector<std::string> sorted{std::istream_iterator<std::string>(words), {}};
    std::sort(sorted.begin(), sorted.end());
    std::string joined;
    for (const auto& w : sorted)
      joined += (joined.empty() ? "" : " ") + w;
    out.append(last, (*it)[0].first);
    out += "attached keys([" + joined + "])";
    last = (*it)[0].second;
  }
  out.append(last, text.cend());
  return out;
}

// What etcdctl printed, with what differs by nature masked: lease and
// member ids, terms, raft indexes, latencies, the remaining TTL's exact
// second and the version banner; and what etcd orders at random, sorted.
std::string masked(std::string text) {
  static const std::vector<std::pair<std::regex, std::string>> masks = {
      // The client library's own retry log: timestamps and connection names.
      {std::regex(R"(\{"level":"warn"[^\n]*\n)"), ""},
      {std::regex(R"("header":\{[^}]*\},?)"), ""},
      // etcdctl prints ids with %16x: a smaller one is padded with spaces.
      {std::regex(R"( *\b[0-9a-f]{12,16}\b)"), " <id>"},
      {std::regex(R"(took = [0-9.]+[a-zµ]+)"), "took = <t>"},
      {std::regex(R"(remaining\(\d+s\))"), "remaining(<s>)"},
  };
  for (const auto& [pattern, with] : masks)
    text = std::regex_replace(text, pattern, with);
  return sorted_lease_keys(text);
}

class Ctl {
 public:
  explicit Ctl(Target target) : t_(std::move(target)) {}
  const Target& target() const { return t_; }

  RunResult raw(const std::vector<std::string>& args, Millis timeout = 20s) const {
    std::vector<std::string> argv = {"etcdctl", "--endpoints=" + t_.endpoints,
                                     "--command-timeout=10s"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(t_.scratch, argv, timeout);
  }
  // One line of transcript: the command, its exit code and masked output.
  std::string operator()(const std::vector<std::string>& args) const {
    RunResult r = raw(args);
    std::string line = "$";
    for (const auto& a : args)
      line += " " + a;
    return masked(line) + "\n[" + std::to_string(r.code) + "] " + masked(r.out) + masked(r.err);
  }
  // etcdctl txn reads its script from standard input.
  std::string txn(const std::string& script) const {
    RunResult r = run_program(
        t_.scratch,
        {"sh", "-c", "printf '" + script + "' | etcdctl --endpoints=" + t_.endpoints + " txn"},
        20s);
    return "$ txn\n[" + std::to_string(r.code) + "] " + masked(r.out) + masked(r.err);
  }
  Child spawn(const std::vector<std::string>& args, const std::string& label) const {
    std::vector<std::string> argv = {"etcdctl", "--endpoints=" + t_.endpoints};
    argv.insert(argv.end(), args.begin(), args.end());
    return Child(argv, t_.scratch + "/" + label + ".out", t_.scratch + "/" + label + ".err");
  }
  std::string output(const std::string& label) const {
    return read_file(t_.scratch + "/" + label + ".out");
  }

 private:
  Target t_;
};

// A scenario that cannot go on fails and returns what it has.
#define ASSERT_TRUE_OR_EMPTY(condition)         \
  do {                                          \
    if (!(condition)) {                         \
      ADD_FAILURE() << "not true: " #condition; \
      return "";                                \
    }                                           \
  } while (0)

// The scenarios: each returns a transcript to compare, and checks on its
// own what a transcript cannot show (that lockers took turns).

std::string kv_scenario(const Ctl& ctl) {
  std::string out;
  for (auto args : std::vector<std::vector<std::string>>{
           {"put", "a", "1"},
           {"put", "b", "2"},
           {"put", "a", "3"},
           {"put", "c/1", "x"},
           {"put", "c/2", "y"},
           {"get", "a", "-w", "json"},
           {"get", "a", "--rev=2"},
           {"get", "c/", "--prefix"},
           {"get", "a", "c", "--keys-only"},
           {"get", "", "--from-key", "--limit=2", "--order=DESCEND"},
           {"get", "", "--prefix", "--sort-by=VERSION", "--keys-only"},
           {"get", "a", "--rev=100"},
           {"del", "a", "--prev-kv"},
           {"get", "a"},
           {"del", "c/", "--prefix"},
           {"get", "b", "-w", "json"},
           {"compaction", "4"},
           {"get", "a", "--rev=3"},
           {"get", "a", "--rev=4"},
           {"put", "b", "--ignore-value"},
           {"put", "nothing-here", "--ignore-value"},
           {"get", "b", "-w", "json"},
       })
    out += ctl(args);
  return out;
}

std::string txn_scenario(const Ctl& ctl) {
  std::string out = ctl({"put", "t", "1"});
  // compares; success requests; failure requests, blank-line separated.
  out += ctl.txn("value(\"t\") = \"1\"\n\nput t 2\nget t\n\nput t never\n\n");
  out += ctl.txn("value(\"t\") = \"1\"\n\nput t never\n\nget t\n\n");
  out += ctl.txn("version(\"t\") > \"1\"\nmod(\"t\") < \"100\"\n\nput u 1\n\n\n");
  out += ctl.txn("create(\"missing\") = \"0\"\n\nput missing here\n\n\n");
  // Every compare target on a key that does not exist: compared against an
  // empty key-value, and a value compare fails whatever it asks.
  for (std::string compare :
       {"value(\"absent\") = \"\"", "value(\"absent\") != \"x\"", "value(\"absent\") < \"z\"",
        "version(\"absent\") = \"0\"", "version(\"absent\") > \"0\"", "create(\"absent\") = \"0\"",
        "create(\"absent\") > \"0\"", "mod(\"absent\") < \"1\"",
        "mod(\"absent\") != \"0\""})  // etcdctl 3.4 panics on lease(): unit-tested
    out += ctl.txn(compare + "\n\nget t\n\nget u\n\n");
  out += ctl({"get", "", "--prefix", "-w", "json"});
  return out;
}

std::string watch_scenario(const Ctl& ctl) {
  RunResult before = ctl.raw({"put", "w/0", "before", "-w", "json"});
  std::smatch m;
  ASSERT_TRUE_OR_EMPTY(std::regex_search(before.out, m, std::regex(R"("revision":(\d+))")));
  std::string out = "[" + std::to_string(before.code) + "] put w/0 before\n";
  // From that put's revision: the watch replays what came before it was
  // set up, so it sees the same events however late it starts.
  Child watcher =
      ctl.spawn({"watch", "w/", "--prefix", "--rev=" + m[1].str(), "--prev-kv"}, "watch");
  out += ctl({"put", "w/1", "one"});
  out += ctl({"put", "w/0", "again"});
  out += ctl({"del", "w/", "--prefix"});
  out += ctl({"put", "elsewhere", "not seen"});
  EXPECT_TRUE(wait_until(
      [&] {
        std::string seen = ctl.output("watch");
        return std::count(seen.begin(), seen.end(), '\n') >= 14;
      },
      10s))
      << ctl.target().name << ": " << ctl.output("watch");
  watcher.kill9();
  return out + "watch saw:\n" + ctl.output("watch");
}

std::string lease_scenario(const Ctl& ctl) {
  std::string out;
  RunResult granted = ctl.raw({"lease", "grant", "100"});
  out += "[" + std::to_string(granted.code) + "] " + masked(granted.out);
  std::smatch m;
  std::string id;
  if (std::regex_search(granted.out, m, std::regex(R"(lease ([0-9a-f]+) granted)"))) id = m[1];
  EXPECT_FALSE(id.empty()) << granted.out << granted.err;
  out += ctl({"put", "l/1", "v", "--lease=" + id});
  out += ctl({"put", "l/2", "v", "--lease=" + id});
  out += ctl({"lease", "timetolive", id, "--keys"});
  out += ctl({"lease", "keep-alive", "--once", id});
  out += ctl({"lease", "revoke", id});
  out += ctl({"get", "l/", "--prefix"});
  out += ctl({"lease", "timetolive", id});
  out += ctl({"put", "l/3", "v", "--lease=" + id});

  // Expiry: a 2 s lease with nobody keeping it alive takes its key along.
  RunResult short_lease = ctl.raw({"lease", "grant", "2"});
  std::string short_id;
  if (std::regex_search(short_lease.out, m, std::regex(R"(lease ([0-9a-f]+) granted)")))
    short_id = m[1];
  out += ctl({"put", "doomed", "v", "--lease=" + short_id});
  bool gone = wait_until(
      [&] {
        RunResult r = ctl.raw({"get", "doomed", "--print-value-only"});
        return r.code == 0 && r.out.empty();
      },
      20s, 200ms);
  EXPECT_TRUE(gone) << ctl.target().name << ": a 2 s lease's key outlived it";
  out += std::string("expired and deleted: ") + (gone ? "yes" : "no") + "\n";
  return out;
}

// Two lockers, each writing start and end marks around its critical
// section: the marks must pair up, never interleave.
std::string lock_scenario(const Ctl& ctl) {
  std::string marks = ctl.target().scratch + "/marks";
  std::vector<Child> lockers;
  for (int i = 0; i < 3; ++i)
    lockers.push_back(ctl.spawn({"lock", "the-lock", "--", "sh", "-c",
                                 "echo start " + std::to_string(i) + " >> " + marks +
                                     "; sleep 0.3; echo end " + std::to_string(i) + " >> " + marks},
                                "locker" + std::to_string(i)));
  for (auto& l : lockers)
    EXPECT_EQ(l.wait(30s), std::optional<int>(0)) << ctl.target().name;
  std::string seen = read_file(marks);
  std::istringstream in(seen);
  std::string a, b, x, y;
  int pairs = 0;
  while (in >> a >> x >> b >> y) {
    EXPECT_EQ(a, "start") << seen;
    EXPECT_EQ(b, "end") << seen;
    EXPECT_EQ(x, y) << "locker " << x << " was not alone: " << seen;
    ++pairs;
  }
  EXPECT_EQ(pairs, 3) << seen;
  return "lockers took turns: " + std::to_string(pairs) + "\n";
}

std::string elect_scenario(const Ctl& ctl) {
  auto leader_is = [&](const std::string& who) {
    return wait_until(
        [&] {
          RunResult r = ctl.raw({"elect", "the-election", "-l"}, 5s);
          return r.out.find(who) != std::string::npos;
        },
        20s, 100ms);
  };
  Child first = ctl.spawn({"elect", "the-election", "first"}, "first");
  bool first_leads = leader_is("first");
  Child second = ctl.spawn({"elect", "the-election", "second"}, "second");
  bool still_first = leader_is("first");
  first.signal(SIGINT);  // etcdctl resigns on an interrupt
  first.wait(10s);
  bool second_takes_over = leader_is("second");
  second.signal(SIGINT);
  second.wait(10s);
  // Each system on its own, not only the same as the other.
  EXPECT_TRUE(first_leads && still_first && second_takes_over) << ctl.target().name;
  return std::string("first leads: ") + (first_leads ? "yes" : "no") +
         ", still first while second waits: " + (still_first ? "yes" : "no") +
         ", second takes over: " + (second_takes_over ? "yes" : "no") + "\n";
}

size_t matches(const std::string& text, const std::string& pattern) {
  std::regex re(pattern);
  return static_cast<size_t>(
      std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

std::string cluster_scenario(const Ctl& ctl) {
  std::string out;
  RunResult members = ctl.raw({"member", "list"});
  out += "members: " + std::to_string(matches(members.out, "\n")) +
         " started: " + std::to_string(matches(members.out, "started")) +
         " urls (peer and client): " + std::to_string(matches(members.out, "http://")) + "\n";
  // endpoint status: endpoint, id, version, db size, is leader, is learner, ...
  RunResult status = ctl.raw({"endpoint", "status"});
  out += "status lines: " + std::to_string(matches(status.out, "\n")) +
         " leaders: " + std::to_string(matches(status.out, ", true, false, ")) + "\n";
  RunResult health = ctl.raw({"endpoint", "health"});
  size_t healthy = matches(health.out + health.err, "is healthy");
  out += "healthy: " + std::to_string(healthy) + "\n";
  // Each system on its own, not only the same as the other.
  EXPECT_EQ(matches(members.out, "started"), 3u) << ctl.target().name << members.out;
  EXPECT_EQ(matches(members.out, "http://"), 6u) << ctl.target().name << members.out;
  EXPECT_EQ(matches(status.out, ", true, false, "), 1u) << ctl.target().name << status.out;
  EXPECT_EQ(healthy, 3u) << ctl.target().name << health.out << health.err;
  return out;
}

// Every member's hash of its store, until they agree (a member may still be
// applying the last write) or 10 s pass; `last` keeps the last answer.
bool hashes_agree(const Ctl& ctl, RunResult* last) {
  return wait_until(
      [&] {
        *last = ctl.raw({"endpoint", "hashkv", "--cluster"});
        std::set<std::string> distinct;
        std::istringstream lines(last->out);
        for (std::string line; std::getline(lines, line);)
          distinct.insert(line.substr(line.rfind(' ') + 1));
        return last->code == 0 && distinct.size() == 1 && matches(last->out, "\n") == 3;
      },
      10s, 200ms);
}

// Leadership handed to a chosen member, a snapshot saved the way etcdctl
// checks it, and every member's hash of the store agreeing.
std::string maintenance_scenario(const Ctl& ctl) {
  auto leader_and_others = [&] {
    RunResult r = ctl.raw({"endpoint", "status", "-w", "json"});
    std::vector<uint64_t> ids;
    uint64_t leader = 0;
    std::smatch m;
    std::string text = r.out;
    std::regex member(R"("member_id":(\d+))"), lead(R"("leader":(\d+))");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), member);
         it != std::sregex_iterator(); ++it)
      ids.push_back(std::stoull((*it)[1]));
    if (std::regex_search(text, m, lead)) leader = std::stoull(m[1]);
    return std::make_pair(leader, ids);
  };
  auto [leader, ids] = leader_and_others();
  ASSERT_TRUE_OR_EMPTY(leader != 0 && ids.size() == 3);
  uint64_t target = ids[0] == leader ? ids[1] : ids[0];
  char hex[32];
  std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(target));
  std::string out = ctl({"move-leader", hex});
  bool moved = wait_until([&] { return leader_and_others().first == target; }, 10s, 100ms);
  out += std::string("the chosen member leads: ") + (moved ? "yes" : "no") + "\n";

  std::string file = ctl.target().scratch + "/snapshot.db";
  std::string first = ctl.target().endpoints.substr(0, ctl.target().endpoints.find(','));
  RunResult saved = run_program(ctl.target().scratch,
                                {"etcdctl", "--endpoints=" + first, "snapshot", "save", file}, 20s);
  std::string bytes = read_file(file);
  out += "snapshot save: [" + std::to_string(saved.code) + "] " +
         (bytes.size() % 512 == 32 ? "sized as etcdctl checks" : "not sized as etcdctl checks") +
         "\n";
  RunResult hashes;
  bool agree = hashes_agree(ctl, &hashes);
  out += "hashkv: [" + std::to_string(hashes.code) + "] " + (agree ? "agree" : "differ") +
         " across " + std::to_string(matches(hashes.out, "\n")) + "\n";
  EXPECT_TRUE(moved && saved.code == 0 && agree)
      << ctl.target().name << ": " << out << saved.err << hashes.out << hashes.err;
  return out;
}

// What `member add n4 --peer-urls=PEER` prints, rebuilt from `member list`
// once the add was taken but its answer lost: the new member's id and the
// initial cluster that includes it.
RunResult added_as_listed(const Ctl& ctl, const std::string& peer) {
  RunResult listed = ctl.raw({"member", "list"});
  std::string id, cluster;
  std::istringstream lines(listed.out);
  for (std::string line; std::getline(lines, line);) {
    // id, status, name, peer URLs, client URLs, is learner
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string x; std::getline(fields, x, ',');)
      f.push_back(x.substr(
          x.find_first_not_of(' ') == std::string::npos ? x.size() : x.find_first_not_of(' ')));
    if (f.size() < 4) continue;
    bool is_new = f[3] == peer;
    if (is_new) id = f[0];
    cluster += (cluster.empty() ? "" : ",") + (is_new ? std::string("n4") : f[2]) + "=" + f[3];
  }
  RunResult added;
  added.code = id.empty() ? 1 : 0;
  added.out = "Member " + id + " added to cluster 0000000000000000\n\nETCD_NAME=\"n4\"\n" +
              "ETCD_INITIAL_CLUSTER=\"" + cluster + "\"\n";
  added.err = listed.err;
  return added;
}

// A fourth member joins as a learner, serves reads, is promoted, then is
// removed and stops: etcd's runtime reconfiguration, step by step.
std::string membership_scenario(const Ctl& ctl) {
  const Target& t = ctl.target();
  std::vector<uint16_t> ports = free_ports(2);
  ASSERT_TRUE_OR_EMPTY(ports.size() == 2);
  std::string peer = "http://127.0.0.1:" + std::to_string(ports[0]);
  std::string client = "http://127.0.0.1:" + std::to_string(ports[1]);
  std::string out = ctl({"put", "a", "1"});
  // Both systems refuse a change while a member looks unhealthy to them
  // (strict reconfiguration), which a loaded machine can make them think
  // for a moment after the scenarios before: a client tries again.
  // An attempt that timed out may still have been taken: the next then
  // hears "Peer URLs already exists", and what `member add` would have
  // said is rebuilt from `member list`.
  const std::regex member_added(R"(Member ([0-9a-f]+) added)");
  RunResult added;
  std::smatch m;
  for (int attempt = 0; attempt < 10; ++attempt) {
    added = ctl.raw({"member", "add", "n4", "--learner", "--peer-urls=" + peer});
    if (std::regex_search(added.out, m, member_added)) break;
    if (attempt > 0 && added.err.find("Peer URLs already exists") != std::string::npos) {
      std::cerr << t.name << ": member add's answer was lost; rebuilt from member list\n";
      added = added_as_listed(ctl, peer);
      break;
    }
    std::this_thread::sleep_for(500ms);
  }
  if (!std::regex_search(added.out, m, member_added)) {
    ADD_FAILURE() << t.name << ": member add: " << added.out << added.err;
    return "";
  }
  const std::string id = m[1];
  ASSERT_TRUE_OR_EMPTY(
      std::regex_search(added.out, m, std::regex(R"(ETCD_INITIAL_CLUSTER="([^"]+)\")")));
  out +=
      "[" + std::to_string(added.code) + "] " + masked(added.out.substr(0, added.out.find('\n')));
  out += "\n";
  // Started as `member add` says to start it.
  std::vector<std::string> argv = t.serve;
  std::vector<std::string> flags =
      member_flags("n4", t.scratch + "/n4", peer, client, m[1].str(), "existing", t.token);
  argv.insert(argv.end(), flags.begin(), flags.end());
  Child fourth(argv, t.scratch + "/n4.log", t.scratch + "/n4.log");
  Ctl on_fourth({t.name, "127.0.0.1:" + std::to_string(ports[1]), t.scratch, t.serve, t.token});
  bool learner_serves = wait_until(
      [&] {
        RunResult r = on_fourth.raw({"get", "a", "--consistency=s", "--print-value-only"}, 5s);
        return r.out == "1\n";
      },
      20s, 200ms);
  out += std::string("the learner serves what was written before it joined: ") +
         (learner_serves ? "yes" : "no") + "\n";
  RunResult listed = ctl.raw({"member", "list"});
  out += "members: " + std::to_string(matches(listed.out, "\n")) +
         " learners: " + std::to_string(matches(listed.out, ", true\n")) + "\n";
  // etcd refuses to promote a learner still catching up: ask until it is.
  bool promoted = wait_until(
      [&] {
        return ctl.raw({"member", "promote", id}).code == 0;
      },
      20s, 200ms);
  out += std::string("promoted: ") + (promoted ? "yes" : "no") + "\n";
  listed = ctl.raw({"member", "list"});
  out += "members: " + std::to_string(matches(listed.out, "\n")) +
         " learners: " + std::to_string(matches(listed.out, ", true\n")) + "\n";
  out += ctl({"put", "b", "2"});
  bool voter_reads = wait_until(
      [&] {
        return on_fourth.raw({"get", "b", "--print-value-only"}, 5s).out == "2\n";
      },
      20s, 200ms);
  out += std::string("the new voter serves linearizable reads: ") + (voter_reads ? "yes" : "no") +
         "\n";
  // Restarted with the same flags, it is the same member: its data
  // directory says who it is, and it asks nobody.
  fourth.signal(SIGTERM);
  bool restarted = fourth.wait(10s).has_value();
  if (restarted) {
    fourth = Child(argv, t.scratch + "/n4.log", t.scratch + "/n4.log");
    out += ctl({"put", "c", "3"});
    restarted = wait_until(
        [&] {
          return on_fourth.raw({"get", "c", "--print-value-only"}, 5s).out == "3\n";
        },
        20s, 200ms);
  }
  out += std::string("restarted from its data directory, it serves: ") +
         (restarted ? "yes" : "no") + "\n";
  listed = ctl.raw({"member", "list"});
  out += "members: " + std::to_string(matches(listed.out, "\n")) +
         " started: " + std::to_string(matches(listed.out, ", started, ")) + "\n";
  out += masked(ctl({"member", "remove", id}));
  listed = ctl.raw({"member", "list"});
  out += "members: " + std::to_string(matches(listed.out, "\n")) + "\n";
  bool stopped = fourth.wait(20s).has_value();
  out += std::string("the removed member stopped: ") + (stopped ? "yes" : "no") + "\n";
  out += ctl({"get", "b", "--print-value-only"});
  // Each system on its own, not only the same as the other.
  EXPECT_TRUE(learner_serves && promoted && voter_reads && restarted && stopped)
      << t.name << ": " << out << read_file(t.scratch + "/n4.log");
  return out;
}

// Runs every scenario on synod and on etcd and compares the transcripts.
// The mask itself: what it must equalize, and what it must keep apart.
TEST(EtcdCompat, TheMaskHidesIdsAndOrderOnly) {
  EXPECT_EQ(masked("lease 694d7aa52e5bb30b attached keys([l/2 l/1])"),
            masked("lease  94d7aa52e5bb30c attached keys([l/1 l/2])"));
  EXPECT_NE(masked("attached keys([l/1 l/2])"), masked("attached keys([l/1 l/3])"));
  EXPECT_NE(masked("[0] OK"), masked("[1] OK"));
}

TEST(EtcdCompat, EtcdctlSeesTheSameFromSynodAsFromEtcd) {
  ASSERT_EQ(run_program(::testing::TempDir(), {"etcd", "--version"}, 10s).code, 0)
      << "etcd is not installed (Debian's etcd-server): scripts/setup.sh installs it";
  Cluster synod(3);
  ASSERT_TRUE(synod.wait_for_leader());
  EtcdCluster etcd;
  ASSERT_FALSE(etcd.dir().empty());
  std::string synod_scratch = synod.dir() + "/ctl", etcd_scratch = etcd.dir() + "/ctl";
  std::filesystem::create_directories(synod_scratch);
  std::filesystem::create_directories(etcd_scratch);
  const char* synod_bin = std::getenv("SYNOD_BIN");
  ASSERT_NE(synod_bin, nullptr) << "SYNOD_BIN is not set (ctest sets it)";
  Ctl on_synod(
      {"synod", synod.endpoints(), synod_scratch, {synod_bin, "serve"}, "synod-serve-test"});
  Ctl on_etcd({"etcd", etcd.endpoints(), etcd_scratch, {"etcd"}, "compat"});
  ASSERT_TRUE(wait_until(
      [&] {
        return on_etcd.raw({"endpoint", "health"}).code == 0;
      },
      30s, 200ms))
      << "the etcd cluster did not become healthy";

  // A transcript scenario prints etcdctl's answers; the others print
  // what they checked themselves, on each system.
  struct Scenario {
    const char* name;
    std::string (*run)(const Ctl&);
    bool transcript;
  };
  for (Scenario s :
       {Scenario{"kv", kv_scenario, true}, Scenario{"txn", txn_scenario, true},
        Scenario{"watch", watch_scenario, true}, Scenario{"lease", lease_scenario, true},
        Scenario{"lock", lock_scenario, false}, Scenario{"elect", elect_scenario, false},
        Scenario{"cluster", cluster_scenario, false},
        Scenario{"maintenance", maintenance_scenario, true},
        Scenario{"membership", membership_scenario, true}}) {
    SCOPED_TRACE(s.name);
    std::string from_etcd = s.run(on_etcd);
    std::string from_synod = s.run(on_synod);
    EXPECT_EQ(from_synod, from_etcd) << "scenario " << s.name;
    // Equal transcripts prove nothing if etcd itself failed: the oracle
    // must have answered something.
    if (s.transcript) {
      EXPECT_NE(from_etcd.find("[0] "), std::string::npos)
          << "etcd answered nothing: " << from_etcd;
    }
  }
}

// One member started alone, with etcd's own test quota (53,248 bytes): a
// small put is taken and one as large as the quota refused; then a voter is
// added (etcd 3.4 allows it for a one-member cluster, as when a cluster is
// restored from a backup), started as `member add` says, and the two serve.
std::string one_member_scenario(const std::vector<std::string>& serve, const std::string& dir,
                                const std::string& name) {
  std::vector<uint16_t> ports = free_ports(4);
  ASSERT_TRUE_OR_EMPTY(ports.size() == 4);
  auto url = [](uint16_t port) { return "http://127.0.0.1:" + std::to_string(port); };
  auto start = [&](const std::string& member, int at, const std::string& initial,
                   const std::string& state) {
    std::vector<std::string> argv = serve;
    for (std::string& flag : member_flags(member, dir + "/" + member, url(ports[at]),
                                          url(ports[at + 1]), initial, state, "one-member"))
      argv.push_back(std::move(flag));
    argv.insert(argv.end(), {"--quota-backend-bytes", "53248"});
    return Child(argv, dir + "/" + member + ".log", dir + "/" + member + ".log");
  };
  Child first = start("m1", 0, "m1=" + url(ports[0]), "new");
  Ctl ctl({name, "127.0.0.1:" + std::to_string(ports[1]), dir, serve, "one-member"});
  bool healthy = wait_until(
      [&] {
        return ctl.raw({"endpoint", "health"}, 5s).code == 0;
      },
      30s, 200ms);
  ASSERT_TRUE_OR_EMPTY(healthy);
  std::string out = ctl({"put", "small", "fits"});
  out += ctl({"put", "large", std::string(53248, 'x')});
  RunResult added = ctl.raw({"member", "add", "m2", "--peer-urls=" + url(ports[2])});
  out += "[" + std::to_string(added.code) + "] " +
         masked(added.out.substr(0, added.out.find('\n'))) + masked(added.err) + "\n";
  std::smatch m;
  if (!std::regex_search(added.out, m, std::regex(R"(ETCD_INITIAL_CLUSTER="([^"]+)\")"))) {
    ADD_FAILURE() << name << ": member add: " << added.out << added.err;
    return out;
  }
  Child second = start("m2", 2, m[1].str(), "existing");
  Ctl both({name, ctl.target().endpoints + ",127.0.0.1:" + std::to_string(ports[3]), dir, serve,
            "one-member"});
  bool serving = wait_until(
      [&] {
        return both.raw({"get", "small", "--print-value-only"}, 5s).out == "fits\n";
      },
      30s, 200ms);
  out += std::string("the two members serve: ") + (serving ? "yes" : "no") + "\n";
  // A new member shows as started once it has published its name.
  bool started = wait_until(
      [&] {
        return matches(ctl.raw({"member", "list"}).out, ", started, ") == 2;
      },
      20s, 200ms);
  out += std::string("both started: ") + (started ? "yes" : "no") + "\n";
  EXPECT_TRUE(serving && started) << name << ": " << out << read_file(dir + "/m2.log");
  return out;
}

TEST(EtcdCompat, AOneMemberClusterWithAQuotaOfFiftyKilobytesActsAsEtcds) {
  const char* synod_bin = std::getenv("SYNOD_BIN");
  ASSERT_NE(synod_bin, nullptr) << "SYNOD_BIN is not set (ctest sets it)";
  std::string dir = ::testing::TempDir() + "synod-one-member-XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  std::filesystem::create_directories(dir + "/etcd");
  std::filesystem::create_directories(dir + "/synod");
  std::string from_etcd = one_member_scenario({"etcd"}, dir + "/etcd", "etcd");
  std::string from_synod = one_member_scenario({synod_bin, "serve"}, dir + "/synod", "synod");
  EXPECT_EQ(from_synod, from_etcd);
  EXPECT_NE(from_etcd.find("database space exceeded"), std::string::npos) << from_etcd;
  EXPECT_NE(from_etcd.find("added to cluster"), std::string::npos) << from_etcd;
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

// Two clusters started with the same flags report the same cluster and
// member ids whether synod or etcd serves them: the ids are derived as
// etcd derives them, from the peer URLs and the cluster token.
TEST(EtcdCompat, ClusterAndMemberIdsAreTheOnesEtcdDerives) {
  const char* synod_bin = std::getenv("SYNOD_BIN");
  ASSERT_NE(synod_bin, nullptr) << "SYNOD_BIN is not set (ctest sets it)";
  std::string dir = ::testing::TempDir() + "synod-ids-XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  std::vector<uint16_t> ports = free_ports(6);
  ASSERT_EQ(ports.size(), 6u);
  auto url = [](uint16_t port) { return "http://127.0.0.1:" + std::to_string(port); };
  std::string initial;
  for (int i = 0; i < 3; ++i)
    initial += (i ? "," : "") + ("m" + std::to_string(i + 1)) + "=" + url(ports[2 * i]);
  // The ids one system reports, as "cluster <id>" and each member's id.
  auto ids_of = [&](const std::vector<std::string>& serve, const std::string& sub) {
    std::vector<Child> members;
    std::string endpoints;
    for (int i = 0; i < 3; ++i) {
      std::vector<std::string> argv = serve;
      std::string name = "m" + std::to_string(i + 1);
      for (std::string& flag : member_flags(name, dir + "/" + sub + "/" + name, url(ports[2 * i]),
                                            url(ports[2 * i + 1]), initial, "new", "ids-token"))
        argv.push_back(std::move(flag));
      members.emplace_back(argv, dir + "/" + sub + name + ".log", dir + "/" + sub + name + ".log");
      endpoints += (i ? "," : "") + std::string("127.0.0.1:") + std::to_string(ports[2 * i + 1]);
    }
    Ctl ctl({sub, endpoints, dir, serve, "ids-token"});
    std::string listed;
    wait_until(
        [&] {
          listed = ctl.raw({"member", "list", "-w", "json"}, 5s).out;
          return listed.find("\"cluster_id\"") != std::string::npos;
        },
        30s, 200ms);
    std::smatch m;
    std::string out;
    if (std::regex_search(listed, m, std::regex(R"("cluster_id":(\d+))")))
      out += "cluster " + m[1].str();
    std::vector<std::string> ids;
    const std::regex id_field(R"("ID":(\d+))");
    for (auto it = std::sregex_iterator(listed.begin(), listed.end(), id_field);
         it != std::sregex_iterator(); ++it)
      ids.push_back((*it)[1]);
    std::sort(ids.begin(), ids.end());
    for (const std::string& id : ids)
      out += " member " + id;
    return out;
  };
  std::string from_etcd = ids_of({"etcd"}, "etcd");
  std::string from_synod = ids_of({synod_bin, "serve"}, "synod");
  EXPECT_NE(from_etcd.find("member"), std::string::npos) << "etcd listed no member";
  EXPECT_EQ(from_synod, from_etcd);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

// A watch on a follower and a kept-alive lease, while the leader is killed:
// the watch sees every write once, in order, and the lease outlives its TTL
// while kept alive, then expires once nobody keeps it.
TEST(EtcdApi, WatchesAndLeasesSurviveALeaderKill) {
  Cluster c(3);
  std::optional<int> leader = c.wait_for_leader();
  ASSERT_TRUE(leader);
  const int follower = (*leader + 1) % c.size();
  std::string scratch = c.dir() + "/ctl";
  std::filesystem::create_directories(scratch);
  Ctl all({"synod", c.endpoints(), scratch, {}, {}});
  Ctl on_follower({"synod", c.endpoint(follower), scratch, {}, {}});
  std::string survivors;
  for (int i = 0; i < c.size(); ++i)
    if (i != *leader) survivors += (survivors.empty() ? "" : ",") + c.endpoint(i);
  Ctl after({"synod", survivors, scratch, {}, {}});

  RunResult first = all.raw({"put", "k/0", "v", "-w", "json"});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(first.out, m, std::regex(R"("revision":(\d+))"))) << first.err;
  Child watcher =
      on_follower.spawn({"watch", "k/", "--prefix", "--rev=" + m[1].str()}, "follower-watch");

  RunResult granted = all.raw({"lease", "grant", "3"});
  ASSERT_TRUE(std::regex_search(granted.out, m, std::regex(R"(lease ([0-9a-f]+) granted)")))
      << granted.out << granted.err;
  const std::string lease = m[1];
  ASSERT_EQ(all.raw({"put", "leased", "v", "--lease=" + lease}).code, 0);
  Child keeper = all.spawn({"lease", "keep-alive", lease}, "keeper");

  for (int i = 1; i <= 5; ++i)
    ASSERT_EQ(all.raw({"put", "k/" + std::to_string(i), "v"}).code, 0);
  c.kill9(*leader);
  ASSERT_TRUE(c.wait_for_leader());
  for (int i = 6; i <= 10; ++i)
    ASSERT_EQ(after.raw({"put", "k/" + std::to_string(i), "v"}).code, 0) << i;

  // Past the lease's TTL, kept alive through the new leader.
  std::this_thread::sleep_for(std::chrono::seconds(5));
  RunResult kept = after.raw({"get", "leased", "--print-value-only"});
  EXPECT_EQ(kept.out, "v\n") << "a kept-alive lease expired across the leader change";

  std::string expected;
  for (int i = 0; i <= 10; ++i)
    expected += "PUT\nk/" + std::to_string(i) + "\nv\n";
  EXPECT_TRUE(wait_until([&] { return on_follower.output("follower-watch") == expected; }, 10s))
      << "the follower's watch saw:\n"
      << on_follower.output("follower-watch");

  keeper.kill9();
  EXPECT_TRUE(wait_until(
      [&] {
        RunResult r = after.raw({"get", "leased", "--print-value-only"});
        return r.code == 0 && r.out.empty();
      },
      20s, 200ms))
      << "the lease outlived its keeper";
}

// A follower paused while the leader moves on and compacts its log must
// install a snapshot when it comes back; a watch on it still sees every
// revision once, in order, from the store's history.
TEST(EtcdApi, AWatchOnAMemberThatInstallsASnapshotMissesNothing) {
  ClusterOptions options;
  options.extra_args = {"--snapshot-count", "50"};
  Cluster c(3, options);
  std::optional<int> leader = c.wait_for_leader();
  ASSERT_TRUE(leader);
  const int follower = (*leader + 1) % c.size();
  std::string scratch = c.dir() + "/ctl";
  std::filesystem::create_directories(scratch);
  std::string others;
  for (int i = 0; i < c.size(); ++i)
    if (i != follower) others += (others.empty() ? "" : ",") + c.endpoint(i);
  Ctl on_others({"synod", others, scratch, {}, {}});
  Ctl on_follower({"synod", c.endpoint(follower), scratch, {}, {}});

  auto revision_of = [](const RunResult& r) {
    std::smatch m;
    return std::regex_search(r.out, m, std::regex(R"("revision":(\d+))")) ? std::stoll(m[1]) : 0;
  };
  int64_t start = revision_of(on_others.raw({"put", "w/start", "v", "-w", "json"}));
  ASSERT_GT(start, 0);
  Child watcher = on_follower.spawn(
      {"watch", "w/", "--prefix", "--rev=" + std::to_string(start), "-w", "json"}, "watch");
  ASSERT_TRUE(wait_until([&] { return !on_follower.output("watch").empty(); }, 10s));

  ::kill(c.pid(follower), SIGSTOP);
  RunResult load = c.run({"bench", "--endpoints", others, "--op", "put", "--clients", "8",
                          "--duration", "2", "--keys", "50", "--key-prefix", "w/"});
  int64_t end = revision_of(on_others.raw({"put", "w/end", "v", "-w", "json"}));
  ::kill(c.pid(follower), SIGCONT);
  ASSERT_EQ(load.code, 0) << load.out << load.err;
  ASSERT_GT(end, start + 200) << load.out;

  auto seen = [&] {
    std::vector<int64_t> revisions;
    std::string text = on_follower.output("watch");
    std::regex mod(R"("mod_revision":(\d+))");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), mod);
         it != std::sregex_iterator(); ++it)
      revisions.push_back(std::stoll((*it)[1]));
    return revisions;
  };
  EXPECT_TRUE(wait_until([&] { return !seen().empty() && seen().back() >= end; }, 20s));
  std::vector<int64_t> revisions = seen(), expected;
  for (int64_t r = start; r <= end; ++r)
    expected.push_back(r);
  EXPECT_EQ(revisions, expected) << "the follower's watch saw " << revisions.size()
                                 << " revisions of " << expected.size();
  EXPECT_NE(c.log(follower).find("installed a snapshot"), std::string::npos)
      << "the follower caught up without a snapshot: the test did not test it";
}

// Watches that ask for progress notifications hear the revision while
// nothing changes (etcd's --experimental-watch-progress-notify-interval).
// etcdctl 3.4 cannot ask for them, so etcd's own Watch service definition,
// through gRPC, does.
TEST(EtcdApi, AnIdleWatchHearsProgress) {
  ClusterOptions options;
  options.extra_args = {"--experimental-watch-progress-notify-interval", "200ms"};
  Cluster c(1, options);
  ASSERT_TRUE(c.wait_for_leader());
  auto channel = grpc::CreateChannel(c.endpoint(0), grpc::InsecureChannelCredentials());
  auto watch = etcdserverpb::Watch::NewStub(channel);
  struct Stream {
    grpc::ClientContext ctx;
    std::unique_ptr<
        grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>>
        rw;
  };
  auto open = [&](bool progress, Stream& s) {
    s.ctx.set_deadline(std::chrono::system_clock::now() + 20s);
    s.rw = watch->Watch(&s.ctx);
    etcdserverpb::WatchRequest create;
    create.mutable_create_request()->set_key("p");
    create.mutable_create_request()->set_progress_notify(progress);
    ASSERT_TRUE(s.rw->Write(create));
    etcdserverpb::WatchResponse created;
    ASSERT_TRUE(s.rw->Read(&created));
    ASSERT_TRUE(created.created());
  };
  Stream quiet, plain;
  open(true, quiet);
  open(false, plain);
  etcdserverpb::WatchResponse r;
  ASSERT_TRUE(quiet.rw->Read(&r));  // the first within the interval, or the deadline fails it
  EXPECT_TRUE(r.events().empty());
  EXPECT_EQ(r.watch_id(), 0);
  EXPECT_GT(r.header().revision(), 0);
  // The other stream heard nothing: a put is the first thing it reads.
  ASSERT_EQ(c.kv({"put", "p", "v"}).code, 0);
  ASSERT_TRUE(plain.rw->Read(&r));
  EXPECT_EQ(r.events_size(), 1) << "a watch that did not ask heard progress";
  quiet.ctx.TryCancel();
  plain.ctx.TryCancel();
}

// `etcdctl snapshot save` against synod, then `synod snapshot restore`
// for each member of a new cluster: the keys, their history and the
// revision come back, the new members serve them and agree; a damaged file
// is refused with the reason.
TEST(EtcdApi, ASnapshotSavedWithEtcdctlRestoresANewCluster) {
  ASSERT_NE(std::getenv("SYNOD_BIN"), nullptr) << "SYNOD_BIN is not set (ctest sets it)";
  std::string scratch, file;
  {
    Cluster old(3);
    ASSERT_TRUE(old.wait_for_leader());
    scratch = ::testing::TempDir() + "synod-restore-" + std::to_string(::getpid());
    std::filesystem::remove_all(scratch);
    std::filesystem::create_directories(scratch);
    Ctl ctl({"synod", old.endpoints(), scratch, {}, {}});
    for (int i = 1; i <= 5; ++i)
      ASSERT_EQ(ctl.raw({"put", "k" + std::to_string(i), "v" + std::to_string(i)}).code, 0);
    ASSERT_EQ(ctl.raw({"del", "k5"}).code, 0);
    file = scratch + "/snap.db";
    RunResult saved = run_program(
        scratch, {"etcdctl", "--endpoints=" + old.endpoint(0), "snapshot", "save", file}, 20s);
    ASSERT_EQ(saved.code, 0) << saved.out << saved.err;
  }
  std::vector<uint16_t> ports = free_ports(6);
  ASSERT_EQ(ports.size(), 6u);
  auto url = [](uint16_t port) { return "http://127.0.0.1:" + std::to_string(port); };
  std::string initial, endpoints;
  for (int i = 0; i < 3; ++i) {
    initial += (i ? "," : "") + ("r" + std::to_string(i + 1)) + "=" + url(ports[2 * i]);
    endpoints += (i ? "," : "") + std::string("127.0.0.1:") + std::to_string(ports[2 * i + 1]);
  }
  std::vector<Child> members;
  for (int i = 0; i < 3; ++i) {
    std::string name = "r" + std::to_string(i + 1), data = scratch + "/" + name;
    RunResult restored = run_synod(scratch,
                                   {"snapshot", "restore", file, "--name", name, "--data-dir", data,
                                    "--initial-cluster", initial, "--initial-cluster-token",
                                    "restored", "--initial-advertise-peer-urls", url(ports[2 * i])},
                                   20s);
    ASSERT_EQ(restored.code, 0) << restored.out << restored.err;
    std::vector<std::string> argv = {std::getenv("SYNOD_BIN"), "serve"};
    for (std::string& flag : member_flags(name, data, url(ports[2 * i]), url(ports[2 * i + 1]),
                                          initial, "new", "restored"))
      argv.push_back(std::move(flag));
    members.emplace_back(argv, data + ".log", data + ".log");
  }
  Ctl ctl({"synod", endpoints, scratch, {}, {}});
  EXPECT_TRUE(wait_until([&] { return ctl.raw({"get", "k1"}).code == 0; }, 20s, 200ms));
  EXPECT_EQ(ctl.raw({"get", "k", "--prefix", "--print-value-only"}).out, "v1\nv2\nv3\nv4\n");
  EXPECT_EQ(ctl.raw({"get", "k5", "--rev=6", "--print-value-only"}).out, "v5\n")
      << "the history before the snapshot";
  RunResult put = ctl.raw({"put", "k6", "v6", "-w", "json"});
  EXPECT_NE(put.out.find("\"revision\":8"), std::string::npos)
      << "the revision goes on: " << put.out;
  RunResult hashes;
  EXPECT_TRUE(hashes_agree(ctl, &hashes)) << hashes.out << hashes.err;

  // A flipped byte is caught by the checksum, and nothing is written.
  std::string damaged = read_file(file);
  damaged[40] ^= 1;
  {
    std::ofstream out(scratch + "/damaged.db", std::ios::binary);
    out << damaged;
  }
  RunResult refused = run_synod(
      scratch, {"snapshot", "restore", scratch + "/damaged.db", "--data-dir", scratch + "/x"}, 20s);
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("SHA-256 does not match"), std::string::npos) << refused.err;
  EXPECT_FALSE(std::filesystem::exists(scratch + "/x"));
  members.clear();
  std::filesystem::remove_all(scratch);
}

// etcd's --strict-reconfig-check, on by default: with one of three members
// down, removing a healthy one or adding a voter would leave no quorum, and
// is refused; removing the member that is down is not.
TEST(EtcdApi, AMemberChangeThatWouldLoseQuorumIsRefused) {
  Cluster c(3);
  ASSERT_TRUE(c.wait_for_leader());
  std::string scratch = c.dir() + "/ctl";
  std::filesystem::create_directories(scratch);
  Ctl on_n1({"synod", c.endpoint(0), scratch, {}, {}});
  std::map<std::string, std::string> id_of;  // name -> hex id
  ASSERT_TRUE(wait_until(
      [&] {
        RunResult listed = on_n1.raw({"member", "list"});
        std::smatch m;
        std::string text = listed.out;
        id_of.clear();
        std::regex line(R"(([0-9a-f]+), started, (n\d))");
        for (auto it = std::sregex_iterator(text.begin(), text.end(), line);
             it != std::sregex_iterator(); ++it)
          id_of[(*it)[2]] = (*it)[1];
        return id_of.size() == 3;  // every member has published itself
      },
      10s, 100ms));
  c.kill9(2);
  ASSERT_TRUE(wait_until([&] { return c.metric(0, "synod_peer_connected{peer=\"n3\"}") == 0.0; },
                         10s, 100ms));
  ASSERT_TRUE(c.wait_for_leader());

  RunResult removed = on_n1.raw({"member", "remove", id_of["n2"]});
  EXPECT_NE(removed.code, 0);
  EXPECT_NE(removed.err.find("etcdserver: unhealthy cluster"), std::string::npos) << removed.err;
  RunResult added = on_n1.raw({"member", "add", "n4", "--peer-urls=http://127.0.0.1:1"});
  EXPECT_NE(added.code, 0);
  EXPECT_NE(added.err.find("etcdserver: unhealthy cluster"), std::string::npos) << added.err;
  RunResult down = on_n1.raw({"member", "remove", id_of["n3"]});
  EXPECT_EQ(down.code, 0) << down.err;
  RunResult listed = on_n1.raw({"member", "list"});
  EXPECT_EQ(matches(listed.out, "\n"), 2u) << listed.out;
}

// A write to a member that knows no leader waits for one (within the
// request timeout), as etcd's does, rather than failing at once: the
// member retries it while it was not taken.
TEST(EtcdApi, AWriteWithNoLeaderWaitsForOne) {
  Cluster c(3);
  ASSERT_TRUE(c.wait_for_leader());
  c.kill9(1);
  c.kill9(2);
  ASSERT_TRUE(wait_until([&] { return c.metric(0, "synod_server_has_leader") == 0.0; }, 10s, 50ms))
      << "a lone member still believed in a leader";
  std::string scratch = c.dir() + "/ctl";
  std::filesystem::create_directories(scratch);
  Ctl on_n1({"synod", c.endpoint(0), scratch, {}, {}});
  Child put = on_n1.spawn({"put", "waited", "yes"}, "put");
  std::this_thread::sleep_for(500ms);
  ASSERT_TRUE(c.restart(1));
  EXPECT_EQ(put.wait(20s), std::optional<int>(0))
      << on_n1.output("put") << read_file(scratch + "/put.err");
  EXPECT_EQ(on_n1.raw({"get", "waited", "--print-value-only"}).out, "yes\n");
}

TEST(EtcdApi, AStoreAtItsQuotaRefusesWritesUntilACompactionMakesRoom) {
  Cluster c(3, {.extra_args = {"--quota-backend-bytes", "1048576"}});
  ASSERT_TRUE(c.wait_for_leader());
  std::string scratch = c.dir() + "/ctl";
  std::filesystem::create_directories(scratch);
  Ctl ctl({"synod", c.endpoints(), scratch, {}, {}});
  const std::string big(100'000, 'v');  // under the 128 KiB of one argument
  // Each put of the same key keeps the old value in the history, so nine
  // or so bring the store near 1 MiB, where the next would pass it.
  int refused_at = -1;
  RunResult put;
  for (int i = 0; i < 20 && refused_at < 0; ++i) {
    put = ctl.raw({"put", "big", big});
    if (put.code != 0) refused_at = i;
  }
  ASSERT_GE(refused_at, 9) << put.out << put.err;
  EXPECT_NE(put.err.find("etcdserver: mvcc: database space exceeded"), std::string::npos)
      << put.err;
  // The refusal raises NOSPACE through the log: every member lists it.
  for (int i = 0; i < c.size(); ++i) {
    Ctl on_member({"synod", c.endpoint(i), scratch, {}, {}});
    EXPECT_TRUE(wait_until(
        [&] {
          return on_member.raw({"alarm", "list"}).out.find("alarm:NOSPACE") != std::string::npos;
        },
        10s, 100ms))
        << c.name(i) << " does not list the alarm";
  }
  RunResult framed =
      c.run({"kv", "--endpoints", c.endpoints(), "--timeout", "2", "put", "framed", "v"});
  EXPECT_NE(framed.code, 0) << "the framed client port is under the same quota";
  EXPECT_NE((framed.out + framed.err).find("database space exceeded"), std::string::npos)
      << framed.out << framed.err;
  EXPECT_EQ(ctl.raw({"del", "small"}).code, 0) << "a delete is still taken";
  std::string deleting = ctl.txn("\n\ndel gone\n\n");
  EXPECT_NE(deleting.find("[0] SUCCESS"), std::string::npos)
      << "so is a transaction that only deletes: " << deleting;
  std::string putting = ctl.txn("\n\nput gone v\n\n");
  EXPECT_NE(putting.find("database space exceeded"), std::string::npos)
      << "not one that puts: " << putting;
  // Compacting away the old values makes room, but as in etcd the alarm
  // holds until an operator disarms it.
  RunResult status = ctl.raw({"get", "big", "-w", "json"});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(status.out, m, std::regex(R"("revision":([0-9]+))"))) << status.out;
  ASSERT_EQ(ctl.raw({"compact", m[1]}).code, 0);
  EXPECT_NE(ctl.raw({"put", "small", "fits"}).code, 0) << "refused while the alarm holds";
  RunResult disarmed = ctl.raw({"alarm", "disarm"});
  EXPECT_EQ(disarmed.code, 0) << disarmed.err;
  EXPECT_EQ(ctl.raw({"alarm", "list"}).out, "");
  put = ctl.raw({"put", "small", "fits"});
  EXPECT_EQ(put.code, 0) << put.err;
}

}  // namespace
}  // namespace synod::serve::testing
