// SPDX-License-Identifier: MIT
// sizes: prints sizeof of the core structures (memcached's sizes.c), to budget memory per
// node on edge boards and per simulated node at 10,000+ nodes.
#include <cstdio>

#include "svcdht/sizes.h"

int main() {
    std::printf("%-28s %6s\n", "structure", "bytes");
    for (const svcdht::core::SizeInfo& s : svcdht::core::struct_sizes())
        std::printf("%-28s %6zu\n", s.name, s.bytes);
    return 0;
}
