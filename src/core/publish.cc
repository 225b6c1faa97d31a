// SPDX-License-Identifier: MIT
// The Node storing things on others: provide and put rounds (local store, then the replica
// closest nodes), republishing our own records before they expire, and holders'
// replication (to the current closest nodes, and to a node that joins close to a key).
#include <algorithm>

#include "node_internal.h"
#include "svcdht/blake3.h"
#include "svcdht/record.h"

namespace svcdht::core {

Err Node::provide_round(const Key& key, const std::vector<std::string_view>& addrs,
                        uint64_t until_unix, RequestId api, Time now) {
    const uint64_t now_unix = unix_now(now);
    ProviderRecord rec;
    rec.key = key;
    rec.pk = self_->keys.pk;
    rec.addrs = ItemList<std::string_view>::of(addrs);
    rec.ts = now_unix;
    rec.ttl = until_unix > now_unix ? until_unix - now_unix : 0;
    sign_record(rec, *env_.crypto, self_->keys.sk);
    const Time expires = now + secs(rec.ttl);
    // Stored here as well as on the replica closest nodes, and republished from here by the
    // key's rounds (key_round). A republish with an equal ts (two rounds in one second)
    // keeps the record already held.
    const bool had = store_.holds(key, now);
    if (Err e = store_.put_record(rec, expires); e != Err::ok) return e;
    if (!had) key_stored(key, now);
    start_publish(PublishKind::record, key, StoredRecord::from(rec, expires), {}, api, now);
    return Err::ok;
}

Err Node::put_round(const Key& key, ByteView value, uint64_t until_unix, RequestId api, Time now) {
    const bool had = store_.holds(key, now);
    const Err e = store_.put_value(key, value, now + secs(cfg_.ttl_secs), {}, until_unix);
    if (e != Err::ok) return e;
    if (!had) key_stored(key, now);
    start_publish(PublishKind::value, key, StoredRecord{}, Bytes(value.begin(), value.end()), api,
                  now);
    return Err::ok;
}

void Node::start_publish(PublishKind kind, const Key& key, StoredRecord rec, Bytes value,
                         RequestId api, Time now) {
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
    start_lookup(LookupKind::find_node, key, Purpose::publish, pid, {}, now);
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
        if (p.kind == PublishKind::record) {
            DhtMsg req;
            req.op = Op::add_provider;
            req.has_rec = true;
            std::vector<std::string_view> views;
            req.rec = p.rec.view(p.key, views);
            if (send_rpc(n.id, n.addr, true, req, OwnerKind::publish, pid, now) != 0) ++sent;
        } else if (p.kind == PublishKind::value) {
            DhtMsg req;
            req.op = Op::put_value;
            req.has_key = true;
            req.key = p.key;
            req.has_val = true;
            req.val = p.value;
            if (send_rpc(n.id, n.addr, true, req, OwnerKind::publish, pid, now) != 0) ++sent;
        } else if (const size_t at =
                       push_record_rpcs(p.key, n.id, n.addr, OwnerKind::publish, pid, now, &sent);
                   at != SIZE_MAX) {
            owe(p.key, n.id, n.addr, at, now);
        }
        p.pending += sent;
    }
    if (auto rit = requests_.find(p.api); p.api != 0 && rit != requests_.end())
        rit->second->rpcs += p.pending;
    if (p.pending == 0) publish_rpc_done(pid, nullptr, now);
}

void Node::publish_rpc_done(uint64_t pid, const NodeId* peer, Time now) {
    auto it = publishes_.find(pid);
    if (it == publishes_.end()) return;
    Publish& p = *it->second;
    if (p.pending > 0) --p.pending;
    if (peer != nullptr) {
        ++p.acks;
        if (std::find(p.holders.begin(), p.holders.end(), *peer) == p.holders.end())
            p.holders.push_back(*peer);
    }
    if (p.pending > 0) return;
    std::unique_ptr<Publish> done = std::move(it->second);
    publishes_.erase(it);
    // Our own copy (the round stored it here first, or holds what others stored) and the
    // replica-set members that confirmed theirs.
    replication_observed(1 + static_cast<uint32_t>(done->holders.size()));
    if (done->kind == PublishKind::replicate) {
        counters_.replications_total += done->acks;
        return;
    }
    counters_.put_latency.observe(static_cast<double>(now - done->started) / 1e6);
    if (done->api == 0) return;
    auto rit = requests_.find(done->api);
    if (rit == requests_.end()) return;
    rit->second->stored_on = done->acks;
    rit->second->complete = done->cut == Err::ok;
    rit->second->cut = done->cut;
    complete(*rit->second, Err::ok, now);
}

