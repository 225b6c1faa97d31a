// SPDX-License-Identifier: MIT
// ByteBudget: one node-wide allowance of memory that every session of a node draws from
// (partial-frame reassembly buffers, transmit queues). Per-session limits bound what one
// peer costs; these bound what all of them cost together, so that many cheap connections
// cannot add up to more memory than an edge board has. Plain counters: one per embedder,
// used from its one thread; no global state.
#pragma once

#include <cstddef>
#include <cstdint>

namespace svcdht::core {

struct ByteBudget {
    size_t limit = SIZE_MAX;
    size_t used = 0;
    uint64_t refused = 0;  // take() calls that did not fit

    // take reserves |n| bytes if they fit under the limit; otherwise it counts a refusal.
    bool take(size_t n) {
        if (n > limit || used > limit - n) {
            ++refused;
            return false;
        }
        used += n;
        return true;
    }
    // force reserves |n| bytes whether or not they fit (for the few bytes that must go out,
    // such as handshake frames and the Ctrl error that says why a session closes).
    void force(size_t n) { used += n; }
    void give(size_t n) { used = n > used ? 0 : used - n; }
};

// SessionBudgets are the node-wide budgets a Session charges; null members are unlimited.
struct SessionBudgets {
    ByteBudget* rx = nullptr;  // partial-frame reassembly buffers
    ByteBudget* tx = nullptr;  // queued and in-flight transmit bytes
};

}  // namespace svcdht::core
