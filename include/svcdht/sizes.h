// SPDX-License-Identifier: MIT
// struct_sizes: sizeof of the core's structures, private ones included, for memory budgets
// per node on edge boards and per simulated node (the `sizes` tool prints them). The table
// is built inside the core, so no tool needs the engine's private headers.
#pragma once

#include <cstddef>
#include <span>

namespace svcdht::core {

struct SizeInfo {
    const char* name;
    size_t bytes;
};

std::span<const SizeInfo> struct_sizes();

}  // namespace svcdht::core
