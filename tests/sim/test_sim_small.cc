// SPDX-License-Identifier: MIT
// Simulator tests that run everywhere (sanitizers included): determinism by seed, two
// simulations in one process not interfering, invariants after every event, end-to-end
// operations between real Nodes with real Ed25519, TTL expiry, and a crash/restart (with
// and without the saved state).
// Everything here is in virtual time, so asserting times is legitimate.
#include <gtest/gtest.h>

#include "scenario.h"
#include "svcdht/blake3.h"

using namespace svcdht::core;
using namespace svcdht::sim;

namespace {

ScenarioConfig small(uint64_t seed, const char* scenario = "lookup") {
    ScenarioConfig c;
    c.scenario = scenario;
    c.nodes = 64;
    c.lookups = 64;
    c.seed = seed;
    return c;
}

// A tiny network built step by step, for end-to-end checks of the API.
struct Tiny {
    Sim sim;
    explicit Tiny(uint32_t n, uint64_t seed = 5, bool invariants = true, bool persist = false)
        : sim(make(seed, invariants, persist)) {
        for (uint32_t i = 0; i < n; ++i) sim.add_host();
        sim.start(0, {});
        for (uint32_t i = 1; i < n; ++i) {
            sim.run_until(sim.now() + msec(50));
            sim.start(i, {0});
        }
        sim.run_until(sim.now() + secs(20));
    }
    static SimConfig make(uint64_t seed, bool invariants, bool persist) {
        SimConfig c;
        c.seed = seed;
        c.check_invariants = invariants;
        c.persist = persist;
        return c;
    }
    const RequestResult* wait(uint32_t h, RequestId id, Time limit = secs(30)) {
        const Time end = sim.now() + limit;
        while (sim.result(h, id) == nullptr && sim.now() < end) sim.run_until(sim.now() + msec(10));
        return sim.result(h, id);
    }
};

}  // namespace

TEST(SimDeterminism, SameSeedSameEventLogHash) {
    const Report a = run_scenario(small(42, "churn"));
    const Report b = run_scenario(small(42, "churn"));
    EXPECT_GT(a.events, 10000u);
    EXPECT_EQ(a.event_hash, b.event_hash);
    EXPECT_EQ(a.events, b.events);
    EXPECT_EQ(a.found_after_churn, b.found_after_churn);
}

TEST(SimDeterminism, DifferentSeedsDiffer) {
    EXPECT_NE(run_scenario(small(1)).event_hash, run_scenario(small(2)).event_hash);
}

TEST(SimDeterminism, TwoSimulationsInterleavedMatchThemRunApart) {
    // Two independent networks advanced in alternation inside one process must produce
    // exactly the hashes they produce alone: the engine has no global state.
    auto build = [](uint64_t seed) {
        auto sim = std::make_unique<Sim>(sim_config(small(seed)));
        for (uint32_t i = 0; i < 40; ++i) sim->add_host();
        sim->start(0, {});
        return sim;
    };
    auto step = [](Sim& sim, uint32_t i) {
        if (i < 40) sim.start(i, random_seeds(sim, i));
        if (i % 5 == 0 && i > 10) {
            NodeId t;
            t.b.fill(static_cast<uint8_t>(i));
            (void)sim.closest(1, t);
        }
        sim.run_until(sim.now() + msec(200));
    };
    auto a = build(101), b = build(202);
    for (uint32_t i = 1; i < 120; ++i) {
        step(*a, i);
        step(*b, i);
    }
    auto a2 = build(101);
    for (uint32_t i = 1; i < 120; ++i) step(*a2, i);
    auto b2 = build(202);
    for (uint32_t i = 1; i < 120; ++i) step(*b2, i);
    EXPECT_EQ(a->event_hash(), a2->event_hash());
    EXPECT_EQ(b->event_hash(), b2->event_hash());
    EXPECT_NE(a->event_hash(), b->event_hash());
}

TEST(SimScenario, SmallNetworkWithRealCryptoFindsEveryClosestNode) {
    ScenarioConfig c = small(9);
    c.nodes = 128;
    c.lookups = 128;
    c.check_invariants = true;
    const Report r = run_scenario(c);
    std::printf("128 nodes, real Ed25519: %s\n", r.json().c_str());
    EXPECT_EQ(r.success_rate, 1.0);
    EXPECT_LE(r.hops_p99, 5);
    EXPECT_EQ(r.extra.at("unanswered"), 0);
}

