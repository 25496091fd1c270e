#include "synod/base/assert.h"

#include <cstdio>
#include <cstdlib>

namespace synod::detail {

void assertion_failed(const char* expr, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "synod: assertion failed at %s:%d: %s%s%s\n", file, line, expr,
               msg ? ": " : "", msg ? msg : "");
  std::fflush(stderr);
  std::abort();
}

}  // namespace synod::detail
