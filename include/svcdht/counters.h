// SPDX-License-Identifier: MIT
// Every counter and histogram the core owns, in one table. The names are the metric names
// of DESIGN 6 (a contract); the admin plane renders this table as Prometheus text and the
// simulator reads the same numbers. Labels come only from bounded sets (ops, codes, error
// names), never from peer ids or keys.
#pragma once

#include <array>
#include <cstdint>

#include "svcdht/err.h"
#include "svcdht/message.h"
#include "svcdht/types.h"

namespace svcdht::core {

// X(member, metric name, help)
#define SVCDHT_COUNTERS(X)                                                                         \
    X(put_total, "dht_put_total", "Values stored through the API (put requests)")                  \
    X(get_total, "dht_get_total", "Value lookups through the API (get requests)")                  \
    X(found_total, "dht_found_total", "API lookups that found what they looked for")               \
    X(timeout_total, "dht_timeout_total", "RPCs to peers that got no answer in time")              \
    X(provides_total, "dht_provides_total", "Provider records published through the API")          \
    X(hedge_spawned_total, "dht_hedge_spawned_total", "Lookup RPCs sent as hedges for slow ones")  \
    X(hedge_canceled_total, "dht_hedge_canceled_total",                                            \
      "Slow or hedge RPCs still pending when their lookup ended")                                  \
    X(hedge_budget_exhausted_total, "dht_hedge_budget_exhausted_total",                            \
      "Lookup queries that turned slow with a candidate left to ask but no hedge left (beta)")     \
    X(bootstrap_dial_attempts_total, "dht_bootstrap_dial_attempts_total",                          \
      "Dials of bootstrap seeds started")                                                          \
    X(bootstrap_dial_failures_total, "dht_bootstrap_dial_failures_total",                          \
      "Dials of bootstrap seeds that failed or timed out before a session opened")                 \
    X(replication_checks_total, "dht_replication_checks_total",                                    \
      "Publish and replication rounds whose confirmed copies were counted")                        \
    X(replication_short_total, "dht_replication_short_total",                                      \
      "Publish and replication rounds that confirmed fewer copies than replica")                   \
    X(sessions_opened_total, "dht_sessions_opened_total", "Sessions that completed the handshake") \
    X(keepalive_pings_total, "dht_keepalive_pings_total",                                          \
      "Pings sent to keep sessions to routing-table contacts open (warm_sessions)")                \
    X(replications_total, "dht_replications_total",                                                \
      "Records and values pushed to a closer or newly responsible node")                           \
    X(replication_retries_total, "dht_replication_retries_total",                                  \
      "Owed replication pushes sent on a later try, once the peer had room")                       \
    X(replication_given_up_total, "dht_replication_given_up_total",                                \
      "Replication pushes given up: the peer stayed busy through every try, or too many owed")     \
    X(republishes_total, "dht_republishes_total",                                                  \
      "Republish rounds of our own records and values")                                            \
    X(pq_downgrade_attempts_total, "dht_pq_downgrade_attempts_total",                              \
      "Valid provider records refused under require_pq for a classical-only signature")            \
    X(early_requests_sent_total, "dht_early_requests_sent_total",                                  \
      "Requests sent right behind our ident on a new connection, before the handshake ended")      \
    X(early_requests_resent_total, "dht_early_requests_resent_total",                              \
      "Early requests sent again once the session opened: the peer does not answer early")         \
    X(early_requests_served_total, "dht_early_requests_served_total",                              \
      "Read requests from new connections answered before the requester's auth")                   \
    X(early_requests_refused_total, "dht_early_requests_refused_total",                            \
      "Early requests that were not reads (or not requests), answered 1400 or dropped")

// Lookup kinds label dht_lookups_total, dht_lookup_latency_seconds, dht_lookup_hops and
// dht_lookups_incomplete_total.
enum class LookupKind : uint8_t { find_node, get_providers, get_value };
inline constexpr int LOOKUP_KIND_COUNT = 3;
const char* lookup_kind_name(LookupKind k);

// Routing-table changes (dht_route_updates_total{action}).
#define SVCDHT_ROUTE_ACTIONS(X) X(added) X(updated) X(replacement) X(evicted) X(rejected_diversity)
enum class RouteAction : uint8_t {
#define SVCDHT_RA_ENUM(n) n,
    SVCDHT_ROUTE_ACTIONS(SVCDHT_RA_ENUM)
#undef SVCDHT_RA_ENUM
};
inline constexpr int ROUTE_ACTION_COUNT = 5;
const char* route_action_name(RouteAction a);

// Fixed-bucket histogram (cumulative rendering is the exposition's job).
template <size_t N>
struct Histogram {
    std::array<double, N> bounds{};
    std::array<uint64_t, N + 1> counts{};  // last = +Inf
    double sum = 0;
    uint64_t count = 0;
    void observe(double v) {
        size_t i = 0;
        while (i < N && v > bounds[i]) ++i;
        ++counts[i];
        sum += v;
        ++count;
    }
};

using LatencyHistogram = Histogram<12>;  // seconds, 5 ms .. 10 s
using HopsHistogram = Histogram<8>;      // 1,2,3,4,5,6,8,10 (DESIGN 6)
LatencyHistogram make_latency_histogram();
HopsHistogram make_hops_histogram();

struct Counters {
#define SVCDHT_COUNTER_FIELD(member, name, help) uint64_t member = 0;
    SVCDHT_COUNTERS(SVCDHT_COUNTER_FIELD)
#undef SVCDHT_COUNTER_FIELD
    // dht_error_total{kind}: failures of our own operations, by error name.
    std::array<uint64_t, static_cast<size_t>(ERR_COUNT)> error_total{};
    // dht_lookups_total{op}
    std::array<uint64_t, LOOKUP_KIND_COUNT> lookups_total{};
    // dht_lookups_incomplete_total{op,reason}: lookups cut by their deadline (reason 0) or
    // their hop budget (reason 1).
    std::array<std::array<uint64_t, 2>, LOOKUP_KIND_COUNT> lookups_incomplete_total{};
    // dht_rpcs_total{op,code}: outcomes of RPCs we sent (timeouts count as code "timeout").
    std::array<std::array<uint64_t, CODE_COUNT>, OP_COUNT> rpcs_total{};
    // dht_rpcs_served_total{op,code}: requests we answered.
    std::array<std::array<uint64_t, CODE_COUNT>, OP_COUNT> rpcs_served_total{};
    // dht_frames_rejected_total{reason}: frames dropped undecoded or unprocessed, by error.
    std::array<uint64_t, static_cast<size_t>(ERR_COUNT)> frames_rejected_total{};
    // dht_route_updates_total{action}
    std::array<uint64_t, ROUTE_ACTION_COUNT> route_updates_total{};
    // rejected_total{reason}: inbound work refused (quota, busy, admission), by error.
    std::array<uint64_t, static_cast<size_t>(ERR_COUNT)> rejected_total{};

    std::array<LatencyHistogram, LOOKUP_KIND_COUNT> lookup_latency;
    std::array<HopsHistogram, LOOKUP_KIND_COUNT> lookup_hops;
    LatencyHistogram get_latency;
    LatencyHistogram put_latency;

    Counters();
    void error(Err e) {
        ++error_total[static_cast<size_t>(e)];
    }
    void frame_rejected(Err e) {
        ++frames_rejected_total[static_cast<size_t>(e)];
    }
    void rejected(Err e) {
        ++rejected_total[static_cast<size_t>(e)];
    }
};

struct CounterInfo {
    const char* name;
    const char* help;
    uint64_t Counters::*field;
};
// counter_table lists the plain counters with their metric names, for the exposition.
const CounterInfo* counter_table(size_t* n);

}  // namespace svcdht::core
