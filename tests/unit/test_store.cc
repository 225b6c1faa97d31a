// SPDX-License-Identifier: MIT
// The store: one record per (key, publisher) with newer-ts-wins, idempotent re-stores,
// limits in items, bytes and per key, expiry on the timer (never on read), values, and the
// snapshot.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "svcdht/store.h"
#include "util.h"

using namespace svcdht::core;
using namespace svcdht::test;

namespace {

struct Rec {
    std::vector<std::string_view> addrs = {"tcp://a:1"};
    ProviderRecord r;
    Rec(const Key& key, uint8_t publisher, uint64_t ts) {
        r.key = key;
        r.pk.fill(publisher);
        r.addrs = ItemList<std::string_view>::of(addrs);
        r.ttl = 100;
        r.ts = ts;
        r.sig.fill(static_cast<uint8_t>(ts));
    }
};

// expire runs the store's timer at |now| and returns how many entries it removed.
size_t expire(Store& s, Time now) {
    StoreDue due;
    s.due(now, due);
    return due.expired;
}

}  // namespace

TEST(Store, NewerTsReplacesOlderIsStaleSameIsIdempotent) {
    Store s(StoreLimits{});
    const Key k = id_of_byte(1);
    Rec a(k, 7, 100), b(k, 7, 200), old(k, 7, 50), other(k, 8, 10);
    EXPECT_EQ(s.put_record(a.r, secs(10)), Err::ok);
    EXPECT_EQ(s.put_record(a.r, secs(10)), Err::ok) << "the same record again";
    EXPECT_EQ(s.put_record(old.r, secs(10)), Err::stale_record);
    Rec same_ts_other(k, 7, 100);
    same_ts_other.r.sig.fill(0xee);
    EXPECT_EQ(s.put_record(same_ts_other.r, secs(10)), Err::stale_record);
    EXPECT_EQ(s.put_record(b.r, secs(20)), Err::ok);
    EXPECT_EQ(s.put_record(other.r, secs(20)), Err::ok);
    EXPECT_EQ(s.record_count(), 2u);
    std::vector<const StoredRecord*> out;
    s.records(k, 0, 20, out);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0]->ts, 200u) << "newest first";
}

TEST(Store, ExpiresOnTheTimerNotOnRead) {
    Store s(StoreLimits{});
    const Key k = id_of_byte(2);
    Rec a(k, 7, 100);
    ASSERT_EQ(s.put_record(a.r, secs(10)), Err::ok);
    ASSERT_EQ(s.put_value(id_of_byte(3), Bytes{1, 2}, secs(5)), Err::ok);
    EXPECT_EQ(s.next_due(), secs(5));
    std::vector<const StoredRecord*> out;
    s.records(k, secs(11), 20, out);
    EXPECT_TRUE(out.empty()) << "reads filter by time";
    EXPECT_EQ(s.record_count(), 1u) << "but do not mutate";
    EXPECT_EQ(s.value(id_of_byte(3), secs(6)), nullptr);
    EXPECT_EQ(expire(s, secs(5)), 1u);
    EXPECT_EQ(s.value_count(), 0u);
    EXPECT_EQ(expire(s, secs(10)), 1u);
    EXPECT_EQ(s.record_count(), 0u);
    EXPECT_EQ(s.bytes(), 0u);
    EXPECT_EQ(s.next_due(), NEVER);
}

