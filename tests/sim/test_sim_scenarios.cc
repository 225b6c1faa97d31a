// SPDX-License-Identifier: MIT
// The network-scale scenarios of the engine issue, at 1,000 nodes with fixed seeds in
// virtual time (so the figures are deterministic and asserting them is legitimate). They
// use FastCrypto: Ed25519 is exercised by the unit tests and test_sim_small.cc, and here
// the question is routing, not signing. Each prints its figures.
#include <gtest/gtest.h>

#include "scenario.h"

using namespace svcdht::core;
using namespace svcdht::sim;

namespace {

ScenarioConfig base(const char* scenario, uint64_t seed = 3) {
    ScenarioConfig c;
    c.scenario = scenario;
    c.nodes = 1000;
    c.lookups = 1000;
    c.seed = seed;
    c.fast_crypto = true;
    return c;
}

void show(const char* what, const Report& r) {
    std::printf("%s: %s\n", what, r.json().c_str());
}

LookupOptions with_beta(int32_t beta) {
    LookupOptions o;
    o.beta = beta;
    return o;
}

// gets_without_then_with_hedging publishes 500 values, then gets each with beta 0 into
// |get0| and again with beta 1 into |get1|, and prints both tails.
void gets_without_then_with_hedging(Sim& sim, const char* what, Tally& get0, Tally& get1,
                                    Unanswered& u) {
    std::vector<uint32_t> putters;
    const std::vector<Key> keys = publish_values(sim, 500, &putters, u);
    run_gets(sim, keys, putters, get0, u, with_beta(0));
    run_gets(sim, keys, putters, get1, u, with_beta(1));
    std::printf("%s: GET p95 %.0f ms (beta 0) vs %.0f ms (beta 1), p99 %.0f vs %.0f\n", what,
                get0.latency_ms(0.95), get1.latency_ms(0.95), get0.latency_ms(0.99),
                get1.latency_ms(0.99));
}

}  // namespace

TEST(Scenario, ThousandNodesEveryLookupSucceeds) {
    const Report r = run_scenario(base("lookup"));
    show("lookup 1000x1000, 20/100 ms", r);
    EXPECT_EQ(r.success_rate, 1.0);
    EXPECT_LE(r.hops_p99, 5);
    EXPECT_EQ(r.extra.at("unanswered"), 0);
}

TEST(Scenario, HedgingRescuesTheTailWhenFivePercentAreSlow) {
    ScenarioConfig c = base("slow");
    c.slow = 0.05;
    Sim sim(sim_config(c));
    build_network(sim, c);
    Unanswered u;
    Tally find0, find1, get0, get1;
    c.lookups = 500;
    run_find_node(sim, c, find0, u, with_beta(0));
    run_find_node(sim, c, find1, u, with_beta(1));
    std::printf(
        "5%% slow (10x): FIND_NODE p95 %.0f ms (beta 0) vs %.0f ms (beta 1), p99 %.0f vs %.0f\n",
        find0.latency_ms(0.95), find1.latency_ms(0.95), find0.latency_ms(0.99),
        find1.latency_ms(0.99));
    gets_without_then_with_hedging(sim, "5% slow (10x)", get0, get1, u);
    EXPECT_EQ(u.n, 0u);
    EXPECT_EQ(get0.success(), 1.0);
    EXPECT_EQ(get1.success(), 1.0);
    // Node lookups wait for the k closest: a slow node among them holds the lookup until
    // its answer with beta 0, and hedging halves the tail.
    EXPECT_LE(find1.latency_ms(0.95), 0.5 * find0.latency_ms(0.95));
    // Value lookups stop at the first holder, and with alpha 3 in flight a slow peer
    // rarely sits on their critical path. The halving asked for cannot show here: the same
    // network with no slow node at all has a get p95 above half of the beta-0 figure
    // (docs/PERFORMANCE.md has both runs). So hedging must only not make gets worse.
    EXPECT_LE(get1.latency_ms(0.95), 1.25 * get0.latency_ms(0.95));
}

