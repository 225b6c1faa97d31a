// SPDX-License-Identifier: MIT
// The seeded generator, identity derivation and the record-signature registry. No global state:
// every generator is a value owned by its node or test.
#include "svcdht/env.h"

#include <algorithm>
#include <cstring>

#include "svcdht/blake3.h"

namespace svcdht::core {

uint64_t Rng::next_u64() {
    uint8_t b[8];
    fill(b, sizeof b);
    uint64_t v;
    std::memcpy(&v, b, sizeof v);
    return v;
}

uint64_t Rng::below(uint64_t n) {
    // Lemire's nearly-divisionless method would be faster; rejection keeps it obviously
    // unbiased, and this is not a hot path.
    const uint64_t limit = UINT64_MAX - (UINT64_MAX % n);
    for (;;) {
        const uint64_t v = next_u64();
        if (v < limit) return v % n;
    }
}

double Rng::unit() {
    return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

SeededRng::SeededRng(uint64_t seed) {
    for (auto& w : s_) w = splitmix64(seed);
}

uint64_t SeededRng::next() {
    const auto rotl = [](uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

void SeededRng::fill(uint8_t* p, size_t n) {
    while (n > 0) {
        const uint64_t v = next();
        const size_t take = n < 8 ? n : 8;
        std::memcpy(p, &v, take);
        p += take;
        n -= take;
    }
}

Crypto::Crypto() : ed25519_(*this) {
    verifiers_.push_back(&ed25519_);
}

bool Crypto::Ed25519Verifier::verify(ByteView pk, ByteView msg, ByteView sig) const {
    if (pk.size() != 32 || sig.size() != 64) return false;
    PublicKey p;
    Signature s;
    std::copy(pk.begin(), pk.end(), p.begin());
    std::copy(sig.begin(), sig.end(), s.begin());
    return c_.verify(p, msg, s);
}

void Crypto::register_verifier(const SigVerifier* v) {
    if (v != nullptr && verifier(v->alg()) == nullptr) verifiers_.push_back(v);
}

const SigVerifier* Crypto::verifier(uint64_t alg) const {
    for (const SigVerifier* v : verifiers_)
        if (v->alg() == alg) return v;
    return nullptr;
}

NodeId node_id_of(const PublicKey& pk) {
    const auto h = blake3({pk.data(), pk.size()});
    return NodeId::from({h.data(), h.size()});
}

Identity make_identity(const Crypto& crypto, const Seed32& seed) {
    Identity id;
    id.keys = crypto.keypair_from_seed(seed);
    id.id = node_id_of(id.keys.pk);
    return id;
}

}  // namespace svcdht::core