TEST(SimScenario, ProvideAndFindAcrossTheNetwork) {
    ScenarioConfig c = small(10, "provide");
    c.check_invariants = true;
    const Report r = run_scenario(c);
    EXPECT_EQ(r.provide_success, 1.0);
    EXPECT_EQ(r.success_rate, 1.0);
}

// A contact learned from a session it dialed to us has an RTT at once, timed by the
// handshake (before, rtt_ms stayed 0 until we sent it an RPC of our own).
TEST(SimNode, AContactThatDialedUsHasTheHandshakesRoundTrip) {
    Sim sim(Tiny::make(7, true, false));
    sim.add_host();
    sim.add_host();
    sim.start(0, {});
    sim.start(1, {0});
    const Contact* c = nullptr;
    for (int i = 0; i < 10000 && c == nullptr; ++i) {
        sim.run_until(sim.now() + msec(1));
        c = sim.node(0)->table().find(sim.id(1));
    }
    ASSERT_NE(c, nullptr) << "host 1 dialed host 0";
    EXPECT_GT(c->rtt_us, 0u) << "as soon as the session opened";
    EXPECT_LT(c->rtt_us, 2'000'000u);
}

// SimConfig::fastopen: a second connection to a host carries the dialer's first write in
// its SYN, so a request on it is answered one round trip after the dial began instead of
// two (TCP's, then the request's). Warm sessions are off so that the first session idles
// out and the GET dials again.
TEST(SimNode, FastOpenAnswersARepeatedDialsFirstRequestOneRoundTripSooner) {
    for (const bool fastopen : {false, true}) {
        SimConfig c = Tiny::make(7, true, false);
        c.fastopen = fastopen;
        c.node.warm_sessions = 0;
        Sim sim(c);
        sim.add_host();
        sim.add_host();
        sim.start(0, {});
        sim.start(1, {0});
        sim.run_until(secs(120));
        ASSERT_TRUE(sim.node(1)->table().contains(sim.id(0)));
        ASSERT_EQ(sim.node(1)->active_sessions(), 0u) << "the join's session idled out";
        NodeId key;
        key.b.fill(9);
        const RequestId id = sim.get(1, key);
        sim.run_until(sim.now() + secs(5));
        const RequestResult* r = sim.result(1, id);
        ASSERT_NE(r, nullptr);
        EXPECT_EQ(r->err, Err::not_found);
        // One-way deliveries take 0.9 to 1.1 times the link's latency; SYN and SYN-ACK take
        // it exactly.
        const double one_way = static_cast<double>(sim.link_latency(0, 1));
        const double trips = static_cast<double>(r->elapsed) / (2 * one_way);
        if (fastopen) {
            EXPECT_LE(trips, 1.05);
        } else {
            EXPECT_GE(trips, 1.9);
            EXPECT_LE(trips, 2.1);
        }
    }
}

TEST(SimNode, PutOnOneNodeGetOnAnother) {
    Tiny t(12);
    const Bytes v = {'h', 'e', 'l', 'l', 'o'};
    const RequestResult* p = t.wait(3, t.sim.put(3, v));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->err, Err::ok);
    EXPECT_EQ(p->stored_on, 3u) << "replica 3";
    const Key key = NodeId::from(blake3(v));
    const RequestResult* g = t.wait(9, t.sim.get(9, key));
    ASSERT_NE(g, nullptr);
    EXPECT_EQ(g->err, Err::ok);
    EXPECT_EQ(g->value, v);
    // A key nobody stored is not found, and says so.
    NodeId other;
    other.b.fill(7);
    const RequestResult* m = t.wait(9, t.sim.get(9, other));
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->err, Err::not_found);
}

TEST(SimNode, ProvidedRecordsExpireByTtl) {
    Tiny t(10);
    NodeId key;
    key.b.fill(0x42);
    const RequestResult* p = t.wait(2, t.sim.provide(2, key, 5));
    ASSERT_NE(p, nullptr);
    ASSERT_EQ(p->err, Err::ok);
    EXPECT_GE(p->stored_on, 1u);
    const RequestResult* f = t.wait(7, t.sim.find_providers(7, key));
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(f->providers.size(), 1u);
    EXPECT_LE(f->providers[0].secs_left, 5u);
    EXPECT_EQ(f->providers[0].addrs[0], "tcp://" + t.sim.addr(2).format());
    t.sim.run_until(t.sim.now() + secs(6));
    const RequestResult* g = t.wait(7, t.sim.find_providers(7, key));
    ASSERT_NE(g, nullptr);
    EXPECT_TRUE(g->providers.empty()) << "expired records are gone everywhere";
    for (uint32_t h = 0; h < 10; ++h) EXPECT_EQ(t.sim.node(h)->store().record_count(), 0u) << h;
}

