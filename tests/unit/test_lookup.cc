// SPDX-License-Identifier: MIT
// The lookup state machine on its own: alpha in flight, termination on the k closest,
// hedging capacity and the soft timeout, abandonment of the nearest, disjoint paths that
// never share a node, the hop budget, and distrust of a lying referrer.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "svcdht/lookup.h"
#include "util.h"

using namespace svcdht::core;
using svcdht::test::id_of_byte;

namespace {

// Ids at increasing distance from the zero target: id i has value i in its last byte.
NodeId near(uint32_t i) {
    NodeId id;
    id.b[30] = static_cast<uint8_t>(i >> 8);
    id.b[31] = static_cast<uint8_t>(i);
    return id;
}

std::vector<Contact> contacts(std::initializer_list<uint32_t> ids) {
    std::vector<Contact> out;
    for (uint32_t i : ids) {
        Contact c;
        c.id = near(i);
        c.addr = PeerAddr::v4(1, 2, 3, static_cast<uint8_t>(i), 9444);
        out.push_back(c);
    }
    return out;
}

LookupParams params(uint32_t k, uint32_t alpha, uint32_t beta, uint32_t d = 1) {
    LookupParams p;
    p.k = k;
    p.alpha = alpha;
    p.beta = beta;
    p.disjoint = d;
    return p;
}

NodeId self_far() {
    return id_of_byte(0xff);
}

std::vector<NodeId> drain_queries(Lookup& l) {
    std::vector<NodeId> out;
    bool hedge = false;
    while (Candidate* c = l.next_query(&hedge)) out.push_back(c->id);
    return out;
}

}  // namespace

TEST(Lookup, AlphaInFlightClosestFirstThenEndsWhenKClosestAnswered) {
    Lookup l(params(3, 2, 0), self_far());
    l.seed(contacts({50, 40, 30, 20, 10}));
    auto q = drain_queries(l);
    ASSERT_EQ(q.size(), 2u);
    EXPECT_EQ(q[0], near(10));
    EXPECT_EQ(q[1], near(20));
    EXPECT_FALSE(l.finished());
    // 10 answers with a closer contact, 5: it is asked next.
    const Candidate from = *l.find(near(10));
    l.learn(from, {near(5), PeerAddr::v4(9, 9, 9, 9, 1)});
    l.answered(near(10));
    q = drain_queries(l);
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q[0], near(5));
    EXPECT_EQ(l.find(near(5))->depth, 2);
    l.answered(near(5));
    l.failed(near(20));
    q = drain_queries(l);
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q[0], near(30));
    EXPECT_FALSE(l.finished()) << "30 is among the 3 closest live candidates";
    l.answered(near(30));
    EXPECT_TRUE(l.finished()) << "5, 10, 30 answered; 40 and 50 are beyond k";
    std::vector<NodeInfo> res;
    l.closest_answered(3, res);
    ASSERT_EQ(res.size(), 3u);
    EXPECT_EQ(res[0].id, near(5));
    EXPECT_EQ(l.hops(), 2u);
}

TEST(Lookup, SlowQueryLendsItsSlotToAtMostBetaHedges) {
    Lookup l(params(5, 1, 1), self_far());
    l.seed(contacts({10, 20, 30, 40}));
    auto q = drain_queries(l);
    ASSERT_EQ(q.size(), 1u);
    EXPECT_FALSE(l.mark_slow(near(10))) << "the first slow query gets its hedge";
    bool hedge = false;
    Candidate* c = l.next_query(&hedge);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->id, near(20));
    EXPECT_TRUE(hedge);
    EXPECT_EQ(l.next_query(&hedge), nullptr) << "beta 1: one hedge";
    EXPECT_TRUE(l.mark_slow(near(20))) << "30 and 40 wait, and beta is spent";
    EXPECT_FALSE(l.mark_slow(near(20))) << "a query turns slow once";
    EXPECT_EQ(l.next_query(&hedge), nullptr) << "still one hedge at most";
    EXPECT_EQ(l.slow_inflight(), 2u);
}

TEST(Lookup, NoHedgeIsWantedWithHedgingOffOrNobodyLeftToAsk) {
    // beta 0: hedging is off, so a slow query never finds a budget spent.
    Lookup off(params(5, 1, 0), self_far());
    off.seed(contacts({10, 20, 30}));
    drain_queries(off);
    EXPECT_FALSE(off.mark_slow(near(10)));
    // beta 1 with every candidate asked: the second slow query has nobody to hedge to.
    Lookup all(params(5, 2, 1), self_far());
    all.seed(contacts({10, 20}));
    drain_queries(all);
    EXPECT_FALSE(all.mark_slow(near(10)));
    EXPECT_FALSE(all.mark_slow(near(20)));
}

