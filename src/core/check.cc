// SPDX-License-Identifier: MIT
// The one place an invariant failure is reported (see check.h).
#include "svcdht/check.h"

#include <cstdio>
#include <cstdlib>

namespace svcdht::core {

void check_failed(const char* cond, const char* why, const char* file, int line) {
    std::fprintf(stderr, "svc-dht: invariant failed at %s:%d: %s (%s)\n", file, line, why, cond);
    std::abort();
}

}  // namespace svcdht::core