TEST(SimNode, CrashedNodeIsForgottenAndRestartedNodeRejoins) {
    Tiny t(16);
    const NodeId victim = t.sim.id(5);
    t.sim.crash(5);
    // Lookups for the crashed node's id no longer return it once it failed RPCs.
    for (int i = 0; i < 3; ++i) {
        const RequestResult* r = t.wait(1, t.sim.closest(1, victim));
        ASSERT_NE(r, nullptr);
        ASSERT_FALSE(r->nodes.empty());
        EXPECT_NE(r->nodes[0].id, victim);
    }
    t.sim.restart(5, {0});
    t.sim.run_until(t.sim.now() + secs(20));
    const RequestResult* r = t.wait(1, t.sim.closest(1, victim));
    ASSERT_NE(r, nullptr);
    ASSERT_FALSE(r->nodes.empty());
    EXPECT_EQ(r->nodes[0].id, victim) << "same id and address after restart";
}

TEST(SimNode, RestartWithStateKeepsRecordsValuesAndContacts) {
    Tiny t(12, 5, true, true);
    const Bytes v = {'s', 't', 'a', 't', 'e'};
    const Key vkey = NodeId::from(blake3(v));
    NodeId rkey;
    rkey.b.fill(0x24);
    ASSERT_EQ(t.wait(3, t.sim.put(3, v))->err, Err::ok);
    ASSERT_EQ(t.wait(3, t.sim.provide(3, rkey, 0))->err, Err::ok);
    // Two holders of the value other than the writer: one restarts with its state, the
    // other without. The writer restarts with its state too: its own record comes back.
    std::vector<uint32_t> holders;
    for (uint32_t h = 0; h < 12; ++h)
        if (h != 3 && t.sim.node(h)->store().value(vkey, t.sim.now())) holders.push_back(h);
    ASSERT_GE(holders.size(), 2u);
    const uint32_t kept = holders[0], lost = holders[1];
    const size_t records = t.sim.node(kept)->store().record_count();
    const size_t values = t.sim.node(kept)->store().value_count();
    ASSERT_GT(t.sim.node(kept)->table().size(), 3u);
    for (uint32_t h : {kept, lost, 3u}) t.sim.crash(h);
    t.sim.run_until(t.sim.now() + secs(10));
    // No seed at all for |kept|: only the contacts it saved can bring it back.
    t.sim.restart_with_state(kept, {});
    t.sim.restart_with_state(3, {0});
    t.sim.restart(lost, {0});
    EXPECT_EQ(t.sim.node(kept)->store().record_count(), records);
    EXPECT_EQ(t.sim.node(kept)->store().value_count(), values);
    EXPECT_NE(t.sim.node(kept)->store().value(vkey, t.sim.now()), nullptr);
    EXPECT_NE(t.sim.node(3)->store().local_record(rkey, t.sim.now()), nullptr);
    EXPECT_EQ(t.sim.node(lost)->store().record_count(), 0u);
    EXPECT_EQ(t.sim.node(lost)->store().value_count(), 0u);
    t.sim.run_until(t.sim.now() + secs(5));
    const Readiness r = t.sim.node(kept)->readiness();
    EXPECT_TRUE(r.routing_ready);
    EXPECT_GE(r.warm_up, 3u);
    EXPECT_GE(t.sim.node(kept)->table().size(), 3u);
    // It serves what it kept: a get from it finds the value.
    const RequestResult* g = t.wait(kept, t.sim.get(kept, vkey));
    ASSERT_NE(g, nullptr);
    EXPECT_EQ(g->value, v);
}

TEST(SimScenario, RestartWithStateKeepsRecordsAndWarmsUpFaster) {
    ScenarioConfig c = small(21, "restart");
    c.nodes = 80;
    c.lookups = 40;
    c.fast_crypto = true;
    c.check_invariants = true;
    const Report r = run_scenario(c);
    std::printf("restart, 80 nodes: %s\n", r.json().c_str());
    const auto& x = r.extra;
    EXPECT_EQ(x.at("unanswered"), 0);
    EXPECT_GT(x.at("held_before_crash"), 0);
    // Right after the restart the restarted nodes hold everything they had, or nothing.
    EXPECT_EQ(x.at("held_after_restart_with_state"), x.at("held_before_crash"));
    EXPECT_EQ(x.at("held_after_restart_without_state"), 0);
    // The saved contacts make routing ready before any seed could (a seed's join takes a
    // lookup); the tables fill up again no slower. (Compared at the median: with state a
    // few of the 20 restarted nodes refill only after about 1.7 s, on seeds 21-23 with early
    // requests on or off (dht-sim --scenario restart --nodes 80 --lookups 40 --seed 21
    // --fast-crypto [--early-share 0]), so whether the 90th percentile lands in that group
    // follows the seed; see docs/PERFORMANCE.md.)
    EXPECT_LT(x.at("ready_s_p50_with_state"), x.at("ready_s_p50_without_state"));
    EXPECT_LE(x.at("refill_s_p50_with_state"), x.at("refill_s_p50_without_state"));
    EXPECT_EQ(x.at("not_refilled_with_state"), 0);
    EXPECT_EQ(run_scenario(c).event_hash, r.event_hash);
}

