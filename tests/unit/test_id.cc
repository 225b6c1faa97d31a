// SPDX-License-Identifier: MIT
// Ids: the XOR metric, common-prefix length, distance ordering and both text forms.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "svcdht/env.h"
#include "svcdht/id.h"
#include "util.h"

using namespace svcdht::core;
using svcdht::test::id_of_byte;

TEST(Id, XorDistanceIsSymmetricAndZeroOnSelf) {
    const NodeId a = id_of_byte(0x0f), b = id_of_byte(0xf0);
    EXPECT_EQ(xor_distance(a, b), id_of_byte(0xff));
    EXPECT_EQ(xor_distance(a, b), xor_distance(b, a));
    EXPECT_TRUE(xor_distance(a, a).is_zero());
}

TEST(Id, CommonPrefixLength) {
    NodeId a, b;
    EXPECT_EQ(common_prefix_len(a, b), 256);
    b.b[0] = 0x80;
    EXPECT_EQ(common_prefix_len(a, b), 0);
    b.b[0] = 0x01;
    EXPECT_EQ(common_prefix_len(a, b), 7);
    b.b[0] = 0;
    b.b[31] = 0x01;
    EXPECT_EQ(common_prefix_len(a, b), 255);
    b.b[5] = 0x20;
    EXPECT_EQ(common_prefix_len(a, b), 42);
}

TEST(Id, OrderingByDistanceMatchesXorOrder) {
    SeededRng rng(42);
    NodeId target;
    rng.fill(target.b.data(), 32);
    std::vector<NodeId> ids(200);
    for (auto& id : ids) rng.fill(id.b.data(), 32);
    std::vector<NodeId> by_cmp = ids, by_xor = ids;
    std::sort(by_cmp.begin(), by_cmp.end(),
              [&](const NodeId& x, const NodeId& y) { return closer_to(target, x, y); });
    std::sort(by_xor.begin(), by_xor.end(), [&](const NodeId& x, const NodeId& y) {
        return xor_distance(x, target) < xor_distance(y, target);
    });
    EXPECT_EQ(by_cmp, by_xor);
    EXPECT_EQ(compare_distance(target, ids[0], ids[0]), 0);
    EXPECT_EQ(compare_distance(target, by_cmp[0], by_cmp[1]), -1);
    EXPECT_EQ(compare_distance(target, by_cmp[1], by_cmp[0]), 1);
}

TEST(Id, HexRoundTrip) {
    SeededRng rng(1);
    NodeId id;
    rng.fill(id.b.data(), 32);
    const std::string h = id.hex();
    EXPECT_EQ(h.size(), 64u);
    auto back = parse_hex_id(h);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, id);
    auto cid = parse_cid(id.cid());
    ASSERT_TRUE(cid.ok());
    EXPECT_EQ(*cid, id);
    EXPECT_EQ(id.short_hex(), h.substr(0, 8));
}

TEST(Id, ParseErrorsArePrecise) {
    const std::string good(64, 'a');
    EXPECT_EQ(parse_hex_id(good.substr(0, 63)).err(), Err::bad_hex_length);
    EXPECT_EQ(parse_hex_id(good + "a").err(), Err::bad_hex_length);
    EXPECT_EQ(parse_hex_id(std::string(63, 'a') + "A").err(), Err::bad_hex_char);
    EXPECT_EQ(parse_hex_id(std::string(63, 'a') + "g").err(), Err::bad_hex_char);
    EXPECT_EQ(parse_cid(good).err(), Err::bad_cid_prefix);
    EXPECT_EQ(parse_cid("b3:deadbeef").err(), Err::bad_hex_length);
    EXPECT_EQ(parse_cid("B3:" + good).err(), Err::bad_cid_prefix);
    EXPECT_EQ(parse_cid("b3:" + std::string(63, '0') + "Z").err(), Err::bad_hex_char);
    EXPECT_TRUE(parse_cid("b3:" + good).ok());
}

TEST(Id, PeerAddrFormatAndExemptRanges) {
    EXPECT_EQ(PeerAddr::v4(127, 0, 0, 1, 9444).format(), "127.0.0.1:9444");
    PeerAddr v6;
    v6.ip_len = 16;
    v6.ip[15] = 1;
    v6.port = 5;
    EXPECT_EQ(v6.format(), "[::1]:5");
    EXPECT_TRUE(v6.is_exempt());
    EXPECT_TRUE(PeerAddr::v4(10, 1, 2, 3, 1).is_exempt());
    EXPECT_TRUE(PeerAddr::v4(192, 168, 0, 1, 1).is_exempt());
    EXPECT_TRUE(PeerAddr::v4(172, 16, 0, 1, 1).is_exempt());
    EXPECT_FALSE(PeerAddr::v4(172, 32, 0, 1, 1).is_exempt());
    EXPECT_FALSE(PeerAddr::v4(8, 8, 8, 8, 1).is_exempt());
    PeerAddr g;
    g.ip_len = 16;
    g.ip[0] = 0x20;
    g.ip[1] = 0x01;
    EXPECT_FALSE(g.is_exempt());
}

TEST(Rng, SeededIsReproducibleAndBelowIsInRange) {
    SeededRng a(99), b(99), c(100);
    EXPECT_EQ(a.next_u64(), b.next_u64());
    EXPECT_NE(a.next_u64(), c.next_u64());
    for (int i = 0; i < 1000; ++i) {
        EXPECT_LT(a.below(7), 7u);
        const double u = a.unit();
        EXPECT_GE(u, 0.0);
        EXPECT_LT(u, 1.0);
    }
}
