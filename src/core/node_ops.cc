// SPDX-License-Identifier: MIT
// The Node engine, second half: lookups, API requests, publishing (provide/put) with
// republishing by publishers, re-replication by holders, bootstrap and maintenance (bucket
// refresh, the periodic self-lookup). Sans-IO like node.cc.
#include <algorithm>

#include "node_internal.h"
#include "svcdht/blake3.h"

namespace svcdht::core {

namespace {
// What an API answer shows of one stored provider record, with its time left at |now_unix|.
ProviderInfo provider_info(const StoredRecord& s, uint64_t now_unix) {
    ProviderInfo pi;
    pi.publisher = s.pk;
    pi.alg = s.alg;
    pi.addrs = s.addrs;
    pi.ttl = s.ttl;
    pi.ts = s.ts;
    pi.secs_left = s.ts + s.ttl > now_unix ? s.ts + s.ttl - now_unix : 0;
    return pi;
}
}  // namespace

// ---- lookups ---------------------------------------------------------------------------------

uint64_t Node::start_lookup(LookupKind kind, const Key& target, uint8_t purpose,
                            uint64_t purpose_id, LookupOptions o, Time now) {
    LookupParams p;
    p.target = target;
    p.kind = kind;
    p.k = cfg_.k;
    p.alpha = cfg_.alpha;
    p.beta = o.beta >= 0 ? static_cast<uint32_t>(o.beta) : cfg_.beta;
    p.disjoint = o.disjoint != 0 ? o.disjoint : cfg_.disjoint;
    p.hop_budget = cfg_.hop_budget;
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
    timer(now + cfg_.lookup_deadline, T_LOOKUP_DEADLINE, lid);
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
        const uint64_t rid = send_rpc(cid, c->addr, true, req, O_LOOKUP, lid, now);
        if (rid == 0) {
            l.lk.failed(cid);
            continue;
        }
        ++l.rpcs;
        if (hedge) ++counters_.hedge_spawned_total;
        if (p.beta > 0) {
            Rpc& r = *rpcs_.at(rid);
            r.hedge_at = now + cfg_.hedge_after;
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

    switch (l->purpose) {
        case P_API: {
            auto rit = requests_.find(l->purpose_id);
            if (rit == requests_.end()) break;
            RequestResult& res = *rit->second;
            res.hops = hops;
            res.rpcs = l->rpcs;
            Err e = Err::ok;
            switch (p.kind) {
                case LookupKind::find_node:
                    l->lk.closest_answered(p.k, res.nodes);
                    if (res.nodes.empty()) e = table_.size() == 0 ? Err::no_peers : Err::timeout;
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
                        e = Err::not_found;
                    }
                    break;
            }
            (void)err;
            complete(res, e, now);
            break;
        }
        case P_JOIN:
            join_running_ = false;
            join_lookup_ = 0;
            if (!joined_) {
                joined_ = true;
                log(LogLevel::info, "joined the network",
                    {{"peers", std::to_string(table_.size())}, {"hops", std::to_string(hops)}});
                // As in the Kademlia paper (and libp2p's bootstrap), a joining node refreshes
                // every bucket farther than its closest neighbour: the self-lookup only met
                // nodes near us, and contacts enter the table only once a session proves
                // them, so without this the far buckets stay nearly empty.
                for (int i = 0; i + 1 < table_.bucket_count(); ++i) {
                    NodeId rnd;
                    env_.rng->fill(rnd.b.data(), rnd.b.size());
                    start_lookup(LookupKind::find_node, table_.random_id_in_bucket(i, rnd),
                                 P_REFRESH, 0, {}, now);
                }
            }
            break;
        case P_REFRESH: break;
        case P_PUBLISH: {
            std::vector<NodeInfo> nodes;
            l->lk.closest_answered(p.k, nodes);
            publish_targets_found(l->purpose_id, nodes, now);
            break;
        }
        default: break;
    }
}

// ---- API -------------------------------------------------------------------------------------

RequestResult& Node::new_request(ApiOp op, const Key& key, Time now) {
    auto r = std::make_unique<RequestResult>();
    r->id = next_request_++;
    r->op = op;
    r->key = key;
    r->elapsed = now;  // start time until complete() turns it into a duration
    RequestResult& ref = *r;
    requests_.emplace(r->id, std::move(r));
    return ref;
}

void Node::complete(RequestResult& r, Err err, Time now) {
    auto it = requests_.find(r.id);
    if (it == requests_.end()) return;
    std::unique_ptr<RequestResult> owned = std::move(it->second);
    requests_.erase(it);
    owned->err = err;
    owned->elapsed = now - owned->elapsed;
    if (err != Err::ok) counters_.error(err);
    Action a;
    a.kind = Action::Kind::done;
    a.result = owned.get();
    actions_.push_back(a);
    retired_.push_back(std::move(owned));
}

// api_gate refuses a new API request while draining or overloaded; it completes the
// request with the error and returns false.
bool Node::api_gate(RequestResult& r, Time now) {
    if (draining_) {
        complete(r, Err::shutting_down, now);
        return false;
    }
    if (requests_.size() > cfg_.max_api_requests) {
        complete(r, Err::busy, now);
        return false;
    }
    return true;
}

RequestId Node::closest(const Key& key, Time now, LookupOptions o) {
    RequestResult& r = new_request(ApiOp::closest, key, now);
    const RequestId id = r.id;
    if (!api_gate(r, now)) return id;
    if (table_.size() == 0) {
        complete(r, Err::no_peers, now);
        return id;
    }
    start_lookup(LookupKind::find_node, key, P_API, id, o, now);
    return id;
}

RequestId Node::find_providers(const Key& key, Time now, LookupOptions o) {
    RequestResult& r = new_request(ApiOp::find_providers, key, now);
    const RequestId id = r.id;
    if (!api_gate(r, now)) return id;
    store_.records(key, now, MAX_PROVIDERS_PER_ANSWER, scratch_records_);
    if (!scratch_records_.empty() || table_.size() == 0) {
        // Held here (or nowhere else to ask): answer from the local store, zero hops.
        const uint64_t now_unix = unix_now(now);
        for (const StoredRecord* s : scratch_records_)
            r.providers.push_back(provider_info(*s, now_unix));
        if (!r.providers.empty()) ++counters_.found_total;
        ++counters_.lookups_total[static_cast<size_t>(LookupKind::get_providers)];
        complete(r, Err::ok, now);
        return id;
    }
    start_lookup(LookupKind::get_providers, key, P_API, id, o, now);
    return id;
}

RequestId Node::get(const Key& key, Time now, LookupOptions o) {
    RequestResult& r = new_request(ApiOp::get, key, now);
    const RequestId id = r.id;
    ++counters_.get_total;
    if (!api_gate(r, now)) return id;
    if (const StoredValue* v = store_.value(key, now)) {
        r.value = v->value;
        ++counters_.found_total;
        counters_.get_latency.observe(0);
        complete(r, Err::ok, now);
        return id;
    }
    if (table_.size() == 0) {
        complete(r, Err::not_found, now);
        return id;
    }
    start_lookup(LookupKind::get_value, key, P_API, id, o, now);
    return id;
}

RequestId Node::provide(const Key& key, std::span<const std::string> addrs, uint64_t ttl_secs,
                        Time now) {
    RequestResult& r = new_request(ApiOp::provide, key, now);
    const RequestId id = r.id;
    if (!api_gate(r, now)) return id;
    if (ttl_secs == 0) ttl_secs = cfg_.ttl_secs;
    if (ttl_secs > cfg_.max_ttl_secs) {
        complete(r, Err::ttl_too_large, now);
        return id;
    }
    if (addrs.size() > MAX_PROVIDER_ADDRS) {
        complete(r, Err::too_many_addrs, now);
        return id;
    }
    for (const std::string& a : addrs) {
        if (!addr_valid(a)) {
            complete(r, a.size() > MAX_ADDR_LEN ? Err::addr_too_long : Err::bad_addr_scheme, now);
            return id;
        }
    }
    ++counters_.provides_total;
    Published& pub = published_[key];
    pub.is_value = false;
    pub.addrs.assign(addrs.begin(), addrs.end());
    pub.until_unix = unix_now(now) + ttl_secs;
    provide_round(key, pub, id, now);
    return id;
}

void Node::provide_round(const Key& key, const Published& pub, RequestId api, Time now) {
    const uint64_t now_unix = unix_now(now);
    StoredRecord rec;
    rec.key = key;
    rec.pk = self_->keys.pk;
    rec.addrs = pub.addrs;
    rec.ts = now_unix;
    rec.ttl = pub.until_unix > now_unix ? pub.until_unix - now_unix : 0;
    std::vector<std::string_view> views;
    ProviderRecord view = rec.view(views);
    sign_record(view, *env_.crypto, self_->keys.sk);
    rec.sig = view.sig;
    rec.expires = now + secs(rec.ttl);
    // Stored here as well as on the replica closest nodes. A republish with an equal ts (two
    // rounds in one second) keeps the record already held.
    const bool had = store_.holds(key, now);
    if (store_.put_record(view, rec.expires) == Err::ok && !had) key_stored(key, now);
    // Republish halfway through long lifetimes (DESIGN: ttl 24 h, republish 12 h) so that
    // replicas lost to churn come back; a short-lived record simply expires as asked.
    if (rec.ttl > cfg_.republish_secs) repub_queue_.insert({now + secs(cfg_.republish_secs), key});
    start_publish(PUB_RECORD, key, std::move(rec), {}, api, now);
}

RequestId Node::put(ByteView value, Time now) {
    const Key key = NodeId::from(blake3(value));
    RequestResult& r = new_request(ApiOp::put, key, now);
    const RequestId id = r.id;
    ++counters_.put_total;
    if (!api_gate(r, now)) return id;
    if (value.size() > cfg_.max_value_bytes) {
        complete(r, Err::value_too_large, now);
        return id;
    }
    Published& pub = published_[key];
    pub.is_value = true;
    pub.value.assign(value.begin(), value.end());
    pub.until_unix = unix_now(now) + cfg_.ttl_secs;
    put_round(key, pub, id, now);
    return id;
}

void Node::put_round(const Key& key, const Published& pub, RequestId api, Time now) {
    const bool had = store_.holds(key, now);
    const Err e = store_.put_value(key, pub.value, now + secs(cfg_.ttl_secs));
    if (e == Err::ok && !had) key_stored(key, now);
    const uint64_t now_unix = unix_now(now);
    if (pub.until_unix > now_unix + cfg_.republish_secs)
        repub_queue_.insert({now + secs(cfg_.republish_secs), key});
    start_publish(PUB_VALUE, key, StoredRecord{}, pub.value, api, now);
}

RequestId Node::ping(const PeerAddr& addr, Time now) {
    RequestResult& r = new_request(ApiOp::ping, Key{}, now);
    const RequestId id = r.id;
    if (!api_gate(r, now)) return id;
    DhtMsg req;
    req.op = Op::ping;
    if (send_rpc(NodeId{}, addr, false, req, O_API_PING, id, now) == 0)
        complete(r, Err::unreachable, now);
    return id;
}

// ---- publishing --------------------------------------------------------------------------------

void Node::start_publish(uint8_t kind, const Key& key, StoredRecord rec, Bytes value, RequestId api,
                         Time now) {
    auto p = std::make_unique<Publish>();
    p->id = next_publish_++;
    p->kind = kind;
    p->key = key;
    p->rec = std::move(rec);
    p->value = std::move(value);
    p->api = api;
    p->started = now;
    const uint64_t pid = p->id;
    publishes_.emplace(pid, std::move(p));
    if (table_.size() == 0) {
        publish_targets_found(pid, {}, now);
        return;
    }
    start_lookup(LookupKind::find_node, key, P_PUBLISH, pid, {}, now);
}

void Node::publish_targets_found(uint64_t pid, const std::vector<NodeInfo>& nodes, Time now) {
    auto it = publishes_.find(pid);
    if (it == publishes_.end()) return;
    Publish& p = *it->second;
    uint32_t targets = 0;
    for (const NodeInfo& n : nodes) {
        if (targets >= cfg_.replica) break;
        if (n.id == self_->id) continue;
        ++targets;
        uint32_t sent = 0;
        if (p.kind == PUB_RECORD) {
            DhtMsg req;
            req.op = Op::add_provider;
            req.has_rec = true;
            std::vector<std::string_view> views;
            req.rec = p.rec.view(views);
            if (send_rpc(n.id, n.addr, true, req, O_PUBLISH, pid, now) != 0) ++sent;
        } else if (p.kind == PUB_VALUE) {
            DhtMsg req;
            req.op = Op::put_value;
            req.has_key = true;
            req.key = p.key;
            req.has_val = true;
            req.val = p.value;
            if (send_rpc(n.id, n.addr, true, req, O_PUBLISH, pid, now) != 0) ++sent;
        } else {
            push_record_rpcs(p.key, n.id, n.addr, O_PUBLISH, pid, now, &sent);
        }
        p.pending += sent;
    }
    if (p.pending == 0) publish_rpc_done(pid, false, now);
}

void Node::publish_rpc_done(uint64_t pid, bool ok, Time now) {
    auto it = publishes_.find(pid);
    if (it == publishes_.end()) return;
    Publish& p = *it->second;
    if (p.pending > 0) --p.pending;
    if (ok) ++p.acks;
    if (p.pending > 0) return;
    std::unique_ptr<Publish> done = std::move(it->second);
    publishes_.erase(it);
    if (done->kind == PUB_REPLICATE) {
        counters_.replications_total += done->acks;
        return;
    }
    counters_.put_latency.observe(static_cast<double>(now - done->started) / 1e6);
    if (done->api == 0) return;
    auto rit = requests_.find(done->api);
    if (rit == requests_.end()) return;
    rit->second->stored_on = done->acks;
    complete(*rit->second, Err::ok, now);
}

void Node::push_record_rpcs(const Key& key, const NodeId& to, const PeerAddr& addr,
                            uint8_t owner_kind, uint64_t owner_id, Time now, uint32_t* sent) {
    store_.records(key, now, MAX_PROVIDERS_PER_ANSWER, scratch_records_);
    const std::vector<const StoredRecord*> recs = scratch_records_;
    for (const StoredRecord* s : recs) {
        DhtMsg req;
        req.op = Op::add_provider;
        req.has_rec = true;
        std::vector<std::string_view> views;
        req.rec = s->view(views);
        if (send_rpc(to, addr, true, req, owner_kind, owner_id, now) != 0) ++*sent;
    }
    if (const StoredValue* v = store_.value(key, now)) {
        DhtMsg req;
        req.op = Op::put_value;
        req.has_key = true;
        req.key = key;
        req.has_val = true;
        req.val = v->value;
        if (send_rpc(to, addr, true, req, owner_kind, owner_id, now) != 0) ++*sent;
    }
}

// ---- replication by holders
// ----------------------------------------------------------------------

// key_stored is called when the store starts holding |key|: the holder schedules its own
// replication rounds and remembers how far its replica set reaches.
void Node::key_stored(const Key& key, Time now) {
    replica_radius_[key] = replica_radius(key);
    repl_queue_.insert({now + secs(cfg_.republish_secs), key});
}

// replica_radius returns the distance to |key| of the replica-th closest node among the
// table and ourselves (all ones when fewer are known): a node nearer than that belongs to
// the key's replica set.
NodeId Node::replica_radius(const Key& key) {
    table_.closest(key, cfg_.replica, scratch_contacts_);
    std::vector<NodeId> d;
    d.reserve(scratch_contacts_.size() + 1);
    for (const Contact& c : scratch_contacts_) d.push_back(xor_distance(c.id, key));
    d.push_back(xor_distance(self_->id, key));
    std::sort(d.begin(), d.end());
    if (d.size() < cfg_.replica) {
        NodeId all;
        all.b.fill(0xff);
        return all;
    }
    return d[cfg_.replica - 1];
}

void Node::replication_on_add(const Contact& c, Time now) {
    // A node that joins our view inside a key's replica set gets the key from us: this is
    // how records follow the closest nodes as the network changes (Kademlia's "store to
    // new nodes"). Bounded per event so that a burst of joins cannot flood one peer.
    uint32_t pushes = 0;
    for (auto it = replica_radius_.begin();
         it != replica_radius_.end() && pushes < MAX_PUSHES_PER_ROUND;) {
        if (!store_.holds(it->first, now)) {
            it = replica_radius_.erase(it);
            continue;
        }
        if (xor_distance(c.id, it->first) < it->second) {
            uint32_t sent = 0;
            push_record_rpcs(it->first, c.id, c.addr, O_REPLICATE, 0, now, &sent);
            pushes += sent;
            it->second = replica_radius(it->first);
        }
        ++it;
    }
}

void Node::replication_on_remove(const Contact& c, Time now) {
    // A replica-set member left our view: the next closest node takes its place and gets
    // the key from us, so copies are restored without waiting for the republish round.
    uint32_t pushes = 0;
    for (auto it = replica_radius_.begin();
         it != replica_radius_.end() && pushes < MAX_PUSHES_PER_ROUND;) {
        if (!store_.holds(it->first, now)) {
            it = replica_radius_.erase(it);
            continue;
        }
        if (xor_distance(c.id, it->first) <= it->second) {
            const Key key = it->first;
            table_.closest(key, cfg_.replica, scratch_contacts_);
            const std::vector<Contact> set = scratch_contacts_;
            for (const Contact& m : set) {
                if (xor_distance(m.id, key) <= it->second) continue;  // was a member already
                uint32_t sent = 0;
                push_record_rpcs(key, m.id, m.addr, O_REPLICATE, 0, now, &sent);
                pushes += sent;
            }
            it->second = replica_radius(key);
        }
        ++it;
    }
}

void Node::republish(const Key& key, Time now) {
    auto it = published_.find(key);
    if (it == published_.end()) return;
    if (it->second.until_unix <= unix_now(now)) {
        published_.erase(it);
        return;
    }
    ++counters_.republishes_total;
    if (it->second.is_value) {
        put_round(key, it->second, 0, now);
    } else {
        provide_round(key, it->second, 0, now);
    }
}

// ---- bootstrap and maintenance
// ---------------------------------------------------------------------

void Node::add_seed(const PeerAddr& addr, Time now) {
    const TableCheck check{table_};
    seeds_.push_back({addr, 0, false, false, 0});
    if (!draining_) seed_dial(seeds_.size() - 1, now);
}

void Node::seed_dial(size_t i, Time now) {
    Seed& s = seeds_[i];
    s.dialing = true;
    s.dial = start_dial(s.addr, nullptr, now);
    dials_.at(s.dial)->seed = static_cast<int>(i);
}

void Node::seed_up(const Contact& seed, Time now) {
    if (draining_) return;
    if (!joined_ && !join_running_) {
        join_running_ = true;
        join_lookup_ = start_lookup(LookupKind::find_node, self_->id, P_JOIN, 0, {}, now);
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
    start_lookup(LookupKind::find_node, self_->id, P_REFRESH, 0, {}, now);
}

void Node::begin_drain(Time now) {
    (void)now;
    draining_ = true;
}

void Node::maintenance(Time now) {
    if (draining_) return;
    // Rejoin through the seeds when the table emptied (every contact failed).
    if (table_.size() == 0) {
        for (size_t i = 0; i < seeds_.size(); ++i)
            if (!seeds_[i].dialing) seed_dial(i, now);
    }
    if (table_.size() == 0) return;
    // Refresh buckets nobody touched for refresh_interval with a lookup of a random id in
    // their range; the periodic self-lookup keeps our own neighbourhood exact.
    uint32_t started = 0;
    for (int i = 0; i < table_.bucket_count() && started < MAX_REFRESH_PER_ROUND; ++i) {
        if (table_.bucket_touched(i) + cfg_.refresh_interval > now) continue;
        NodeId rnd;
        env_.rng->fill(rnd.b.data(), rnd.b.size());
        start_lookup(LookupKind::find_node, table_.random_id_in_bucket(i, rnd), P_REFRESH, 0, {},
                     now);
        ++started;
    }
    if (last_self_refresh_ + cfg_.refresh_interval <= now && joined_) {
        last_self_refresh_ = now;
        start_lookup(LookupKind::find_node, self_->id, P_REFRESH, 0, {}, now);
    }
    // Holders' replication rounds: each held key is pushed to its current replica set
    // every republish interval.
    uint32_t rounds = 0;
    while (!repl_queue_.empty() && repl_queue_.begin()->first <= now &&
           rounds < MAX_REFRESH_PER_ROUND * 8) {
        const Key key = repl_queue_.begin()->second;
        repl_queue_.erase(repl_queue_.begin());
        if (!store_.holds(key, now)) continue;
        ++rounds;
        start_publish(PUB_REPLICATE, key, StoredRecord{}, {}, 0, now);
        repl_queue_.insert({now + secs(cfg_.republish_secs), key});
    }
}

}  // namespace svcdht::core
