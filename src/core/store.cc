// SPDX-License-Identifier: MIT
// Provider records and values with TTL expiry driven by the engine's timer. Every map is
// ordered, so snapshots and replication walk keys in a deterministic order.
#include "svcdht/store.h"

#include <algorithm>
#include <bit>

#include "svcdht/limits.h"

namespace svcdht::core {

namespace {
// Rough per-entry overhead of the containers, so the byte budget tracks real memory.
constexpr size_t RECORD_OVERHEAD = 64;
constexpr size_t VALUE_OVERHEAD = 96;
}  // namespace

static_assert(TTL_SECS_RANGE.max <= UINT32_MAX, "an admitted ttl fits StoredRecord's 32 bits");
static_assert(MAX_ADDR_LEN < 0x8000, "an address length fits two bytes");

void StoredRecord::set_src(const StoreSource& s) {
    local_ = s.local;
    peer_ = s.peer;
    prefix_ = s.prefix;
    from_publisher_ = s.from_publisher;
}

void StoredRecord::addrs(std::vector<std::string_view>& out) const {
    out.clear();
    const uint8_t* p = addr_.get();
    const uint8_t* end = p + addr_len_;
    while (p < end) {
        size_t n = *p++;
        if (n & 0x80) n = ((n & 0x7f) << 8) | *p++;
        out.emplace_back(reinterpret_cast<const char*>(p), n);
        p += n;
    }
}

std::vector<std::string> StoredRecord::addr_strings() const {
    std::vector<std::string_view> v;
    addrs(v);
    return {v.begin(), v.end()};
}

size_t StoredRecord::bytes() const {
    return sizeof(StoredRecord) + RECORD_OVERHEAD + addr_len_ +
           (alt_ ? sizeof(AltSig) + alt_->key_sig.size() : 0);
}

ProviderRecord StoredRecord::view(const Key& key, std::vector<std::string_view>& addr_views) const {
    addrs(addr_views);
    ProviderRecord r;
    r.key = key;
    r.pk = pk;
    r.addrs = ItemList<std::string_view>::of(addr_views);
    r.ttl = ttl_;
    r.ts = ts;
    r.sig = sig;
    if (alt_) {
        r.alg = alt_->alg;
        r.apk = ByteView(alt_->key_sig).subspan(0, alt_->apk_len);
        r.asig = ByteView(alt_->key_sig).subspan(alt_->apk_len);
    }
    return r;
}

bool StoredRecord::same_signature(const ProviderRecord& r) const {
    if (r.alg != alg()) return false;
    if (!alt_) return r.sig == sig;
    const ByteView mine = ByteView(alt_->key_sig).subspan(alt_->apk_len);
    return std::equal(mine.begin(), mine.end(), r.asig.begin(), r.asig.end());
}

StoredRecord StoredRecord::from(const ProviderRecord& r, Time expires) {
    StoredRecord s;
    s.pk = r.pk;
    size_t len = 0;
    for (std::string_view a : r.addrs) len += a.size() + (a.size() < 0x80 ? 1 : 2);
    if (len > 0) {
        s.addr_ = std::make_unique_for_overwrite<uint8_t[]>(len);
        uint8_t* p = s.addr_.get();
        for (std::string_view a : r.addrs) {
            if (a.size() < 0x80) {
                *p++ = static_cast<uint8_t>(a.size());
            } else {
                *p++ = static_cast<uint8_t>(0x80 | (a.size() >> 8));
                *p++ = static_cast<uint8_t>(a.size() & 0xff);
            }
            std::copy(a.begin(), a.end(), p);
            p += a.size();
        }
    }
    s.addr_len_ = static_cast<uint16_t>(len);
    s.ttl_ = static_cast<uint32_t>(r.ttl);
    s.ts = r.ts;
    s.sig = r.sig;
    if (r.alg != SIG_ED25519) {
        s.alt_ = std::make_unique<AltSig>();
        s.alt_->alg = r.alg;
        s.alt_->apk_len = static_cast<uint32_t>(r.apk.size());
        append(s.alt_->key_sig, r.apk);
        append(s.alt_->key_sig, r.asig);
    }
    s.expires = expires;
    return s;
}

uint32_t radius_code(const NodeId& d) {
    for (size_t i = 0; i < d.b.size(); ++i) {
        if (d.b[i] == 0) continue;
        const auto lead = static_cast<unsigned>(std::countl_zero(d.b[i]));     // within this byte
        const auto bits = static_cast<uint32_t>((d.b.size() - i) * 8 - lead);  // 1..256
        // The 23 bits after the leading one (fewer at the very end of the id).
        uint64_t window = 0;
        for (size_t j = i; j < std::min(d.b.size(), i + 5); ++j)
            window |= static_cast<uint64_t>(d.b[j]) << (8 * (4 - (j - i)));
        const uint32_t mantissa = static_cast<uint32_t>((window << (24 + lead + 1)) >> (64 - 23));
        return (bits << 23) | mantissa;
    }
    return 0;
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

std::ptrdiff_t Store::victim(const Held& h, const StoreSource& src) const {
    // Records per sender prefix in this list (local records are not candidates), and the
    // one held longest in each.
    struct Group {
        uint64_t prefix;
        size_t count;
        std::ptrdiff_t oldest;
    };
    std::vector<Group> groups;
    for (size_t i = 0; i < h.count(); ++i) {
        const StoredRecord& r = h.at(i);
        const StoreSource rs = r.src();
        if (rs.local) continue;
        auto g = std::find_if(groups.begin(), groups.end(),
                              [&](const Group& x) { return x.prefix == rs.prefix; });
        if (g == groups.end()) {
            groups.push_back({rs.prefix, 1, static_cast<std::ptrdiff_t>(i)});
            continue;
        }
        ++g->count;
        if (r.arrival < h.at(static_cast<size_t>(g->oldest)).arrival)
            g->oldest = static_cast<std::ptrdiff_t>(i);
    }
    if (groups.empty()) return -1;
    auto arrival = [&](const Group& g) { return h.at(static_cast<size_t>(g.oldest)).arrival; };
    size_t mine = 0;
    const Group* own = nullptr;
    const Group* biggest = nullptr;
    for (const Group& g : groups) {
        if (!src.local && g.prefix == src.prefix) {
            mine = g.count;
            own = &g;
        }
        if (biggest == nullptr || g.count > biggest->count ||
            (g.count == biggest->count && arrival(g) < arrival(*biggest)))
            biggest = &g;
    }
    // A newcomer from a prefix with fewer records than the largest takes a place of the
    // largest; otherwise it competes within its own prefix.
    if (mine < biggest->count || own == nullptr) return biggest->oldest;
    return own->oldest;
}

void Store::add_record(Held& h, StoredRecord r) {
    if (!h.has_first) {
        h.first = std::move(r);
        h.has_first = 1;
        return;
    }
    if (!h.extra) h.extra = std::make_unique<Extra>();
    h.extra->more.push_back(std::move(r));
}

void Store::remove_record(Entry& e, size_t i) {
    Held& h = e.second;
    StoredRecord& gone = h.at(i);
    if (journal_ != nullptr) journal_->record_removed(e.first, gone.pk);
    charge(gone.src(), gone.bytes(), false);
    bytes_ -= gone.bytes();
    --n_records_;
    const bool more = h.extra && !h.extra->more.empty();
    if (more) {
        if (&gone != &h.extra->more.back()) gone = std::move(h.extra->more.back());
        h.extra->more.pop_back();
    } else {
        h.first = StoredRecord{};
        h.has_first = 0;
    }
    if (h.extra && h.extra->more.empty() && !h.extra->value) h.extra.reset();
}

Err Store::put_record(const ProviderRecord& rec, Time expires, const StoreSource& src) {
    auto [it, added] = keys_.try_emplace(rec.key);
    Held& h = it->second;
    for (size_t i = 0; i < h.count(); ++i) {
        StoredRecord& s = h.at(i);
        if (s.pk != rec.pk) continue;
        // The same record again (a republish in the same second, or a replication push
        // racing the publisher) is stored already: that is a success. An older one, or a
        // different one with the same ts, is stale.
        if (rec.ts == s.ts && s.same_signature(rec)) return Err::ok;
        if (rec.ts <= s.ts) return Err::stale_record;
        StoredRecord fresh = StoredRecord::from(rec, expires);
        // A refresh keeps the entry's place and account, unless the publisher itself (or
        // we) sent it: then it moves to that account.
        fresh.set_src(src.local || src.from_publisher ? src : s.src());
        fresh.arrival = s.arrival;
        charge(s.src(), s.bytes(), false);
        charge(fresh.src(), fresh.bytes(), true);
        bytes_ = bytes_ - s.bytes() + fresh.bytes();
        s = std::move(fresh);
        if (journal_ != nullptr) journal_->record_stored(rec.key, s);
        settle(*it);
        return Err::ok;
    }
    StoredRecord fresh = StoredRecord::from(rec, expires);
    fresh.set_src(src);
    fresh.arrival = ++arrivals_;
    const size_t cost = fresh.bytes();
    Err e = check_share(src, cost);
    std::ptrdiff_t out = -1;
    if (e == Err::ok && h.count() >= limits_.max_providers_per_key) {
        out = victim(h, src);
        if (out < 0) e = Err::store_full;
    }
    const size_t freed = out < 0 ? 0 : h.at(static_cast<size_t>(out)).bytes();
    const size_t items = n_records_ + n_values_ - (out < 0 ? 0 : 1);
    if (e == Err::ok &&
        (items + 1 > limits_.max_items || bytes_ - freed + cost > limits_.max_bytes))
        e = Err::store_full;
    if (e != Err::ok) {
        if (added) keys_.erase(it);
        return e;
    }
    if (out >= 0) {
        remove_record(*it, static_cast<size_t>(out));
        ++displaced_;
    }
    charge(src, cost, true);
    bytes_ += cost;
    ++n_records_;
    add_record(h, std::move(fresh));
    if (journal_ != nullptr) journal_->record_stored(rec.key, h.at(h.count() - 1));
    settle(*it);
    return Err::ok;
}

Err Store::put_value(const Key& key, ByteView value, Time expires, const StoreSource& src,
                     uint64_t until_unix) {
    auto found = keys_.find(key);
    if (found != keys_.end() && found->second.value() != nullptr) {
        StoredValue& v = *found->second.extra->value;
        if (until_unix <= v.until_unix && expires <= v.expires) return Err::ok;
        v.until_unix = std::max(v.until_unix, until_unix);
        v.expires = std::max(v.expires, expires);
        if (journal_ != nullptr) journal_->value_stored(key, v);
        settle(*found);
        return Err::ok;
    }
    const size_t cost = value.size() + VALUE_OVERHEAD;
    if (Err e = check_share(src, cost); e != Err::ok) return e;
    if (n_records_ + n_values_ + 1 > limits_.max_items || bytes_ + cost > limits_.max_bytes)
        return Err::store_full;
    Held& h = keys_[key];
    if (!h.extra) h.extra = std::make_unique<Extra>();
    h.extra->value = StoredValue{Bytes(value.begin(), value.end()), expires, src, until_unix};
    if (journal_ != nullptr) journal_->value_stored(key, *h.extra->value);
    charge(src, cost, true);
    bytes_ += cost;
    ++n_values_;
    settle(*keys_.find(key));
    return Err::ok;
}

void Store::records(const Key& key, Time now, size_t max,
                    std::vector<const StoredRecord*>& out) const {
    out.clear();
    auto it = keys_.find(key);
    if (it == keys_.end()) return;
    const Held& h = it->second;
    for (size_t i = 0; i < h.count(); ++i)
        if (h.at(i).expires > now) out.push_back(&h.at(i));
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
            const StoreSource src = out[i]->src();
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

const StoredRecord* Store::local_record(const Key& key, Time now) const {
    auto it = keys_.find(key);
    if (it == keys_.end()) return nullptr;
    const Held& h = it->second;
    for (size_t i = 0; i < h.count(); ++i)
        if (h.at(i).src().local && h.at(i).expires > now) return &h.at(i);
    return nullptr;
}

const StoredValue* Store::value(const Key& key, Time now) const {
    auto it = keys_.find(key);
    if (it == keys_.end()) return nullptr;
    const StoredValue* v = it->second.value();
    return v == nullptr || v->expires <= now ? nullptr : v;
}

bool Store::holds(const Key& key, Time now) const {
    if (value(key, now) != nullptr) return true;
    auto it = keys_.find(key);
    if (it == keys_.end()) return false;
    for (size_t i = 0; i < it->second.count(); ++i)
        if (it->second.at(i).expires > now) return true;
    return false;
}

bool Store::holds_others(const Key& key, Time now) const {
    if (value(key, now) != nullptr) return true;
    auto it = keys_.find(key);
    if (it == keys_.end()) return false;
    for (size_t i = 0; i < it->second.count(); ++i) {
        const StoredRecord& r = it->second.at(i);
        if (r.expires > now && !r.src().local) return true;
    }
    return false;
}

void Store::hold(const Key& key, uint32_t radius, Time round_at) {
    auto it = keys_.find(key);
    if (it == keys_.end()) return;
    it->second.radius = radius;
    it->second.round_at = round_at;
    settle(*it);
}

void Store::reschedule(const Key& key, Time round_at) {
    auto it = keys_.find(key);
    if (it == keys_.end()) return;
    it->second.round_at = round_at;
    settle(*it);
}

Time Store::Held::next_event() const {
    Time t = round_at;
    for (size_t i = 0; i < count(); ++i) t = std::min(t, at(i).expires);
    if (const StoredValue* v = value()) t = std::min(t, v->expires);
    return t;
}

void Store::due(Time now, StoreDue& out, size_t max_keys) {
    out.expired = 0;
    out.rounds.clear();
    for (size_t keys = 0; keys < max_keys && !heap_.empty() && heap_.front().at <= now; ++keys) {
        Entry& e = *heap_.front().entry;
        Held& h = e.second;
        for (size_t i = h.count(); i-- > 0;) {
            if (h.at(i).expires > now) continue;
            remove_record(e, i);
            ++out.expired;
        }
        if (const StoredValue* v = h.value(); v != nullptr && v->expires <= now) {
            charge(v->src, v->value.size() + VALUE_OVERHEAD, false);
            bytes_ -= v->value.size() + VALUE_OVERHEAD;
            --n_values_;
            if (journal_ != nullptr) journal_->value_removed(e.first);
            h.extra->value.reset();
            if (h.extra->more.empty()) h.extra.reset();
            ++out.expired;
        }
        if (h.round_at <= now && h.count() + (h.value() ? 1 : 0) > 0) {
            out.rounds.push_back(e.first);
            h.round_at = NEVER;
        }
        settle(e);
    }
}

void Store::settle(Entry& e) {
    Held& h = e.second;
    const bool linked = !heap_.empty() && heap_[h.heap_pos].entry == &e;
    if (h.count() == 0 && h.value() == nullptr) {
        if (linked) heap_remove(h.heap_pos);
        keys_.erase(e.first);
        return;
    }
    const Time at = h.next_event();
    if (!linked) {
        heap_.push_back({at, &e});
        heap_place(heap_.size() - 1);
        return;
    }
    heap_[h.heap_pos].at = at;
    heap_place(h.heap_pos);
}

void Store::heap_set(size_t i, Event ev) {
    heap_[i] = ev;
    ev.entry->second.heap_pos = static_cast<uint32_t>(i) & 0x7fffffffu;
}

void Store::heap_place(size_t i) {
    Event ev = heap_[i];
    while (i > 0 && ev.at < heap_[(i - 1) / 2].at) {
        heap_set(i, heap_[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= heap_.size()) break;
        if (c + 1 < heap_.size() && heap_[c + 1].at < heap_[c].at) ++c;
        if (!(heap_[c].at < ev.at)) break;
        heap_set(i, heap_[c]);
        i = c;
    }
    heap_set(i, ev);
}

void Store::heap_remove(size_t i) {
    const Event last = heap_.back();
    heap_.pop_back();
    if (i == heap_.size()) return;
    heap_set(i, last);
    heap_place(i);
}

void Store::keys(std::vector<Key>& out) const {
    out.clear();
    out.reserve(keys_.size());
    for (const auto& [key, h] : keys_) out.push_back(key);
}

void Store::snapshot(Time now, std::vector<StoreEntryInfo>& out) const {
    out.clear();
    for (const auto& [key, h] : keys_) {
        std::vector<const StoredRecord*> recs;
        for (size_t i = 0; i < h.count(); ++i)
            if (h.at(i).expires > now) recs.push_back(&h.at(i));
        std::sort(recs.begin(), recs.end(),
                  [](const StoredRecord* a, const StoredRecord* b) { return a->pk < b->pk; });
        for (const StoredRecord* s : recs) {
            StoreEntryInfo e;
            e.key = key;
            e.publisher = s->pk;
            e.addrs = s->addr_strings();
            e.expires = s->expires;
            out.push_back(std::move(e));
        }
    }
    for (const auto& [key, h] : keys_) {
        const StoredValue* v = h.value();
        if (v == nullptr || v->expires <= now) continue;
        StoreEntryInfo e;
        e.is_value = true;
        e.key = key;
        e.value_len = v->value.size();
        e.expires = v->expires;
        out.push_back(std::move(e));
    }
}

}  // namespace svcdht::core
