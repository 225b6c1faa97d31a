// SPDX-License-Identifier: MIT
// The Node storing things on others: provide and put rounds (local store, then the replica
// closest nodes), republishing our own records before they expire, and holders'
// replication (to the current closest nodes, and to a node that joins close to a key).
#include <algorithm>

#include "node_internal.h"
#include "svcdht/blake3.h"
#include "svcdht/record.h"

namespace svcdht::core {

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
    start_publish(PublishKind::record, key, std::move(rec), {}, api, now);
}

void Node::put_round(const Key& key, const Published& pub, RequestId api, Time now) {
    const bool had = store_.holds(key, now);
    const Err e = store_.put_value(key, pub.value, now + secs(cfg_.ttl_secs));
    if (e == Err::ok && !had) key_stored(key, now);
    const uint64_t now_unix = unix_now(now);
    if (pub.until_unix > now_unix + cfg_.republish_secs)
        repub_queue_.insert({now + secs(cfg_.republish_secs), key});
    start_publish(PublishKind::value, key, StoredRecord{}, pub.value, api, now);
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
            req.rec = p.rec.view(views);
            if (send_rpc(n.id, n.addr, true, req, OwnerKind::publish, pid, now) != 0) ++sent;
        } else if (p.kind == PublishKind::value) {
            DhtMsg req;
            req.op = Op::put_value;
            req.has_key = true;
            req.key = p.key;
            req.has_val = true;
            req.val = p.value;
            if (send_rpc(n.id, n.addr, true, req, OwnerKind::publish, pid, now) != 0) ++sent;
        } else {
            push_record_rpcs(p.key, n.id, n.addr, OwnerKind::publish, pid, now, &sent);
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

void Node::push_record_rpcs(const Key& key, const NodeId& to, const PeerAddr& addr,
                            OwnerKind owner_kind, uint64_t owner_id, Time now, uint32_t* sent) {
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
            push_record_rpcs(it->first, c.id, c.addr, OwnerKind::replicate, 0, now, &sent);
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
                push_record_rpcs(key, m.id, m.addr, OwnerKind::replicate, 0, now, &sent);
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

}  // namespace svcdht::core