void Node::replication_observed(uint32_t copies) {
    replication_copies_[replication_samples_ % REPLICATION_SAMPLES] = copies;
    ++replication_samples_;
    ++counters_.replication_checks_total;
    if (copies < cfg_.replica) ++counters_.replication_short_total;
}

ReplicationHeld Node::replication_held() const {
    ReplicationHeld h;
    h.samples = static_cast<uint32_t>(std::min(replication_samples_, REPLICATION_SAMPLES));
    if (h.samples == 0) return h;
    std::array<uint32_t, REPLICATION_SAMPLES> v = replication_copies_;
    std::sort(v.begin(), v.begin() + h.samples);
    h.min = v[0];
    const size_t mid = h.samples / 2;
    h.median = h.samples % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2.0;
    return h;
}

// push_record_rpcs sends |key|'s records and then its value to |to|, from item |from| on.
// It returns the index of the first item the peer or the node had no room for (busy), or
// SIZE_MAX when every item went out (or failed for good).
size_t Node::push_record_rpcs(const Key& key, const NodeId& to, const PeerAddr& addr,
                              OwnerKind owner_kind, uint64_t owner_id, Time now, uint32_t* sent,
                              size_t from) {
    store_.records(key, now, MAX_PROVIDERS_PER_ANSWER, scratch_records_);
    const std::vector<const StoredRecord*> recs = scratch_records_;
    size_t item = 0;
    Err why = Err::ok;
    for (const StoredRecord* s : recs) {
        if (item++ < from) continue;
        DhtMsg req;
        req.op = Op::add_provider;
        req.has_rec = true;
        std::vector<std::string_view> views;
        req.rec = s->view(key, views);
        if (send_rpc(to, addr, true, req, owner_kind, owner_id, now, &why) != 0) {
            ++*sent;
        } else if (why == Err::busy) {
            return item - 1;
        }
    }
    if (const StoredValue* v = store_.value(key, now); v != nullptr && item++ >= from) {
        DhtMsg req;
        req.op = Op::put_value;
        req.has_key = true;
        req.key = key;
        req.has_val = true;
        req.val = v->value;
        if (send_rpc(to, addr, true, req, owner_kind, owner_id, now, &why) != 0) {
            ++*sent;
        } else if (why == Err::busy) {
            return item - 1;
        }
    }
    return SIZE_MAX;
}

// push_or_owe pushes |key| to |to| for replication; what the peer has no room for now is
// owed and tried again at later maintenance rounds (retry_owed), instead of waiting for the
// key's next round hours later.
void Node::push_or_owe(const Key& key, const NodeId& to, const PeerAddr& addr, Time now,
                       uint32_t* sent) {
    const size_t at = push_record_rpcs(key, to, addr, OwnerKind::replicate, 0, now, sent);
    if (at != SIZE_MAX) owe(key, to, addr, at, now);
}

// owe remembers that |to| still lacks |key|'s items from |at| on. (The store may change
// before the retry; an item sent twice is harmless, one skipped comes with the key's round.)
void Node::owe(const Key& key, const NodeId& to, const PeerAddr& addr, size_t at, Time now) {
    for (OwedPush& o : owed_) {
        if (o.key == key && o.to == to) {
            o.from = std::min(o.from, at);
            return;
        }
    }
    if (owed_.size() >= MAX_OWED_PUSHES) {
        ++counters_.replication_given_up_total;
        return;
    }
    owed_.push_back({key, to, addr, at, now + MAINTENANCE_INTERVAL, 0});
}

size_t Node::replication_owed() const {
    return owed_.size();
}

void Node::retry_owed(Time now) {
    for (size_t i = 0; i < owed_.size();) {
        OwedPush& o = owed_[i];
        if (o.due > now) {
            ++i;
            continue;
        }
        if (!store_.holds(o.key, now)) {  // expired meanwhile: nothing is owed any more
            owed_.erase(owed_.begin() + static_cast<std::ptrdiff_t>(i));
            continue;
        }
        uint32_t sent = 0;
        const size_t at =
            push_record_rpcs(o.key, o.to, o.addr, OwnerKind::replicate, 0, now, &sent, o.from);
        counters_.replication_retries_total += sent;
        if (at == SIZE_MAX) {
            owed_.erase(owed_.begin() + static_cast<std::ptrdiff_t>(i));
            continue;
        }
        o.from = at;
        if (++o.tries >= MAX_OWED_TRIES) {
            ++counters_.replication_given_up_total;
            owed_.erase(owed_.begin() + static_cast<std::ptrdiff_t>(i));
            continue;
        }
        o.due = now + (MAINTENANCE_INTERVAL << o.tries);
        ++i;
    }
}

