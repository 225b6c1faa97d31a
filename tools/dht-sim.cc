// SPDX-License-Identifier: MIT
// dht-sim: run svc-dht's Node engine at network scale in virtual time.
//
//   dht-sim --nodes N --lookups L --seed S [--latency-ms MEDIAN,P99] [--loss P] [--slow PCT]
//           [--churn PCT] [--hostile PCT] [--alpha A --beta B --k K --replica R --disjoint D]
//           [--hedge-after MS] [--adaptive-hedge] [--rpc-timeout MS] [--fixed-timeout]
//           [--hop-budget H] [--early-share F] [--fastopen] [--settle S] [--warm-sessions N]
//           [--join-interval MS]
//           [--scenario lookup|provide|churn|gradual|partition|hostile|slow|restart]
//           [--op find_node|get|put|provide] [--fast-crypto] [--check-invariants] [--progress]
//           [--json]
//   dht-sim --fuzz --seconds T [--seed S]
//
// The seed is printed on stderr; the same seed replays the same run (same event hash).
// restart crashes --churn of the nodes (default 25 %) at once and restarts them, once
// without and once with their saved store and contacts, and reports both (scenario.h).
#include <unistd.h>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "scenario.h"
#include "svcdht/limits.h"

using namespace svcdht;
using namespace svcdht::sim;

namespace {

volatile sig_atomic_t g_fuzzing = 0;
char g_seed_line[96];
size_t g_seed_line_len = 0;

void on_alarm(int) {
    // A scenario that does not end (a loop outside the event queue, or one that outruns
    // its event budget in wall time): fail with the seed that replays it.
    const char msg[] = "dht-sim: a scenario did not finish within 120 s; replay with: ";
    (void)!write(2, msg, sizeof msg - 1);
    (void)!write(2, g_seed_line, g_seed_line_len);
    _exit(1);
}

void on_abort(int) {
    // A failed invariant aborts: say which seed, so it can be replayed.
    if (g_fuzzing) {
        const char msg[] = "dht-sim: invariant failed; replay with: ";
        (void)!write(2, msg, sizeof msg - 1);
        (void)!write(2, g_seed_line, g_seed_line_len);
    }
    _exit(1);
}

void usage(FILE* f) {
    std::fputs(
        "usage: dht-sim --nodes N --lookups L --seed S [--latency-ms MEDIAN,P99] [--loss P]\n"
        "               [--slow PCT] [--churn PCT] [--hostile PCT] [--alpha A] [--beta B] [--k K]\n"
        "               [--replica R] [--disjoint D] [--hedge-after MS] [--adaptive-hedge] "
        "[--hop-budget H]\n"
        "               [--rpc-timeout MS] [--fixed-timeout] [--early-share F]\n"
        "               [--fastopen] [--settle S] [--warm-sessions N] [--join-interval MS]\n"
        "               [--scenario NAME] [--op find_node|get|put|provide]\n"
        "               [--fast-crypto] [--check-invariants] [--progress] [--json]\n"
        "       dht-sim --fuzz --seconds T [--seed S]\n"
        "scenarios: lookup provide churn gradual partition hostile slow restart\n",
        f);
}

bool parse_u64(const char* s, uint64_t* out) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(s, &end, 10);
    if (end == s || *end != '\0') return false;
    *out = v;
    return true;
}

void print_human(const Report& r) {
    std::printf("scenario %s, %u nodes, %u lookups, seed %llu\n", r.scenario.c_str(), r.nodes,
                r.lookups, static_cast<unsigned long long>(r.seed));
    std::printf(
        "  success %.4f  hops p50/p95/p99/max %.0f/%.0f/%.0f/%.0f  latency ms p50/p95/p99 "
        "%.1f/%.1f/%.1f\n",
        r.success_rate, r.hops_p50, r.hops_p95, r.hops_p99, r.hops_max, r.latency_p50_ms,
        r.latency_p95_ms, r.latency_p99_ms);
    std::printf("  rpcs/lookup %.1f  provide_success %.4f  found_after_churn %.4f\n",
                r.rpcs_per_lookup, r.provide_success, r.found_after_churn);
    if (r.scenario == "restart") {
        // Both runs side by side: the point of the scenario is the difference.
        auto x = [&](const std::string& k) {
            auto it = r.extra.find(k);
            return it == r.extra.end() ? -1.0 : it->second;
        };
        std::printf("  restarted nodes held %.0f records before the crash\n",
                    x("held_before_crash"));
        for (const char* arm : {"without_state", "with_state"}) {
            const std::string s = std::string("_") + arm;
            std::printf(
                "  %-13s found_after_restart %.4f (by survivors %.4f)  held_after_restart %.0f\n"
                "  %-13s ready p50 %.2f s  refill p50/p90/max %.1f/%.1f/%.1f s  not_refilled "
                "%.4f\n",
                arm, x("found_after_restart" + s), x("found_by_survivors" + s),
                x("held_after_restart" + s), "", x("ready_s_p50" + s), x("refill_s_p50" + s),
                x("refill_s_p90" + s), x("refill_s_max" + s), x("not_refilled" + s));
        }
    }
    std::printf("  wall %.2f s  peak rss %ld KiB  events %llu  virtual %.0f s  hash %016llx\n",
                r.wall_s, r.peak_rss_kb, static_cast<unsigned long long>(r.events), r.virtual_s,
                static_cast<unsigned long long>(r.event_hash));
}

