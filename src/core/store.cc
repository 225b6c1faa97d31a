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
    size_t n = sizeof(StoredRecord) + RECORD_OVERHEAD;
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
    return r;
}

StoredRecord StoredRecord::from(const ProviderRecord& r, Time expires) {
    StoredRecord s;
    s.key = r.key;
    s.pk = r.pk;
    for (std::string_view a : r.addrs) s.addrs.emplace_back(a);
    s.ttl = r.ttl;
    s.ts = r.ts;
    s.sig = r.sig;
    s.expires = expires;
    return s;
}

Err Store::put_record(const ProviderRecord& rec, Time expires) {
    auto& list = records_[rec.key];
    for (StoredRecord& s : list) {
        if (s.pk != rec.pk) continue;
        // The same record again (a republish in the same second, or a replication push
        // racing the publisher) is stored already: that is a success. An older one, or a
        // different one with the same ts, is stale.
        if (rec.ts == s.ts && rec.sig == s.sig) return Err::ok;
        if (rec.ts <= s.ts) return Err::stale_record;
        StoredRecord fresh = StoredRecord::from(rec, expires);
        bytes_ = bytes_ - s.bytes() + fresh.bytes();
        s = std::move(fresh);
        expiry_.push({expires, rec.key, rec.pk, false});
        return Err::ok;
    }
    StoredRecord fresh = StoredRecord::from(rec, expires);
    if (list.size() >= limits_.max_providers_per_key ||
        n_records_ + values_.size() + 1 > limits_.max_items ||
        bytes_ + fresh.bytes() > limits_.max_bytes) {
        if (list.empty()) records_.erase(rec.key);
        return Err::store_full;
    }
    bytes_ += fresh.bytes();
    ++n_records_;
    list.push_back(std::move(fresh));
    expiry_.push({expires, rec.key, rec.pk, false});
    return Err::ok;
}

Err Store::put_value(const Key& key, ByteView value, Time expires) {
    auto it = values_.find(key);
    if (it != values_.end()) {
        if (expires > it->second.expires) {
            it->second.expires = expires;
            expiry_.push({expires, key, PublicKey{}, true});
        }
        return Err::ok;
    }
    const size_t cost = value.size() + VALUE_OVERHEAD;
    if (n_records_ + values_.size() + 1 > limits_.max_items || bytes_ + cost > limits_.max_bytes)
        return Err::store_full;
    values_.emplace(key, StoredValue{Bytes(value.begin(), value.end()), expires});
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
    std::sort(out.begin(), out.end(), [](const StoredRecord* a, const StoredRecord* b) {
        if (a->ts != b->ts) return a->ts > b->ts;
        return a->pk < b->pk;
    });
    if (out.size() > max) out.resize(max);
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
