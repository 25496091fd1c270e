#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "synod/base/types.h"

namespace synod {

// Parses "250ms", "1.5s", "2m", "800us", "100ns", "60" (seconds). nullopt on
// anything else, including negative values.
std::optional<Duration> parse_duration(std::string_view text);

// Formats a duration the shortest readable way: "1.5s", "250ms", "12us".
std::string format_duration(Duration d);

}  // namespace synod
