// SPDX-License-Identifier: MIT
// Prometheus text exposition (format 0.0.4) of the core's counter table, the gauges read off
// the node and the network, build info, and process metrics read from /proc. Every label
// value comes from a fixed set.
#include <unistd.h>

#include <dirent.h>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "admin/routes.h"
#include "svcdht/counters.h"
#include "svcdht_build.h"

namespace svcdht::admin {

using core::Counters;

const BuildInfo& build_info() {
    static const BuildInfo b = [] {
        BuildInfo i;
        i.version = SVCDHT_VERSION;
        i.git = SVCDHT_GIT;
        i.build_ts = SVCDHT_BUILD_TS;
        i.compiler = SVCDHT_COMPILER;
        i.features = {"oap1",    "ed25519",        "blake3",     "disjoint-lookups",
                      "hedging", "diversity-caps", "admin-http", "prometheus"};
        return i;
    }();
    return b;
}

namespace {

class Out {
public:
    void header(const char* name, const char* type, const char* help) {
        o_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
    }
    void sample(const std::string& name, const std::string& labels, double v) {
        o_ << name;
        if (!labels.empty()) o_ << "{" << labels << "}";
        char b[48];
        if (v == static_cast<double>(static_cast<uint64_t>(v))) {
            std::snprintf(b, sizeof b, " %llu\n", static_cast<unsigned long long>(v));
        } else {
            std::snprintf(b, sizeof b, " %.6f\n", v);
        }
        o_ << b;
    }
    template <size_t N>
    void histogram(const char* name, const std::string& labels, const core::Histogram<N>& h) {
        uint64_t cum = 0;
        const std::string sep = labels.empty() ? "" : labels + ",";
        for (size_t i = 0; i < N; ++i) {
            cum += h.counts[i];
            char le[32];
            std::snprintf(le, sizeof le, "%g", h.bounds[i]);
            sample(std::string(name) + "_bucket", sep + "le=\"" + le + "\"",
                   static_cast<double>(cum));
        }
        cum += h.counts[N];
        sample(std::string(name) + "_bucket", sep + "le=\"+Inf\"", static_cast<double>(cum));
        sample(std::string(name) + "_sum", labels, h.sum);
        sample(std::string(name) + "_count", labels, static_cast<double>(h.count));
    }
    std::string str() const { return o_.str(); }

private:
    std::ostringstream o_;
};

std::string label(const char* k, const std::string& v) {
    return std::string(k) + "=\"" + v + "\"";
}

}  // namespace

std::string render_metrics(NodeView& v, const HttpMetrics& http) {
    const core::Node& node = v.node();
    const Counters& c = node.counters();
    const NetMetrics net = v.net_metrics();
    Out o;

    size_t n = 0;
    const core::CounterInfo* table = core::counter_table(&n);
    for (size_t i = 0; i < n; ++i) {
        o.header(table[i].name, "counter", table[i].help);
        o.sample(table[i].name, "", static_cast<double>(c.*(table[i].field)));
    }
    // Session counters: those of sessions that ended plus those still open.
    const core::SessionStats& sessions = net.session_stats;
#define SVCDHT_SS_FAMILY(field, family, reason, help)              \
    if (core::Err::reason == core::Err::ok) {                      \
        o.header(family, "counter", help);                         \
        o.sample(family, "", static_cast<double>(sessions.field)); \
    }
    SVCDHT_SESSION_STATS(SVCDHT_SS_FAMILY)
#undef SVCDHT_SS_FAMILY

    o.header("dht_error_total", "counter", "Failed operations of this node, by error");
    for (int i = 0; i < core::ERR_COUNT; ++i)
        if (c.error_total[static_cast<size_t>(i)] != 0)
            o.sample("dht_error_total", label("kind", core::err_name(static_cast<core::Err>(i))),
                     static_cast<double>(c.error_total[static_cast<size_t>(i)]));

    o.header("dht_lookups_total", "counter", "Lookups started, by kind");
    for (int k = 0; k < core::LOOKUP_KIND_COUNT; ++k)
        o.sample("dht_lookups_total",
                 label("op", core::lookup_kind_name(static_cast<core::LookupKind>(k))),
                 static_cast<double>(c.lookups_total[static_cast<size_t>(k)]));

    o.header("dht_lookups_incomplete_total", "counter",
             "Lookups cut short before they converged, by kind and reason");
    for (int k = 0; k < core::LOOKUP_KIND_COUNT; ++k)
        for (int why = 0; why < 2; ++why)
            o.sample(
                "dht_lookups_incomplete_total",
                label("op", core::lookup_kind_name(static_cast<core::LookupKind>(k))) + "," +
                    label("reason", why == 0 ? "deadline" : "hop_budget"),
                static_cast<double>(
                    c.lookups_incomplete_total[static_cast<size_t>(k)][static_cast<size_t>(why)]));

    auto rpc_table = [&](const char* name, const char* help, const auto& arr) {
        o.header(name, "counter", help);
        for (int op = 0; op < core::OP_COUNT; ++op)
            for (int code = 0; code < core::CODE_COUNT; ++code)
                o.sample(
                    name,
                    label("op", core::op_name(static_cast<core::Op>(op + 1))) + "," +
                        label("code", core::code_name(core::code_at(code))),
                    static_cast<double>(arr[static_cast<size_t>(op)][static_cast<size_t>(code)]));
    };
    rpc_table("dht_rpcs_total",
              "RPCs this node sent, by operation and outcome (timeout: no answer)", c.rpcs_total);
    rpc_table("dht_rpcs_served_total",
              "Requests this node answered, by operation and response code", c.rpcs_served_total);

    o.header("dht_frames_rejected_total", "counter",
             "Frames dropped undecoded or unprocessed, by reason");
    for (int i = 0; i < core::ERR_COUNT; ++i) {
        const auto e = static_cast<core::Err>(i);
        const uint64_t total =
            c.frames_rejected_total[static_cast<size_t>(e)] + sessions.rejected(e);
        if (total != 0)
            o.sample("dht_frames_rejected_total", label("reason", core::err_name(e)),
                     static_cast<double>(total));
    }

    o.header("dht_route_updates_total", "counter", "Routing table changes, by action");
    for (int a = 0; a < core::ROUTE_ACTION_COUNT; ++a)
        o.sample("dht_route_updates_total",
                 label("action", core::route_action_name(static_cast<core::RouteAction>(a))),
                 static_cast<double>(c.route_updates_total[static_cast<size_t>(a)]));

    o.header("rejected_total", "counter",
             "Inbound work refused (quotas, admission, connection caps), by reason");
    for (int i = 0; i < core::ERR_COUNT; ++i)
        if (c.rejected_total[static_cast<size_t>(i)] != 0)
            o.sample("rejected_total", label("reason", core::err_name(static_cast<core::Err>(i))),
                     static_cast<double>(c.rejected_total[static_cast<size_t>(i)]));
    o.sample("rejected_total", label("reason", "conns_per_ip"),
             static_cast<double>(net.rejected_per_ip));
    o.sample("rejected_total", label("reason", "admin_conns"),
             static_cast<double>(net.admin_rejected));

    o.header("http_requests_total", "counter", "Admin HTTP requests, by route, method and status");
    for (const auto& [key, count] : http.requests) {
        const auto& [route, method, status] = key;
        o.sample("http_requests_total",
                 label("route", route) + "," + label("method", method) + "," +
                     label("status", std::to_string(status)),
                 static_cast<double>(count));
    }

    o.header("dht_get_latency_seconds", "histogram", "Latency of get requests");
    o.histogram("dht_get_latency_seconds", "", c.get_latency);
    o.header("dht_put_latency_seconds", "histogram", "Latency of provide and put publishes");
    o.histogram("dht_put_latency_seconds", "", c.put_latency);
    o.header("dht_lookup_latency_seconds", "histogram", "Latency of lookups, by kind");
    for (int k = 0; k < core::LOOKUP_KIND_COUNT; ++k)
        o.histogram("dht_lookup_latency_seconds",
                    label("op", core::lookup_kind_name(static_cast<core::LookupKind>(k))),
                    c.lookup_latency[static_cast<size_t>(k)]);
    o.header("dht_lookup_hops", "histogram", "Routing hops of lookups, by kind");
    for (int k = 0; k < core::LOOKUP_KIND_COUNT; ++k)
        o.histogram("dht_lookup_hops",
                    label("op", core::lookup_kind_name(static_cast<core::LookupKind>(k))),
                    c.lookup_hops[static_cast<size_t>(k)]);

    const Gates g = v.gates();
    auto gauge = [&](const char* name, const char* help, double value) {
        o.header(name, "gauge", help);
        o.sample(name, "", value);
    };
    gauge("dht_routing_table_size", "Contacts in the routing table",
          static_cast<double>(node.table().size()));
    gauge("dht_active_sessions", "Authenticated peer sessions open",
          static_cast<double>(net.sessions));
    gauge("dht_pending_queries", "Lookups and publishes in progress",
          static_cast<double>(node.pending_queries()));
    gauge("dht_rpcs_inflight", "RPCs waiting for an answer",
          static_cast<double>(node.rpcs_inflight()));
    o.header("dht_lookups_inflight", "gauge", "Lookups running, by purpose");
    const auto running = node.lookups_inflight();
    for (int p = 0; p < core::LOOKUP_PURPOSE_COUNT; ++p)
        o.sample("dht_lookups_inflight", label("purpose", core::lookup_purpose_name(p)),
                 static_cast<double>(running[static_cast<size_t>(p)]));
    gauge("dht_provider_records", "Provider records stored",
          static_cast<double>(node.store().record_count()));
    gauge("dht_values_stored", "Values stored", static_cast<double>(node.store().value_count()));
    o.header("dht_store_records", "gauge", "Entries in the store, by kind");
    o.sample("dht_store_records", label("kind", "provider"),
             static_cast<double>(node.store().record_count()));
    o.sample("dht_store_records", label("kind", "value"),
             static_cast<double>(node.store().value_count()));
    o.header("dht_store_bytes", "gauge",
             "Bytes the store uses: its memory budget's count, and its file when it persists");
    o.sample("dht_store_bytes", label("medium", "memory"),
             static_cast<double>(node.store().bytes()));
    if (net.persistent)
        o.sample("dht_store_bytes", label("medium", "disk"),
                 static_cast<double>(net.store_file_bytes));
    gauge("dht_store_max_bytes", "The store's byte budget (store.max_bytes)",
          static_cast<double>(node.store().limits().max_bytes));
    gauge("dht_store_max_records", "Provider records and values the store holds at most",
          static_cast<double>(node.store().limits().max_items));
    gauge("dht_replication_factor_target", "Copies of each key the network should hold (replica)",
          static_cast<double>(node.config().replica));
    const core::ReplicationHeld held = node.replication_held();
    gauge("dht_replication_held_min",
          "Fewest copies confirmed by one of the last publish and replication rounds",
          static_cast<double>(held.min));
    gauge("dht_replication_held_median",
          "Median of the copies confirmed by the last publish and replication rounds", held.median);
    gauge("dht_replication_sampled_keys",
          "Publish and replication rounds the replication gauges summarize",
          static_cast<double>(held.samples));
    gauge("dht_replication_owed",
          "Replication pushes owed to peers that had no room for them, waiting for a retry",
          static_cast<double>(node.replication_owed()));
    gauge("dht_rtt_smoothed_seconds",
          "Smoothed round trip to peers, answered RPCs and handshakes together (0: none yet)",
          static_cast<double>(node.net_rtt().srtt_us) / 1e6);
    gauge("dht_rtt_deviation_seconds", "Mean deviation of those round trips",
          static_cast<double>(node.net_rtt().rttvar_us) / 1e6);
    gauge("dht_rpc_timeout_seconds",
          "What an RPC to a peer not timed yet is given on an open session now",
          static_cast<double>(node.rpc_timeout_now()) / 1e6);
    gauge("dht_warm_sessions",
          "Sessions to routing-table contacts kept open by pings at the last keepalive round",
          static_cast<double>(node.warm_sessions()));
    gauge("dht_store_persistent", "1 when the store is kept on disk (amnesia off)",
          net.persistent ? 1 : 0);
    gauge("dht_store_writes_refused",
          "1 while writes are refused because the last commit to disk failed",
          net.writes_refused ? 1 : 0);
    o.header("dht_store_persist_errors_total", "counter",
             "Commits of the store to disk that failed");
    o.sample("dht_store_persist_errors_total", "", static_cast<double>(net.persist_errors));
    o.header("dht_store_persist_dropped_total", "counter",
             "Store changes given up unwritten while commits kept failing");
    o.sample("dht_store_persist_dropped_total", "", static_cast<double>(net.persist_dropped));
    o.header("dht_store_commit_seconds", "histogram",
             "Time to commit one loop turn's store changes to disk");
    o.histogram("dht_store_commit_seconds", "", net.commit_seconds);
    o.header("dht_provider_records_displaced_total", "counter",
             "Provider records replaced in a full list to admit a publisher from a less "
             "represented network");
    o.sample("dht_provider_records_displaced_total", "",
             static_cast<double>(node.store().displaced()));
    gauge("dht_bootstrap_seeds_up", "Bootstrap seeds that authenticated",
          static_cast<double>(g.seeds_up));
    gauge("dht_bootstrap_seeds_configured", "Bootstrap seeds configured",
          static_cast<double>(g.seeds_configured));
    o.header("dht_bucket_prefix_max_pct", "gauge",
             "Share of a bucket held by its largest /24 (IPv6 /48)");
    const core::RoutingTable& t = node.table();
    for (int b = 0; b < t.bucket_count(); ++b)
        if (!t.bucket(b).empty())
            o.sample("dht_bucket_prefix_max_pct", label("bucket", std::to_string(b)),
                     static_cast<double>(t.bucket_prefix_max_pct(b)));
    gauge("dht_ready", "1 when every readiness gate is open", g.ready() ? 1 : 0);
    gauge("dht_degraded", "1 while the node is read-only (degraded mode): new stores are refused",
          g.degraded ? 1 : 0);
    gauge("dht_connections", "TCP connections to peers, handshaking ones included",
          static_cast<double>(net.connections));
    gauge("dht_handshaking_connections", "Inbound peer connections not authenticated yet",
          static_cast<double>(net.handshaking));
    o.header("dht_conns_evicted_total", "counter",
             "Idle peer sessions closed to make room for a newly authenticated one over max_conns");
    o.sample("dht_conns_evicted_total", "", static_cast<double>(net.evicted_idle));
    o.header("dht_handshakes_evicted_total", "counter",
             "Unauthenticated connections cut at the handshake cap to admit a newer one");
    o.sample("dht_handshakes_evicted_total", "", static_cast<double>(net.handshakes_evicted));
    o.header("dht_accept_paused_total", "counter",
             "Times accepting stopped with every connection slot taken");
    o.sample("dht_accept_paused_total", "", static_cast<double>(net.accept_paused));
    o.header("dht_tcp_fastopen_total", "counter",
             "Peer connections whose SYN carried data the other side took (TCP Fast Open)");
    o.sample("dht_tcp_fastopen_total", label("side", "dialed"),
             static_cast<double>(net.fastopen_dialed));
    o.sample("dht_tcp_fastopen_total", label("side", "accepted"),
             static_cast<double>(net.fastopen_accepted));
    o.header("dht_peer_connections_total", "counter",
             "Peer TCP connections accepted (inbound) and dialed (outbound)");
    o.sample("dht_peer_connections_total", label("direction", "inbound"),
             static_cast<double>(net.accepted));
    o.sample("dht_peer_connections_total", label("direction", "outbound"),
             static_cast<double>(net.dialed));
    o.header("dht_io_errors_total", "counter",
             "Socket errors on peer connections (each closes its connection)");
    o.sample("dht_io_errors_total", "", static_cast<double>(net.io_errors));
    gauge("dht_reassembly_bytes", "Memory held for partial frames, all sessions together",
          static_cast<double>(net.rx_budget_used));
    gauge("dht_tx_queue_bytes", "Bytes queued or in flight to peers, all sessions together",
          static_cast<double>(net.tx_budget_used));

    const BuildInfo& b = build_info();
    o.header("dht_build_info", "gauge", "Build information");
    o.sample("dht_build_info", label("version", b.version) + "," + label("git", b.git), 1);

    const platform::ProcessStats p = v.process();
    gauge("process_resident_memory_bytes", "Resident memory size in bytes", p.rss_bytes);
    o.header("process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds");
    o.sample("process_cpu_seconds_total", "", p.cpu_secs);
    gauge("process_open_fds", "Number of open file descriptors", p.open_fds);
    gauge("process_start_time_seconds", "Start time of the process since the unix epoch in seconds",
          p.start_secs);
    return o.str();
}

}  // namespace svcdht::admin