// fuzz_config derives a random small scenario from |seed| alone, so a failing seed can be
// replayed with --fuzz-one.
ScenarioConfig fuzz_config(uint64_t seed) {
    static const char* const SCENARIOS[] = {"lookup",  "provide", "churn",
                                            "hostile", "slow",    "partition"};
    ScenarioConfig c;
    c.seed = seed;
    uint64_t state = seed;
    auto pick = [&](uint64_t n) { return core::splitmix64(state) % n; };
    c.scenario = SCENARIOS[pick(6)];
    c.nodes = static_cast<uint32_t>(8 + pick(48));
    c.lookups = static_cast<uint32_t>(4 + pick(24));
    c.node.k = static_cast<uint32_t>(2 + pick(19));
    c.node.alpha = static_cast<uint32_t>(1 + pick(4));
    c.node.beta = static_cast<uint32_t>(pick(c.node.alpha + 1));
    c.node.replica = static_cast<uint32_t>(1 + pick(5));
    c.node.disjoint = static_cast<uint32_t>(1 + pick(3));
    c.loss = static_cast<double>(pick(5)) / 20;
    c.slow = static_cast<double>(pick(3)) / 10;
    c.hostile = static_cast<double>(pick(3)) / 10;
    c.op = pick(2) ? "get" : "find_node";
    c.latency_median = core::msec(1 + pick(50));
    c.latency_p99 = c.latency_median * (1 + pick(10));
    c.fast_crypto = true;
    c.check_invariants = true;
    // Small networks need well under a million events; ten times that is a runaway.
    c.max_events = 10'000'000;
    return c;
}

