// SPDX-License-Identifier: MIT
// Provider records: signing bytes, Ed25519 over libsodium, and admission. Tampering with
// any signed field (key, pk, each addr, ttl, ts) or the signature itself must fail.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "svcdht/message.h"
#include "util.h"

using namespace svcdht::core;
using namespace svcdht::test;

namespace {

struct OwnedRecord {
    std::vector<std::string> addr_store;
    std::vector<std::string_view> addrs;
    ProviderRecord rec;

    explicit OwnedRecord(const Identity& pub,
                         std::vector<std::string> a = {"tcp://198.51.100.7:9444"}) {
        addr_store = std::move(a);
        for (const auto& s : addr_store) addrs.push_back(s);
        rec.key = id_of_byte(0x42);
        rec.pk = pub.keys.pk;
        rec.addrs = ItemList<std::string_view>::of(addrs);
        rec.ttl = 600;
        rec.ts = T0_UNIX;
        sign_record(rec, crypto(), pub.keys.sk);
    }
    void relink() { rec.addrs = ItemList<std::string_view>::of(addrs); }
};

constexpr uint64_t MAX_TTL = 172800;

}  // namespace

TEST(Record, SigningBytesAreContextThenCanonicalArray) {
    const Identity pub = identity(3);
    OwnedRecord r(pub);
    Bytes b;
    record_signing_bytes(r.rec, b);
    const std::string ctx = "svc-dht/provider/v1";
    ASSERT_GT(b.size(), ctx.size());
    EXPECT_EQ(std::string(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(ctx.size())), ctx);
    EXPECT_EQ(b[ctx.size()], 0x85) << "an array of 5";
    EXPECT_EQ(b[ctx.size() + 1], 0x58) << "key as a 32-byte bstr";
}

TEST(Record, ValidRecordIsAdmitted) {
    const Identity pub = identity(3);
    OwnedRecord r(pub);
    EXPECT_EQ(admit_record(r.rec, crypto(), T0_UNIX + 10, MAX_TTL), Err::ok);
}

TEST(Record, TamperingWithAnySignedFieldFails) {
    const Identity pub = identity(3);
    {
        OwnedRecord r(pub);
        r.rec.key.b[5] ^= 1;
        EXPECT_EQ(admit_record(r.rec, crypto(), T0_UNIX, MAX_TTL), Err::bad_signature) << "key";
    }
    {
        OwnedRecord r(pub);
        r.rec.pk = identity(4).keys.pk;
        EXPECT_EQ(admit_record(r.rec, crypto(), T0_UNIX, MAX_TTL), Err::bad_signature) << "pk";
    }
    {
        OwnedRecord r(pub, {"tcp://a:1", "quic://b:2"});
        r.addr_store[1] = "quic://c:2";
        r.addrs[1] = r.addr_store[1];
        r.relink();
        EXPECT_EQ(admit_record(r.rec, crypto(), T0_UNIX, MAX_TTL), Err::bad_signature) << "addr";
    }
    {
        OwnedRecord r(pub, {"tcp://a:1", "quic://b:2"});
        r.addrs.pop_back();
        r.relink();
        EXPECT_EQ(admit_record(r.rec, crypto(), T0_UNIX, MAX_TTL), Err::bad_signature)
            << "addr removed";
    }
    {
        OwnedRecord r(pub);
        r.rec.ttl += 1;
        EXPECT_EQ(admit_record(r.rec, crypto(), T0_UNIX, MAX_TTL), Err::bad_signature) << "ttl";
    }
    {
        OwnedRecord r(pub);
        r.rec.ts -= 1;
        EXPECT_EQ(admit_record(r.rec, crypto(), T0_UNIX, MAX_TTL), Err::bad_signature) << "ts";
    }
    {
        OwnedRecord r(pub);
        r.rec.sig[63] ^= 0x80;
        EXPECT_EQ(admit_record(r.rec, crypto(), T0_UNIX, MAX_TTL), Err::bad_signature) << "sig";
    }
}

TEST(Record, AdmissionRules) {
    const Identity pub = identity(3);
    {
        OwnedRecord r(pub);
        EXPECT_EQ(admit_record(r.rec, crypto(), T0_UNIX - 301, MAX_TTL), Err::record_from_future);
        EXPECT_EQ(admit_record(r.rec, crypto(), T0_UNIX - 300, MAX_TTL), Err::ok);
        EXPECT_EQ(admit_record(r.rec, crypto(), T0_UNIX + 600, MAX_TTL), Err::record_expired);
        EXPECT_EQ(admit_record(r.rec, crypto(), T0_UNIX + 599, MAX_TTL), Err::ok);
        EXPECT_EQ(admit_record(r.rec, crypto(), T0_UNIX, 599), Err::ttl_too_large);
    }
    {
        std::vector<std::string> nine;
        for (int i = 0; i < 9; ++i) nine.push_back("tcp://h:" + std::to_string(i));
        OwnedRecord r(pub, nine);
        EXPECT_EQ(admit_record(r.rec, crypto(), T0_UNIX, MAX_TTL), Err::too_many_addrs);
    }
    {
        OwnedRecord r(pub, {"tcp://" + std::string(251, 'h')});
        EXPECT_EQ(admit_record(r.rec, crypto(), T0_UNIX, MAX_TTL), Err::addr_too_long);
    }
    for (const char* bad : {"ftp://x", "tcp:/x", "tcp://", "tcp://a b", "nodeA", "TCP://x"}) {
        OwnedRecord r(pub, {bad});
        EXPECT_EQ(admit_record(r.rec, crypto(), T0_UNIX, MAX_TTL), Err::bad_addr_scheme) << bad;
    }
    for (const char* good : {"tcp://1.2.3.4:5", "quic://[::1]:5", "local://nodeA",
                             "onion://abc.onion:80", "http://x", "https://x/y"})
        EXPECT_TRUE(addr_valid(good)) << good;
}

TEST(Record, SurvivesEncodeDecode) {
    Samples s;
    const Bytes b = encode(s.dht()[3].msg);  // add_provider_req
    DhtMsg m;
    DecodeHeader h;
    ASSERT_EQ(decode_dht(b, 16384, &m, &h), Err::ok);
    ASSERT_TRUE(m.has_rec);
    EXPECT_EQ(admit_record(m.rec, crypto(), T0_UNIX, MAX_TTL), Err::ok);
    EXPECT_EQ(m.rec.addrs.size(), 2u);
}
