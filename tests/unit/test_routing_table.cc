// SPDX-License-Identifier: MIT
// Routing table: closest() against a brute-force sort over random tables of up to 10,000
// contacts, least-recently-seen order, the replacement cache with ping-before-evict,
// failure handling, the diversity caps, and bucket refresh ids.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "svcdht/env.h"
#include "svcdht/routing_table.h"

using namespace svcdht::core;

namespace {

NodeId rand_id(SeededRng& r) {
    NodeId id;
    r.fill(id.b.data(), 32);
    return id;
}

// in_bucket0 draws an id whose first bit is set: bucket 0 of a table whose own id is zero.
NodeId in_bucket0(SeededRng& r) {
    NodeId id = rand_id(r);
    id.b[0] |= 0x80;
    return id;
}

PeerAddr public_addr(uint32_t i) {
    // Distinct /16s, so the diversity caps stay out of the way unless a test wants them.
    return PeerAddr::v4(static_cast<uint8_t>(1 + i % 200), static_cast<uint8_t>(i / 200),
                        static_cast<uint8_t>(i), 1, 9444);
}

DiversityConfig no_caps() {
    DiversityConfig d;
    d.per_prefix_max = 1000000;
    d.prefix_max_pct = 100;
    return d;
}

}  // namespace

TEST(RoutingTable, ClosestMatchesBruteForce) {
    SeededRng rng(77);
    for (size_t n : {1u, 5u, 20u, 300u, 2000u, 10000u}) {
        const NodeId self = rand_id(rng);
        RoutingTable t(self, 100000, no_caps());  // k large: every contact is kept
        std::vector<NodeId> all;
        for (size_t i = 0; i < n; ++i) {
            const NodeId id = rand_id(rng);
            ASSERT_EQ(t.seen(id, public_addr(static_cast<uint32_t>(i)), i), SeenResult::added);
            all.push_back(id);
        }
        ASSERT_EQ(t.size(), n);
        t.check_invariants();
        std::vector<Contact> got;
        for (int q = 0; q < 50; ++q) {
            // Random targets, plus targets sharing long prefixes with us and with contacts.
            NodeId target = rand_id(rng);
            if (q % 5 == 1) target = self;
            if (q % 5 == 2) target.b[0] = self.b[0];
            if (q % 5 == 3) target = all[static_cast<size_t>(q) % all.size()];
            for (size_t want : {1u, 3u, 20u, 64u}) {
                t.closest(target, want, got);
                std::vector<NodeId> brute = all;
                std::sort(brute.begin(), brute.end(), [&](const NodeId& a, const NodeId& b) {
                    return closer_to(target, a, b);
                });
                brute.resize(std::min(want, brute.size()));
                ASSERT_EQ(got.size(), brute.size()) << "n=" << n << " want=" << want;
                for (size_t i = 0; i < got.size(); ++i)
                    ASSERT_EQ(got[i].id, brute[i]) << "n=" << n << " i=" << i;
            }
        }
    }
}

TEST(RoutingTable, NeverHoldsSelfOrDuplicates) {
    SeededRng rng(1);
    const NodeId self = rand_id(rng);
    RoutingTable t(self, 20, no_caps());
    EXPECT_EQ(t.seen(self, public_addr(1), 0), SeenResult::rejected_self);
    const NodeId a = rand_id(rng);
    EXPECT_EQ(t.seen(a, public_addr(2), 1), SeenResult::added);
    EXPECT_EQ(t.seen(a, public_addr(2), 2), SeenResult::updated);
    EXPECT_EQ(t.size(), 1u);
    t.check_invariants();
}

