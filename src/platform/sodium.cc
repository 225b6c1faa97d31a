// SPDX-License-Identifier: MIT
// libsodium behind the core's Crypto and Rng interfaces.
#include "platform/sodium.h"

#include <sodium.h>

#include <cstring>

namespace svcdht::platform {

bool platform_init() {
    return sodium_init() >= 0;
}

core::KeyPair SodiumCrypto::keypair_from_seed(const core::Seed32& seed) const {
    core::KeyPair kp;
    crypto_sign_seed_keypair(kp.pk.data(), kp.sk.data(), seed.data());
    return kp;
}

core::Signature SodiumCrypto::sign(const core::SecretKey& sk, core::ByteView msg) const {
    core::Signature sig;
    crypto_sign_detached(sig.data(), nullptr, msg.data(), msg.size(), sk.data());
    return sig;
}

bool SodiumCrypto::verify(const core::PublicKey& pk, core::ByteView msg,
                          const core::Signature& sig) const {
    return crypto_sign_verify_detached(sig.data(), msg.data(), msg.size(), pk.data()) == 0;
}

void SystemRng::fill(uint8_t* p, size_t n) {
    if (n > buf_.size()) {
        randombytes_buf(p, n);
        return;
    }
    if (have_ < n) {
        randombytes_buf(buf_.data(), buf_.size());
        have_ = buf_.size();
    }
    std::memcpy(p, buf_.data() + (buf_.size() - have_), n);
    // Wipe what was handed out so the buffer never holds a copy of an issued secret.
    sodium_memzero(buf_.data() + (buf_.size() - have_), n);
    have_ -= n;
}

core::Seed32 random_seed() {
    core::Seed32 s;
    randombytes_buf(s.data(), s.size());
    return s;
}

}  // namespace svcdht::platform
