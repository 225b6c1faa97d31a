// SPDX-License-Identifier: MIT
// Shared test fixtures: real libsodium crypto, deterministic identities, hex helpers, and
// one sample of every DhtMsg and Ctrl message (used by the unit tests, the vectors tool
// that feeds the CBOR interop test, and the fuzz corpus generator).
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "platform/sodium.h"
#include "svcdht/ctrl.h"
#include "svcdht/message.h"
#include "svcdht/record.h"

namespace svcdht::test {

const core::Crypto& crypto();
core::Identity identity(uint8_t seed_byte);

core::Bytes from_hex(std::string_view hex);
std::string to_hex(core::ByteView b);
core::NodeId id_of_byte(uint8_t b);  // 32 bytes of |b|

// A fixed unix time for records in tests (2026-01-01T00:00:00Z).
inline constexpr uint64_t T0_UNIX = 1767225600;

struct NamedMsg {
    std::string name;
    core::DhtMsg msg;
};

struct NamedCtrl {
    std::string name;
    core::CtrlMsg msg;
};

// Samples owns the storage its messages point into; keep it alive while using them.
class Samples {
public:
    Samples();
    const std::vector<NamedMsg>& dht() const { return dht_; }
    const std::vector<NamedCtrl>& ctrl() const { return ctrl_; }
    // A FIND_NODE response with 20 nodes (the allocation test and the benchmarks use it).
    const core::DhtMsg& find_node_20() const { return dht_[find20_].msg; }
    const core::ProviderRecord& record() const { return records_[0]; }
    const core::Identity& publisher() const { return publisher_; }

private:
    core::Identity publisher_;
    std::vector<core::NodeInfo> nodes_;
    std::deque<std::vector<std::string_view>> addrs_;
    std::vector<core::ProviderRecord> records_;
    core::ProviderRecord alg_record_;
    core::Bytes alg_storage_;
    core::Bytes value_;
    std::vector<NamedMsg> dht_;
    std::vector<NamedCtrl> ctrl_;
    size_t find20_ = 0;
};

// A second record-signature algorithm for tests of the registry, marked post-quantum. It is
// deliberately insecure (the signature reveals the secret) and exists only here: sizes
// differ from Ed25519's (48-byte key, 80-byte signature) so that nothing assumes them.
class InsecureTestAlgorithm final : public core::SigVerifier {
public:
    static constexpr uint64_t ALG = 0xF0;
    uint64_t alg() const override { return ALG; }
    const char* name() const override { return "test-insecure-pq"; }
    size_t pk_len() const override { return 48; }
    size_t sig_len() const override { return 80; }
    bool post_quantum() const override { return true; }
    bool verify(core::ByteView pk, core::ByteView msg, core::ByteView sig) const override;
    // sign_record fills rec.alg, rec.pk (the key's fingerprint), rec.apk and rec.asig, with
    // the bytes kept in |storage| (which must outlive |rec|).
    static void sign_record(core::ProviderRecord& rec, uint8_t secret_byte, core::Bytes& storage);
};

// encode returns the CBOR bytes of |m|.
core::Bytes encode(const core::DhtMsg& m);
core::Bytes encode(const core::CtrlMsg& m);

}  // namespace svcdht::test
