// SPDX-License-Identifier: MIT
// The simulator's in-memory durable store (see mem_store.h). Its conversions follow
// src/embed/disk_store.cc: records keep ts and ttl, values an expiry in unix milliseconds.
#include "mem_store.h"

#include <algorithm>

namespace svcdht::sim {

using namespace core;

uint64_t MemStore::to_unix_ms(Time t) const {
    const int64_t us = unix_offset_us_ + static_cast<int64_t>(t);
    return us > 0 ? static_cast<uint64_t>(us) / 1000 : 0;
}

void MemStore::record_stored(const Key& key, const StoredRecord& r) {
    std::vector<std::string_view> views;
    const ProviderRecord rec = r.view(key, views);
    SavedRecord& s = records_[{key, r.pk}];
    s.ts = rec.ts;
    s.ttl = rec.ttl;
    s.alg = rec.alg;
    s.sig = rec.sig;
    s.addrs.assign(views.begin(), views.end());
    s.apk.assign(rec.apk.begin(), rec.apk.end());
    s.asig.assign(rec.asig.begin(), rec.asig.end());
    s.src = r.src();
    dirty_ = true;
}

void MemStore::record_removed(const Key& key, const PublicKey& publisher) {
    records_.erase({key, publisher});
    dirty_ = true;
}

void MemStore::value_stored(const Key& key, const StoredValue& v) {
    SavedValue& s = values_[key];
    s.value = v.value;
    s.expires_unix_ms = to_unix_ms(v.expires);
    s.until_unix = v.until_unix;
    s.src = v.src;
    dirty_ = true;
}

void MemStore::value_removed(const Key& key) {
    values_.erase(key);
    dirty_ = true;
}

MemStore::Loaded MemStore::restore(Node& node, Time now) {
    Loaded out;
    std::vector<std::string_view> views;
    for (auto it = records_.begin(); it != records_.end();) {
        const SavedRecord& s = it->second;
        views.assign(s.addrs.begin(), s.addrs.end());
        ProviderRecord rec;
        rec.key = it->first.first;
        rec.pk = it->first.second;
        rec.addrs = ItemList<std::string_view>::of(views);
        rec.ts = s.ts;
        rec.ttl = s.ttl;
        rec.sig = s.sig;
        rec.alg = s.alg;
        rec.apk = s.apk;
        rec.asig = s.asig;
        if (node.restore_record(rec, s.src, now) == Err::ok) {
            ++out.records;
            ++it;
        } else {
            ++out.dropped;  // the disk store deletes these too
            it = records_.erase(it);
        }
    }
    for (auto it = values_.begin(); it != values_.end();) {
        const SavedValue& s = it->second;
        if (node.restore_value(it->first, s.value, s.expires_unix_ms, s.until_unix, s.src, now) ==
            Err::ok) {
            ++out.values;
            ++it;
        } else {
            ++out.dropped;
            it = values_.erase(it);
        }
    }
    return out;
}

void MemStore::save_contacts(const RoutingTable& table) {
    struct Saved {
        NodeInfo node;
        Time last_seen;
        uint16_t fails;
    };
    std::vector<Saved> all;
    for (int i = 0; i < table.bucket_count(); ++i)
        for (const Contact& ct : table.bucket(i))
            if (ct.addr.valid()) all.push_back({{ct.id, ct.addr}, ct.last_seen, ct.fails});
    // The disk reads contacts back in id order and sorts them stably; so do we.
    std::sort(all.begin(), all.end(),
              [](const Saved& a, const Saved& b) { return a.node.id < b.node.id; });
    std::stable_sort(all.begin(), all.end(), [](const Saved& a, const Saved& b) {
        if (a.fails != b.fails) return a.fails < b.fails;
        return a.last_seen > b.last_seen;
    });
    contacts_.clear();
    for (const Saved& s : all) contacts_.push_back(s.node);
}

void MemStore::clear() {
    records_.clear();
    values_.clear();
    contacts_.clear();
    dirty_ = false;
}

}  // namespace svcdht::sim