// key_stored is called when the store starts holding |key|: the holder schedules the key's
// rounds and remembers how far its replica set reaches.
void Node::key_stored(const Key& key, Time now) {
    store_.hold(key, radius_code(replica_radius(key)), now + secs(cfg_.republish_secs));
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
    store_.each_held([&](const Key& key, uint32_t& radius) {
        if (pushes >= MAX_PUSHES_PER_ROUND) return false;
        if (!store_.holds(key, now)) return true;
        if (radius_code(xor_distance(c.id, key)) <= radius) {
            uint32_t sent = 0;
            push_or_owe(key, c.id, c.addr, now, &sent);
            pushes += sent;
            radius = radius_code(replica_radius(key));
        }
        return true;
    });
}

void Node::replication_on_remove(const Contact& c, Time now) {
    // A replica-set member left our view: the next closest node takes its place and gets
    // the key from us, so copies are restored without waiting for the key's round.
    uint32_t pushes = 0;
    store_.each_held([&](const Key& key, uint32_t& radius) {
        if (pushes >= MAX_PUSHES_PER_ROUND) return false;
        if (!store_.holds(key, now)) return true;
        if (radius_code(xor_distance(c.id, key)) <= radius) {
            table_.closest(key, cfg_.replica, scratch_contacts_);
            const std::vector<Contact> set = scratch_contacts_;
            for (const Contact& m : set) {
                // A sure member already (codes are equal only for nearly equal distances).
                if (radius_code(xor_distance(m.id, key)) < radius) continue;
                uint32_t sent = 0;
                push_or_owe(key, m.id, m.addr, now, &sent);
                pushes += sent;
            }
            radius = radius_code(replica_radius(key));
        }
        return true;
    });
}

void Node::key_round(const Key& key, Time now) {
    const uint64_t now_unix = unix_now(now);
    // Our own record and value are signed and stored again within the lifetime the caller
    // asked for, and pushed to the key's replica set as it is now, so that replicas lost to
    // churn come back (DESIGN: ttl 24 h, republish 12 h).
    if (const StoredRecord* own = store_.local_record(key, now);
        own != nullptr && own->ts + own->ttl() > now_unix) {
        const uint64_t until = own->ts + own->ttl();
        const std::vector<std::string> addrs = own->addr_strings();  // own is replaced
        const std::vector<std::string_view> views(addrs.begin(), addrs.end());
        ++counters_.republishes_total;
        if (Err e = provide_round(key, views, until, 0, now); e != Err::ok) counters_.rejected(e);
    }
    if (const StoredValue* v = store_.value(key, now);
        v != nullptr && v->src.local && v->until_unix > now_unix) {
        const Bytes value = v->value;
        ++counters_.republishes_total;
        if (Err e = put_round(key, value, v->until_unix, 0, now); e != Err::ok)
            counters_.rejected(e);
    }
    // What others stored here goes to the key's current replica set (Kademlia's hourly
    // replication).
    if (store_.holds_others(key, now))
        start_publish(PublishKind::replicate, key, StoredRecord{}, {}, 0, now);
    store_.reschedule(key, now + secs(cfg_.republish_secs));
}

// store_due expires what is due, for at most MAX_EXPIRY_KEYS_PER_TURN keys, and runs the
// keys' rounds that came due, at most MAX_KEY_ROUNDS_PER_TURN at once; the rest wait for
// the next maintenance interval.
void Node::store_due(Time now) {
    store_.due(now, store_due_, MAX_EXPIRY_KEYS_PER_TURN);
    size_t rounds = 0;
    for (const Key& key : store_due_.rounds) {
        if (rounds++ < MAX_KEY_ROUNDS_PER_TURN) {
            key_round(key, now);
        } else {
            store_.reschedule(key, now + MAINTENANCE_INTERVAL);
        }
    }
}

}  // namespace svcdht::core