// The tail rescue where a slow node does sit on a value lookup's critical path: with one
// query in flight (alpha 1) a GET waits for every node it asks, and hedging cuts the far
// tail to less than half (p95 is reported; at p95 the network's own link tail dominates,
// see docs/PERFORMANCE.md).
//
// The halving is measured where a new connection costs three round trips before its first
// answer (no early requests): a slow node's cold RPC then costs 3 of its 10x round trips,
// which the hedge saves. With early requests it costs 2, the unhedged tail itself shrinks
// and less is left to halve; the hedged tail must then be no worse than without them.
// The halving is measured with the fixed RPC timeout too: the adaptive one also cuts the
// unhedged tail (p99 without early requests 1,743 -> 1,328 ms, with them 1,205 -> 824),
// which again leaves less to halve (1,328 vs 675 ms hedged; docs/PERFORMANCE.md).
//
// Without the hedge, a GET with one query in flight that meets two of the slow nodes in a
// row can run into its 5 s deadline: at most one of the 500 may (over seeds 3 to 7 of this
// network, one seed had one such miss, seed 6 without warm sessions and seed 3 with them).
// Every hedged GET must succeed.
TEST(Scenario, HedgingHalvesTheGetTailWithOneQueryInFlight) {
    Tally get0[2], get1[2];
    for (int early = 0; early < 2; ++early) {
        ScenarioConfig c = base("slow");
        c.slow = 0.05;
        c.node.alpha = 1;
        c.node.adaptive_timeout = early == 1;
        c.early_share = early;
        Sim sim(sim_config(c));
        build_network(sim, c);
        Unanswered u;
        gets_without_then_with_hedging(
            sim,
            early ? "5% slow (10x), alpha 1"
                  : "5% slow (10x), alpha 1, no early requests, fixed timeout",
            get0[early], get1[early], u);
        EXPECT_EQ(u.n, 0u);
        EXPECT_GE(get0[early].success(), 0.998);
        EXPECT_EQ(get1[early].success(), 1.0);
        EXPECT_LE(get1[early].latency_ms(0.95), get0[early].latency_ms(0.95));
    }
    EXPECT_LE(get1[0].latency_ms(0.99), 0.5 * get0[0].latency_ms(0.99));
    EXPECT_LE(get1[1].latency_ms(0.99), get1[0].latency_ms(0.99));
    EXPECT_LE(get0[1].latency_ms(0.99), get0[0].latency_ms(0.99));
}

namespace {

// find_then_put runs c.lookups node lookups, then as many puts, on a new network built
// from |c| (20/100 ms links, no slow node), prints both tails and their accuracy, and
// checks that every one succeeded and at least |exact_pct| % of each were exact.
void find_then_put(ScenarioConfig c, const char* what, uint32_t exact_pct, Tally& find,
                   Tally& put) {
    c.slow = 0;
    Sim sim(sim_config(c));
    build_network(sim, c);
    Unanswered u;
    std::vector<uint32_t> putters;
    run_find_node(sim, c, find, u);
    run_publish(sim, c, true, put, &putters, u);
    std::printf(
        "%s: FIND_NODE p50 %.0f p95 %.0f ms exact %u/%u; PUT p50 %.0f p95 %.0f ms "
        "exact %u/%u, floor p50 %.0f p95 %.0f ms, on new connections %.0f and %.0f ms\n",
        what, find.latency_ms(0.5), find.latency_ms(0.95), find.exact, find.exact_total,
        put.latency_ms(0.5), put.latency_ms(0.95), put.exact, put.exact_total,
        put.floor_at(0.5, false), put.floor_at(0.95, false), put.floor_at(0.5, true),
        put.floor_at(0.95, true));
    EXPECT_EQ(u.n, 0u);
    EXPECT_EQ(find.success(), 1.0);
    EXPECT_EQ(put.success(), 1.0);
    EXPECT_GE(find.exact, find.exact_total * exact_pct / 100);
    EXPECT_GE(put.exact, put.exact_total * exact_pct / 100);
}

}  // namespace

