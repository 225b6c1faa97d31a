// SPDX-License-Identifier: MIT
// Scenario drivers over the simulator (see scenario.h). Wall time and RSS are read here,
// outside the core, only to report them.
#include "scenario.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "svcdht/blake3.h"

namespace svcdht::sim {

using namespace core;

namespace {

double percentile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

NodeId random_id(Sim& sim) {
    NodeId id;
    for (size_t i = 0; i < 32; i += 8) {
        const uint64_t r = sim.rng_draw(UINT64_MAX);
        for (size_t j = 0; j < 8; ++j) id.b[i + j] = static_cast<uint8_t>(r >> (8 * j));
    }
    return id;
}

// random_up_honest picks a live, honest host to issue a request from, or UINT32_MAX when
// there is none (a generated scenario may crash them all). Requests never start on slow
// hosts: the scenarios measure what slow peers cost a lookup, and a slow requester pays its
// slowness on every hop whatever the lookup does. |group|, when given, restricts the pick
// to hosts whose group differs from |group_of[except]|.
uint32_t random_up_honest(Sim& sim, uint32_t except = UINT32_MAX,
                          const std::vector<uint8_t>* group_of = nullptr) {
    // A few random draws first (the common case), then an exact scan: never an endless loop.
    auto eligible = [&](uint32_t h) {
        if (h == except || !sim.up(h) || sim.hostile(h) || sim.slow(h)) return false;
        return group_of == nullptr || except == UINT32_MAX || (*group_of)[h] != (*group_of)[except];
    };
    for (int tries = 0; tries < 64; ++tries) {
        const auto h = static_cast<uint32_t>(sim.rng_draw(sim.host_count()));
        if (eligible(h)) return h;
    }
    std::vector<uint32_t> all;
    for (uint32_t h = 0; h < sim.host_count(); ++h)
        if (eligible(h)) all.push_back(h);
    return all.empty() ? UINT32_MAX : all[sim.rng_draw(all.size())];
}

// add_floor records an operation's floors (see Tally): |one_way| is the one-way latency of
// the link that decides it, and the operation needs |round_trips| round trips on it over
// open sessions, one more over a new connection (TCP; the request rides behind the ident).
//   find_node (exact): every one of the true k closest answers: the farthest, 1 round trip.
//   put, provide: every one of the true replica closest answers the query and acknowledges
//     its store: the farthest, 2 round trips (on a new connection the store waits for the
//     dialer's auth, which leaves with the query's answer, so it costs no more).
//   get, find_providers: the nearest node holding the key answers: 1 round trip.
// |r| counts towards floor_ratio_min when |reached| (it heard from the nodes its floor is
// computed for).
void add_floor(Tally& t, const RequestResult* r, bool reached, Time one_way, int round_trips) {
    const double ms = static_cast<double>(one_way) / 1000;
    t.floor_ms.push_back(2.0 * round_trips * ms);
    t.floor_cold_ms.push_back(2.0 * (round_trips + 1) * ms);
    if (r != nullptr && reached && one_way > 0)
        t.floor_ratio_min =
            std::min(t.floor_ratio_min, static_cast<double>(r->elapsed) / 1000 / t.floor_ms.back());
}

// nearest_holder is the shortest one-way latency from |from| to an honest host holding
// |key|, or 0 when |from| holds it itself.
Time nearest_holder(Sim& sim, uint32_t from, const Key& key) {
    Time best = NEVER;
    for (uint32_t h = 0; h < sim.host_count(); ++h) {
        if (!sim.up(h) || sim.hostile(h) || !sim.node(h)->store().holds(key, sim.now())) continue;
        best = std::min(best, h == from ? 0 : sim.link_latency(from, h));
    }
    return best == NEVER ? 0 : best;
}

}  // namespace

SimConfig sim_config(const ScenarioConfig& c) {
    SimConfig s;
    s.seed = c.seed;
    s.latency_median = c.latency_median;
    s.latency_p99 = c.latency_p99;
    s.loss = c.loss;
    s.fast_crypto = c.fast_crypto;
    s.early_share = c.early_share;
    s.fastopen = c.fastopen;
    s.check_invariants = c.check_invariants;
    s.max_events = c.max_events;
    s.node = c.node;
    // Both runs of the restart scenario keep the durable copy (the one without state just
    // loses it), so that the two are the same up to the restart.
    s.persist = c.scenario == "restart";
    return s;
}

std::vector<uint32_t> random_seeds(Sim& sim, uint32_t below) {
    std::vector<uint32_t> seeds;
    for (int tries = 0; seeds.size() < 3 && tries < 50; ++tries) {
        const auto s = static_cast<uint32_t>(sim.rng_draw(below));
        if (!sim.up(s) || sim.hostile(s) || std::find(seeds.begin(), seeds.end(), s) != seeds.end())
            continue;
        seeds.push_back(s);
    }
    return seeds;
}

void Tally::add(const RequestResult* r, bool success) {
    ++total;
    if (r == nullptr) return;
    rpcs += r->rpcs;
    if (!success) return;
    ++ok;
    hops.push_back(r->hops);
    lat_ms.push_back(static_cast<double>(r->elapsed) / 1000.0);
}

void Tally::into(Report& rep) const {
    rep.success_rate = total ? static_cast<double>(ok) / total : 0;
    rep.hops_p50 = percentile(hops, 0.50);
    rep.hops_p95 = percentile(hops, 0.95);
    rep.hops_p99 = percentile(hops, 0.99);
    rep.hops_max = hops.empty() ? 0 : *std::max_element(hops.begin(), hops.end());
    rep.latency_p50_ms = percentile(lat_ms, 0.50);
    rep.latency_p95_ms = percentile(lat_ms, 0.95);
    rep.latency_p99_ms = percentile(lat_ms, 0.99);
    rep.rpcs_per_lookup = total ? rpcs / total : 0;
    rep.lookups = total;
    if (exact_total > 0) rep.extra["exact_rate"] = static_cast<double>(exact) / exact_total;
    floors_into(rep);
}

void Tally::floors_into(Report& rep) const {
    if (!floor_ms.empty()) {
        const std::string key = floor_key;
        rep.extra[key + "_ms_p50"] = percentile(floor_ms, 0.50);
        rep.extra[key + "_ms_p95"] = percentile(floor_ms, 0.95);
        rep.extra[key + "_cold_ms_p50"] = percentile(floor_cold_ms, 0.50);
        rep.extra[key + "_cold_ms_p95"] = percentile(floor_cold_ms, 0.95);
        if (floor_ratio_min < HUGE_VAL) rep.extra[key + "_ratio_min"] = floor_ratio_min;
    }
}

double Tally::latency_ms(double q) const {
    return percentile(lat_ms, q);
}
double Tally::floor_at(double q, bool cold) const {
    return percentile(cold ? floor_cold_ms : floor_ms, q);
}
double Tally::hops_at(double q) const {
    return percentile(hops, q);
}
double Tally::success() const {
    return total ? static_cast<double>(ok) / total : 0;
}

// settle_requests runs the simulation until every issued request is answered (or a bound).
void settle_requests(Sim& sim, const std::vector<Issued>& issued, Unanswered& u) {
    const Time limit = sim.now() + secs(60);
    for (;;) {
        uint32_t missing = 0;
        for (const Issued& i : issued)
            if (sim.up(i.host) && sim.result(i.host, i.id) == nullptr) ++missing;
        if (missing == 0) return;
        if (sim.now() >= limit) {
            u.n += missing;
            return;
        }
        sim.run_until(sim.now() + msec(500));
    }
}

void run_find_node(Sim& sim, const ScenarioConfig& c, Tally& t, Unanswered& u, LookupOptions o) {
    std::vector<Issued> issued;
    for (uint32_t j = 0; j < c.lookups; ++j) {
        const uint32_t h = random_up_honest(sim);
        if (h == UINT32_MAX) break;
        const NodeId target = random_id(sim);
        const std::vector<uint32_t> truth = sim.true_closest(target, 1, h);
        if (truth.empty()) break;
        const uint32_t want = truth.front();
        issued.push_back({h, sim.closest(h, target, o), target, want});
        sim.run_until(sim.now() + msec(5));
    }
    settle_requests(sim, issued, u);
    for (const Issued& i : issued) {
        const RequestResult* r = sim.result(i.host, i.id);
        // Success: the nearest honest node in the answer is the true nearest honest node.
        // (A hostile node that really is nearer is a legitimate answer: it proved its id.)
        bool ok = false, exact = false;
        if (r != nullptr && r->err == Err::ok) {
            for (const NodeInfo& n : r->nodes) {
                const uint32_t h = sim.host_of(n.id);
                if (h != UINT32_MAX && sim.hostile(h)) continue;
                ok = n.id == sim.id(i.want);
                break;
            }
            // Exact: the honest nodes of the answer are the true k closest, in order.
            const std::vector<uint32_t> truth = sim.true_closest(i.target, c.node.k, i.host);
            size_t at = 0;
            exact = true;
            for (const NodeInfo& n : r->nodes) {
                const uint32_t h = sim.host_of(n.id);
                if (h != UINT32_MAX && sim.hostile(h)) continue;
                if (at >= truth.size() || h != truth[at]) {
                    exact = false;
                    break;
                }
                ++at;
            }
            exact = exact && at == truth.size();
            t.exact += exact ? 1u : 0u;
        }
        ++t.exact_total;
        Time longest = 0;
        for (uint32_t h : sim.true_closest(i.target, c.node.k, i.host))
            longest = std::max(longest, sim.link_latency(i.host, h));
        add_floor(t, r, exact, longest, 1);
        if (!ok && std::getenv("DHT_SIM_DEBUG") != nullptr) {
            std::fprintf(
                stderr,
                "failed lookup from host %u target %s: %s, %zu nodes, hops %u, rpcs %u, %.0f ms\n",
                i.host, i.target.short_hex().c_str(), r ? err_name(r->err) : "unanswered",
                r ? r->nodes.size() : 0, r ? r->hops : 0, r ? r->rpcs : 0,
                r ? static_cast<double>(r->elapsed) / 1000 : 0.0);
            const auto truth = sim.true_closest(i.target, 5, i.host);
            for (size_t j = 0; j < truth.size(); ++j)
                std::fprintf(
                    stderr, "  truth %zu: host %u %s cpl %d%s\n", j, truth[j],
                    sim.id(truth[j]).short_hex().c_str(),
                    common_prefix_len(i.target, sim.id(truth[j])),
                    sim.node(i.host)->table().contains(sim.id(truth[j])) ? " (in table)" : "");
            {
                const auto near = sim.true_closest(sim.id(truth[0]), 20, truth[0]);
                int know = 0, failing = 0;
                for (uint32_t n : near) {
                    const Contact* ct = sim.node(n)->table().find(sim.id(truth[0]));
                    know += ct != nullptr;
                    failing += ct != nullptr && ct->fails > 0;
                }
                std::fprintf(
                    stderr,
                    "  %d of the 20 nodes nearest truth 0 know it (%d failing); it knows %zu\n",
                    know, failing, sim.node(truth[0])->table().size());
            }
            for (size_t j = 0; r && j < std::min<size_t>(5, r->nodes.size()); ++j)
                std::fprintf(stderr, "  got %zu: %s cpl %d\n", j,
                             r->nodes[j].id.short_hex().c_str(),
                             common_prefix_len(i.target, r->nodes[j].id));
        }
        t.add(r, ok);
    }
}

// publish_values puts |n| distinct values from random hosts and returns their keys.
std::vector<Key> publish_values(Sim& sim, uint32_t n, std::vector<uint32_t>* putters,
                                Unanswered& u) {
    std::vector<Key> keys;
    std::vector<Issued> issued;
    for (uint32_t j = 0; j < n; ++j) {
        const uint32_t h = random_up_honest(sim);
        if (h == UINT32_MAX) break;
        Bytes v(64);
        for (auto& b : v) b = static_cast<uint8_t>(sim.rng_draw(256));
        keys.push_back(NodeId::from(blake3(v)));
        issued.push_back({h, sim.put(h, v), keys.back(), UINT32_MAX});
        if (putters) putters->push_back(h);
        sim.run_until(sim.now() + msec(5));
    }
    settle_requests(sim, issued, u);
    return keys;
}

std::vector<Key> run_publish(Sim& sim, const ScenarioConfig& c, bool values, Tally& t,
                             std::vector<uint32_t>* publishers, Unanswered& u) {
    std::vector<Key> keys;
    std::vector<Issued> issued;
    for (uint32_t j = 0; j < c.lookups; ++j) {
        const uint32_t h = random_up_honest(sim);
        if (h == UINT32_MAX) break;
        if (values) {
            Bytes v(64);
            for (auto& b : v) b = static_cast<uint8_t>(sim.rng_draw(256));
            keys.push_back(NodeId::from(blake3(v)));
            issued.push_back({h, sim.put(h, v), keys.back(), UINT32_MAX});
        } else {
            keys.push_back(random_id(sim));
            issued.push_back({h, sim.provide(h, keys.back(), 0), keys.back(), UINT32_MAX});
        }
        publishers->push_back(h);
        sim.run_until(sim.now() + msec(5));
    }
    settle_requests(sim, issued, u);
    for (const Issued& i : issued) {
        const RequestResult* r = sim.result(i.host, i.id);
        t.add(r, r != nullptr && r->err == Err::ok && r->stored_on > 0);
        const std::vector<uint32_t> truth = sim.true_closest(i.target, c.node.replica, i.host);
        bool all = r != nullptr && r->err == Err::ok;
        Time longest = 0;
        for (uint32_t h : truth) {
            all = all && sim.node(h)->store().holds(i.target, sim.now());
            longest = std::max(longest, sim.link_latency(i.host, h));
        }
        t.exact += all ? 1u : 0u;
        ++t.exact_total;
        add_floor(t, r, all, longest, 2);
    }
    t.floor_key = "done_floor";
    return keys;
}

void run_gets(Sim& sim, const std::vector<Key>& keys, const std::vector<uint32_t>& putters,
              Tally& t, Unanswered& u, LookupOptions o) {
    std::vector<Issued> issued;
    std::vector<Time> nearest;
    for (size_t j = 0; j < keys.size(); ++j) {
        const uint32_t h = random_up_honest(sim, putters[j]);
        if (h == UINT32_MAX) break;
        nearest.push_back(nearest_holder(sim, h, keys[j]));
        issued.push_back({h, sim.get(h, keys[j], o), keys[j], UINT32_MAX});
        sim.run_until(sim.now() + msec(5));
    }
    settle_requests(sim, issued, u);
    t.floor_key = "read_floor";
    for (size_t j = 0; j < issued.size(); ++j) {
        const Issued& i = issued[j];
        const RequestResult* r = sim.result(i.host, i.id);
        const bool ok = r != nullptr && r->err == Err::ok && !r->value.empty();
        t.add(r, ok);
        add_floor(t, r, ok, nearest[j], 1);
        if (std::getenv("DHT_SIM_DEBUG") != nullptr && (r == nullptr || r->err != Err::ok))
            std::fprintf(stderr, "get from host %u key %s: %s rpcs %u hops %u elapsed %.0f ms\n",
                         i.host, i.target.short_hex().c_str(), r ? err_name(r->err) : "unanswered",
                         r ? r->rpcs : 0, r ? r->hops : 0,
                         r ? static_cast<double>(r->elapsed) / 1e3 : 0.0);
    }
}

// provide_keys provides |n| random keys from random hosts; returns the keys and the share
// that reached at least one remote holder.
std::vector<Key> provide_keys(Sim& sim, uint32_t n, std::vector<uint32_t>* providers,
                              double* success, Unanswered& u) {
    std::vector<Key> keys;
    std::vector<Issued> issued;
    for (uint32_t j = 0; j < n; ++j) {
        const uint32_t h = random_up_honest(sim);
        if (h == UINT32_MAX) break;
        keys.push_back(random_id(sim));
        issued.push_back({h, sim.provide(h, keys.back(), 0), keys.back(), UINT32_MAX});
        providers->push_back(h);
        sim.run_until(sim.now() + msec(5));
    }
    settle_requests(sim, issued, u);
    uint32_t ok = 0;
    for (const Issued& i : issued) {
        const RequestResult* r = sim.result(i.host, i.id);
        ok += r != nullptr && r->err == Err::ok && r->stored_on > 0 ? 1 : 0;
        if (std::getenv("DHT_SIM_DEBUG") != nullptr && (r == nullptr || r->stored_on == 0))
            std::fprintf(
                stderr,
                "provide from host %u key %s: %s stored_on %u rpcs %u elapsed %.0f ms table %zu\n",
                i.host, i.target.short_hex().c_str(), r ? err_name(r->err) : "unanswered",
                r ? r->stored_on : 0, r ? r->rpcs : 0,
                r ? static_cast<double>(r->elapsed) / 1000 : 0.0, sim.node(i.host)->table().size());
    }
    *success = n ? static_cast<double>(ok) / n : 0;
    return keys;
}

double find_all(Sim& sim, const std::vector<Key>& keys, const std::vector<uint32_t>& providers,
                Tally* t, Unanswered& u) {
    std::vector<Issued> issued;
    std::vector<Time> nearest;
    for (size_t j = 0; j < keys.size(); ++j) {
        const uint32_t h = random_up_honest(sim, providers[j]);
        if (h == UINT32_MAX) break;
        if (t) nearest.push_back(nearest_holder(sim, h, keys[j]));
        issued.push_back({h, sim.find_providers(h, keys[j]), keys[j], UINT32_MAX});
        sim.run_until(sim.now() + msec(5));
    }
    settle_requests(sim, issued, u);
    uint32_t found = 0;
    if (t) t->floor_key = "read_floor";
    for (size_t j = 0; j < issued.size(); ++j) {
        const RequestResult* r = sim.result(issued[j].host, issued[j].id);
        const bool ok = r != nullptr && r->err == Err::ok && !r->providers.empty();
        found += ok ? 1 : 0;
        if (!t) continue;
        t->add(r, ok);
        add_floor(*t, r, ok, nearest[j], 1);
    }
    return keys.empty() ? 0 : static_cast<double>(found) / static_cast<double>(keys.size());
}

namespace {

// The restart scenario. The restarted hosts are down for a process restart, not an outage.
constexpr Time RESTART_DOWNTIME = secs(5);
// A restarted host's table is "full again" once it holds this share of the contacts it had
// when it crashed (all of them is too strict: a table also changes while its host is up).
constexpr double REFILL_SHARE = 0.9;
// The tables are checked every REFILL_POLL (and after each lookup issued), for at most
// REFILL_BOUND after the restart; a table not full again by then counts as REFILL_BOUND.
constexpr Time REFILL_POLL = msec(100);
constexpr Time REFILL_BOUND = secs(1200);

// bucket_sizes lists a table's bucket sizes, farthest bucket first (debug output).
std::string bucket_sizes(const RoutingTable& t) {
    std::string out;
    for (int i = 0; i < t.bucket_count(); ++i) {
        if (i != 0) out += ' ';
        out += std::to_string(t.bucket(i).size());
    }
    return out;
}

struct RestartFigures {
    double provided = 0;  // share of the provides that reached a remote holder
    double found = 0;     // share of the keys found by the lookups right after the restart
    double found_by_survivors = 0;  // ... among the lookups from hosts that did not restart
    double held_before = 0;         // provider records the restarted hosts held when they crashed
    double held_after = 0;          // ... and right after they restarted
    double refill_p50 = 0, refill_p90 = 0, refill_max = 0;  // seconds to a full table
    double not_refilled = 0;  // share of the restarted hosts not full again within the bound
    double ready_p50 = 0;     // seconds until routing is ready (Readiness::routing_ready)
};

// restart_once provides |c.lookups| keys, crashes |c.churn| of the hosts at once, restarts
// them RESTART_DOWNTIME later (with their saved state or without), looks every key up right
// away from random live hosts (the restarted ones included) and watches the restarted
// tables fill up again. The lookups go into |t|.
RestartFigures restart_once(Sim& sim, const ScenarioConfig& c, bool with_state, Tally& t,
                            Unanswered& u) {
    RestartFigures f;
    std::vector<uint32_t> providers;
    const std::vector<Key> keys = provide_keys(sim, c.lookups, &providers, &f.provided, u);
    uint32_t candidates = 0;
    for (uint32_t h = 0; h < sim.host_count(); ++h) candidates += sim.up(h) && !sim.hostile(h);
    const uint32_t n = std::min(candidates, static_cast<uint32_t>(c.churn * c.nodes));
    std::vector<uint32_t> victims;
    while (victims.size() < n) {
        const auto h = static_cast<uint32_t>(sim.rng_draw(sim.host_count()));
        if (!sim.up(h) || sim.hostile(h) ||
            std::find(victims.begin(), victims.end(), h) != victims.end())
            continue;
        victims.push_back(h);
    }
    std::vector<double> target;
    for (uint32_t v : victims) {
        target.push_back(REFILL_SHARE * static_cast<double>(sim.node(v)->table().size()));
        f.held_before += static_cast<double>(sim.node(v)->store().record_count());
    }
    const bool debug = std::getenv("DHT_SIM_DEBUG") != nullptr;
    std::vector<std::string> buckets_before;  // debug: bucket sizes at the crash
    for (uint32_t v : victims)
        if (debug) buckets_before.push_back(bucket_sizes(sim.node(v)->table()));
    for (uint32_t v : victims) sim.crash(v);
    sim.run_until(sim.now() + RESTART_DOWNTIME);
    // Seeds are drawn before anyone restarts, so they are survivors, as a restarted
    // daemon's configured seeds would mostly be.
    std::vector<std::vector<uint32_t>> seeds;
    for (size_t i = 0; i < victims.size(); ++i)
        seeds.push_back(random_seeds(sim, sim.host_count()));
    const Time t0 = sim.now();
    for (size_t i = 0; i < victims.size(); ++i) {
        if (with_state) {
            sim.restart_with_state(victims[i], seeds[i]);
        } else {
            sim.restart(victims[i], seeds[i]);
        }
    }
    for (uint32_t v : victims)
        f.held_after += static_cast<double>(sim.node(v)->store().record_count());

    std::vector<Time> refilled(victims.size(), NEVER), ready(victims.size(), NEVER);
    size_t pending = victims.size();
    auto poll = [&] {
        for (size_t i = 0; i < victims.size(); ++i) {
            const Node* node = sim.node(victims[i]);
            if (ready[i] == NEVER && node->readiness().routing_ready) ready[i] = sim.now() - t0;
            if (refilled[i] == NEVER && static_cast<double>(node->table().size()) >= target[i]) {
                refilled[i] = sim.now() - t0;
                --pending;
            }
        }
    };
    poll();
    std::vector<Issued> issued;
    for (size_t j = 0; j < keys.size(); ++j) {
        const uint32_t h = random_up_honest(sim, providers[j]);
        if (h == UINT32_MAX) break;
        issued.push_back({h, sim.find_providers(h, keys[j]), keys[j], UINT32_MAX});
        sim.run_until(sim.now() + msec(5));
        poll();
    }
    while (pending > 0 && sim.now() - t0 < REFILL_BOUND && !sim.exhausted()) {
        sim.run_until(sim.now() + REFILL_POLL);
        poll();
    }
    if (debug) {
        for (size_t i = 0; i < victims.size(); ++i) {
            if (refilled[i] != NEVER) continue;
            const Node* node = sim.node(victims[i]);
            const Readiness rd = node->readiness();
            std::fprintf(stderr,
                         "restart%s: host %u table %zu of %.0f wanted, ready %d bootstrap %d "
                         "seeds %u/%u warm %u, sessions %zu\n",
                         with_state ? " with state" : "", victims[i], node->table().size(),
                         target[i], rd.routing_ready, rd.bootstrap, rd.seeds_up,
                         rd.seeds_configured, rd.warm_up, node->active_sessions());
            std::fprintf(stderr, "  buckets at the crash %s, now %s\n", buckets_before[i].c_str(),
                         bucket_sizes(node->table()).c_str());
        }
    }
    settle_requests(sim, issued, u);
    uint32_t found = 0, survivors = 0, found_by_survivors = 0;
    for (const Issued& i : issued) {
        const RequestResult* r = sim.result(i.host, i.id);
        const bool ok = r != nullptr && r->err == Err::ok && !r->providers.empty();
        found += ok ? 1 : 0;
        t.add(r, ok);
        const bool restarted = std::find(victims.begin(), victims.end(), i.host) != victims.end();
        survivors += restarted ? 0 : 1;
        found_by_survivors += !restarted && ok ? 1 : 0;
        if (debug && !ok) {
            std::fprintf(stderr,
                         "restart%s: key %s not found from %s host %u: %s, hops %u, rpcs %u, "
                         "%.0f ms\n",
                         with_state ? " with state" : "", i.target.short_hex().c_str(),
                         restarted ? "restarted" : "surviving", i.host,
                         r ? err_name(r->err) : "unanswered", r ? r->hops : 0, r ? r->rpcs : 0,
                         r ? static_cast<double>(r->elapsed) / 1000 : 0.0);
        }
    }
    f.found = keys.empty() ? 0 : static_cast<double>(found) / static_cast<double>(keys.size());
    f.found_by_survivors = survivors ? static_cast<double>(found_by_survivors) / survivors : 0;
    std::vector<double> refill_s, ready_s;
    for (size_t i = 0; i < victims.size(); ++i) {
        refill_s.push_back(static_cast<double>(std::min(refilled[i], REFILL_BOUND)) / 1e6);
        ready_s.push_back(static_cast<double>(std::min(ready[i], REFILL_BOUND)) / 1e6);
    }
    f.refill_p50 = percentile(refill_s, 0.50);
    f.refill_p90 = percentile(refill_s, 0.90);
    f.refill_max = percentile(refill_s, 1.0);
    f.ready_p50 = percentile(ready_s, 0.50);
    f.not_refilled =
        victims.empty() ? 0 : static_cast<double>(pending) / static_cast<double>(victims.size());
    return f;
}

void report_restart(Report& rep, const char* suffix, const RestartFigures& f) {
    const std::string s = suffix;
    rep.extra["found_after_restart" + s] = f.found;
    rep.extra["found_by_survivors" + s] = f.found_by_survivors;
    rep.extra["held_after_restart" + s] = f.held_after;
    rep.extra["refill_s_p50" + s] = f.refill_p50;
    rep.extra["refill_s_p90" + s] = f.refill_p90;
    rep.extra["refill_s_max" + s] = f.refill_max;
    rep.extra["not_refilled" + s] = f.not_refilled;
    rep.extra["ready_s_p50" + s] = f.ready_p50;
}

}  // namespace

void build_network(Sim& sim, const ScenarioConfig& c) {
    const bool hostile = c.scenario == "hostile";
    for (uint32_t i = 0; i < c.nodes; ++i) {
        const bool slow =
            i > 0 && c.slow > 0 && sim.rng_draw(1000000) < static_cast<uint64_t>(c.slow * 1e6);
        const bool bad =
            hostile && i > 0 && sim.rng_draw(1000000) < static_cast<uint64_t>(c.hostile * 1e6);
        sim.add_host(slow, bad);
    }
    const auto wall0 = std::chrono::steady_clock::now();
    sim.start(0, {});
    for (uint32_t i = 1; i < c.nodes; ++i) {
        sim.run_until(sim.now() + c.join_interval);
        sim.start(i, random_seeds(sim, i));
        if (c.progress && (i + 1) % std::max<uint32_t>(1, c.nodes / 10) == 0) {
            const double wall =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
            std::fprintf(stderr, "dht-sim: %u/%u nodes started, virtual %.0f s, wall %.0f s\n",
                         i + 1, c.nodes, static_cast<double>(sim.now()) / 1e6, wall);
        }
    }
    sim.run_until(sim.now() + c.settle);
}

Report run_scenario(const ScenarioConfig& c) {
    const auto wall0 = std::chrono::steady_clock::now();
    Sim sim(sim_config(c));
    Report rep;
    rep.scenario = c.scenario;
    rep.seed = c.seed;
    rep.nodes = c.nodes;
    build_network(sim, c);
    Tally t;
    LookupOptions o;
    o.disjoint = c.node.disjoint;
    Unanswered u;
    // A scenario that runs a second simulation adds its events and hash to the report's.
    uint64_t other_events = 0, other_hash = 0;

    if (c.scenario == "lookup" || c.scenario == "hostile" || c.scenario == "slow") {
        if (c.op == "get") {
            std::vector<uint32_t> putters;
            const std::vector<Key> keys = publish_values(sim, c.lookups, &putters, u);
            run_gets(sim, keys, putters, t, u, o);
        } else if (c.op == "put" || c.op == "provide") {
            // The publishes are the figures; then every key is read back once.
            std::vector<uint32_t> publishers;
            const std::vector<Key> keys = run_publish(sim, c, c.op == "put", t, &publishers, u);
            Tally reads;
            if (c.op == "put") {
                run_gets(sim, keys, publishers, reads, u, o);
            } else {
                find_all(sim, keys, publishers, &reads, u);
            }
            rep.extra["read_success"] = reads.success();
            rep.extra["read_p50_ms"] = reads.latency_ms(0.50);
            rep.extra["read_p95_ms"] = reads.latency_ms(0.95);
            reads.floors_into(rep);
        } else {
            run_find_node(sim, c, t, u, o);
        }
        t.into(rep);
    } else if (c.scenario == "provide") {
        std::vector<uint32_t> providers;
        double ok = 0;
        const std::vector<Key> keys = provide_keys(sim, c.lookups, &providers, &ok, u);
        rep.provide_success = ok;
        find_all(sim, keys, providers, &t, u);
        t.into(rep);
    } else if (c.scenario == "churn") {
        std::vector<uint32_t> providers;
        double ok = 0;
        const std::vector<Key> keys = provide_keys(sim, c.lookups, &providers, &ok, u);
        rep.provide_success = ok;
        // Crash a share of the nodes at once (any node, chosen at random), wait 5 s, then
        // look every key up from a survivor (WORKLOAD W5).
        const auto kill = static_cast<uint32_t>(c.churn * c.nodes);
        for (uint32_t killed = 0; killed < kill;) {
            const auto h = static_cast<uint32_t>(sim.rng_draw(sim.host_count()));
            if (!sim.up(h)) continue;
            sim.crash(h);
            ++killed;
        }
        sim.run_until(sim.now() + secs(5));
        rep.found_after_churn = find_all(sim, keys, providers, &t, u);
        t.into(rep);
    } else if (c.scenario == "gradual") {
        std::vector<uint32_t> providers;
        double ok = 0;
        const std::vector<Key> keys = provide_keys(sim, c.lookups, &providers, &ok, u);
        rep.provide_success = ok;
        // Replace a share of the nodes one at a time, evenly over the span: a random node
        // dies and a new one joins through three random live nodes.
        const auto replace = static_cast<uint32_t>(c.churn * c.nodes);
        const Time step = replace ? c.gradual_span / replace : c.gradual_span;
        for (uint32_t r = 0; r < replace; ++r) {
            sim.run_until(sim.now() + step);
            uint32_t victim;
            do {
                victim = static_cast<uint32_t>(sim.rng_draw(sim.host_count()));
            } while (!sim.up(victim));
            sim.crash(victim);
            const uint32_t fresh = sim.add_host();
            sim.start(fresh, random_seeds(sim, sim.host_count()));
        }
        sim.run_until(sim.now() + secs(60));
        rep.found_after_churn = find_all(sim, keys, providers, &t, u);
        t.into(rep);
    } else if (c.scenario == "partition") {
        // Two halves for 10 minutes, then heal; lookups across the former cut (each for
        // the exact id of a node on the other side) once a refresh interval has passed.
        std::vector<uint8_t> group(sim.host_count());
        for (uint32_t h = 0; h < sim.host_count(); ++h)
            group[h] = static_cast<uint8_t>(sim.rng_draw(2));
        sim.partition(group);
        Tally during;
        run_find_node(sim, c, during, u, o);
        sim.run_until(sim.now() + secs(600));
        sim.heal();
        sim.run_until(sim.now() + NodeConfig{}.refresh_interval);
        std::vector<Issued> issued;
        for (uint32_t j = 0; j < c.lookups; ++j) {
            const uint32_t h = random_up_honest(sim);
            const uint32_t other = h == UINT32_MAX ? h : random_up_honest(sim, h, &group);
            if (other == UINT32_MAX) continue;  // nobody on one side of the cut
            issued.push_back({h, sim.closest(h, sim.id(other), o), sim.id(other), other});
            sim.run_until(sim.now() + msec(5));
        }
        settle_requests(sim, issued, u);
        for (const Issued& i : issued) {
            const RequestResult* r = sim.result(i.host, i.id);
            t.add(r, r != nullptr && r->err == Err::ok && !r->nodes.empty() &&
                         r->nodes[0].id == sim.id(i.want));
        }
        t.into(rep);
        rep.extra["success_during_partition"] =
            during.total ? static_cast<double>(during.ok) / during.total : 0;
    } else if (c.scenario == "restart") {
        // The same network twice (same seed, so identical up to the restart): first the
        // hosts come back without their state, then, in |sim|, with it. The report's lookup
        // figures are the second run's; both runs' figures are in extra.
        Sim bare(sim_config(c));
        build_network(bare, c);
        Tally bare_tally;
        const RestartFigures without = restart_once(bare, c, false, bare_tally, u);
        const RestartFigures with = restart_once(sim, c, true, t, u);
        t.into(rep);
        rep.provide_success = with.provided;
        rep.extra["held_before_crash"] = with.held_before;
        report_restart(rep, "_without_state", without);
        report_restart(rep, "_with_state", with);
        other_events = bare.events();
        other_hash = bare.event_hash();
    }
    rep.extra["unanswered"] = u.n;
    {
        double sessions = 0, table = 0, up = 0;
        for (uint32_t h = 0; h < sim.host_count(); ++h) {
            if (!sim.up(h) || sim.node(h) == nullptr) continue;
            ++up;
            sessions += static_cast<double>(sim.node(h)->active_sessions());
            table += static_cast<double>(sim.node(h)->table().size());
        }
        rep.extra["sessions_per_node"] = up > 0 ? sessions / up : 0;
        rep.extra["table_per_node"] = up > 0 ? table / up : 0;
    }
    if (sim.exhausted()) rep.extra["event_budget_exhausted"] = 1;
    rep.events = sim.events() + other_events;
    rep.event_hash = sim.event_hash() ^ (other_hash * 0x9E3779B97F4A7C15ULL);
    rep.virtual_s = static_cast<double>(sim.now()) / 1e6;
    rep.extra["bytes_delivered"] = static_cast<double>(sim.bytes_delivered());
    rep.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    rep.peak_rss_kb = ru.ru_maxrss;
    return rep;
}

std::string Report::json() const {
    char buf[2048];
    auto num = [](double v) {
        char b[64];
        std::snprintf(b, sizeof b, "%.6g", v);
        return std::string(b);
    };
    std::snprintf(
        buf, sizeof buf,
        "{\"scenario\":\"%s\",\"seed\":%llu,\"nodes\":%u,\"lookups\":%u,\"success_rate\":%s,"
        "\"hops\":{\"p50\":%s,\"p95\":%s,\"p99\":%s,\"max\":%s},"
        "\"latency_ms\":{\"p50\":%s,\"p95\":%s,\"p99\":%s},\"rpcs_per_lookup\":%s,"
        "\"provide_success\":%s,\"found_after_churn\":%s,\"wall_s\":%s,\"peak_rss_kb\":%ld,"
        "\"events\":%llu,\"event_hash\":\"%016llx\",\"virtual_s\":%s",
        scenario.c_str(), static_cast<unsigned long long>(seed), nodes, lookups,
        num(success_rate).c_str(), num(hops_p50).c_str(), num(hops_p95).c_str(),
        num(hops_p99).c_str(), num(hops_max).c_str(), num(latency_p50_ms).c_str(),
        num(latency_p95_ms).c_str(), num(latency_p99_ms).c_str(), num(rpcs_per_lookup).c_str(),
        provide_success < 0 ? "null" : num(provide_success).c_str(),
        found_after_churn < 0 ? "null" : num(found_after_churn).c_str(), num(wall_s).c_str(),
        peak_rss_kb, static_cast<unsigned long long>(events),
        static_cast<unsigned long long>(event_hash), num(virtual_s).c_str());
    std::string out = buf;
    for (const auto& [k, v] : extra) out += ",\"" + k + "\":" + num(v);
    return out + "}";
}

}  // namespace svcdht::sim