TEST(Store, AMassExpiryIsSpreadOverCallsOfAtMostMaxKeys) {
    Store s(StoreLimits{});
    std::vector<std::unique_ptr<Rec>> recs;
    for (uint32_t i = 0; i < 1200; ++i) {
        Key k;
        k.b[0] = static_cast<uint8_t>(i >> 8);
        k.b[1] = static_cast<uint8_t>(i);
        recs.push_back(std::make_unique<Rec>(k, 7, 100));
        ASSERT_EQ(s.put_record(recs.back()->r, secs(10)), Err::ok);
    }
    StoreDue due;
    s.due(secs(10), due, 500);
    EXPECT_EQ(due.expired, 500u);
    EXPECT_EQ(s.next_due(), secs(10)) << "the rest is still due";
    s.due(secs(10), due, 500);
    EXPECT_EQ(due.expired, 500u);
    s.due(secs(10), due, 500);
    EXPECT_EQ(due.expired, 200u);
    EXPECT_EQ(s.record_count(), 0u);
    EXPECT_EQ(s.next_due(), NEVER);
}

TEST(Store, ReplacedRecordKeepsOnlyItsNewExpiry) {
    Store s(StoreLimits{});
    const Key k = id_of_byte(4);
    Rec a(k, 7, 100), b(k, 7, 200);
    ASSERT_EQ(s.put_record(a.r, secs(10)), Err::ok);
    ASSERT_EQ(s.put_record(b.r, secs(30)), Err::ok);
    EXPECT_EQ(expire(s, secs(10)), 0u) << "the old expiry entry is stale";
    EXPECT_EQ(s.record_count(), 1u);
    EXPECT_EQ(expire(s, secs(30)), 1u);
}

TEST(Store, LimitsInItemsBytesAndPerKey) {
    StoreLimits l;
    l.max_items = 3;
    l.max_providers_per_key = 2;
    Store s(l);
    const Key k = id_of_byte(5);
    Rec a(k, 1, 1), b(k, 2, 1), c(k, 3, 1);
    EXPECT_EQ(s.put_record(a.r, secs(10)), Err::ok);
    EXPECT_EQ(s.put_record(b.r, secs(10)), Err::ok);
    EXPECT_EQ(s.put_record(c.r, secs(10)), Err::store_full) << "per key";
    EXPECT_EQ(s.put_value(id_of_byte(6), Bytes{1}, secs(10)), Err::ok);
    EXPECT_EQ(s.put_value(id_of_byte(7), Bytes{1}, secs(10)), Err::store_full) << "items";
    StoreLimits bl;
    bl.max_bytes = 1000;
    Store small(bl);
    EXPECT_EQ(small.put_value(id_of_byte(8), Bytes(800, 0), secs(10)), Err::ok);
    EXPECT_EQ(small.put_value(id_of_byte(9), Bytes(800, 0), secs(10)), Err::store_full) << "bytes";
}

TEST(Store, ValuesAndSnapshotAndKeys) {
    Store s(StoreLimits{});
    ASSERT_EQ(s.put_value(id_of_byte(0x30), Bytes{9}, secs(10)), Err::ok);
    ASSERT_EQ(s.put_value(id_of_byte(0x30), Bytes{9}, secs(40)), Err::ok) << "extends expiry";
    Rec a(id_of_byte(0x10), 7, 100);
    ASSERT_EQ(s.put_record(a.r, secs(20)), Err::ok);
    EXPECT_EQ(expire(s, secs(10)), 0u);
    std::vector<StoreEntryInfo> snap;
    s.snapshot(secs(1), snap);
    ASSERT_EQ(snap.size(), 2u);
    EXPECT_FALSE(snap[0].is_value);
    EXPECT_EQ(snap[0].addrs[0], "tcp://a:1");
    EXPECT_TRUE(snap[1].is_value);
    EXPECT_EQ(snap[1].value_len, 1u);
    std::vector<Key> keys;
    s.keys(keys);
    ASSERT_EQ(keys.size(), 2u);
    EXPECT_EQ(keys[0], id_of_byte(0x10));
    EXPECT_TRUE(s.holds(id_of_byte(0x30), secs(39)));
    EXPECT_FALSE(s.holds(id_of_byte(0x30), secs(40)));
}