TEST(Lookup, SoftTimeoutEndsWithoutSlowCandidatesUnlessNearestAndNotAbandoned) {
    Lookup l(params(2, 3, 1), self_far());
    l.seed(contacts({10, 20}));
    drain_queries(l);
    l.answered(near(20));
    l.mark_late(near(10));
    EXPECT_FALSE(l.finished())
        << "10 is nearer than all answered: its answer would change the result";
    l.mark_abandoned(near(10));
    EXPECT_TRUE(l.finished());
    // A slow candidate behind an answered one does not block.
    Lookup m(params(2, 3, 1), self_far());
    m.seed(contacts({10, 20}));
    drain_queries(m);
    m.answered(near(10));
    m.mark_slow(near(20));
    EXPECT_FALSE(m.finished()) << "slow lends a slot to a hedge, but is still waited for";
    m.mark_late(near(20));
    EXPECT_TRUE(m.finished());
    // Without hedging (beta 0) a slow candidate always blocks.
    Lookup n(params(2, 3, 0), self_far());
    n.seed(contacts({10, 20}));
    drain_queries(n);
    n.answered(near(10));
    n.mark_late(near(20));
    EXPECT_FALSE(n.finished());
}

TEST(Lookup, DisjointPathsNeverShareAQueriedNode) {
    Lookup l(params(4, 2, 0, 2), self_far());
    l.seed(contacts({10, 20, 30, 40, 50, 60}));
    std::set<NodeId> queried;
    std::vector<std::pair<NodeId, int>> inflight;
    for (int round = 0; round < 20 && !l.finished(); ++round) {
        bool hedge = false;
        while (Candidate* c = l.next_query(&hedge)) {
            EXPECT_TRUE(queried.insert(c->id).second) << "queried twice";
            inflight.push_back({c->id, c->path});
        }
        if (inflight.empty()) break;
        const auto [id, path] = inflight.front();
        inflight.erase(inflight.begin());
        // Every answer hands out the same new contacts: each may join one path only.
        const Candidate from = *l.find(id);
        for (uint32_t x : {5u, 15u, 25u}) l.learn(from, {near(x), PeerAddr::v4(9, 9, 9, 9, 1)});
        l.answered(id);
    }
    std::set<int> paths;
    for (const Candidate& c : l.candidates()) paths.insert(c.path);
    EXPECT_EQ(paths.size(), 2u);
    for (uint32_t x : {5u, 15u, 25u}) EXPECT_EQ(queried.count(near(x)), 1u);
}

TEST(Lookup, HopBudgetStopsDeepCandidates) {
    LookupParams p = params(3, 1, 0);
    p.hop_budget = 2;
    Lookup l(p, self_far());
    l.seed(contacts({100}));
    drain_queries(l);
    Candidate c1 = *l.find(near(100));
    l.learn(c1, {near(50), PeerAddr::v4(9, 9, 9, 9, 1)});
    l.answered(near(100));
    drain_queries(l);
    Candidate c2 = *l.find(near(50));
    l.learn(c2, {near(10), PeerAddr::v4(9, 9, 9, 8, 1)});
    l.answered(near(50));
    EXPECT_EQ(l.find(near(10))->st, Candidate::State::too_deep);
    EXPECT_TRUE(drain_queries(l).empty());
    EXPECT_TRUE(l.finished());
    EXPECT_TRUE(l.cut_by_hop_budget()) << "a nearer node went unasked: the result says so";
    // A lookup whose too-deep candidates are farther than its k nearest was not cut.
    Lookup m(params(1, 1, 0), self_far());
    m.seed(contacts({5}));
    drain_queries(m);
    m.answered(near(5));
    EXPECT_TRUE(m.finished());
    EXPECT_FALSE(m.cut_by_hop_budget());
}

TEST(Lookup, DistrustedReferrerIsIgnored) {
    Lookup l(params(5, 3, 0), self_far());
    l.seed(contacts({100, 200}));
    drain_queries(l);
    const Candidate liar = *l.find(near(100));
    for (uint32_t x : {1u, 2u, 3u, 4u}) l.learn(liar, {near(x), PeerAddr::v4(6, 6, 6, 6, 1)});
    l.answered(near(100));
    // The first fabricated contact proves another id: its referrer's others are dropped.
    bool hedge = false;
    Candidate* c = l.next_query(&hedge);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->id, near(1));
    l.distrust(near(100));
    l.failed(near(1));
    for (uint32_t x : {2u, 3u, 4u}) EXPECT_EQ(l.find(near(x))->st, Candidate::State::failed);
    EXPECT_FALSE(l.learn(liar, {near(7), PeerAddr::v4(6, 6, 6, 6, 1)}))
        << "later answers are not merged";
}