// Found by the restart scenario: a node restarted with its table whose first saved contact
// to answer was itself restarting (its table still empty) finished its join knowing one
// node, so the join's bucket sweep saw nothing, and far buckets whose contacts kept talking
// to it never counted as stale: 4 of 120 tables stayed short for 1,200 s. The node now
// sweeps again once its table reaches k.
TEST(SimScenario, EveryTableRestartedWithStateFillsUpAgain) {
    ScenarioConfig c = small(2, "restart");
    c.nodes = 120;
    c.lookups = 100;
    c.fast_crypto = true;
    const Report r = run_scenario(c);
    EXPECT_EQ(r.extra.at("not_refilled_with_state"), 0);
    EXPECT_LT(r.extra.at("refill_s_max_with_state"), 10);
}

TEST(SimNode, ReadinessFollowsBootstrapAndJoin) {
    Tiny t(6);
    for (uint32_t h = 0; h < 6; ++h) {
        const Readiness r = t.sim.node(h)->readiness();
        EXPECT_TRUE(r.routing_ready) << h;
        EXPECT_TRUE(r.bootstrap) << h;
        EXPECT_TRUE(r.queues_ok) << h;
    }
    // A node whose only seed is down never becomes ready.
    const uint32_t lonely = t.sim.add_host();
    t.sim.crash(0);
    t.sim.start(lonely, {0});
    t.sim.run_until(t.sim.now() + secs(30));
    const Readiness r = t.sim.node(lonely)->readiness();
    EXPECT_FALSE(r.bootstrap);
    EXPECT_FALSE(r.routing_ready);
    EXPECT_EQ(r.seeds_up, 0u);
    EXPECT_EQ(r.seeds_configured, 1u);
}

// A partition that outlives every contact across it: the nodes of one side bootstrapped
// off a seed on the other, and their lookups during the cut make every contact there fail
// and leave the table. After the heal they must find the other side again on their own,
// within half a minute: a seed that left the table is dialed again (with a short backoff).
TEST(SimScenario, APartitionThatCostEveryContactAcrossHealsWithinHalfAMinute) {
    constexpr uint32_t N = 16;
    Tiny t(N, 11, false);
    std::vector<uint8_t> group(N);
    for (uint32_t h = N / 2; h < N; ++h) group[h] = 1;  // the seed, host 0, is in group 0
    t.sim.partition(group);
    // Ten minutes of lookups from every node: each contact across fails its RPCs.
    for (int minute = 0; minute < 10; ++minute) {
        for (uint32_t h = 0; h < N; ++h) {
            NodeId target;
            for (auto& b : target.b) b = static_cast<uint8_t>(t.sim.rng_draw(256));
            t.sim.closest(h, target);
        }
        t.sim.run_until(t.sim.now() + secs(60));
    }
    uint32_t cut_off = 0;  // nodes without a single contact on the other side
    for (uint32_t h = 0; h < N; ++h) {
        bool across = false;
        for (uint32_t o = 0; o < N; ++o)
            across |= group[o] != group[h] && t.sim.node(h)->table().contains(t.sim.id(o));
        cut_off += across ? 0 : 1;
    }
    ASSERT_EQ(cut_off, N) << "the cut must have cost every contact across it";
    t.sim.heal();
    t.sim.run_until(t.sim.now() + secs(30));
    for (uint32_t h = 0; h < N; ++h) {
        const uint32_t other = (h + N / 2) % N;  // a node on the other side
        const RequestResult* r = t.wait(h, t.sim.closest(h, t.sim.id(other)));
        ASSERT_NE(r, nullptr);
        ASSERT_EQ(r->err, Err::ok) << "host " << h;
        ASSERT_FALSE(r->nodes.empty());
        EXPECT_EQ(r->nodes[0].id, t.sim.id(other)) << "host " << h << " finds the other side";
    }
}
