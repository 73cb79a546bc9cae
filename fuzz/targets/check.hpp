#pragma once
// Invariant checks of the fuzz targets: active in every build type (assert() is not, under
// NDEBUG), and a failure aborts, which libFuzzer and the replay tests both report as a crash.

#include <cstdio>
#include <cstdlib>

/// Aborts with the failed condition and a sentence about it when cond is false.
#define OSBD_FUZZ_CHECK(cond, what)                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "%s:%d: invariant failed: %s (%s)\n", __FILE__, __LINE__, #cond, what); \
      std::abort();                                                                                \
    }                                                                                              \
  } while (false)
