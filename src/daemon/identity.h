// SPDX-License-Identifier: MIT
// The node's Ed25519 identity on disk: a small text file holding the 32-byte seed, created
// with mode 0600 (and its directory 0700) if missing. Its NodeId is BLAKE3 of the public key.
#pragma once

#include <string>

#include "svcdht/env.h"

namespace svcdht::daemon {

// write_key_file writes a new key file at |path| (refusing to replace one unless |force|).
bool write_key_file(const std::string& path, const core::Seed32& seed, bool force,
                    std::string* err);

// read_key_file reads a seed; a file that others can read is accepted with |warning| set.
bool read_key_file(const std::string& path, core::Seed32* seed, std::string* err,
                   std::string* warning);

// load_or_create loads the seed in |path|, creating the file with a fresh seed when it does
// not exist. An empty |path| gives an ephemeral identity (micronode). |created| says what
// happened.
bool load_or_create(const std::string& path, core::Seed32* out, bool* created, std::string* err,
                    std::string* warning);

}  // namespace svcdht::daemon
