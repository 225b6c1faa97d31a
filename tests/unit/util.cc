// SPDX-License-Identifier: MIT
// Test fixtures (see util.h).
#include "util.h"

#include <algorithm>
#include <cassert>
#include <cstdlib>

#include "svcdht/blake3.h"

namespace svcdht::test {

using namespace core;

const Crypto& crypto() {
    static const bool ok = platform::platform_init();
    static platform::SodiumCrypto c;
    if (!ok) std::abort();
    return c;
}

Identity identity(uint8_t seed_byte) {
    Seed32 seed;
    seed.fill(seed_byte);
    return make_identity(crypto(), seed);
}

Bytes from_hex(std::string_view hex) {
    Bytes out;
    auto val = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    int hi = -1;
    for (char c : hex) {
        const int v = val(c);
        if (v < 0) continue;  // spaces and separators are allowed in literals
        if (hi < 0) {
            hi = v;
        } else {
            out.push_back(static_cast<uint8_t>(hi << 4 | v));
            hi = -1;
        }
    }
    return out;
}

std::string to_hex(ByteView b) {
    std::string s(2 * b.size(), '0');
    hex_encode(b, s.data());
    return s;
}

NodeId id_of_byte(uint8_t b) {
    NodeId id;
    id.b.fill(b);
    return id;
}

Bytes encode(const DhtMsg& m) {
    Bytes out;
    encode_dht(m, out);
    return out;
}

Bytes encode(const CtrlMsg& m) {
    Bytes out;
    encode_ctrl(m, out);
    return out;
}

Samples::Samples() : publisher_(identity(7)) {
    for (uint8_t i = 0; i < 20; ++i) {
        NodeInfo n;
        n.id = id_of_byte(static_cast<uint8_t>(0x10 + i));
        if (i % 4 == 3) {
            n.addr.ip_len = 16;
            n.addr.ip = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, i};
        } else {
            n.addr = PeerAddr::v4(198, 51, 100, i, static_cast<uint16_t>(9444 + i));
        }
        n.addr.port = static_cast<uint16_t>(9444 + i);
        nodes_.push_back(n);
    }
    value_ = {'h', 'e', 'l', 'l', 'o', ' ', 'd', 'h', 't'};
    const auto vkey = blake3(value_);

    auto make_record = [&](std::vector<std::string_view> addrs, uint64_t ts) {
        addrs_.push_back(std::move(addrs));
        ProviderRecord rec;
        rec.key = NodeId::from(vkey);
        rec.pk = publisher_.keys.pk;
        rec.addrs = ItemList<std::string_view>::of(addrs_.back());
        rec.ttl = 3600;
        rec.ts = ts;
        sign_record(rec, crypto(), publisher_.keys.sk);
        records_.push_back(rec);
    };
    records_.reserve(2);
    make_record({"tcp://198.51.100.7:9444", "quic://[2001:db8::7]:9444"}, T0_UNIX);
    make_record({"local://nodeA"}, T0_UNIX + 10);

