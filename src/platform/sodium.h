// SPDX-License-Identifier: MIT
// The production implementations of the core's injected interfaces, over libsodium:
// Ed25519 (Crypto) and a CSPRNG (Rng). Call platform_init() once before using them.
#pragma once

#include <array>
#include <cstddef>

#include "svcdht/env.h"

namespace svcdht::platform {

// platform_init initialises libsodium; it returns false if that fails (the caller exits).
bool platform_init();

class SodiumCrypto final : public core::Crypto {
public:
    core::KeyPair keypair_from_seed(const core::Seed32& seed) const override;
    core::Signature sign(const core::SecretKey& sk, core::ByteView msg) const override;
    bool verify(const core::PublicKey& pk, core::ByteView msg,
                const core::Signature& sig) const override;
};

// SystemRng draws from libsodium's randombytes (getrandom(2) underneath), refilling a
// small buffer so that frequent small draws do not cost a system call each.
class SystemRng final : public core::Rng {
public:
    void fill(uint8_t* p, size_t n) override;

private:
    std::array<uint8_t, 256> buf_{};
    size_t have_ = 0;
};

// random_seed returns 32 bytes from the system CSPRNG (for key generation).
core::Seed32 random_seed();

}  // namespace svcdht::platform