TEST(RoutingTable, LeastRecentlySeenOrderAndPingBeforeEvict) {
    SeededRng rng(2);
    NodeId self;  // all zero: contacts with a leading 1 bit land in bucket 0
    RoutingTable t(self, 3, no_caps());
    std::vector<NodeId> ids;
    for (int i = 0; i < 3; ++i) {
        const NodeId id = in_bucket0(rng);
        ids.push_back(id);
        ASSERT_EQ(t.seen(id, public_addr(static_cast<uint32_t>(i)), static_cast<Time>(10 + i)),
                  SeenResult::added);
    }
    // Seeing the oldest again moves it to the back.
    EXPECT_EQ(t.seen(ids[0], public_addr(0), 20), SeenResult::updated);
    EXPECT_EQ(t.bucket(0).front().id, ids[1]);
    EXPECT_EQ(t.bucket(0).back().id, ids[0]);
    // A newcomer to the full bucket waits in the replacement cache. While the
    // least-recently-seen contact was heard from recently it is good: no ping.
    const NodeId newcomer = in_bucket0(rng);
    Contact ping;
    bool need = false;
    EXPECT_EQ(t.seen(newcomer, public_addr(9), 30, &ping, &need), SeenResult::replacement);
    EXPECT_FALSE(need) << "a contact seen recently is not questionable";
    // Once it has been silent for STALE_AFTER it is pinged, once.
    const Time later = 11 + STALE_AFTER;
    EXPECT_EQ(t.seen(newcomer, public_addr(9), later, &ping, &need), SeenResult::replacement);
    EXPECT_TRUE(need);
    EXPECT_EQ(ping.id, ids[1]);
    const NodeId another = in_bucket0(rng);
    EXPECT_EQ(t.seen(another, public_addr(10), later + 1, &ping, &need), SeenResult::replacement);
    EXPECT_FALSE(need) << "one ping at a time per bucket";
    EXPECT_EQ(t.replacements(0), 2u);
    // The ping fails: the stale contact goes and the newest replacement takes its place.
    Contact removed;
    EXPECT_TRUE(t.rpc_failed(ids[1], &removed));
    EXPECT_EQ(removed.id, ids[1]);
    EXPECT_FALSE(t.contains(ids[1]));
    EXPECT_TRUE(t.contains(another));
    EXPECT_EQ(t.size(), 3u);
    t.ping_done(ids[1]);
    t.check_invariants();
}

TEST(RoutingTable, MembershipMovesOnlyWhenAContactEntersOrLeaves) {
    SeededRng rng(9);
    NodeId self;  // all zero: contacts with a leading 1 bit land in bucket 0
    RoutingTable t(self, 2, no_caps());
    std::vector<NodeId> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(in_bucket0(rng));
    uint64_t m = t.membership();
    ASSERT_EQ(t.seen(ids[0], public_addr(0), 10), SeenResult::added);
    EXPECT_NE(t.membership(), m);
    m = t.membership();
    // Seen again, timed, or waiting as a replacement: the live contacts are the same.
    EXPECT_EQ(t.seen(ids[0], public_addr(0), 11), SeenResult::updated);
    t.rpc_ok(ids[0], msec(40), 12);
    EXPECT_EQ(t.membership(), m);
    ASSERT_EQ(t.seen(ids[1], public_addr(1), 13), SeenResult::added);
    EXPECT_NE(t.membership(), m);
    m = t.membership();
    EXPECT_EQ(t.seen(ids[2], public_addr(2), 14), SeenResult::replacement);
    EXPECT_EQ(t.membership(), m);
    // A failure that swaps in the replacement, and a plain removal, both move it.
    Contact removed;
    ASSERT_TRUE(t.rpc_failed(ids[0], &removed));
    EXPECT_TRUE(t.contains(ids[2]));
    EXPECT_NE(t.membership(), m);
    m = t.membership();
    EXPECT_TRUE(t.remove(ids[1]));
    EXPECT_NE(t.membership(), m);
}

TEST(RoutingTable, FailuresWithoutReplacementRemoveAfterThree) {
    SeededRng rng(3);
    RoutingTable t(rand_id(rng), 20, no_caps());
    const NodeId a = rand_id(rng);
    t.seen(a, public_addr(1), 1);
    EXPECT_FALSE(t.rpc_failed(a));
    EXPECT_FALSE(t.rpc_failed(a));
    t.rpc_ok(a, msec(40), 5);  // an answer clears the count
    EXPECT_FALSE(t.rpc_failed(a));
    EXPECT_FALSE(t.rpc_failed(a));
    EXPECT_TRUE(t.rpc_failed(a));
    EXPECT_FALSE(t.contains(a));
}

