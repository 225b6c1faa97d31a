// SPDX-License-Identifier: MIT
// Provider records and values with TTL expiry driven by the engine's timer. Every map is
// ordered, so snapshots and replication walk keys in a deterministic order.
#include "svcdht/store.h"

#include <algorithm>

namespace svcdht::core {

namespace {
// Rough per-entry overhead of the containers, so the byte budget tracks real memory.
constexpr size_t RECORD_OVERHEAD = 64;
constexpr size_t VALUE_OVERHEAD = 96;
}  // namespace

size_t StoredRecord::bytes() const {
    size_t n = sizeof(StoredRecord) + RECORD_OVERHEAD + alg_key_sig.size();
    for (const auto& a : addrs) n += a.size() + sizeof(std::string);
    return n;
}

ProviderRecord StoredRecord::view(std::vector<std::string_view>& addr_views) const {
    addr_views.assign(addrs.begin(), addrs.end());
    ProviderRecord r;
    r.key = key;
    r.pk = pk;
    r.addrs = ItemList<std::string_view>::of(addr_views);
    r.ttl = ttl;
    r.ts = ts;
    r.sig = sig;
    r.alg = alg;
    if (alg != SIG_ED25519) {
        r.apk = ByteView(alg_key_sig).subspan(0, apk_len);
        r.asig = ByteView(alg_key_sig).subspan(apk_len);
    }
    return r;
}

bool StoredRecord::same_signature(const ProviderRecord& r) const {
    if (r.alg != alg) return false;
    if (alg == SIG_ED25519) return r.sig == sig;
    const ByteView mine = ByteView(alg_key_sig).subspan(apk_len);
    return std::equal(mine.begin(), mine.end(), r.asig.begin(), r.asig.end());
}

StoredRecord StoredRecord::from(const ProviderRecord& r, Time expires) {
    StoredRecord s;
    s.key = r.key;
    s.pk = r.pk;
    for (std::string_view a : r.addrs) s.addrs.emplace_back(a);
    s.ttl = r.ttl;
    s.ts = r.ts;
    s.sig = r.sig;
    s.alg = r.alg;
    if (r.alg != SIG_ED25519) {
        s.apk_len = static_cast<uint32_t>(r.apk.size());
        append(s.alg_key_sig, r.apk);
        append(s.alg_key_sig, r.asig);
    }
    s.expires = expires;
    return s;
}

void Store::charge(const StoreSource& src, size_t bytes, bool add) {
    if (src.local) return;
    for (auto* m : {&by_peer_, &by_prefix_}) {
        const uint64_t k = m == &by_peer_ ? src.peer : src.prefix;
        Usage& u = (*m)[k];
        if (add) {
            ++u.items;
            u.bytes += bytes;
        } else {
            u.items -= std::min<size_t>(u.items, 1);
            u.bytes -= std::min(u.bytes, bytes);
            if (u.items == 0) m->erase(k);
        }
    }
}

Err Store::check_share(const StoreSource& src, size_t bytes) const {
    if (src.local) return Err::ok;
    auto over = [&](const std::map<uint64_t, Usage>& m, uint64_t k, uint32_t pct) {
        auto it = m.find(k);
        const Usage u = it == m.end() ? Usage{} : it->second;
        return (u.items + 1) * 100 > limits_.max_items * pct ||
               (u.bytes + bytes) * 100 > limits_.max_bytes * pct;
    };
    if (over(by_peer_, src.peer, limits_.peer_share_pct)) return Err::store_peer_quota;
    if (over(by_prefix_, src.prefix, limits_.prefix_share_pct)) return Err::store_prefix_quota;
    return Err::ok;
}

std::ptrdiff_t Store::victim(const std::vector<StoredRecord>& list, const StoreSource& src) const {
    // Records per sender prefix in this list (local records are not candidates), and the
    // one held longest in each.
    struct Group {
        uint64_t prefix;
        size_t count;
        std::ptrdiff_t oldest;
    };
    std::vector<Group> groups;
    for (size_t i = 0; i < list.size(); ++i) {
        const StoredRecord& r = list[i];
        if (r.src.local) continue;
        auto g = std::find_if(groups.begin(), groups.end(),
                              [&](const Group& x) { return x.prefix == r.src.prefix; });
        if (g == groups.end()) {
            groups.push_back({r.src.prefix, 1, static_cast<std::ptrdiff_t>(i)});
            continue;
        }
        ++g->count;
        if (r.arrival < list[static_cast<size_t>(g->oldest)].arrival)
            g->oldest = static_cast<std::ptrdiff_t>(i);
    }
    if (groups.empty()) return -1;
    size_t mine = 0;
    const Group* own = nullptr;
    const Group* biggest = nullptr;
    for (const Group& g : groups) {
        if (!src.local && g.prefix == src.prefix) {
            mine = g.count;
            own = &g;
        }
        if (biggest == nullptr || g.count > biggest->count ||
            (g.count == biggest->count && list[static_cast<size_t>(g.oldest)].arrival <
                                              list[static_cast<size_t>(biggest->oldest)].arrival))
            biggest = &g;
    }
    // A newcomer from a prefix with fewer records than the largest takes a place of the
    // largest; otherwise it competes within its own prefix.
    if (mine < biggest->count || own == nullptr) return biggest->oldest;
    return own->oldest;
}

Err Store::put_record(const ProviderRecord& rec, Time expires, const StoreSource& src) {
    auto& list = records_[rec.key];
    for (StoredRecord& s : list) {
        if (s.pk != rec.pk) continue;
        // The same record again (a republish in the same second, or a replication push
        // racing the publisher) is stored already: that is a success. An older one, or a
        // different one with the same ts, is stale.
        if (rec.ts == s.ts && s.same_signature(rec)) return Err::ok;
        if (rec.ts <= s.ts) return Err::stale_record;
        StoredRecord fresh = StoredRecord::from(rec, expires);
        // A refresh keeps the entry's place and account, unless the publisher itself (or
        // we) sent it: then it moves to that account.
        fresh.src = src.local || src.from_publisher ? src : s.src;
        fresh.arrival = s.arrival;
        charge(s.src, s.bytes(), false);
        charge(fresh.src, fresh.bytes(), true);
        bytes_ = bytes_ - s.bytes() + fresh.bytes();
        s = std::move(fresh);
        expiry_.push({expires, rec.key, rec.pk, false});
        return Err::ok;
    }
    StoredRecord fresh = StoredRecord::from(rec, expires);
    fresh.src = src;
    fresh.arrival = ++arrivals_;
    const size_t cost = fresh.bytes();
    Err e = check_share(src, cost);
    std::ptrdiff_t out = -1;
    if (e == Err::ok && list.size() >= limits_.max_providers_per_key) {
        out = victim(list, src);
        if (out < 0) e = Err::store_full;
    }
    const size_t freed = out < 0 ? 0 : list[static_cast<size_t>(out)].bytes();
    const size_t items = n_records_ + values_.size() - (out < 0 ? 0 : 1);
    if (e == Err::ok &&
        (items + 1 > limits_.max_items || bytes_ - freed + cost > limits_.max_bytes))
        e = Err::store_full;
    if (e != Err::ok) {
        if (list.empty()) records_.erase(rec.key);
        return e;
    }
    if (out >= 0) {
        // Its queued expiry no longer matches anything and is skipped when it comes due.
        const StoredRecord& gone = list[static_cast<size_t>(out)];
        charge(gone.src, gone.bytes(), false);
        bytes_ -= gone.bytes();
        --n_records_;
        ++displaced_;
        list.erase(list.begin() + out);
    }
    charge(src, cost, true);
    bytes_ += cost;
    ++n_records_;
    list.push_back(std::move(fresh));
    expiry_.push({expires, rec.key, rec.pk, false});
    return Err::ok;
}

Err Store::put_value(const Key& key, ByteView value, Time expires, const StoreSource& src) {
    auto it = values_.find(key);
    if (it != values_.end()) {
        if (expires > it->second.expires) {
            it->second.expires = expires;
            expiry_.push({expires, key, PublicKey{}, true});
        }
        return Err::ok;
    }
    const size_t cost = value.size() + VALUE_OVERHEAD;
    if (Err e = check_share(src, cost); e != Err::ok) return e;
    if (n_records_ + values_.size() + 1 > limits_.max_items || bytes_ + cost > limits_.max_bytes)
        return Err::store_full;
    values_.emplace(key, StoredValue{Bytes(value.begin(), value.end()), expires, src});
    charge(src, cost, true);
    bytes_ += cost;
    expiry_.push({expires, key, PublicKey{}, true});
    return Err::ok;
}

void Store::records(const Key& key, Time now, size_t max,
                    std::vector<const StoredRecord*>& out) const {
    out.clear();
    auto it = records_.find(key);
    if (it == records_.end()) return;
    for (const StoredRecord& s : it->second)
        if (s.expires > now) out.push_back(&s);
    auto newer = [](const StoredRecord* a, const StoredRecord* b) {
        if (a->ts != b->ts) return a->ts > b->ts;
        return a->pk < b->pk;
    };
    std::sort(out.begin(), out.end(), newer);
    if (out.size() <= max) return;
    // More than one answer holds: take the newest of every sender prefix in turn, so that
    // publishers from many networks crowding one list with fresh timestamps cannot push a publisher
    // from another network out of every answer.
    std::vector<const StoredRecord*> picked;
    picked.reserve(max);
    std::vector<bool> taken(out.size(), false);
    while (picked.size() < max) {
        std::vector<uint64_t> round;  // prefixes served this round
        bool local_served = false;
        for (size_t i = 0; i < out.size() && picked.size() < max; ++i) {
            if (taken[i]) continue;
            const StoreSource& src = out[i]->src;
            if (src.local) {
                if (local_served) continue;
                local_served = true;
            } else {
                if (std::find(round.begin(), round.end(), src.prefix) != round.end()) continue;
                round.push_back(src.prefix);
            }
            taken[i] = true;
            picked.push_back(out[i]);
        }
    }
    std::sort(picked.begin(), picked.end(), newer);
    out.swap(picked);
}

const StoredValue* Store::value(const Key& key, Time now) const {
    auto it = values_.find(key);
    if (it == values_.end() || it->second.expires <= now) return nullptr;
    return &it->second;
}

bool Store::holds(const Key& key, Time now) const {
    if (value(key, now) != nullptr) return true;
    auto it = records_.find(key);
    if (it == records_.end()) return false;
    for (const StoredRecord& s : it->second)
        if (s.expires > now) return true;
    return false;
}

size_t Store::expire(Time now) {
    size_t removed = 0;
    while (!expiry_.empty() && expiry_.top().at <= now) {
        const Expiry e = expiry_.top();
        expiry_.pop();
        // An entry whose record was replaced or extended since is stale: the live
        // expiry differs from the one queued.
        if (e.is_value) {
            auto it = values_.find(e.key);
            if (it == values_.end() || it->second.expires != e.at) continue;
            charge(it->second.src, it->second.value.size() + VALUE_OVERHEAD, false);
            bytes_ -= it->second.value.size() + VALUE_OVERHEAD;
            values_.erase(it);
            ++removed;
            continue;
        }
        auto it = records_.find(e.key);
        if (it == records_.end()) continue;
        auto& list = it->second;
        for (size_t i = 0; i < list.size(); ++i) {
            if (list[i].pk != e.pk || list[i].expires != e.at) continue;
            charge(list[i].src, list[i].bytes(), false);
            bytes_ -= list[i].bytes();
            list.erase(list.begin() + static_cast<std::ptrdiff_t>(i));
            --n_records_;
            ++removed;
            break;
        }
        if (list.empty()) records_.erase(it);
    }
    return removed;
}

Time Store::next_expiry() const {
    return expiry_.empty() ? NEVER : expiry_.top().at;
}

void Store::keys(std::vector<Key>& out) const {
    out.clear();
    auto r = records_.begin();
    auto v = values_.begin();
    while (r != records_.end() || v != values_.end()) {
        if (v == values_.end() || (r != records_.end() && r->first < v->first)) {
            out.push_back((r++)->first);
        } else if (r == records_.end() || v->first < r->first) {
            out.push_back((v++)->first);
        } else {
            out.push_back(r->first);
            ++r;
            ++v;
        }
    }
}

void Store::snapshot(Time now, std::vector<StoreEntryInfo>& out) const {
    out.clear();
    for (const auto& [key, list] : records_) {
        for (const StoredRecord& s : list) {
            if (s.expires <= now) continue;
            StoreEntryInfo e;
            e.key = key;
            e.publisher = s.pk;
            e.addrs = s.addrs;
            e.expires = s.expires;
            out.push_back(std::move(e));
        }
    }
    for (const auto& [key, v] : values_) {
        if (v.expires <= now) continue;
        StoreEntryInfo e;
        e.is_value = true;
        e.key = key;
        e.value_len = v.value.size();
        e.expires = v.expires;
        out.push_back(std::move(e));
    }
}

}  // namespace svcdht::core
