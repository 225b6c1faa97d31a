// SPDX-License-Identifier: MIT
// The Node with a durable store (an embedder that keeps the store on disk): what a restart
// puts back (records, values, the contacts to dial first), and acknowledgements of writes
// held until the embedder's commit of the loop turn that made them (group commit).
#include "node_internal.h"

namespace svcdht::core {

namespace {
// unix_to_engine turns a unix time in microseconds into engine time at |now| (whose unix
// time is |now_unix_us|), at least |now|.
Time unix_to_engine(uint64_t unix_us, uint64_t now_unix_us, Time now) {
    return unix_us > now_unix_us ? now + (unix_us - now_unix_us) : now;
}
}  // namespace

Err Node::restore_record(const ProviderRecord& rec, const StoreSource& src, Time now) {
    const InputCheck check{*this};
    const uint64_t now_unix = unix_now(now);
    // Today's limits, as admit_record applies them (a lowered max_ttl_secs, a clock or a
    // file gone wrong); the signature was checked when the record first came.
    if (rec.ttl > cfg_.max_ttl_secs) return Err::ttl_too_large;
    if (rec.ts > now_unix + MAX_RECORD_SKEW_SECS) return Err::record_from_future;
    const uint64_t end_unix = rec.ts + rec.ttl;
    if (end_unix <= now_unix) return Err::record_expired;
    const bool had = store_.holds(rec.key, now);
    if (Err e = store_.put_record(rec, now + secs(end_unix - now_unix), src); e != Err::ok)
        return e;
    if (!had) key_stored(rec.key, now);
    // Our own record's round comes republish_secs after it was signed (at once if that
    // passed while we were down), as if the node had never stopped.
    if (src.local) {
        const uint64_t now_us = static_cast<uint64_t>(cfg_.unix_epoch_offset_us) + now;
        const Time at = unix_to_engine((rec.ts + cfg_.republish_secs) * 1000000, now_us, now);
        store_.reschedule(rec.key, at);
    }
    return Err::ok;
}

Err Node::restore_value(const Key& key, ByteView value, uint64_t expires_unix_ms,
                        uint64_t until_unix, const StoreSource& src, Time now) {
    const InputCheck check{*this};
    const uint64_t now_us = static_cast<uint64_t>(cfg_.unix_epoch_offset_us) + now;
    // A value lives ttl_secs from its last store: an expiry beyond the longest lifetime
    // any setting allows is not one we wrote (and would overflow below).
    const uint64_t longest = std::max(cfg_.ttl_secs, cfg_.max_ttl_secs) + MAX_RECORD_SKEW_SECS;
    if (expires_unix_ms / 1000 > now_us / 1000000 + longest) return Err::ttl_too_large;
    if (expires_unix_ms * 1000 <= now_us) return Err::record_expired;
    const Time expires = unix_to_engine(expires_unix_ms * 1000, now_us, now);
    const bool had = store_.holds(key, now);
    if (Err e = store_.put_value(key, value, expires, src, until_unix); e != Err::ok) return e;
    if (!had) key_stored(key, now);
    if (src.local) {
        // Stored (or last republished) ttl_secs before it expires: its round comes
        // republish_secs after that.
        const Time stored = expires > secs(cfg_.ttl_secs) ? expires - secs(cfg_.ttl_secs) : 0;
        store_.reschedule(key, std::max(now, stored + secs(cfg_.republish_secs)));
    }
    return Err::ok;
}

void Node::warm_contacts(std::span<const NodeInfo> contacts, Time now) {
    const InputCheck check{*this};
    for (const NodeInfo& n : contacts) {
        if (n.id == self_->id || dial_by_id_.count(n.id) != 0 || !n.addr.valid()) continue;
        const DialId d = start_dial(n.addr, &n.id, now);
        dials_.at(d)->warm = true;
        ++warm_dialed_;
    }
    if (warm_dialed_ > 0)
        log(LogLevel::info, "dialing contacts from the last run",
            {{"contacts", std::to_string(warm_dialed_)}});
}

uint32_t Node::warm_required() const {
    const uint32_t want = cfg_.bootstrap_required != 0 ? cfg_.bootstrap_required : 3;
    return std::min(want, warm_dialed_);
}

void Node::warm_up(const Conn& c, Time now) {
    ++warm_up_;
    if (warm_up_ == warm_required())
        log(LogLevel::info, "routing ready from the contacts of the last run",
            {{"authenticated", std::to_string(warm_up_)}});
    // Until the join ends each one is a starting point of it, as a seed is. After it, a
    // saved contact coming up is only one more contact: unlike a late seed it gets no
    // self-lookup of its own, since up to 32 of them arrive at once (a join that knew too
    // little sweeps the buckets again instead: resweep_).
    if (!joined_) seed_up(session_contact(c), now);
}

void Node::set_journal(StoreJournal* j) {
    journal_ = j;
    store_.set_journal(j);
}

bool Node::hold_ack(const Conn& c, const DhtMsg& m) {
    if (journal_ == nullptr) return false;
    held_acks_.push_back({c.ref, m.op, m.rid});
    return true;
}

void Node::persisted(bool ok) {
    const InputCheck check{*this};
    ++commits_;
    persist_failed_ = !ok;
    if (!ok) {
        for (auto& [id, covering] : api_writes_)
            if (covering == commits_) covering = 0;
    }
    std::vector<HeldAck> acks;
    acks.swap(held_acks_);
    for (const HeldAck& a : acks) {
        Conn* c = conns_.find(a.peer);
        if (c == nullptr) continue;  // the session closed: nobody to tell
        if (!ok) counters_.rejected(Err::store_unavailable);
        DhtMsg r;
        r.op = a.op;
        r.rid = a.rid;
        r.code = ok ? Code::ok : code_for_err(Err::store_unavailable);
        reply(*c, r);
    }
    std::vector<std::unique_ptr<RequestResult>> results;
    results.swap(held_results_);
    for (std::unique_ptr<RequestResult>& res : results) {
        if (!ok) {
            res->err = Err::store_unavailable;
            counters_.error(res->err);
        }
        Action a;
        a.kind = Action::Kind::done;
        a.result = res.get();
        actions_.push_back(a);
        retired_.push_back(std::move(res));
    }
}

}  // namespace svcdht::core