TEST(RoutingTable, RttIsSmoothedWithItsDeviationAsInRfc6298) {
    SeededRng rng(4);
    RoutingTable t(rand_id(rng), 20, no_caps());
    const NodeId a = rand_id(rng);
    t.seen(a, public_addr(1), 1);
    t.rpc_ok(a, 800, 2);
    EXPECT_EQ(t.find(a)->rtt_us, 800u);
    EXPECT_EQ(t.find(a)->rttvar_us, 400u);  // the first sample's half
    t.rpc_ok(a, 1600, 3);
    EXPECT_EQ(t.find(a)->rttvar_us, 500u);  // (3*400 + |800 - 1600|) / 4
    EXPECT_EQ(t.find(a)->rtt_us, 900u);     // (7*800 + 1600) / 8
}

TEST(RoutingTable, PerBucketPrefixCap) {
    NodeId self;
    DiversityConfig d;
    d.per_prefix_max = 2;
    d.prefix_max_pct = 100;
    RoutingTable t(self, 20, d);
    SeededRng rng(5);
    EXPECT_EQ(t.seen(in_bucket0(rng), PeerAddr::v4(8, 8, 8, 1, 1), 1), SeenResult::added);
    EXPECT_EQ(t.seen(in_bucket0(rng), PeerAddr::v4(8, 8, 8, 2, 1), 2), SeenResult::added);
    EXPECT_EQ(t.seen(in_bucket0(rng), PeerAddr::v4(8, 8, 8, 3, 1), 3),
              SeenResult::rejected_diversity)
        << "a third contact from one /24 in one bucket";
    EXPECT_EQ(t.seen(in_bucket0(rng), PeerAddr::v4(8, 8, 9, 3, 1), 4), SeenResult::added)
        << "another /24";
    EXPECT_EQ(t.bucket_prefix_max_pct(0), 66u);
    // Private and loopback ranges are exempt by default...
    for (uint8_t i = 0; i < 5; ++i)
        EXPECT_EQ(t.seen(in_bucket0(rng), PeerAddr::v4(127, 0, 0, i, 1), 5), SeenResult::added);
    // ...and capped when configured so.
    d.exempt_private = false;
    t.set_diversity(d);
    EXPECT_EQ(t.seen(in_bucket0(rng), PeerAddr::v4(127, 0, 0, 9, 1), 6),
              SeenResult::rejected_diversity);
    t.check_invariants();
}

TEST(RoutingTable, TableWideSixteenCap) {
    SeededRng rng(6);
    const NodeId self = rand_id(rng);
    DiversityConfig d;
    d.per_prefix_max = 2;
    d.prefix_max_pct = 10;
    RoutingTable t(self, 20, d);
    // 100 contacts from distinct /16s, then as many as possible from 9.9.0.0/16.
    for (uint32_t i = 0; i < 100; ++i)
        ASSERT_NE(t.seen(rand_id(rng), public_addr(i), i), SeenResult::rejected_diversity);
    uint32_t from_one = 0;
    for (uint32_t i = 0; i < 100; ++i)
        from_one += t.seen(rand_id(rng), PeerAddr::v4(9, 9, static_cast<uint8_t>(i), 1, 1),
                           200 + i) == SeenResult::added;
    EXPECT_GE(from_one, 2u);
    EXPECT_LE(from_one, 12u) << "about 10% of the table from one /16";
    t.check_invariants();
}

TEST(RoutingTable, IPv6GroupsUseSlash48AndSlash32) {
    PeerAddr a, b, c;
    a.ip_len = b.ip_len = c.ip_len = 16;
    a.ip = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    b = a;
    b.ip[15] = 2;  // same /48
    c = a;
    c.ip[5] = 2;  // same /32, other /48
    EXPECT_EQ(prefix_group(a), prefix_group(b));
    EXPECT_NE(prefix_group(a), prefix_group(c));
    EXPECT_EQ(wide_group(a), wide_group(c));
    EXPECT_NE(prefix_group(PeerAddr::v4(1, 2, 3, 4, 1)), prefix_group(PeerAddr::v4(1, 2, 4, 4, 1)));
}

TEST(RoutingTable, RandomIdInBucketHasThatPrefixLength) {
    SeededRng rng(8);
    RoutingTable t(rand_id(rng), 20, no_caps());
    for (int i = 0; i < 256; i += 7) {
        const NodeId id = t.random_id_in_bucket(i, rand_id(rng));
        EXPECT_EQ(common_prefix_len(t.self(), id), i);
        EXPECT_EQ(t.bucket_index(id), i);
    }
}