    auto add = [&](std::string name, DhtMsg m) { dht_.push_back({std::move(name), m}); };
    DhtMsg m;
    // Requests.
    m = {};
    m.op = Op::ping;
    m.rid = 1;
    add("ping_req", m);
    m = {};
    m.op = Op::find_node;
    m.rid = 2;
    m.has_target = true;
    m.target = id_of_byte(0xab);
    add("find_node_req", m);
    m = {};
    m.op = Op::get_providers;
    m.rid = 3;
    m.has_key = true;
    m.key = NodeId::from(vkey);
    add("get_providers_req", m);
    m = {};
    m.op = Op::add_provider;
    m.rid = 4;
    m.has_rec = true;
    m.rec = records_[0];
    add("add_provider_req", m);
    m = {};
    m.op = Op::put_value;
    m.rid = 5;
    m.has_key = true;
    m.key = NodeId::from(vkey);
    m.has_val = true;
    m.val = value_;
    add("put_value_req", m);
    m = {};
    m.op = Op::get_value;
    m.rid = 6;
    m.has_key = true;
    m.key = NodeId::from(vkey);
    add("get_value_req", m);
    // Responses.
    m = {};
    m.op = Op::ping;
    m.rid = 1;
    m.f = MsgFlag::response;
    m.has_obs = true;
    m.obs = PeerAddr::v4(203, 0, 113, 9, 40000);
    add("ping_resp", m);
    m = {};
    m.op = Op::find_node;
    m.rid = 0x1234567890ULL;
    m.f = MsgFlag::response;
    m.has_nodes = true;
    m.nodes = ItemList<NodeInfo>::of(nodes_);
    find20_ = dht_.size();
    add("find_node_resp_20", m);
    m.nodes = ItemList<NodeInfo>::of(std::span<const NodeInfo>(nodes_).subspan(0, 3));
    add("find_node_resp_3", m);
    m = {};
    m.op = Op::get_providers;
    m.rid = 3;
    m.f = MsgFlag::response;
    m.has_providers = true;
    m.providers = ItemList<ProviderRecord>::of(records_);
    m.has_nodes = true;
    m.nodes = ItemList<NodeInfo>::of(std::span<const NodeInfo>(nodes_).subspan(0, 2));
    add("get_providers_resp", m);
    m.providers =
        ItemList<ProviderRecord>::of(std::span<const ProviderRecord>(records_).subspan(1, 1));
    m.nodes = ItemList<NodeInfo>::of(std::span<const NodeInfo>(nodes_).subspan(0, 1));
    add("get_providers_resp_small", m);
    m = {};
    m.op = Op::add_provider;
    m.rid = 4;
    m.f = MsgFlag::response;
    add("add_provider_resp", m);
    m.code = Code::bad_signature;
    add("add_provider_resp_1440", m);
    m = {};
    m.op = Op::put_value;
    m.rid = 5;
    m.f = MsgFlag::response;
    add("put_value_resp", m);
    m.code = Code::too_large;
    add("put_value_resp_1413", m);
    m = {};
    m.op = Op::get_value;
    m.rid = 6;
    m.f = MsgFlag::response;
    m.has_val = true;
    m.val = value_;
    add("get_value_resp", m);
    m = {};
    m.op = Op::get_value;
    m.rid = 6;
    m.f = MsgFlag::response;
    m.code = Code::not_found;
    m.has_nodes = true;
    m.nodes = ItemList<NodeInfo>::of(std::span<const NodeInfo>(nodes_).subspan(0, 4));
    add("get_value_resp_1404", m);
    m = {};
    m.op = Op::find_node;
    m.rid = 7;
    m.f = MsgFlag::response;
    m.code = Code::busy;
    add("find_node_resp_1501", m);
    // A record signed with another algorithm (the registry's test one): alg and apk follow
    // the six classic keys.
    alg_record_ = records_[1];
    InsecureTestAlgorithm::sign_record(alg_record_, 0x33, alg_storage_);
    m = {};
    m.op = Op::add_provider;
    m.rid = 8;
    m.has_rec = true;
    m.rec = alg_record_;
    add("add_provider_req_alg", m);

    CtrlMsg c;
    c.t = CtrlType::ident;
    c.pk = publisher_.keys.pk;
    c.nonce.fill(0x5a);
    c.net = "ron";
    c.port = 9444;
    ctrl_.push_back({"ident", c});
    c = {};
    c.t = CtrlType::auth;
    c.sig.fill(0x11);
    ctrl_.push_back({"auth", c});
    c = {};
    c.t = CtrlType::err;
    c.code = 1413;
    c.msg = "frame too large";
    ctrl_.push_back({"err", c});
}

// The test algorithm: secret s (32 bytes); key = BLAKE3(s) || 16 tag bytes; signature =
// s || BLAKE3_keyed(s, msg) || 16 tag bytes.
namespace {
constexpr char TEST_ALG_TAG[] = "test-insecure-pq";
}

bool InsecureTestAlgorithm::verify(core::ByteView pk, core::ByteView msg,
                                   core::ByteView sig) const {
    if (pk.size() != 48 || sig.size() != 80) return false;
    std::array<uint8_t, 32> s;
    std::copy(sig.begin(), sig.begin() + 32, s.begin());
    const auto h = core::blake3({s.data(), s.size()});
    const auto mac = core::blake3_keyed(s, msg);
    return std::equal(h.begin(), h.end(), pk.begin()) &&
           std::equal(mac.begin(), mac.end(), sig.begin() + 32) &&
           std::equal(TEST_ALG_TAG, TEST_ALG_TAG + 16, sig.begin() + 64) &&
           std::equal(TEST_ALG_TAG, TEST_ALG_TAG + 16, pk.begin() + 32);
}

void InsecureTestAlgorithm::sign_record(core::ProviderRecord& rec, uint8_t secret_byte,
                                        core::Bytes& storage) {
    std::array<uint8_t, 32> s;
    s.fill(secret_byte);
    storage.clear();
    const auto h = core::blake3({s.data(), s.size()});
    storage.insert(storage.end(), h.begin(), h.end());
    storage.insert(storage.end(), TEST_ALG_TAG, TEST_ALG_TAG + 16);  // apk: 48 bytes
    rec.alg = ALG;
    const auto fp = core::blake3({storage.data(), 48});
    std::copy(fp.begin(), fp.end(), rec.pk.begin());
    core::Bytes msg;
    core::record_signing_bytes(rec, msg);
    const auto mac = core::blake3_keyed(s, msg);
    storage.insert(storage.end(), s.begin(), s.end());
    storage.insert(storage.end(), mac.begin(), mac.end());
    storage.insert(storage.end(), TEST_ALG_TAG, TEST_ALG_TAG + 16);  // sig: 80 bytes
    rec.apk = core::ByteView(storage).subspan(0, 48);
    rec.asig = core::ByteView(storage).subspan(48, 80);
}

}  // namespace svcdht::test