namespace {
StoreSource from(uint64_t peer, uint64_t prefix) {
    return StoreSource::remote(peer, prefix);
}
bool holds_publisher(const Store& s, const Key& k, uint8_t publisher) {
    std::vector<const StoredRecord*> out;
    s.records(k, 0, 64, out);
    for (const StoredRecord* r : out)
        if (r->pk[0] == publisher) return true;
    return false;
}
}  // namespace

TEST(Store, FullProviderListAdmitsANewcomerFromAnotherPrefixAndKeepsIt) {
    Store s(StoreLimits{});
    const Key k = id_of_byte(0x40);
    std::vector<Rec> recs;
    recs.reserve(400);
    // 40 throwaway keys from one network: the list fills at 32, then they replace each
    // other, oldest first, instead of being refused.
    for (uint8_t i = 0; i < 40; ++i) {
        recs.emplace_back(k, static_cast<uint8_t>(100 + i), 1000);
        EXPECT_EQ(s.put_record(recs.back().r, secs(10), from(100 + i, 0xA)), Err::ok);
    }
    EXPECT_EQ(s.record_count(), 32u);
    EXPECT_EQ(s.displaced(), 8u);
    // The real provider, on another network, gets in.
    recs.emplace_back(k, 1, 1000);
    EXPECT_EQ(s.put_record(recs.back().r, secs(10), from(1, 0xB)), Err::ok);
    EXPECT_TRUE(holds_publisher(s, k, 1));
    // And stays however many more the attacker sends.
    for (int i = 0; i < 200; ++i) {
        recs.emplace_back(k, static_cast<uint8_t>(i), 2000);
        recs.back().r.pk[1] = 0xAA;  // distinct keys
        recs.back().r.pk[2] = static_cast<uint8_t>(i);
        EXPECT_EQ(s.put_record(recs.back().r, secs(10), from(500 + static_cast<uint64_t>(i), 0xA)),
                  Err::ok);
    }
    EXPECT_TRUE(holds_publisher(s, k, 1)) << "the attacker pushed the real provider out";
    EXPECT_EQ(s.record_count(), 32u);
    // Answers carry 20 of the 32: the attacker's records are all newer, but every prefix
    // is served in turn, so the real provider is in each answer.
    std::vector<const StoredRecord*> answer;
    s.records(k, 0, 20, answer);
    ASSERT_EQ(answer.size(), 20u);
    EXPECT_TRUE(std::any_of(answer.begin(), answer.end(),
                            [](const StoredRecord* r) { return r->pk[0] == 1; }));
    EXPECT_EQ(answer[0]->ts, 2000u) << "newest first within the answer";
    // A third network takes a place of the largest one, not of the real provider.
    recs.emplace_back(k, 2, 1000);
    EXPECT_EQ(s.put_record(recs.back().r, secs(10), from(2, 0xC)), Err::ok);
    EXPECT_TRUE(holds_publisher(s, k, 1));
    EXPECT_TRUE(holds_publisher(s, k, 2));
}

TEST(Store, WithinOnePrefixTheRecordHeldLongestGivesWay) {
    Store s(StoreLimits{});
    const Key k = id_of_byte(0x41);
    std::vector<Rec> recs;
    recs.reserve(100);
    for (uint8_t i = 0; i < 32; ++i) {
        recs.emplace_back(k, static_cast<uint8_t>(100 + i), 1000);
        ASSERT_EQ(s.put_record(recs.back().r, secs(10), from(100 + i, 0xA)), Err::ok);
    }
    recs.emplace_back(k, 1, 1000);
    ASSERT_EQ(s.put_record(recs.back().r, secs(10), from(1, 0xA)), Err::ok);
    for (uint8_t i = 0; i < 31; ++i) {
        recs.emplace_back(k, static_cast<uint8_t>(200 + i), 1000);
        ASSERT_EQ(s.put_record(recs.back().r, secs(10), from(200 + i, 0xA)), Err::ok);
        ASSERT_TRUE(holds_publisher(s, k, 1)) << i;
    }
    recs.emplace_back(k, 240, 1000);
    ASSERT_EQ(s.put_record(recs.back().r, secs(10), from(240, 0xA)), Err::ok);
    EXPECT_FALSE(holds_publisher(s, k, 1)) << "first in, first out within a prefix";
}

