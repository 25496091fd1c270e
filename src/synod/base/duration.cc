#include "synod/base/duration.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace synod {

std::optional<Duration> parse_duration(std::string_view text) {
  size_t unit_at = 0;
  while (unit_at < text.size() &&
         ((text[unit_at] >= '0' && text[unit_at] <= '9') || text[unit_at] == '.'))
    ++unit_at;
  if (unit_at == 0) return std::nullopt;
  double value = 0;
  auto number = text.substr(0, unit_at);
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || end != number.data() + number.size()) return std::nullopt;

  auto unit = text.substr(unit_at);
  double scale;
  if (unit.empty() || unit == "s")
    scale = 1e9;
  else if (unit == "ms")
    scale = 1e6;
  else if (unit == "us")
    scale = 1e3;
  else if (unit == "ns")
    scale = 1;
  else if (unit == "m" || unit == "min")
    scale = 60e9;
  else if (unit == "h")
    scale = 3600e9;
  else
    return std::nullopt;

  double ns = value * scale;
  if (!std::isfinite(ns) || ns > 9e18) return std::nullopt;
  return Duration(static_cast<int64_t>(std::llround(ns)));
}

std::string format_duration(Duration d) {
  double ns = static_cast<double>(d.count());
  double magnitude = std::fabs(ns);
  char buffer[64];
  if (magnitude >= 1e9)
    std::snprintf(buffer, sizeof buffer, "%.6gs", ns / 1e9);
  else if (magnitude >= 1e6)
    std::snprintf(buffer, sizeof buffer, "%.6gms", ns / 1e6);
  else if (magnitude >= 1e3)
    std::snprintf(buffer, sizeof buffer, "%.6gus", ns / 1e3);
  else
    std::snprintf(buffer, sizeof buffer, "%lldns", static_cast<long long>(d.count()));
  return buffer;
}

}  // namespace synod