TEST(Lookup, FabricatedFailuresDoNotPushOutLiveCandidates) {
    Lookup l(params(2, 1, 0), self_far());  // cap: 3k = 6 live candidates per path
    l.seed(contacts({500, 600}));
    drain_queries(l);
    const Candidate from = *l.find(near(500));
    for (uint32_t x = 1; x <= 10; ++x) {
        l.learn(from, {near(x), PeerAddr::v4(6, 6, 6, 6, 1)});
        l.failed(near(x));
    }
    EXPECT_NE(l.find(near(600)), nullptr) << "a live candidate survives ten failed nearer ones";
}

TEST(Lookup, APublishEndsOnceItsNeedClosestHaveAnswered) {
    LookupParams p = params(5, 2, 0);
    p.need = 2;
    Lookup l(p, self_far());
    l.seed(contacts({10, 20, 30, 40, 50}));
    auto q = drain_queries(l);
    ASSERT_EQ(q.size(), 2u);
    l.answered(near(20));
    EXPECT_FALSE(l.finished()) << "10 is nearer and unanswered";
    l.answered(near(10));
    EXPECT_TRUE(l.finished()) << "the 2 closest answered and nothing unasked is nearer";
    // The same answers do not end a lookup that needs all k.
    Lookup full(params(5, 2, 0), self_far());
    full.seed(contacts({10, 20, 30, 40, 50}));
    drain_queries(full);
    full.answered(near(20));
    full.answered(near(10));
    EXPECT_FALSE(full.finished());
}

TEST(Lookup, AlphaAnswersWithoutProgressAskEveryUnaskedOneAmongTheClosestAtOnce) {
    Lookup l(params(6, 2, 0), self_far());
    l.seed(contacts({10, 20, 30, 40, 50, 60}));
    auto q = drain_queries(l);
    ASSERT_EQ(q.size(), 2u);
    // 10 hands out 5, nearer than every candidate known: progress, one query in its place.
    l.learn(*l.find(near(10)), {near(5), PeerAddr::v4(9, 9, 9, 9, 1)});
    l.answered(near(10));
    q = drain_queries(l);
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q[0], near(5));
    // 20 hands out 35 (not nearer than 5), 5 hands out nothing: alpha answers in a row
    // without progress, so the path is stalled and every unasked one of the 6 closest
    // (5, 10, 20, 30, 35, 40) goes at once; 50 is beyond them.
    l.learn(*l.find(near(20)), {near(35), PeerAddr::v4(9, 9, 9, 8, 1)});
    l.answered(near(20));
    q = drain_queries(l);
    ASSERT_EQ(q.size(), 1u) << "one quiet answer is not a stall";
    EXPECT_EQ(q[0], near(30));
    l.answered(near(5));
    q = drain_queries(l);
    EXPECT_EQ(q, (std::vector<NodeId>{near(35), near(40)}));
    EXPECT_EQ(l.inflight(), 3u) << "30 and the two asked at once, over alpha";
    // An answer bringing a nearer node ends the stall: alpha again.
    l.learn(*l.find(near(30)), {near(1), PeerAddr::v4(9, 9, 9, 7, 1)});
    l.answered(near(30));
    q = drain_queries(l);
    EXPECT_TRUE(q.empty()) << "35 and 40 in flight fill alpha";
    EXPECT_EQ(l.inflight(), 2u);
}

// Found at 10,000 nodes: once a cap's worth of candidates had answered, the cap dropped
// every newly learned candidate, the true nearest included, and the lookup ended without
// it. A new candidate among the k nearest now stays, over the cap.
TEST(Lookup, ANearerCandidateIsKeptWhenTheCapsWorthHaveAnswered) {
    LookupParams p = params(2, 1, 0);  // cap: 3k = 6 live candidates per path
    p.hop_budget = 10;
    Lookup l(p, self_far());
    l.seed(contacts({600}));
    // Each answer hands out a nearer node, 600 down to 100: six answered, none fresh.
    for (uint32_t x = 600; x >= 100; x -= 100) {
        ASSERT_EQ(drain_queries(l), std::vector<NodeId>{near(x)});
        if (x > 100) l.learn(*l.find(near(x)), {near(x - 100), PeerAddr::v4(7, 7, 7, 7, 1)});
        l.answered(near(x));
    }
    ASSERT_NE(l.find(near(600)), nullptr);
    EXPECT_TRUE(l.learn(*l.find(near(100)), {near(7), PeerAddr::v4(7, 7, 7, 7, 2)}));
    ASSERT_NE(l.find(near(7)), nullptr) << "the nearest candidate of all is kept";
    EXPECT_NE(l.find(near(600)), nullptr) << "an answered one is never dropped";
    EXPECT_EQ(drain_queries(l), std::vector<NodeId>{near(7)});
    // A fresh one beyond the k nearest is still dropped at the cap.
    EXPECT_FALSE(l.learn(*l.find(near(100)), {near(650), PeerAddr::v4(7, 7, 7, 7, 3)}));
}
