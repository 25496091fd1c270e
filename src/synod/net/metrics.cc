#include "synod/net/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "synod/base/assert.h"

namespace synod::net {

namespace {

// Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*. Label names: the same without ':'.
// Names come from our code, not from input, so a bad one is a bug.
bool valid_name(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Shortest text that reads back as the same double, in the style of Go's
// strconv 'g' (what the reference client writes): 0.0001, 2.5, 1e+06.
std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general);
  SYNOD_ASSERT(ec == std::errc());
  return std::string(buf, end);
}

// HELP text escapes backslash and newline; label values also escape '"'.
std::string escape(std::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

// `{a="1",b="2"}`, with `le` appended last for histogram buckets; empty when
// there are no labels at all.
std::string label_text(const Labels& labels, std::string_view le = {}) {
  if (labels.empty() && le.empty()) return "";
  std::string out = "{";
  for (const auto& [key, value] : labels) {
    SYNOD_ASSERT(valid_name(key, /*allow_colon=*/false));
    SYNOD_ASSERT(!key.starts_with("__"));  // reserved for Prometheus itself
    if (out.size() > 1) out += ',';
    out += key + "=\"" + escape(value, /*quote=*/true) + "\"";
  }
  if (!le.empty()) {
    if (out.size() > 1) out += ',';
    out += "le=\"" + std::string(le) + "\"";
  }
  return out + "}";
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds_seconds)
    : bounds_seconds_(std::move(upper_bounds_seconds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_seconds_.size() + 1)) {
  SYNOD_ASSERT(!bounds_seconds_.empty());
  for (size_t i = 0; i < bounds_seconds_.size(); ++i) {
    double b = bounds_seconds_[i];
    SYNOD_ASSERT(std::isfinite(b) && b >= 0);  // +Inf is implied, never listed
    SYNOD_ASSERT(i == 0 || b > bounds_seconds_[i - 1]);
    bounds_nanos_.push_back(std::llround(b * 1e9));
  }
}

Histogram Histogram::latency() {
  return Histogram({0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                    0.5, 1, 2.5, 5, 10});
}

void Histogram::observe(Duration d) {
  // A steady clock never goes back, but a metric is no reason to stop a
  // node: a negative reading counts as zero.
  int64_t nanos = std::max<int64_t>(d.count(), 0);
  // The first bound >= the value: Prometheus buckets are "less or equal".
  size_t i =
      std::lower_bound(bounds_nanos_.begin(), bounds_nanos_.end(), nanos) - bounds_nanos_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_nanos_.fetch_add(static_cast<uint64_t>(nanos), std::memory_order_relaxed);
}

uint64_t Histogram::count() const {
  return cumulative_counts().back();
}

double Histogram::sum_seconds() const {
  return static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) / 1e9;
}

std::vector<uint64_t> Histogram::cumulative_counts() const {
  std::vector<uint64_t> out(bounds_nanos_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

MetricsText::Family& MetricsText::family(std::string_view name, std::string_view help,
                                         std::string_view type) {
  SYNOD_ASSERT(valid_name(name, /*allow_colon=*/true));
  auto it = index_.find(name);
  if (it != index_.end()) {
    Family& f = families_[it->second].second;
    SYNOD_ASSERT(f.type == type);  // one name, one type
    return f;
  }
  index_.emplace(std::string(name), families_.size());
  families_.push_back({std::string(name), Family{std::string(help), std::string(type), ""}});
  return families_.back().second;
}

void MetricsText::gauge(std::string_view name, std::string_view help, double value,
                        const Labels& labels) {
  family(name, help, "gauge").samples +=
      std::string(name) + label_text(labels) + " " + format_value(value) + "\n";
}

void MetricsText::counter(std::string_view name, std::string_view help, double value,
                          const Labels& labels) {
  family(name, help, "counter").samples +=
      std::string(name) + label_text(labels) + " " + format_value(value) + "\n";
}

void MetricsText::histogram(std::string_view name, std::string_view help,
                            const Histogram& histogram, const Labels& labels) {
  for (const auto& label : labels)
    SYNOD_ASSERT(label.first != "le");
  std::string& out = family(name, help, "histogram").samples;
  std::string base(name);
  // One read of the buckets, so `+Inf` and `_count` agree even while another
  // thread observes.
  std::vector<uint64_t> counts = histogram.cumulative_counts();
  const std::vector<double>& bounds = histogram.upper_bounds();
  for (size_t i = 0; i < counts.size(); ++i) {
    std::string le = i < bounds.size() ? format_value(bounds[i]) : "+Inf";
    out += base + "_bucket" + label_text(labels, le) + " " + std::to_string(counts[i]) + "\n";
  }
  out += base + "_sum" + label_text(labels) + " " + format_value(histogram.sum_seconds()) + "\n";
  out += base + "_count" + label_text(labels) + " " + std::to_string(counts.back()) + "\n";
}

std::string MetricsText::str() const {
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + escape(f.help, /*quote=*/false) + "\n";
    out += "# TYPE " + name + " " + f.type + "\n";
    out += f.samples;
  }
  return out;
}

}  // namespace synod::net