TEST(Store, OnePeerAndOnePrefixHoldOnlyTheirShare) {
    StoreLimits l;
    l.max_items = 100;
    l.peer_share_pct = 10;
    l.prefix_share_pct = 25;
    Store s(l);
    auto value = [](int i) { return Bytes{static_cast<uint8_t>(i), static_cast<uint8_t>(i >> 8)}; };
    int i = 0;
    for (; i < 10; ++i)
        ASSERT_EQ(
            s.put_value(id_of_byte(static_cast<uint8_t>(i)), value(i), secs(10), from(1, 0xA)),
            Err::ok);
    EXPECT_EQ(s.put_value(id_of_byte(200), value(200), secs(10), from(1, 0xA)),
              Err::store_peer_quota);
    // Another peer of the same network may store until the network's share is used.
    for (int p = 2; p <= 3; ++p)
        for (int j = 0; j < 10 && s.value_count() < 25; ++j, ++i)
            ASSERT_EQ(s.put_value(id_of_byte(static_cast<uint8_t>(i)), value(i), secs(10),
                                  from(static_cast<uint64_t>(p), 0xA)),
                      Err::ok);
    EXPECT_EQ(s.value_count(), 25u);
    EXPECT_EQ(s.put_value(id_of_byte(201), value(201), secs(10), from(4, 0xA)),
              Err::store_prefix_quota);
    // Other networks and our own writes go on.
    EXPECT_EQ(s.put_value(id_of_byte(202), value(202), secs(10), from(5, 0xB)), Err::ok);
    EXPECT_EQ(s.put_value(id_of_byte(204), value(204), secs(10)), Err::ok);
    // Expiry gives the share back.
    expire(s, secs(10));
    EXPECT_EQ(s.value_count(), 0u);
    EXPECT_EQ(s.put_value(id_of_byte(200), value(200), secs(20), from(1, 0xA)), Err::ok);
}

TEST(Store, RecordSharesCountByteAndRefreshMovesOnlyForThePublisher) {
    StoreLimits l;
    l.max_items = 10;
    l.peer_share_pct = 20;  // two records per peer
    Store s(l);
    Rec a(id_of_byte(1), 7, 100), b(id_of_byte(2), 8, 100), c(id_of_byte(3), 9, 100);
    ASSERT_EQ(s.put_record(a.r, secs(10), from(1, 0xA)), Err::ok);
    ASSERT_EQ(s.put_record(b.r, secs(10), from(1, 0xA)), Err::ok);
    EXPECT_EQ(s.put_record(c.r, secs(10), from(1, 0xA)), Err::store_peer_quota);
    // A holder relaying a newer a keeps it on peer 1's account ...
    Rec a2(id_of_byte(1), 7, 200);
    ASSERT_EQ(s.put_record(a2.r, secs(10), from(2, 0xB)), Err::ok);
    EXPECT_EQ(s.put_record(c.r, secs(10), from(1, 0xA)), Err::store_peer_quota);
    // ... while the publisher sending it moves it to its own.
    Rec a3(id_of_byte(1), 7, 300);
    StoreSource pub = from(7, 0xC);
    pub.from_publisher = true;
    ASSERT_EQ(s.put_record(a3.r, secs(10), pub), Err::ok);
    EXPECT_EQ(s.put_record(c.r, secs(10), from(1, 0xA)), Err::ok);
}

