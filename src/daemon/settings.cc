// SPDX-License-Identifier: MIT
// The one mapping from the configuration to the settings of each part (see settings.h).
#include "daemon/settings.h"

#include <algorithm>

namespace svcdht::daemon {

core::NodeConfig node_settings(const Config& c) {
    core::NodeConfig n;
    n.network = c.network;
    n.k = static_cast<uint32_t>(c.k);
    n.alpha = static_cast<uint32_t>(c.alpha);
    n.beta = static_cast<uint32_t>(c.beta);
    n.disjoint = static_cast<uint32_t>(c.disjoint);
    n.replica = static_cast<uint32_t>(c.replica);
    n.hop_budget = static_cast<uint32_t>(c.hop_budget);
    n.rpc_timeout = core::msec(c.rpc_timeout_ms);
    n.hedge_after = core::msec(c.hedge_after_ms);
    n.adaptive_hedge = c.adaptive_hedge;
    n.adaptive_timeout = c.adaptive_timeout;
    n.warm_sessions = static_cast<uint32_t>(c.warm_sessions);
    n.lookup_deadline = core::msec(c.deadline_ms);
    n.refresh_interval = core::secs(c.refresh_secs);
    n.ttl_secs = c.ttl_secs;
    n.max_ttl_secs = c.max_ttl_secs;
    n.republish_secs = c.republish_secs;
    n.max_value_bytes = c.max_value_bytes;
    n.store.max_items = c.max_records;
    n.store.max_bytes = c.max_store_bytes;
    n.store.peer_share_pct = static_cast<uint32_t>(c.store_peer_share_pct);
    n.store.prefix_share_pct = static_cast<uint32_t>(c.store_prefix_share_pct);
    n.diversity.per_prefix_max = static_cast<uint32_t>(c.per_prefix_max);
    n.diversity.prefix_max_pct = static_cast<uint32_t>(c.prefix_max_pct);
    n.diversity.exempt_private = c.exempt_private;
    n.require_pq = c.require_pq;
    n.bootstrap_required = static_cast<uint32_t>(c.bootstrap_required);
    n.peer_rate = static_cast<uint32_t>(c.peer_rate);
    n.peer_burst = static_cast<uint32_t>(c.peer_burst);
    n.node_rate = static_cast<uint32_t>(c.node_rate);
    n.node_write_rate = static_cast<uint32_t>(c.node_write_rate);
    n.max_inflight = static_cast<uint32_t>(c.max_inflight);
    n.max_inflight_per_peer = static_cast<uint32_t>(c.max_inflight_per_peer);
    n.max_api_requests = static_cast<uint32_t>(c.max_lookups);
    return n;
}

core::PeerLimits peer_limits(const Config& c) {
    core::PeerLimits l;
    l.max_conns = static_cast<uint32_t>(c.max_conns);
    l.max_handshakes = static_cast<uint32_t>(c.max_handshakes);
    l.max_conns_per_ip = static_cast<uint32_t>(c.max_conns_per_ip);
    l.conns_v6_prefix = static_cast<uint32_t>(c.conns_v6_prefix);
    l.max_reassembly_bytes = c.max_reassembly_bytes;
    l.max_tx_queue_bytes = c.max_tx_queue_bytes;
    return l;
}

core::SessionConfig session_settings(const Config& c) {
    core::SessionConfig s;
    s.network = c.network;
    s.handshake_timeout = core::msec(c.handshake_timeout_ms);
    s.idle_timeout = core::msec(c.idle_timeout_ms);
    return s;
}

admin::AdminSettings admin_settings(const Config& c, bool admin_loopback) {
    admin::AdminSettings a;
    a.max_value_bytes = c.max_value_bytes;
    a.require_token = !admin_loopback;
    a.ttl_secs = c.ttl_secs;
    a.max_ttl_secs = c.max_ttl_secs;
    a.max_lookups = static_cast<uint32_t>(c.max_lookups);
    return a;
}

DhtSettings dht_settings(const Config& c, bool client) {
    DhtSettings d;
    d.listen = client ? "" : c.listen;
    d.bootstrap = c.bootstrap;
    d.node = node_settings(c);
    d.session = session_settings(c);
    d.limits = peer_limits(c);
    d.tcp_fastopen = c.tcp_fastopen;
    // A client (ping, lookup) never touches the store a daemon may hold.
    if (!client && !c.amnesia) {
        d.persist.data_dir = c.data_dir;
        d.persist.sync = c.durability == "sync";
        d.persist.sync_interval_ms = static_cast<uint32_t>(c.sync_interval_ms);
        // The same entries take about 1.25 times the store's own byte count in LMDB's
        // half-full leaves (docs/PERFORMANCE.md), and copy-on-write keeps freed pages for
        // reuse: the file is given twice the store's memory budget, and at least 8 MiB.
        d.persist.max_bytes = std::max<uint64_t>(2 * c.max_store_bytes, 8u << 20);
    }
    return d;
}

}  // namespace svcdht::daemon