// Lookups that end when what they need has answered: a node lookup when its k closest
// have, a put when its replica closest have, and a stalled round asks every unasked one
// among them at once. On 20/100 ms links (RTT about 40 ms) both stay exact: the result is
// the true k closest, the value lands on the true replica closest.
TEST(Scenario, LookupsOnRealLinksEndWhenTheirNeedAnsweredAndStayExact) {
    ScenarioConfig c = base("slow");
    c.lookups = 500;
    Tally find, put;
    find_then_put(c, "20/100 ms links", 99, find, put);
    // Before these rules: FIND_NODE p95 1169 ms, PUT p95 1302 ms; with them but without
    // early requests: 960 and 702 ms, PUT p50 344 ms (docs/PERFORMANCE.md).
    EXPECT_LE(find.latency_ms(0.95), 700.0);
    EXPECT_LE(put.latency_ms(0.95), 600.0);
    EXPECT_LE(put.latency_ms(0.5), 300.0);
    // The floors are what an operation cannot beat: two round trips to a put's farthest
    // target, one to the farthest of a lookup's k closest (a delivery takes at least 0.9
    // of its link's latency). None beats it, and the fastest come within a tenth of it, so
    // a floor off by a round trip either way fails here. The puts take p50 266 / p95 539 ms
    // against a floor of 219 / 471 ms on new connections: a p95 under 500 ms leaves no room
    // for a hop (docs/PERFORMANCE.md, "What a put cannot beat").
    for (const Tally* t : {&put, &find}) {
        EXPECT_GE(t->floor_ratio_min, 0.9);
        EXPECT_LE(t->floor_ratio_min, 1.1);
    }
}

// A network halfway through the upgrade to early requests (docs/PROTOCOL.md 1.3): every
// pair of old and new peers still talks, so lookups and puts all succeed, and stay as exact
// as the old rules keep them (dht-sim --nodes 1000 --lookups 500 --seed 3 --scenario slow
// --slow 0 --fast-crypto --latency-ms 20,100 --early-share S: exact 0.994 at S 0, 0.996 at
// 0.5, 0.998 at 1; here 298/300 and 300/300).
TEST(Scenario, AHalfUpgradedNetworkLooksUpAndStoresExactly) {
    ScenarioConfig c = base("slow");
    c.lookups = 300;
    c.early_share = 0.5;
    Tally find, put;
    find_then_put(c, "half upgraded, 20/100 ms links", 98, find, put);
}

// The seeds' chaos SLO for loss: with half of all deliveries lost once (each then waits for
// a TCP retransmission, at least 200 ms), lookups still all succeed and take at most 7 hops.
TEST(Scenario, HalfTheDeliveriesLostKeepsEveryLookupWithinSevenHops) {
    ScenarioConfig c = base("slow");
    c.slow = 0;
    c.loss = 0.5;
    c.lookups = 500;
    const Report r = run_scenario(c);
    show("50 % loss, 20/100 ms", r);
    EXPECT_EQ(r.success_rate, 1.0);
    EXPECT_LE(r.hops_p99, 7);
    EXPECT_EQ(r.extra.at("unanswered"), 0);
}

// The other chaos SLO adds 300 ms of latency (320/400 ms one way). Its p95 < 800 ms cannot
// be met (a query on a new connection alone takes 2 round trips of 640+ ms; see
// docs/PERFORMANCE.md), but lookups must still find the true k closest. With the adaptive
// hedge a query waits for the round trips it needs; the adaptive RPC timeout lets it: with
// the fixed 1.5 s, a query to a new peer is given up before its answer can be back, and
// about half of the lookups miss one of the k closest (dht-sim --nodes 1000 --lookups 300
// --seed 3 --scenario slow --slow 0 --fast-crypto --latency-ms 320,400 --adaptive-hedge
// [--fixed-timeout]: exact 1.0 against 0.497).
TEST(Scenario, FarLinksStayExactWhenTheTimeoutFollowsTheRoundTrips) {
    ScenarioConfig c = base("slow");
    c.slow = 0;
    c.lookups = 300;
    c.latency_median = msec(320);
    c.latency_p99 = msec(400);
    c.node.adaptive_hedge = true;
    const Report adaptive = run_scenario(c);
    show("320/400 ms, adaptive hedge and timeout", adaptive);
    c.node.adaptive_timeout = false;
    const Report fixed = run_scenario(c);
    show("320/400 ms, adaptive hedge, fixed timeout", fixed);
    EXPECT_EQ(adaptive.success_rate, 1.0);
    EXPECT_GE(adaptive.extra.at("exact_rate"), 0.99);
    EXPECT_EQ(adaptive.extra.at("unanswered"), 0);
    EXPECT_LT(fixed.extra.at("exact_rate"), 0.9);
}

TEST(Scenario, QuarterOfNodesCrashReplicaThree) {
    ScenarioConfig c = base("churn");
    c.node.replica = 3;
    const Report r = run_scenario(c);
    show("crash 25%, replica 3", r);
    EXPECT_EQ(r.provide_success, 1.0);
    EXPECT_GE(r.found_after_churn, 0.97);
}

