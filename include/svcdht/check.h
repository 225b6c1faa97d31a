// SPDX-License-Identifier: MIT
// SVCDHT_CHECK(cond, "why"): an invariant that holds unless svc-dht itself has a bug. A
// failed check names the condition, the reason and the place on stderr, then aborts: it is
// never used on peer input (that gets an Err value and a counter), only on our own state.
#pragma once

namespace svcdht::core {

[[noreturn]] void check_failed(const char* cond, const char* why, const char* file, int line);

}  // namespace svcdht::core

#define SVCDHT_CHECK(cond, why)                                                      \
    do {                                                                             \
        if (!(cond)) ::svcdht::core::check_failed(#cond, (why), __FILE__, __LINE__); \
    } while (0)