TEST(Store, AKeysRoundComesDueOnceAndTheEntryGoesWithItsLastRecord) {
    Store s(StoreLimits{});
    const Key k = id_of_byte(0x40);
    Rec a(k, 7, 100), b(k, 8, 100);
    ASSERT_EQ(s.put_record(a.r, secs(50)), Err::ok);
    ASSERT_EQ(s.put_record(b.r, secs(60)), Err::ok);
    s.hold(k, 1234, secs(20));
    EXPECT_EQ(s.next_due(), secs(20)) << "the round comes before either expiry";
    StoreDue due;
    s.due(secs(20), due);
    ASSERT_EQ(due.rounds.size(), 1u);
    EXPECT_EQ(due.rounds[0], k);
    EXPECT_EQ(due.expired, 0u);
    EXPECT_EQ(s.next_due(), secs(50)) << "the round waits for the engine to reschedule it";
    s.reschedule(k, secs(55));
    s.due(secs(50), due);
    EXPECT_EQ(due.expired, 1u);
    EXPECT_TRUE(due.rounds.empty());
    EXPECT_EQ(s.next_due(), secs(55));
    s.due(secs(55), due);
    EXPECT_EQ(due.rounds.size(), 1u);
    uint32_t radius = 0;
    s.each_held([&](const Key& key, uint32_t& r) {
        EXPECT_EQ(key, k);
        radius = r;
        return true;
    });
    EXPECT_EQ(radius, 1234u) << "the holder's state stays with the key";
    s.due(secs(60), due);
    EXPECT_EQ(due.expired, 1u);
    EXPECT_EQ(s.record_count(), 0u);
    EXPECT_EQ(s.next_due(), NEVER) << "the key's entry left with its last record";
    std::vector<Key> keys;
    s.keys(keys);
    EXPECT_TRUE(keys.empty());
}

TEST(Store, ManyKeysExpireInTimeOrderThroughTheHeap) {
    // Expiries given out of order, some refreshed later, some keys holding a value too:
    // every due() removes exactly what is due, whatever the heap's shape.
    Store s(StoreLimits{});
    std::vector<std::pair<Time, Key>> order;
    for (uint8_t i = 1; i <= 60; ++i) {
        const Time at = secs((i * 37u) % 61u + 1u);
        Rec r(id_of_byte(i), 1, 100);
        ASSERT_EQ(s.put_record(r.r, at), Err::ok);
        if (i % 3 == 0) {
            ASSERT_EQ(s.put_value(id_of_byte(i), Bytes{i}, at), Err::ok);
        }
        order.push_back({at, id_of_byte(i)});
    }
    for (Time t = secs(1); t <= secs(62); t += secs(1)) {
        StoreDue due;
        s.due(t, due);
        size_t want = 0;
        for (const auto& [at, key] : order)
            if (at == t) want += key.b[31] % 3 == 0 ? 2u : 1u;
        EXPECT_EQ(due.expired, want) << "at " << t;
        EXPECT_GT(s.next_due(), t);
    }
    EXPECT_EQ(s.record_count() + s.value_count(), 0u);
}

TEST(Store, TheRadiusCodeNeverOrdersTwoDistancesTheWrongWay) {
    EXPECT_EQ(radius_code(NodeId{}), 0u);
    NodeId one;
    one.b[31] = 1;
    NodeId all;
    all.b.fill(0xff);
    EXPECT_EQ(radius_code(one), 1u << 23);
    EXPECT_EQ(radius_code(all), (256u << 23) | 0x7fffffu);
    SeededRng rng(7);
    for (int i = 0; i < 2000; ++i) {
        NodeId a, b;
        rng.fill(a.b.data(), a.b.size());
        rng.fill(b.b.data(), b.b.size());
        // Shorten them at random so that every bit length is seen.
        const auto zeros = static_cast<size_t>(i) % 33u;
        std::fill(a.b.begin(), a.b.begin() + static_cast<std::ptrdiff_t>(zeros), 0);
        std::fill(b.b.begin(), b.b.begin() + static_cast<std::ptrdiff_t>(zeros), 0);
        if (b < a) std::swap(a, b);
        EXPECT_LE(radius_code(a), radius_code(b));
    }
}