// A bucket under k while the deeper buckets hold k contacts should hold more than it does
// (its range is as wide as theirs together): contacts that keep talking do not make it
// fresh, only a lookup into its range does, so maintenance refreshes it. A full bucket, and
// the nearest ones, are fresh whenever a contact is seen.
namespace {
// ShortBucket: k = 3, our id all zero; bucket 1 full (three contacts seen at 10) and bucket
// 0 short with a (seen at 20 and again at 1000) and b (seen at 30).
struct ShortBucket {
    SeededRng rng{9};
    RoutingTable t{NodeId{}, 3, no_caps()};
    NodeId a, b;
    NodeId in_bucket(int i) { return t.random_id_in_bucket(i, rand_id(rng)); }
    ShortBucket() {
        for (uint32_t i = 0; i < 3; ++i)
            EXPECT_EQ(t.seen(in_bucket(1), public_addr(i), 10), SeenResult::added);
        a = in_bucket(0);
        b = in_bucket(0);
        EXPECT_EQ(t.seen(a, public_addr(10), 20), SeenResult::added);
        EXPECT_EQ(t.seen(b, public_addr(11), 30), SeenResult::added);
        EXPECT_EQ(t.seen(a, public_addr(10), 1000), SeenResult::updated);
    }
};
}  // namespace

TEST(RoutingTable, AShortBucketIsFreshOnlyByALookup) {
    ShortBucket sb;
    RoutingTable& t = sb.t;
    const NodeId &a = sb.a, &b = sb.b;
    auto in_bucket = [&](int i) { return sb.in_bucket(i); };
    EXPECT_EQ(t.bucket_fresh_since(1), 10) << "full: fresh when a contact is seen";
    EXPECT_EQ(t.bucket_fresh_since(0), 10) << "short: fresh since its creation, not since a";
    t.touch_bucket_of(in_bucket(0), 2000);
    EXPECT_EQ(t.bucket_fresh_since(0), 2000) << "a lookup into its range";
    ASSERT_EQ(t.seen(b, public_addr(11), 2500), SeenResult::updated);
    EXPECT_EQ(t.bucket_fresh_since(0), 2000);
    ASSERT_EQ(t.seen(in_bucket(0), public_addr(12), 3000), SeenResult::added);
    EXPECT_EQ(t.bucket_fresh_since(0), 3000) << "full again";
    // The deepest bucket is under k with nothing deeper: a contact seen makes it fresh.
    const NodeId gone = t.bucket(1)[0].id;
    ASSERT_TRUE(t.remove(gone));
    ASSERT_EQ(t.seen(t.bucket(1)[0].id, public_addr(1), 4000), SeenResult::updated);
    EXPECT_EQ(t.bucket_fresh_since(1), 4000);
    // Bucket 0 down to two as well: under k, but so are the deeper ones, so not short.
    ASSERT_TRUE(t.remove(a));
    ASSERT_EQ(t.seen(b, public_addr(11), 5000), SeenResult::updated);
    EXPECT_EQ(t.bucket_fresh_since(0), 5000);
    t.check_invariants();
}

// The maintenance deadline takes the stalest bucket in one pass (stalest_since), and a short
// bucket counts there by its last lookup, not by its contacts' last word.
TEST(RoutingTable, TheStalestBucketIsTheLeastFreshOne) {
    ShortBucket sb;
    RoutingTable& t = sb.t;
    auto in_bucket = [&](int i) { return sb.in_bucket(i); };
    const std::vector<Contact> deeper(t.bucket(1).begin(), t.bucket(1).end());
    for (const Contact& c : deeper) ASSERT_EQ(t.seen(c.id, c.addr, 2000), SeenResult::updated);
    ASSERT_EQ(t.bucket_fresh_since(1), 2000);
    EXPECT_EQ(t.stalest_since(), t.bucket_fresh_since(0));
    EXPECT_LT(t.stalest_since(), 1000) << "bucket 0 is short: its contacts do not freshen it";
    t.touch_bucket_of(in_bucket(0), 3000);
    EXPECT_EQ(t.stalest_since(), 2000);
    RoutingTable empty(NodeId{}, 3, no_caps());
    EXPECT_EQ(empty.bucket_count(), 0);
    EXPECT_EQ(empty.stalest_since(), NEVER);
}
