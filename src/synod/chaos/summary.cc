#include "synod/chaos/summary.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace synod::chaos {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
// Errors listed by kind, the most frequent first; the rest are counted.
constexpr size_t kMaxErrorKinds = 12;

struct Window {
  int64_t from, to;
};

// The longest stretch of [w.from, w.to] without an ok operation returning.
int64_t longest_outage(const std::vector<int64_t>& ok_returns, Window w) {
  int64_t last = w.from, longest = 0;
  auto it = std::lower_bound(ok_returns.begin(), ok_returns.end(), w.from);
  for (; it != ok_returns.end() && *it <= w.to; ++it) {
    longest = std::max(longest, *it - last);
    last = *it;
  }
  return std::max(longest, w.to - last);
}

std::string verdict_text(CheckResult::Verdict v) {
  switch (v) {
    case CheckResult::Verdict::kPass:
      return "PASS";
    case CheckResult::Verdict::kFail:
      return "FAIL";
    case CheckResult::Verdict::kUndecided:
      return "UNDECIDED";
  }
  return "?";
}

}  // namespace

std::string seconds_text(int64_t ns) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3fs", static_cast<double>(ns) / kSecond);
  return buffer;
}

std::vector<Availability> availability(const std::vector<OpRecord>& records,
                                       const std::vector<NemesisEvent>& events, int64_t start_ns,
                                       int64_t end_ns) {
  std::vector<Availability> out = {{.phase = "healthy"}};
  std::map<std::string, size_t> index = {{"healthy", 0}};
  std::map<std::string, std::vector<Window>> windows;
  std::vector<Window> faulty;
  for (const NemesisEvent& e : events) {
    std::string name = fault_name(e.kind);
    if (index.try_emplace(name, out.size()).second) out.push_back({.phase = name});
    Window w{e.start_ns, e.heal_ns < 0 ? end_ns : e.heal_ns};
    windows[name].push_back(w);
    faulty.push_back(w);
  }
  // Healthy time: the gaps between faults.
  int64_t last = start_ns;
  for (const Window& w : faulty) {
    if (w.from > last) windows["healthy"].push_back({last, w.from});
    last = std::max(last, w.to);
  }
  if (end_ns > last) windows["healthy"].push_back({last, end_ns});

  std::vector<int64_t> ok_returns;
  for (const OpRecord& r : records)
    if (r.result == OpRecord::Result::kOk) ok_returns.push_back(r.ret);
  std::sort(ok_returns.begin(), ok_returns.end());
  for (auto& [name, ws] : windows) {
    Availability& a = out[index.at(name)];
    for (const Window& w : ws) {
      a.seconds += static_cast<double>(w.to - w.from) / kSecond;
      a.longest_outage_ns = std::max(a.longest_outage_ns, longest_outage(ok_returns, w));
      for (const OpRecord& r : records) {
        if (r.call < w.from || r.call >= w.to) continue;
        ++a.ops;
        if (r.result == OpRecord::Result::kOk) ++a.ok;
        if (r.result == OpRecord::Result::kUnknown) ++a.unknown;
      }
    }
  }
  return out;
}

std::string events_near(const std::vector<NemesisEvent>& events, int64_t from, int64_t to) {
  std::string out;
  for (const NemesisEvent& e : events) {
    int64_t heal = e.heal_ns < 0 ? INT64_MAX : e.heal_ns;
    if (heal < from - 10 * kSecond || e.start_ns > to + 2 * kSecond) continue;
    out +=
        "    " + seconds_text(e.start_ns) + " start " + fault_name(e.kind) + ": " + e.detail + "\n";
    if (e.heal_ns >= 0)
      out += "    " + seconds_text(e.heal_ns) + " heal  " + fault_name(e.kind) + ": " +
             e.heal_detail + "\n";
  }
  return out.empty() ? "    (none)\n" : out;
}

std::string summarize(const std::vector<OpRecord>& records, const std::vector<NemesisEvent>& events,
                      const std::vector<CheckResult>& checks, int64_t start_ns, int64_t end_ns) {
  uint64_t ok = 0, failed = 0, unknown = 0;
  std::map<std::string, uint64_t> errors;
  for (const OpRecord& r : records) {
    if (r.result == OpRecord::Result::kOk) ++ok;
    if (r.result == OpRecord::Result::kFailed) ++failed;
    if (r.result == OpRecord::Result::kUnknown) ++unknown;
    if (!r.error.empty()) ++errors[r.error];
  }
  char line[512];
  std::string s;
  std::snprintf(
      line, sizeof line, "operations: %zu  ok %llu  failed %llu  unknown outcome %llu  over %s\n",
      records.size(), static_cast<unsigned long long>(ok), static_cast<unsigned long long>(failed),
      static_cast<unsigned long long>(unknown), seconds_text(end_ns).c_str());
  s += line;
  if (!errors.empty()) {
    std::vector<std::pair<uint64_t, std::string>> sorted;
    for (const auto& [kind, n] : errors)
      sorted.push_back({n, kind});
    std::sort(sorted.begin(), sorted.end(), std::greater<>());
    s += "errors by kind:\n";
    for (size_t k = 0; k < sorted.size() && k < kMaxErrorKinds; ++k) {
      std::snprintf(line, sizeof line, "  %7llu  %s\n",
                    static_cast<unsigned long long>(sorted[k].first), sorted[k].second.c_str());
      s += line;
    }
    if (sorted.size() > kMaxErrorKinds)
      s += "  (" + std::to_string(sorted.size() - kMaxErrorKinds) + " more kinds)\n";
  }
  s += "availability (operations called during each phase):\n";
  std::snprintf(line, sizeof line, "  %-20s %8s %7s %7s %8s %15s\n", "phase", "time", "ops", "ok",
                "unknown", "longest outage");
  s += line;
  for (const Availability& a : availability(records, events, start_ns, end_ns)) {
    if (a.seconds == 0) continue;
    std::snprintf(line, sizeof line, "  %-20s %7.1fs %7llu %6.1f%% %8llu %15s\n", a.phase.c_str(),
                  a.seconds, static_cast<unsigned long long>(a.ops),
                  a.ops ? 100.0 * static_cast<double>(a.ok) / static_cast<double>(a.ops) : 0.0,
                  static_cast<unsigned long long>(a.unknown),
                  seconds_text(a.longest_outage_ns).c_str());
    s += line;
  }
  s += "checks:\n";
  for (const CheckResult& c : checks) {
    s += "  " + c.workload + ": " + verdict_text(c.verdict) + "  " + c.summary + "\n";
    for (const std::string& note : c.notes)
      s += "    note: " + note + "\n";
    if (c.verdict == CheckResult::Verdict::kPass) continue;
    if (!c.details.empty()) {
      std::string indented = "    ";
      for (char ch : c.details) {
        indented += ch;
        if (ch == '\n') indented += "    ";
      }
      s += indented + "\n";
    }
    if (c.window_from >= 0) {
      s += "    failing window " + seconds_text(c.window_from) + " to " +
           seconds_text(c.window_to) + "; nemesis events near it:\n";
      s += events_near(events, c.window_from, c.window_to);
    }
  }
  return s;
}

}  // namespace synod::chaos
