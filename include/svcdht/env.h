// SPDX-License-Identifier: MIT
// Everything non-deterministic the core needs, injected by its embedder: randomness
// (Rng), signatures (Crypto) and an optional log sink. These are the only virtual
// interfaces in the core. The daemon supplies libsodium-backed implementations
// (src/platform); tests and the simulator supply seeded ones.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "svcdht/bytes.h"
#include "svcdht/id.h"

namespace svcdht::core {

class Rng {
public:
    virtual ~Rng() = default;
    // fill writes |n| random bytes to |p|. The daemon's implementation is a CSPRNG:
    // handshake nonces come from here.
    virtual void fill(uint8_t* p, size_t n) = 0;

    uint64_t next_u64();
    // below returns a uniform integer in [0, n); n must be > 0.
    uint64_t below(uint64_t n);
    // unit returns a uniform double in [0, 1).
    double unit();
};

// SeededRng is xoshiro256** seeded through SplitMix64: fast, reproducible, not for
// secrets. The simulator and the tests use it so that a seed replays a run exactly.
class SeededRng final : public Rng {
public:
    explicit SeededRng(uint64_t seed);
    void fill(uint8_t* p, size_t n) override;
    uint64_t next();

private:
    std::array<uint64_t, 4> s_;
};

// splitmix64 advances |state| and returns the next output; it derives per-node seeds
// from one master seed.
uint64_t splitmix64(uint64_t& state);

using PublicKey = std::array<uint8_t, 32>;
using SecretKey = std::array<uint8_t, 64>;
using Signature = std::array<uint8_t, 64>;
using Seed32 = std::array<uint8_t, 32>;

struct KeyPair {
    PublicKey pk{};
    SecretKey sk{};
};

// Signature algorithms of provider records (the record's `alg`). Ed25519 is 1, the one
// every node verifies; others come from verifiers registered with Crypto. Post-quantum
// schemes plug in here once a distribution library offers one.
inline constexpr uint64_t SIG_ED25519 = 1;

class SigVerifier {
public:
    virtual ~SigVerifier() = default;
    virtual uint64_t alg() const = 0;
    virtual const char* name() const = 0;   // "ed25519"
    virtual size_t pk_len() const = 0;      // the algorithm's public key, in bytes
    virtual size_t sig_len() const = 0;     // its signature, in bytes
    virtual bool post_quantum() const = 0;  // what require_pq accepts
    // verify returns true only if |sig| is a valid signature of |msg| by |pk|.
    virtual bool verify(ByteView pk, ByteView msg, ByteView sig) const = 0;
};

class Crypto {
public:
    Crypto();
    virtual ~Crypto() = default;
    Crypto(const Crypto&) = delete;
    Crypto& operator=(const Crypto&) = delete;
    // keypair_from_seed derives an Ed25519 key pair from 32 seed bytes.
    virtual KeyPair keypair_from_seed(const Seed32& seed) const = 0;
    // sign returns the Ed25519 signature of |msg| under |sk|.
    virtual Signature sign(const SecretKey& sk, ByteView msg) const = 0;
    // verify returns true only if |sig| is a valid signature of |msg| by |pk|.
    virtual bool verify(const PublicKey& pk, ByteView msg, const Signature& sig) const = 0;

    // The record-signature registry. Ed25519 (SIG_ED25519) is always there, verified by
    // verify() above; register_verifier adds another algorithm (it must outlive this
    // Crypto, and its alg must be new). verifier returns null for an unknown alg.
    void register_verifier(const SigVerifier* v);
    const SigVerifier* verifier(uint64_t alg) const;

private:
    class Ed25519Verifier final : public SigVerifier {
    public:
        explicit Ed25519Verifier(const Crypto& c) : c_(c) {}
        uint64_t alg() const override { return SIG_ED25519; }
        const char* name() const override { return "ed25519"; }
        size_t pk_len() const override { return 32; }
        size_t sig_len() const override { return 64; }
        bool post_quantum() const override { return false; }
        bool verify(ByteView pk, ByteView msg, ByteView sig) const override;

    private:
        const Crypto& c_;
    };
    Ed25519Verifier ed25519_;
    std::vector<const SigVerifier*> verifiers_;
};

// Identity is a node's key pair and the id it implies: NodeId = BLAKE3(pk).
struct Identity {
    KeyPair keys;
    NodeId id;
};
NodeId node_id_of(const PublicKey& pk);
Identity make_identity(const Crypto& crypto, const Seed32& seed);

enum class LogLevel : uint8_t { debug, info, warn, error };

struct LogField {
    std::string_view key;
    std::string_view value;
};

// LogSink receives state changes the core finds worth telling an operator about
// (never one line per packet: drops are counters).
class LogSink {
public:
    virtual ~LogSink() = default;
    virtual void log(LogLevel level, std::string_view msg, std::span<const LogField> fields) = 0;
    // enabled: a line of |level| would be written (the core skips building debug lines
    // nobody reads).
    virtual bool enabled(LogLevel level) const {
        (void)level;
        return true;
    }
};

struct Env {
    Rng* rng = nullptr;
    const Crypto* crypto = nullptr;
    LogSink* log = nullptr;  // optional
};

}  // namespace svcdht::core
