// SPDX-License-Identifier: MIT
// The Node driving lookups: starting one (seeded from the table), keeping alpha queries
// in flight through the pure Lookup state machine (lookup.cc), taking answers in, and
// finishing: an API result, the end of the join, or a publish's targets.
#include <algorithm>

#include "node_internal.h"
#include "svcdht/blake3.h"
#include "svcdht/record.h"

namespace svcdht::core {

ProviderInfo provider_info(const StoredRecord& s, uint64_t now_unix) {
    ProviderInfo pi;
    pi.publisher = s.pk;
    pi.alg = s.alg();
    pi.addrs = s.addr_strings();
    pi.ttl = s.ttl();
    pi.ts = s.ts;
    pi.secs_left = s.ts + s.ttl() > now_unix ? s.ts + s.ttl() - now_unix : 0;
    return pi;
}

const char* lookup_purpose_name(int purpose) {
    switch (static_cast<Purpose>(purpose)) {
        case Purpose::api: return "api";
        case Purpose::join: return "join";
        case Purpose::refresh: return "refresh";
        case Purpose::publish: return "publish";
    }
    return "unknown";
}

std::array<uint32_t, LOOKUP_PURPOSE_COUNT> Node::lookups_inflight() const {
    std::array<uint32_t, LOOKUP_PURPOSE_COUNT> n{};
    for (const auto& [lid, l] : lookups_) ++n[static_cast<size_t>(l->purpose)];
    return n;
}

uint64_t Node::start_lookup(LookupKind kind, const Key& target, Purpose purpose,
                            uint64_t purpose_id, LookupOptions o, Time now) {
    LookupParams p;
    p.target = target;
    p.kind = kind;
    p.k = cfg_.k;
    p.alpha = cfg_.alpha;
    p.beta = o.beta >= 0 ? static_cast<uint32_t>(o.beta) : cfg_.beta;
    p.disjoint = o.disjoint != 0 ? o.disjoint : cfg_.disjoint;
    p.hop_budget = cfg_.hop_budget;
    // A publish stores on the replica closest, so it ends once they have answered.
    if (purpose == Purpose::publish) p.need = cfg_.replica;
    auto l = std::make_unique<LookupState>(p, self_->id);
    l->id = next_lookup_++;
    l->purpose = purpose;
    l->purpose_id = purpose_id;
    l->started = now;
    // Disjoint paths each start from their own share of the table's closest contacts.
    table_.closest(target, static_cast<size_t>(cfg_.k) * std::max<uint32_t>(1, p.disjoint / 2 + 1),
                   scratch_contacts_);
    l->lk.seed(scratch_contacts_);
    table_.touch_bucket_of(target, now);
    ++counters_.lookups_total[static_cast<size_t>(kind)];
    const uint64_t lid = l->id;
    lookups_.emplace(lid, std::move(l));
    timer(now + cfg_.lookup_deadline, TimerKind::lookup_deadline, lid);
    pump_lookup(lid, now);
    return lid;
}

void Node::pump_lookup(uint64_t lid, Time now) {
    auto it = lookups_.find(lid);
    if (it == lookups_.end()) return;
    LookupState& l = *it->second;
    const LookupParams& p = l.lk.params();
    for (;;) {
        bool hedge = false;
        Candidate* c = l.lk.next_query(&hedge);
        if (c == nullptr) break;
        DhtMsg req;
        switch (p.kind) {
            case LookupKind::find_node:
                req.op = Op::find_node;
                req.has_target = true;
                req.target = p.target;
                break;
            case LookupKind::get_providers:
                req.op = Op::get_providers;
                req.has_key = true;
                req.key = p.target;
                break;
            case LookupKind::get_value:
                req.op = Op::get_value;
                req.has_key = true;
                req.key = p.target;
                break;
        }
        const NodeId cid = c->id;
        const uint64_t rid = send_rpc(cid, c->addr, true, req, OwnerKind::lookup, lid, now);
        if (rid == 0) {
            l.lk.failed(cid);
            continue;
        }
        ++l.rpcs;
        if (hedge) ++counters_.hedge_spawned_total;
        if (p.beta > 0) {
            Rpc& r = *rpcs_.at(rid);
            r.hedge_delay = hedge_delay(r);
            r.hedge_at = now + r.hedge_delay;
            rpc_hedges_.insert({r.hedge_at, rid});
        }
    }
    if (l.lk.finished()) finish_lookup(lid, Err::ok, now);
}

void Node::lookup_answer(LookupState& l, const Rpc& r, const DhtMsg& m, Time now) {
    const Candidate* found = l.lk.find(r.peer);
    if (found == nullptr) return;
    const Candidate cand = *found;
    const LookupParams& p = l.lk.params();
    const bool usable = m.code == Code::ok || (m.op == Op::get_value && m.code == Code::not_found);
    if (!usable) {
        l.lk.failed(cand.id);
        return;
    }
    if (p.kind == LookupKind::get_value && m.has_val && m.code == Code::ok) {
        // Content addressing makes the answer self-certifying; a wrong value is a lie.
        if (NodeId::from(blake3(m.val)) != p.target) {
            l.lk.failed(cand.id);
            return;
        }
        l.value.assign(m.val.begin(), m.val.end());
        l.found = true;
        l.found_depth = cand.depth;
        l.lk.answered(cand.id);
        l.lk.finish();
        return;
    }
    if (p.kind == LookupKind::get_providers && m.has_providers) {
        const uint64_t now_unix = unix_now(now);
        for (const ProviderRecord& rec : m.providers) {
            if (rec.key != p.target) continue;
            if (Err e =
                    admit_record(rec, *env_.crypto, now_unix, cfg_.max_ttl_secs, cfg_.require_pq);
                e != Err::ok) {
                if (e == Err::pq_required) ++counters_.pq_downgrade_attempts_total;
                continue;
            }
            auto same = std::find_if(l.providers.begin(), l.providers.end(),
                                     [&](const StoredRecord& s) { return s.pk == rec.pk; });
            const Time expires = now + secs(rec.ts + rec.ttl - now_unix);
            if (same == l.providers.end()) {
                l.providers.push_back(StoredRecord::from(rec, expires));
            } else if (rec.ts > same->ts) {
                *same = StoredRecord::from(rec, expires);
            }
        }
        if (!l.providers.empty()) {
            l.found = true;
            l.found_depth = cand.depth;
            l.lk.answered(cand.id);
            l.lk.finish();
            return;
        }
    }
    uint32_t learned = 0;
    for (const NodeInfo& n : m.nodes) {
        if (learned >= p.k) break;  // an answer carries at most k useful contacts
        if (!n.addr.valid() || n.addr.port == 0 || n.id == self_->id) continue;
        l.lk.learn(cand, n);
        ++learned;
    }
    l.lk.answered(cand.id);
}

void Node::finish_lookup(uint64_t lid, Err err, Time now) {
    auto it = lookups_.find(lid);
    if (it == lookups_.end()) return;
    std::unique_ptr<LookupState> l = std::move(it->second);
    lookups_.erase(it);
    const LookupParams& p = l->lk.params();
    // RPCs still out are left to finish: their answers refresh the routing table, but
    // nobody waits for them any more.
    for (const Candidate& c : l->lk.candidates())
        if (c.st == Candidate::State::inflight && (c.slow || c.hedge))
            ++counters_.hedge_canceled_total;
    const uint32_t hops = l->found ? l->found_depth : l->lk.hops();
    const double elapsed_s = static_cast<double>(now - l->started) / 1e6;
    const auto k = static_cast<size_t>(p.kind);
    counters_.lookup_latency[k].observe(elapsed_s);
    if (hops > 0) counters_.lookup_hops[k].observe(hops);
    // A lookup that found what it needed is complete whatever stopped it; otherwise its
    // deadline or its hop budget may have cut it short, and the result says so.
    Err cut = Err::ok;
    if (!l->found) {
        if (err == Err::timeout) {
            cut = Err::deadline;
        } else if (l->lk.cut_by_hop_budget()) {
            cut = Err::hop_budget;
        }
    }
    if (cut != Err::ok) ++counters_.lookups_incomplete_total[k][cut == Err::deadline ? 0 : 1];

    switch (l->purpose) {
        case Purpose::api: {
            auto rit = requests_.find(l->purpose_id);
            if (rit == requests_.end()) break;
            RequestResult& res = *rit->second;
            res.hops = hops;
            res.rpcs = l->rpcs;
            res.complete = cut == Err::ok;
            res.cut = cut;
            Err e = Err::ok;
            switch (p.kind) {
                case LookupKind::find_node:
                    l->lk.closest_answered(p.k, res.nodes);
                    if (res.nodes.empty())
                        e = table_.size() == 0 ? Err::no_peers
                                               : (cut != Err::ok ? cut : Err::timeout);
                    break;
                case LookupKind::get_providers: {
                    const uint64_t now_unix = unix_now(now);
                    for (const StoredRecord& s : l->providers)
                        res.providers.push_back(provider_info(s, now_unix));
                    if (!res.providers.empty()) ++counters_.found_total;
                    break;
                }
                case LookupKind::get_value:
                    if (l->found) {
                        res.value = std::move(l->value);
                        ++counters_.found_total;
                        counters_.get_latency.observe(elapsed_s);
                    } else {
                        // Not found where the lookup could look; a lookup cut short has
                        // not shown the value is absent.
                        e = cut == Err::ok ? Err::not_found : cut;
                    }
                    break;
            }
            complete(res, e, now);
            break;
        }
        case Purpose::join:
            join_running_ = false;
            join_lookup_ = 0;
            if (!joined_) {
                joined_ = true;
                log(LogLevel::info, "joined the network",
                    {{"peers", std::to_string(table_.size())}, {"hops", std::to_string(hops)}});
                sweep_buckets(now);
                resweep_ = warm_dialed_ > 0 && table_.size() < cfg_.k;
            }
            break;
        case Purpose::refresh: break;
        case Purpose::publish: {
            std::vector<NodeInfo> nodes;
            l->lk.closest_answered(p.k, nodes);
            if (auto pit = publishes_.find(l->purpose_id); pit != publishes_.end()) {
                pit->second->cut = cut;
                // A provide or put reports the hops and RPCs of the lookup that found
                // where to store (the stores themselves add their RPCs on top).
                if (auto rit = requests_.find(pit->second->api); rit != requests_.end()) {
                    rit->second->hops = hops;
                    rit->second->rpcs = l->rpcs;
                }
            }
            publish_targets_found(l->purpose_id, nodes, now);
            break;
        }
        default: break;
    }
}

// sweep_buckets: as in the Kademlia paper (and libp2p's bootstrap), a joining node
// refreshes every bucket farther than its closest neighbour: the self-lookup only met nodes
// near us, and contacts enter the table only once a session proves them, so without this
// the far buckets stay nearly empty (and a bucket whose contacts keep talking to us counts
// as touched, so maintenance would not refresh it either).
void Node::sweep_buckets(Time now) {
    for (int i = 0; i + 1 < table_.bucket_count(); ++i) {
        NodeId rnd;
        env_.rng->fill(rnd.b.data(), rnd.b.size());
        start_lookup(LookupKind::find_node, table_.random_id_in_bucket(i, rnd), Purpose::refresh, 0,
                     {}, now);
    }
}

}  // namespace svcdht::core
