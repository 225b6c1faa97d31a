// SPDX-License-Identifier: MIT
// The store: one record per (key, publisher) with newer-ts-wins, idempotent re-stores,
// limits in items, bytes and per key, expiry on the timer (never on read), values, and the
// snapshot.
#include <gtest/gtest.h>

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
    EXPECT_EQ(s.next_expiry(), secs(5));
    std::vector<const StoredRecord*> out;
    s.records(k, secs(11), 20, out);
    EXPECT_TRUE(out.empty()) << "reads filter by time";
    EXPECT_EQ(s.record_count(), 1u) << "but do not mutate";
    EXPECT_EQ(s.value(id_of_byte(3), secs(6)), nullptr);
    EXPECT_EQ(s.expire(secs(5)), 1u);
    EXPECT_EQ(s.value_count(), 0u);
    EXPECT_EQ(s.expire(secs(10)), 1u);
    EXPECT_EQ(s.record_count(), 0u);
    EXPECT_EQ(s.bytes(), 0u);
    EXPECT_EQ(s.next_expiry(), NEVER);
}

TEST(Store, ReplacedRecordKeepsOnlyItsNewExpiry) {
    Store s(StoreLimits{});
    const Key k = id_of_byte(4);
    Rec a(k, 7, 100), b(k, 7, 200);
    ASSERT_EQ(s.put_record(a.r, secs(10)), Err::ok);
    ASSERT_EQ(s.put_record(b.r, secs(30)), Err::ok);
    EXPECT_EQ(s.expire(secs(10)), 0u) << "the old expiry entry is stale";
    EXPECT_EQ(s.record_count(), 1u);
    EXPECT_EQ(s.expire(secs(30)), 1u);
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
    EXPECT_EQ(s.expire(secs(10)), 0u);
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
