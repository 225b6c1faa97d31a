// SPDX-License-Identifier: MIT
// Scenarios over the simulator, shared by the dht-sim tool and the simulation tests: build
// a network (joins spread in virtual time, each joiner bootstrapping off three random
// earlier nodes), then run lookups, provides, churn, a partition, hostile nodes or slow
// nodes, and report figures. Virtual-time figures are deterministic for a seed.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "simnet.h"

namespace svcdht::sim {

struct ScenarioConfig {
    // A bound on simulated work: past this many events the simulation stops advancing and
    // the report says so (event_budget_exhausted), instead of running on. 0: no bound.
    uint64_t max_events = 0;
    // lookup | provide | churn | gradual | partition | hostile | slow | restart. restart
    // provides |lookups| keys, crashes |churn| of the nodes at once and restarts them 5 s
    // later, twice on the same network: once with their saved state and once without (see
    // restart_once in scenario.cc for the figures it reports).
    std::string scenario = "lookup";
    uint32_t nodes = 100;
    uint32_t lookups = 100;
    uint64_t seed = 1;
    Time latency_median = core::msec(20);
    Time latency_p99 = core::msec(100);
    double loss = 0;
    double slow = 0;       // fraction of slow hosts
    double churn = 0.25;   // fraction crashed (churn, restart) or replaced (gradual)
    double hostile = 0.1;  // fraction of hostile hosts (hostile scenario)
    // The engine's settings, exactly as the daemon's config table maps them (the defaults
    // are the daemon's).
    core::NodeConfig node;
    // What lookup/hostile/slow measure: find_node (the API's closest), get (after puts),
    // put or provide (the whole publish: its lookup for the replica closest, and the
    // stores acknowledged), each with its accuracy (report extras).
    std::string op = "find_node";
    bool fast_crypto = false;
    double early_share = 1;  // SimConfig::early_share
    bool fastopen = false;   // SimConfig::fastopen
    bool check_invariants = false;
    bool progress = false;  // a line on stderr per tenth of the network started
    Time join_interval = core::msec(20);
    // settle: how long the network runs after the last start before the measured
    // operations. Within the session idle timeout (60 s) the join's sessions are still open
    // and most operations reuse them; past it, they dial again, as in a network that has
    // been up for a while.
    Time settle = core::secs(30);
    Time gradual_span = core::secs(6 * 3600);
};

struct Report {
    std::string scenario;
    uint64_t seed = 0;
    uint32_t nodes = 0, lookups = 0;
    double success_rate = 0;
    double hops_p50 = 0, hops_p95 = 0, hops_p99 = 0, hops_max = 0;
    double latency_p50_ms = 0, latency_p95_ms = 0, latency_p99_ms = 0;
    double rpcs_per_lookup = 0;
    double provide_success = -1;  // -1 when the scenario has no provide phase
    double found_after_churn = -1;
    double wall_s = 0;
    long peak_rss_kb = 0;
    uint64_t events = 0;
    uint64_t event_hash = 0;
    double virtual_s = 0;
    std::map<std::string, double> extra;

    std::string json() const;
};

Report run_scenario(const ScenarioConfig& cfg);

// ---- building blocks, for tests that run several phases on one network ----------------

SimConfig sim_config(const ScenarioConfig& cfg);
// build_network creates and starts |cfg.nodes| hosts in |sim| and lets them settle.
void build_network(Sim& sim, const ScenarioConfig& cfg);

struct Issued {
    uint32_t host;
    core::RequestId id;
    core::NodeId target;
    uint32_t want;  // the host expected first in the answer, or UINT32_MAX
};

// Requests still unanswered a minute after the last was issued. Every request must end
// (with a result or an error), so the fuzzer treats any of these as a failure.
struct Unanswered {
    uint32_t n = 0;
};

// Tally collects lookup outcomes: success, hops and latency (virtual time).
struct Tally {
    std::vector<double> hops, lat_ms;
    double rpcs = 0;
    uint32_t ok = 0, total = 0;
    // Accuracy beyond "success": closest answers equal to the true k closest, or publishes
    // that reached every one of the true replica closest.
    uint32_t exact = 0, exact_total = 0;
    // The least time each operation could take, hops aside: as if it went straight to the
    // nodes it must hear from, over open sessions (floor_ms) or new connections, where a
    // query costs a round trip more for TCP (floor_cold_ms). Reported as |floor_key|_ms_p50
    // and so on. Each delivery takes 0.9 to 1.1 times its link's latency, so an operation
    // can beat its floor by up to a tenth. add_floor says what each operation must hear.
    const char* floor_key = "exact_floor";
    std::vector<double> floor_ms, floor_cold_ms;
    // The smallest ratio of an operation's time to its floor_ms, over the operations that
    // heard from every node their floor counts (an exact answer, a publish stored on all its
    // targets, a value found): at least 0.9, and near it when one went straight to them.
    double floor_ratio_min = HUGE_VAL;
    void add(const core::RequestResult* r, bool success);
    void into(Report& rep) const;
    void floors_into(Report& rep) const;
    double latency_ms(double q) const;
    double floor_at(double q, bool cold) const;
    double hops_at(double q) const;
    double success() const;
};

void settle_requests(Sim& sim, const std::vector<Issued>& issued, Unanswered& u);
// run_find_node looks up cfg.lookups random targets from random live, honest, fast hosts.
// Success: the nearest honest node in the answer is the true nearest honest node.
void run_find_node(Sim& sim, const ScenarioConfig& cfg, Tally& t, Unanswered& u,
                   core::LookupOptions o = {});
// run_publish puts (|values|) or provides cfg.lookups random keys from random hosts and
// tallies each publish: success = acknowledged by at least one remote node, exact = stored
// on every one of the true |replica| closest hosts (the publisher aside). Returns the keys
// and their publishers.
std::vector<core::Key> run_publish(Sim& sim, const ScenarioConfig& cfg, bool values, Tally& t,
                                   std::vector<uint32_t>* publishers, Unanswered& u);
// publish_values puts |n| random 64-byte values from random hosts; returns their keys.
std::vector<core::Key> publish_values(Sim& sim, uint32_t n, std::vector<uint32_t>* putters,
                                      Unanswered& u);
// run_gets gets every key from a random host other than its putter.
void run_gets(Sim& sim, const std::vector<core::Key>& keys, const std::vector<uint32_t>& putters,
              Tally& t, Unanswered& u, core::LookupOptions o = {});
// provide_keys provides |n| random keys; |success| gets the share stored on a remote node.
std::vector<core::Key> provide_keys(Sim& sim, uint32_t n, std::vector<uint32_t>* providers,
                                    double* success, Unanswered& u);
// find_all looks every key up from a live host other than its provider; returns the share
// found.
double find_all(Sim& sim, const std::vector<core::Key>& keys,
                const std::vector<uint32_t>& providers, Tally* t, Unanswered& u);
// random_seeds picks up to three live honest hosts below |below| to bootstrap from.
std::vector<uint32_t> random_seeds(Sim& sim, uint32_t below);

}  // namespace svcdht::sim
