// SPDX-License-Identifier: MIT
// Reading the small files an operator points the daemon at (key file, admin token, config
// file) without trusting them: only regular files, never more than a stated size, and
// never a blocking open. /dev/zero, a FIFO or a huge file is refused with a message that
// names it, instead of reading forever or waiting for a writer.
#pragma once

#include <cstddef>
#include <string>

namespace svcdht::platform {

// Largest key file and admin token file: both hold one short line.
inline constexpr size_t MAX_SECRET_FILE = 512;
// Largest config file: the whole table with comments is under 16 KiB.
inline constexpr size_t MAX_CONFIG_FILE = 1 << 20;

// read_small_file reads all of |path| into |out| if it is a regular file of at most |max|
// bytes. Otherwise it returns false with |err| naming the file and the reason.
bool read_small_file(const std::string& path, size_t max, std::string* out, std::string* err);

}  // namespace svcdht::platform
