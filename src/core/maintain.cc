// SPDX-License-Identifier: MIT
// The Node keeping itself in the network: bootstrap seeds (with backoff), the join
// (self-lookup, then every bucket's refresh), and the periodic maintenance round (bucket
// refresh, self-lookup, rejoin when the table emptied, holders' replication rounds).
#include "node_internal.h"

namespace svcdht::core {

void Node::add_seed(const PeerAddr& addr, Time now) {
    const InputCheck check{*this};
    Seed s;
    s.addr = addr;
    seeds_.push_back(s);
    if (!draining_) seed_dial(seeds_.size() - 1, now);
}

void Node::seed_dial(size_t i, Time now) {
    Seed& s = seeds_[i];
    s.dialing = true;
    ++counters_.bootstrap_dial_attempts_total;
    s.dial = start_dial(s.addr, nullptr, now);
    dials_.at(s.dial)->seed = static_cast<int>(i);
}

void Node::seed_up(const Contact& seed, Time now) {
    if (draining_) return;
    if (!joined_ && !join_running_) {
        join_running_ = true;
        join_lookup_ = start_lookup(LookupKind::find_node, self_->id, Purpose::join, 0, {}, now);
        return;
    }
    if (join_running_) {
        // Another seed came up while joining: it is one more starting point.
        auto it = lookups_.find(join_lookup_);
        if (it != lookups_.end()) {
            it->second->lk.seed({&seed, 1});
            pump_lookup(join_lookup_, now);
        }
        return;
    }
    // A seed that comes up after the join (it was slow, or the first seed knew little)
    // gets a fresh self-lookup, so one poor seed cannot leave us half joined.
    start_lookup(LookupKind::find_node, self_->id, Purpose::refresh, 0, {}, now);
}

bool Node::seed_in_table(const Seed& s) const {
    if (s.in_table_at != table_.membership() + 1) {
        s.in_table = table_.contains(s.id);
        s.in_table_at = table_.membership() + 1;
    }
    return s.in_table;
}

bool Node::rejoin_due(const Seed& s, Time now) const {
    return s.up && !s.dialing && s.retry_at <= now && s.recheck_at <= now && !seed_in_table(s) &&
           by_id_.count(s.id) == 0;
}

Time Node::maintenance_due() const {
    if (draining_) return NEVER;
    Time due = NEVER;
    if (table_.size() == 0) {
        for (const Seed& seed : seeds_)
            if (!seed.dialing) due = std::min(due, seed.retry_at);
        return due;
    }
    for (const Seed& seed : seeds_)
        if (seed.up && !seed.dialing && !seed_in_table(seed))
            due = std::min(due, std::max(seed.retry_at, seed.recheck_at));
    if (const Time stalest = table_.stalest_since(); stalest != NEVER)
        due = std::min(due, stalest + cfg_.refresh_interval);
    if (joined_) due = std::min(due, last_self_refresh_ + cfg_.refresh_interval);
    for (const OwedPush& o : owed_) due = std::min(due, o.due);
    return due;
}

Time Node::maintenance_deadline(Time scheduled) const {
    const Time due = maintenance_due();
    if (due <= scheduled) return scheduled;
    if (due == NEVER) return NEVER;
    const Time rounds = (due - scheduled + MAINTENANCE_INTERVAL - 1) / MAINTENANCE_INTERVAL;
    return scheduled + rounds * MAINTENANCE_INTERVAL;
}

void Node::maintenance(Time now) {
    if (draining_) return;
    // Rejoin through the seeds when the table emptied (every contact failed), but never
    // ahead of a seed's backoff: a seed that is down is not dialed every round.
    if (table_.size() == 0) {
        for (size_t i = 0; i < seeds_.size(); ++i)
            if (!seeds_[i].dialing && seeds_[i].retry_at <= now) seed_dial(i, now);
    }
    if (table_.size() == 0) return;
    retry_owed(now);
    // A seed that left the table while we kept other contacts: every contact on its side
    // of a partition may be gone too, and nothing else would find them again.
    for (size_t i = 0; i < seeds_.size(); ++i) {
        if (!rejoin_due(seeds_[i], now)) continue;
        seeds_[i].rejoining = true;
        seed_dial(i, now);
    }
    // Refresh buckets that went stale (routing_table.h: bucket_fresh_since) with a lookup of
    // a random id in their range; the periodic self-lookup keeps our own neighbourhood exact.
    uint32_t started = 0;
    for (int i = 0; i < table_.bucket_count() && started < MAX_REFRESH_PER_ROUND; ++i) {
        if (table_.bucket_fresh_since(i) + cfg_.refresh_interval > now) continue;
        NodeId rnd;
        env_.rng->fill(rnd.b.data(), rnd.b.size());
        start_lookup(LookupKind::find_node, table_.random_id_in_bucket(i, rnd), Purpose::refresh, 0,
                     {}, now);
        ++started;
    }
    if (last_self_refresh_ + cfg_.refresh_interval <= now && joined_) {
        last_self_refresh_ = now;
        start_lookup(LookupKind::find_node, self_->id, Purpose::refresh, 0, {}, now);
    }
}

// keepalive keeps up to warm_sessions sessions to routing-table contacts open, the farthest
// buckets first: a lookup for a random key starts at the table's contacts nearest to it,
// which sit in bucket 0 for half of all keys, in bucket 1 for a quarter, and so on, so
// those are the sessions that spare a lookup's first hop a new connection (the nearest
// buckets first gave no faster lookups at all; docs/PERFORMANCE.md). A session quiet for
// three quarters of the idle timeout gets a PING, so neither end's idle timeout closes
// it; the pings of one round go together, to every warm session quiet for half of it, so
// a node wakes for them about once per quarter idle timeout, not once per session. A
// contact that stops answering fails its ping like any RPC and leaves the table as it
// would have on the next lookup.
void Node::keepalive(Time now) {
    keepalive_at_ = NEVER;
    warm_ = 0;
    if (cfg_.warm_sessions == 0 || draining_) return;
    const Time due = cfg_.idle_timeout / 4 * 3;
    const Time batch = cfg_.idle_timeout / 2;
    Time next = NEVER;
    for (int i = 0; i < table_.bucket_count() && warm_ < cfg_.warm_sessions; ++i) {
        for (const Contact& ct : table_.bucket(i)) {
            if (warm_ >= cfg_.warm_sessions) break;
            Conn* c = conn_for(ct.id);
            if (c == nullptr) continue;
            ++warm_;
            if (c->kept + batch <= now && c->inflight == 0) {
                DhtMsg req;
                req.op = Op::ping;
                if (send_rpc(ct.id, ct.addr, true, req, OwnerKind::keepalive, 0, now) != 0) {
                    ++counters_.keepalive_pings_total;
                    c->kept = now;
                }
            }
            next = std::min(next, c->kept + due);
        }
    }
    if (next != NEVER) arm_keepalive(std::max(next, now + cfg_.idle_timeout / 4));
}

void Node::arm_keepalive(Time at) {
    if (cfg_.warm_sessions == 0 || at >= keepalive_at_) return;
    keepalive_at_ = at;
    timer(at, TimerKind::keepalive, 0);
}

}  // namespace svcdht::core