int fuzz(uint64_t seconds, uint64_t seed) {
    g_fuzzing = 1;
    std::signal(SIGABRT, on_abort);
    std::signal(SIGALRM, on_alarm);
    const time_t end = std::time(nullptr) + static_cast<time_t>(seconds);
    uint64_t state = seed;
    int runs = 0;
    while (std::time(nullptr) < end) {
        const ScenarioConfig c = fuzz_config(core::splitmix64(state));
        g_seed_line_len = static_cast<size_t>(
            std::snprintf(g_seed_line, sizeof g_seed_line, "dht-sim --fuzz-one %llu\n",
                          static_cast<unsigned long long>(c.seed)));
        alarm(120);
        const Report r = run_scenario(c);
        alarm(0);
        if (r.extra.count("event_budget_exhausted") != 0) {
            std::fprintf(stderr, "dht-sim: a scenario ran past its event budget; replay with: %s",
                         g_seed_line);
            return 1;
        }
        if (r.extra.count("unanswered") != 0 && r.extra.at("unanswered") > 0) {
            std::fprintf(stderr, "dht-sim: %g requests never answered; replay with: %s",
                         r.extra.at("unanswered"), g_seed_line);
            return 1;
        }
        ++runs;
    }
    std::fprintf(
        stderr,
        "dht-sim: fuzz ran %d random scenarios in %llu s with no failing seed (base seed %llu)\n",
        runs, static_cast<unsigned long long>(seconds), static_cast<unsigned long long>(seed));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    ScenarioConfig c;
    bool json = false, do_fuzz = false, seed_given = false;
    uint64_t seconds = 60;
    uint64_t fuzz_one = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
        uint64_t n = 0;
        auto need = [&](bool ok) {
            if (!ok) {
                std::fprintf(stderr, "dht-sim: bad or missing value for %s (try --help)\n",
                             a.c_str());
                std::exit(2);
            }
            ++i;
        };
        if (a == "--help" || a == "-h") {
            usage(stdout);
            return 0;
        } else if (a == "--json") {
            json = true;
        } else if (a == "--fast-crypto") {
            c.fast_crypto = true;
        } else if (a == "--progress") {
            c.progress = true;
        } else if (a == "--check-invariants") {
            c.check_invariants = true;
        } else if (a == "--fuzz") {
            do_fuzz = true;
        } else if (a == "--nodes") {
            need(v && parse_u64(v, &n) && n >= 2);
            c.nodes = static_cast<uint32_t>(n);
        } else if (a == "--lookups") {
            need(v && parse_u64(v, &n));
            c.lookups = static_cast<uint32_t>(n);
        } else if (a == "--seed") {
            need(v && parse_u64(v, &c.seed));
            seed_given = true;
        } else if (a == "--seconds") {
            need(v && parse_u64(v, &seconds));
        } else if (a == "--fuzz-one") {
            need(v && parse_u64(v, &fuzz_one));
        } else if (a == "--latency-ms") {
            double med = 0, p99 = 0;
            need(v && std::sscanf(v, "%lf,%lf", &med, &p99) == 2 && med > 0 && p99 >= med);
            c.latency_median = static_cast<core::Time>(med * 1000);
            c.latency_p99 = static_cast<core::Time>(p99 * 1000);
        } else if (a == "--early-share") {
            need(v != nullptr);
            c.early_share = std::atof(v);
            need(c.early_share >= 0 && c.early_share <= 1);
        } else if (a == "--loss") {
            need(v != nullptr);
            c.loss = std::atof(v);
        } else if (a == "--slow" || a == "--churn" || a == "--hostile") {
            need(v != nullptr);
            const double pct = std::atof(v) / 100.0;
            (a == "--slow" ? c.slow : a == "--churn" ? c.churn : c.hostile) = pct;
        } else if (a == "--alpha" || a == "--beta" || a == "--k" || a == "--replica" ||
                   a == "--disjoint" || a == "--hop-budget") {
            // The daemon's ranges for the same settings (svcdht/limits.h).
            struct Setting {
                uint32_t* field;
                core::Range range;
            };
            const Setting r = a == "--alpha"     ? Setting{&c.node.alpha, core::ALPHA_RANGE}
                              : a == "--beta"    ? Setting{&c.node.beta, core::BETA_RANGE}
                              : a == "--k"       ? Setting{&c.node.k, core::K_RANGE}
                              : a == "--replica" ? Setting{&c.node.replica, core::REPLICA_RANGE}
                              : a == "--disjoint"
                                  ? Setting{&c.node.disjoint, core::DISJOINT_RANGE}
                                  : Setting{&c.node.hop_budget, core::HOP_BUDGET_RANGE};
            need(v && parse_u64(v, &n) && r.range.holds(n));
            *r.field = static_cast<uint32_t>(n);
        } else if (a == "--adaptive-hedge") {
            c.node.adaptive_hedge = true;
        } else if (a == "--warm-sessions") {
            need(v && parse_u64(v, &n) && core::WARM_SESSIONS_RANGE.holds(n));
            c.node.warm_sessions = static_cast<uint32_t>(n);
        } else if (a == "--settle") {
            need(v && parse_u64(v, &n) && n <= 86400);
            c.settle = core::secs(n);
        } else if (a == "--fastopen") {
            c.fastopen = true;
        } else if (a == "--fixed-timeout") {
            c.node.adaptive_timeout = false;
        } else if (a == "--rpc-timeout") {
            need(v && parse_u64(v, &n) && core::RPC_TIMEOUT_MS_RANGE.holds(n));
            c.node.rpc_timeout = core::msec(n);
        } else if (a == "--join-interval") {
            need(v && parse_u64(v, &n) && n >= 1 && n <= 60000);
            c.join_interval = core::msec(n);
        } else if (a == "--hedge-after") {
            need(v && parse_u64(v, &n) && core::HEDGE_AFTER_MS_RANGE.holds(n));
            c.node.hedge_after = core::msec(n);
        } else if (a == "--scenario") {
            need(v != nullptr);
            c.scenario = v;
        } else if (a == "--op") {
            need(v && (std::string(v) == "find_node" || std::string(v) == "get" ||
                       std::string(v) == "put" || std::string(v) == "provide"));
            c.op = v;
        } else {
            std::fprintf(stderr, "dht-sim: unknown option %s (try --help)\n", a.c_str());
            return 2;
        }
    }
    if (c.node.beta > c.node.alpha) {
        std::fprintf(stderr, "dht-sim: --beta %u is above --alpha %u (try --help)\n", c.node.beta,
                     c.node.alpha);
        return 2;
    }
    if (!seed_given && !fuzz_one) c.seed = static_cast<uint64_t>(std::time(nullptr));
    if (do_fuzz) return fuzz(seconds, c.seed);
    if (fuzz_one) {
        c = fuzz_config(fuzz_one);
        json = true;
    }
    std::fprintf(stderr, "dht-sim: seed %llu\n", static_cast<unsigned long long>(c.seed));
    const Report r = run_scenario(c);
    if (json) {
        std::printf("%s\n", r.json().c_str());
    } else {
        print_human(r);
    }
    return 0;
}
