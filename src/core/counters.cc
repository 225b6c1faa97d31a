// SPDX-License-Identifier: MIT
// Name tables and histogram bounds for counters.h.
#include "svcdht/counters.h"

namespace svcdht::core {

const char* lookup_kind_name(LookupKind k) {
    switch (k) {
        case LookupKind::find_node: return "find_node";
        case LookupKind::get_providers: return "get_providers";
        case LookupKind::get_value: return "get_value";
    }
    return "unknown";
}

const char* route_action_name(RouteAction a) {
    switch (a) {
#define SVCDHT_RA_NAME(n) \
    case RouteAction::n: return #n;
        SVCDHT_ROUTE_ACTIONS(SVCDHT_RA_NAME)
#undef SVCDHT_RA_NAME
    }
    return "unknown";
}

LatencyHistogram make_latency_histogram() {
    LatencyHistogram h;
    h.bounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 7.5, 10};
    return h;
}

HopsHistogram make_hops_histogram() {
    HopsHistogram h;
    h.bounds = {1, 2, 3, 4, 5, 6, 8, 10};
    return h;
}

Counters::Counters() {
    for (auto& h : lookup_latency) h = make_latency_histogram();
    for (auto& h : lookup_hops) h = make_hops_histogram();
    get_latency = make_latency_histogram();
    put_latency = make_latency_histogram();
}

namespace {
constexpr CounterInfo COUNTER_TABLE[] = {
#define SVCDHT_COUNTER_INFO(member, name, help) {name, help, &Counters::member},
    SVCDHT_COUNTERS(SVCDHT_COUNTER_INFO)
#undef SVCDHT_COUNTER_INFO
};
}  // namespace

const CounterInfo* counter_table(size_t* n) {
    *n = sizeof COUNTER_TABLE / sizeof COUNTER_TABLE[0];
    return COUNTER_TABLE;
}

}  // namespace svcdht::core
