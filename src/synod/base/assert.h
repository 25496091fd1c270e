#pragma once

// Assertions that stay on in every build (TIGER_STYLE): a broken invariant
// stops the process with its location rather than letting it serve wrong data.

namespace synod::detail {
[[noreturn]] void assertion_failed(const char* expr, const char* file, int line, const char* msg);
}  // namespace synod::detail

#define SYNOD_ASSERT(cond)                                                   \
  do {                                                                       \
    if (!(cond)) [[unlikely]]                                                \
      ::synod::detail::assertion_failed(#cond, __FILE__, __LINE__, nullptr); \
  } while (0)

#define SYNOD_ASSERT_MSG(cond, msg)                                        \
  do {                                                                     \
    if (!(cond)) [[unlikely]]                                              \
      ::synod::detail::assertion_failed(#cond, __FILE__, __LINE__, (msg)); \
  } while (0)

#define SYNOD_UNREACHABLE() \
  ::synod::detail::assertion_failed("unreachable", __FILE__, __LINE__, nullptr)
