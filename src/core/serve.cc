// SPDX-License-Identifier: MIT
// The Node answering peers: decoding inbound Data frames, the token buckets (per peer and
// node-wide), and one handler per operation. Undecodable requests that name op and rid
// are answered 1400 (DESIGN 3.2); everything else is answered or counted.
#include <algorithm>

#include "node_internal.h"
#include "svcdht/blake3.h"
#include "svcdht/record.h"

namespace svcdht::core {

namespace {
void refill(double& tokens, Time& at, Time now, uint32_t rate, uint32_t burst) {
    if (now > at) {
        tokens = std::min<double>(burst, tokens + static_cast<double>(now - at) * rate / 1e6);
        at = now;
    }
}

bool take_token(double& tokens, Time& at, Time now, uint32_t rate, uint32_t burst) {
    refill(tokens, at, now, rate, burst);
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
}
}  // namespace

bool Node::decode_from(Conn& c, ByteView payload, DhtMsg* m) {
    DecodeHeader hdr;
    const Err e = decode_dht(payload, cfg_.max_value_bytes, m, &hdr);
    if (e == Err::ok) return true;
    counters_.frame_rejected(e);
    // A request we could read op, rid and f from is answered 1400 (DESIGN 3.2), so the
    // requester does not wait out a timeout; 1413 when a string is over max_value_bytes.
    if (hdr.answerable())
        answer_undecodable(c, hdr, e == Err::string_too_long ? Code::too_large : Code::bad_request);
    return false;
}

void Node::on_frame(PeerRef ref, ByteView payload, Time now) {
    const InputCheck check{*this};
    Conn* found = conns_.find(ref);
    if (found == nullptr) return;
    Conn& c = *found;
    c.kept = now;
    DhtMsg m;
    if (!decode_from(c, payload, &m)) return;
    if (m.is_request()) {
        if (c.routable) learn_contact(c.id, c.route(), now);
        handle_request(c, m, now);
    } else {
        handle_response(c, m, now);
    }
}

void Node::on_early_request(PeerRef ref, const SessionInfo& claimed, ByteView payload, Time now) {
    const InputCheck check{*this};
    if (conns_.contains(ref)) return;
    // The requester has not proved its id yet: it is answered like a client, from a
    // session the node does not keep (not in conns_, so nothing is ever sent to it but this
    // answer, and the claimed id neither reaches the table nor routes our RPCs), and its
    // request token comes from its host's bucket, as a client's does: claiming many ids
    // buys no quota.
    Conn c;
    c.ref = ref;
    c.id = claimed.id;
    c.remote = claimed.remote;
    SessionInfo as_client = claimed;
    as_client.ident_port = 0;
    c.rate = rate_key(as_client);
    DhtMsg m;
    if (!decode_from(c, payload, &m)) return;
    if (!m.is_request() || !is_read(m.op)) {
        // Nothing was asked of a peer that has not authenticated, and a store needs a proven
        // sender: refused, told why when it was a request.
        ++counters_.early_requests_refused_total;
        if (m.is_request()) reply_error(c, m.op, m.rid, Code::bad_request);
        return;
    }
    ++counters_.early_requests_served_total;
    handle_request(c, m, now);
}

void Node::reply(Conn& c, DhtMsg& m) {
    m.f = MsgFlag::response;
    ++counters_.rpcs_served_total[static_cast<size_t>(op_index(m.op))]
                                 [static_cast<size_t>(code_index(m.code))];
    emit_send(c.ref, m);
}

void Node::answer_undecodable(Conn& c, const DecodeHeader& hdr, Code code) {
    if (hdr.op_known()) return reply_error(c, static_cast<Op>(hdr.op), hdr.rid, code);
    // An op this node does not know: counted under frames_rejected{bad_op}, answered 1400
    // with the op echoed as sent.
    Bytes& b = action_buffer();
    encode_error_answer(hdr.op, hdr.rid, Code::bad_request, b);
    Action a;
    a.kind = Action::Kind::send;
    a.peer = c.ref;
    a.payload = b;
    actions_.push_back(a);
}

void Node::reply_error(Conn& c, Op op, uint64_t rid, Code code) {
    DhtMsg m;
    m.op = op;
    m.rid = rid;
    m.code = code;
    reply(c, m);
}

StoreSource Node::store_source(const Conn& c) const {
    uint64_t peer = 0;
    for (size_t i = 0; i < 8; ++i) peer = (peer << 8) | c.id.b[i];
    // Loopback and private addresses (while the diversity rules exempt them) are grouped by
    // host: in a private deployment every machine is then its own prefix.
    const bool by_host = cfg_.diversity.exempt_private && c.remote.is_exempt();
    return StoreSource::remote(peer, by_host ? host_group(c.remote) : prefix_group(c.remote));
}

Node::RateKey Node::rate_key(const SessionInfo& info) {
    RateKey k;
    if (info.ident_port != 0) {
        for (size_t i = 0; i < 8; ++i) k.bits = (k.bits << 8) | info.id.b[i];
        return k;
    }
    k.kind = info.remote.is_v4() ? 4 : 6;
    const size_t n = info.remote.is_v4() ? 4 : 8;
    for (size_t i = 0; i < n; ++i) k.bits = (k.bits << 8) | info.remote.ip[i];
    return k;
}

bool Node::take_peer_token(const RateKey& key, Time now) {
    auto it = rate_buckets_.find(key);
    if (it == rate_buckets_.end()) {
        if (rate_buckets_.size() >= std::max(rate_sweep_at_, RATE_SWEEP_MIN)) {
            prune_rate_buckets(now);
            rate_sweep_at_ = std::min(MAX_RATE_BUCKETS, 2 * rate_buckets_.size());
        }
        it =
            rate_buckets_.emplace(key, RateBucket{static_cast<double>(cfg_.peer_burst), now}).first;
    }
    return take_token(it->second.tokens, it->second.at, now, cfg_.peer_rate, cfg_.peer_burst);
}

void Node::prune_rate_buckets(Time now) {
    // A bucket that has refilled holds no debt: forgetting it changes nothing.
    const double full = cfg_.peer_burst;
    std::erase_if(rate_buckets_, [&](const auto& kv) {
        const RateBucket& b = kv.second;
        return b.tokens + static_cast<double>(now - b.at) * cfg_.peer_rate / 1e6 >= full;
    });
    if (rate_buckets_.size() < MAX_RATE_BUCKETS) return;
    auto oldest = rate_buckets_.begin();
    for (auto it = rate_buckets_.begin(); it != rate_buckets_.end(); ++it)
        if (it->second.at < oldest->second.at) oldest = it;
    rate_buckets_.erase(oldest);
}

// refused_write counts a refused ADD_PROVIDER or PUT_VALUE and warns (rate-limited).
void Node::refused_write(const Conn& c, const DhtMsg& m, const Key& key, Err e) {
    counters_.rejected(e);
    if (log_on(LogLevel::warn))
        log(LogLevel::warn, "store refused a write",
            {{"peer_id", c.id.hex()},
             {"op", op_name(m.op)},
             {"key", key.cid()},
             {"reason", err_name(e)}});
}

void Node::handle_request(Conn& c, const DhtMsg& m, Time now) {
    if (!take_peer_token(c.rate, now)) {
        counters_.rejected(Err::quota_exceeded);
        if (log_on(LogLevel::warn))
            log(LogLevel::warn, "peer over its request quota: 1429",
                {{"peer_id", c.id.hex()}, {"op", op_name(m.op)}});
        return reply_error(c, m.op, m.rid, Code::quota_exceeded);
    }
    if (m.op == Op::add_provider || m.op == Op::put_value) {
        if (degraded_) {
            counters_.rejected(Err::degraded);
            return reply_error(c, m.op, m.rid, Code::busy);
        }
        // A write takes a token of its own budget and one of the node's, but only while
        // the node's holds more than half its burst: reads keep that half.
        refill(write_tokens_, write_tokens_at_, now, cfg_.node_write_rate, cfg_.node_write_rate);
        refill(node_tokens_, node_tokens_at_, now, cfg_.node_rate, cfg_.node_rate);
        // (A node_rate under 4 has no half to keep: writes then share the bucket.)
        const double reserve = cfg_.node_rate >= 4 ? cfg_.node_rate / 2.0 : 0;
        if (write_tokens_ < 1 || node_tokens_ < 1 + reserve) {
            counters_.rejected(Err::writes_shed);
            if (log_on(LogLevel::warn))
                log(LogLevel::warn, "writes shed under load: 1501",
                    {{"peer_id", c.id.hex()}, {"op", op_name(m.op)}});
            return reply_error(c, m.op, m.rid, Code::busy);
        }
        write_tokens_ -= 1;
        node_tokens_ -= 1;
    } else if (!take_token(node_tokens_, node_tokens_at_, now, cfg_.node_rate, cfg_.node_rate)) {
        counters_.rejected(Err::busy);
        if (log_on(LogLevel::warn))
            log(LogLevel::warn, "node over its request rate: 1501",
                {{"peer_id", c.id.hex()}, {"op", op_name(m.op)}});
        return reply_error(c, m.op, m.rid, Code::busy);
    }
    DhtMsg r;
    r.op = m.op;
    r.rid = m.rid;
    auto closest_nodes = [&](const NodeId& target) {
        // The requester and contacts that are failing are left out of answers.
        table_.closest(target, cfg_.k + 1, scratch_contacts_, true);
        scratch_nodes_.clear();
        for (const Contact& ct : scratch_contacts_) {
            if (ct.id == c.id) continue;
            if (scratch_nodes_.size() >= cfg_.k) break;
            scratch_nodes_.push_back({ct.id, ct.addr});
        }
        r.has_nodes = true;
        r.nodes = ItemList<NodeInfo>::of(scratch_nodes_);
    };
    switch (m.op) {
        case Op::ping:
            r.has_obs = true;
            r.obs = c.remote;
            break;
        case Op::find_node: closest_nodes(m.target); break;
        case Op::get_providers: {
            store_.records(m.key, now, MAX_PROVIDERS_PER_ANSWER, scratch_records_);
            scratch_addr_views_.resize(scratch_records_.size());
            scratch_recs_.clear();
            for (size_t i = 0; i < scratch_records_.size(); ++i)
                scratch_recs_.push_back(scratch_records_[i]->view(m.key, scratch_addr_views_[i]));
            r.has_providers = true;
            r.providers = ItemList<ProviderRecord>::of(scratch_recs_);
            closest_nodes(m.key);
            break;
        }
        case Op::add_provider: {
            Err e = admit_record(m.rec, *env_.crypto, unix_now(now), cfg_.max_ttl_secs,
                                 cfg_.require_pq);
            if (e == Err::pq_required) ++counters_.pq_downgrade_attempts_total;
            if (e == Err::ok && persist_failed_) e = Err::store_unavailable;
            if (e == Err::ok) {
                const uint64_t end_unix = m.rec.ts + m.rec.ttl;
                const Time expires = now + secs(end_unix - unix_now(now));
                const bool had = store_.holds(m.rec.key, now);
                StoreSource src = store_source(c);
                src.from_publisher = node_id_of(m.rec.pk) == c.id;
                e = store_.put_record(m.rec, expires, src);
                if (e == Err::ok && !had) key_stored(m.rec.key, now);
                if (e == Err::ok && hold_ack(c, m)) return;
            }
            if (e != Err::ok) refused_write(c, m, m.rec.key, e);
            r.code = code_for_err(e);
            break;
        }
        case Op::put_value: {
            Err e = Err::ok;
            if (m.val.size() > cfg_.max_value_bytes) {
                e = Err::value_too_large;
            } else if (NodeId::from(blake3(m.val)) != m.key) {
                e = Err::key_mismatch;
            } else if (persist_failed_) {
                e = Err::store_unavailable;
            } else {
                const bool had = store_.holds(m.key, now);
                e = store_.put_value(m.key, m.val, now + secs(cfg_.ttl_secs), store_source(c));
                if (e == Err::ok && !had) key_stored(m.key, now);
                if (e == Err::ok && hold_ack(c, m)) return;
            }
            if (e != Err::ok) refused_write(c, m, m.key, e);
            r.code = code_for_err(e);
            break;
        }
        case Op::get_value: {
            const StoredValue* v = store_.value(m.key, now);
            if (v != nullptr) {
                r.has_val = true;
                r.val = v->value;
            } else {
                r.code = Code::not_found;
                closest_nodes(m.key);
            }
            break;
        }
    }
    reply(c, r);
}

}  // namespace svcdht::core