TEST(Scenario, QuarterOfNodesCrashReplicaEight) {
    ScenarioConfig c = base("churn");
    c.node.replica = 8;
    const Report r = run_scenario(c);
    show("crash 25%, replica 8", r);
    EXPECT_GE(r.found_after_churn, 0.999);
}

// Six hours of virtual time: warm sessions are off here, because their pings (a few per
// node per minute) would be four fifths of the run's events and its time (dht-sim --scenario
// gradual --nodes 500 --lookups 1000 --seed 3 --fast-crypto: 50.6 million events against 9.4
// without them); found_after_churn is 1.0 either way, and lookups are faster with them.
TEST(Scenario, GradualChurnOverSixHours) {
    ScenarioConfig c = base("gradual");
    c.nodes = 500;
    c.node.warm_sessions = 0;
    const Report r = run_scenario(c);
    show("25% replaced over 6 h, 500 nodes, 1000 keys", r);
    EXPECT_GE(r.found_after_churn, 0.999);
}

// 500 nodes: the heal is refresh and seed rejoins, whatever the size; warm sessions' pings
// over 26 minutes of virtual time make a 1,000-node run three times as long (dht-sim
// --scenario partition --nodes 1000 --lookups 500 --seed 3 --fast-crypto: 7.5 million events,
// 3.6 million with 500 nodes).
TEST(Scenario, PartitionHealsWithinOneRefreshInterval) {
    ScenarioConfig c = base("partition");
    c.nodes = 500;
    c.lookups = 500;
    const Report r = run_scenario(c);
    show("partition 10 min then heal", r);
    EXPECT_LT(r.extra.at("success_during_partition"), 0.9) << "the cut is real";
    EXPECT_GE(r.success_rate, 0.99);
}

// A quarter of 1,000 nodes crash at once and restart 5 s later with their saved contacts.
// Their joins meet many contacts that are themselves still restarting, so a restarted
// node's far buckets can come out of the join short (11 of 20 where they had 20), and the
// contacts left in them keep talking to it now and then. A bucket used to count as fresh
// whenever a contact in it was seen, so such a bucket waited for a quiet refresh interval
// before its refresh: with the default 15 minutes, one table in 250 stayed short for the
// whole 20 minutes measured (dht-sim --nodes 1000 --lookups 500 --seed 3 --scenario restart
// --fast-crypto: not_refilled_with_state 0.004, seed 4 the same), and with 5 minutes, as
// here to keep the run short, it refilled after 607 s. A short bucket is now fresh only by
// a lookup, so it is refreshed one interval after the join's sweep (320 s here, 910 s with
// the default).
TEST(Scenario, EveryFarBucketLeftShortByAMassRestartIsRefreshed) {
    ScenarioConfig c = base("restart");
    c.lookups = 500;
    c.node.refresh_interval = secs(300);
    const Report r = run_scenario(c);
    show("crash 25%, restart with and without state, refresh every 5 min", r);
    EXPECT_EQ(r.extra.at("not_refilled_with_state"), 0);
    EXPECT_EQ(r.extra.at("not_refilled_without_state"), 0);
    EXPECT_LE(r.extra.at("refill_s_max_with_state"), 340)
        << "one refresh interval after the join, and a few maintenance rounds";
}

TEST(Scenario, TenPercentHostileNodes) {
    ScenarioConfig clean = base("lookup");
    clean.lookups = 300;
    const Report baseline = run_scenario(clean);
    ScenarioConfig c = base("hostile");
    c.hostile = 0.10;
    Sim sim(sim_config(c));
    build_network(sim, c);
    Unanswered u;
    Tally d1, d4;
    LookupOptions o1, o4;
    o1.disjoint = 1;
    o4.disjoint = 4;
    c.lookups = 300;
    run_find_node(sim, c, d1, u, o1);
    run_find_node(sim, c, d4, u, o4);
    std::printf(
        "10%% hostile: success %.4f (d=1) %.4f (d=4); p50/p95 ms %.0f/%.0f (d=1) %.0f/%.0f (d=4); "
        "without hostile nodes %.0f/%.0f\n",
        d1.success(), d4.success(), d1.latency_ms(0.5), d1.latency_ms(0.95), d4.latency_ms(0.5),
        d4.latency_ms(0.95), baseline.latency_p50_ms, baseline.latency_p95_ms);
    EXPECT_GE(d1.success(), 0.99);
    EXPECT_GE(d4.success(), 0.99);
    EXPECT_EQ(u.n, 0u);
}
