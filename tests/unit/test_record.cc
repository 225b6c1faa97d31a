// SPDX-License-Identifier: MIT
// Provider records: signing bytes, Ed25519 over libsodium, and admission. Tampering with
// any signed field (key, pk, each addr, ttl, ts) or the signature itself must fail.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "svcdht/message.h"
#include "svcdht/record.h"
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

TEST(Record, OtherAlgorithmsComeFromTheRegistryAndRequirePqRefusesClassical) {
    svcdht::platform::SodiumCrypto c;  // a registry of its own
    InsecureTestAlgorithm test_alg;
    std::vector<std::string_view> addrs = {"tcp://198.51.100.7:9444"};
    ProviderRecord rec;
    rec.key = id_of_byte(0x42);
    rec.addrs = ItemList<std::string_view>::of(addrs);
    rec.ttl = 600;
    rec.ts = T0_UNIX;
    Bytes storage;
    InsecureTestAlgorithm::sign_record(rec, 9, storage);
    EXPECT_EQ(admit_record(rec, c, T0_UNIX, MAX_TTL), Err::unknown_sig_alg);
    c.register_verifier(&test_alg);
    EXPECT_EQ(admit_record(rec, c, T0_UNIX, MAX_TTL), Err::ok);
    EXPECT_EQ(admit_record(rec, c, T0_UNIX, MAX_TTL, true), Err::ok) << "a post-quantum alg";
    // Its signature covers the alg: the v2 context and an array of 6.
    Bytes sb;
    record_signing_bytes(rec, sb);
    EXPECT_EQ(std::string(sb.begin(), sb.begin() + 19), "svc-dht/provider/v2");
    EXPECT_EQ(sb[19], 0x86);
    // Through the codec and back: alg, apk and asig survive; Ed25519 records keep their
    // old six-key shape.
    DhtMsg m;
    m.op = Op::add_provider;
    m.rid = 1;
    m.has_rec = true;
    m.rec = rec;
    const Bytes wire = encode(m);
    DhtMsg back;
    DecodeHeader h;
    ASSERT_EQ(decode_dht(wire, 16384, &back, &h), Err::ok);
    EXPECT_EQ(back.rec.alg, InsecureTestAlgorithm::ALG);
    EXPECT_EQ(to_hex(back.rec.apk), to_hex(rec.apk));
    EXPECT_EQ(admit_record(back.rec, c, T0_UNIX, MAX_TTL), Err::ok);
    // Tampering, a key that is not the publisher's, and wrong sizes fail.
    {
        Bytes bad = storage;
        bad[100] ^= 1;  // inside the signature's mac
        ProviderRecord r = rec;
        r.apk = ByteView(bad).subspan(0, 48);
        r.asig = ByteView(bad).subspan(48);
        EXPECT_EQ(admit_record(r, c, T0_UNIX, MAX_TTL), Err::bad_signature);
    }
    {
        ProviderRecord r = rec;
        r.pk[0] ^= 1;
        EXPECT_EQ(admit_record(r, c, T0_UNIX, MAX_TTL), Err::bad_signature)
            << "pk is not BLAKE3(apk)";
        r = rec;
        r.asig = r.asig.subspan(0, 79);
        EXPECT_EQ(admit_record(r, c, T0_UNIX, MAX_TTL), Err::bad_field_length);
    }
    // Ed25519 under require_pq: valid, and refused as a downgrade.
    OwnedRecord ed(identity(3));
    EXPECT_EQ(admit_record(ed.rec, c, T0_UNIX, MAX_TTL, true), Err::pq_required);
    EXPECT_EQ(code_for_err(Err::pq_required), Code::bad_signature);
    OwnedRecord forged(identity(3));
    forged.rec.sig[0] ^= 1;
    EXPECT_EQ(admit_record(forged.rec, c, T0_UNIX, MAX_TTL, true), Err::bad_signature)
        << "only a record that verifies counts as a downgrade";
}

TEST(Record, DecoderChecksTheSignatureFieldsAgainstTheAlgorithm) {
    // A record map with the six classic keys (any sig length) and some extra ones.
    auto decode_with = [](size_t sig_len, bool alg, uint64_t alg_v, bool apk) {
        Bytes b;
        CborWriter w(b);
        w.write_map(6u + (alg ? 1u : 0u) + (apk ? 1u : 0u));
        w.write_tstr("key");
        w.write_bstr(id_of_byte(1).view());
        w.write_tstr("pk");
        w.write_bstr(id_of_byte(2).view());
        w.write_tstr("addrs");
        w.write_array(0);
        w.write_tstr("ttl");
        w.write_uint(60);
        w.write_tstr("ts");
        w.write_uint(T0_UNIX);
        w.write_tstr("sig");
        w.write_bstr(Bytes(sig_len, 7));
        if (alg) {
            w.write_tstr("alg");
            w.write_uint(alg_v);
        }
        if (apk) {
            w.write_tstr("apk");
            w.write_bstr(Bytes(48, 8));
        }
        CborReader r(b, 16384);
        ProviderRecord rec;
        return decode_item(r, &rec);
    };
    EXPECT_EQ(decode_with(64, false, 0, false), Err::ok);
    EXPECT_EQ(decode_with(64, true, 1, false), Err::ok) << "an explicit alg 1 is Ed25519";
    EXPECT_EQ(decode_with(63, false, 0, false), Err::bad_field_length);
    EXPECT_EQ(decode_with(64, false, 0, true), Err::bad_field_length) << "apk beside Ed25519";
    EXPECT_EQ(decode_with(80, true, 0xf0, false), Err::missing_field) << "another alg needs apk";
    EXPECT_EQ(decode_with(80, true, 0xf0, true), Err::ok);
    EXPECT_EQ(decode_with(MAX_RECORD_SIG_LEN + 1, true, 0xf0, true), Err::bad_field_length);
}
