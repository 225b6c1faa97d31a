// SPDX-License-Identifier: MIT
// k-bucket routing table (see routing_table.h for the deviations from the paper). Pure: no
// I/O, no clock reads. closest() is exact and allocates only into its output.
#include "svcdht/routing_table.h"

#include <algorithm>

#include <cstdlib>
#include "svcdht/check.h"

namespace svcdht::core {

namespace {

uint64_t group_key(const PeerAddr& a, size_t v4_bytes, size_t v6_bytes) {
    // Family tag in the top byte keeps IPv4 and IPv6 groups apart.
    uint64_t key = a.is_v4() ? (uint64_t{4} << 56) : (uint64_t{6} << 56);
    const size_t n = a.is_v4() ? v4_bytes : v6_bytes;
    for (size_t i = 0; i < n && i < 6; ++i) key |= uint64_t{a.ip[i]} << (8 * (5 - i));
    return key;
}

}  // namespace

uint64_t prefix_group(const PeerAddr& a) {
    return group_key(a, 3, 6);
}
uint64_t wide_group(const PeerAddr& a) {
    return group_key(a, 2, 4);
}
uint64_t host_group(const PeerAddr& a) {
    if (a.is_v4())
        return (uint64_t{0x44} << 56) | (uint64_t{a.ip[0]} << 24) | (uint64_t{a.ip[1]} << 16) |
               (uint64_t{a.ip[2]} << 8) | a.ip[3];
    // 64 bits of /64 do not fit beside a family tag: fold them (splitmix64's finalizer), a
    // one-way mix no address can be chosen to collide with another's by accident.
    uint64_t x = 0;
    for (size_t i = 0; i < 8; ++i) x = (x << 8) | a.ip[i];
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (uint64_t{0x66} << 56) | (x >> 8);
}

RoutingTable::RoutingTable(const NodeId& self, uint32_t k, DiversityConfig div)
    : self_(self), k_(k), div_(div) {}

int RoutingTable::bucket_index(const NodeId& id) const {
    return common_prefix_len(self_, id);
}

RoutingTable::Bucket& RoutingTable::bucket_for(const NodeId& id, Time now) {
    const auto i = static_cast<size_t>(bucket_index(id));
    if (buckets_.size() <= i) {
        // A new bucket counts as looked up at its creation: it is short only once the
        // buckets deeper than it hold k contacts, and that is no reason to refresh it at once.
        const size_t was = buckets_.size();
        buckets_.resize(i + 1);
        for (size_t j = was; j <= i; ++j) buckets_[j].looked_up = now;
    }
    return changing(i);
}

RoutingTable::Bucket* RoutingTable::existing_bucket_for(const NodeId& id) {
    const auto i = static_cast<size_t>(bucket_index(id));
    return id == self_ || i >= buckets_.size() ? nullptr : &changing(i);
}

RoutingTable::Bucket& RoutingTable::changing(size_t i) {
    unchecked_from_ = std::min(unchecked_from_, i);
    unchecked_to_ = std::max(unchecked_to_, i + 1);
    return buckets_[i];
}

void RoutingTable::wide_add(const PeerAddr& a, int delta) {
    tally_unchecked_ = true;
    const uint64_t key = wide_group(a);
    auto it = std::lower_bound(wide_groups_.begin(), wide_groups_.end(), std::make_pair(key, 0u),
                               [](const auto& x, const auto& y) { return x.first < y.first; });
    if (it == wide_groups_.end() || it->first != key) {
        if (delta < 0) return;
        it = wide_groups_.insert(it, {key, 0});
    }
    if (delta > 0) {
        ++it->second;
    } else if (--it->second == 0) {
        wide_groups_.erase(it);
    }
}

uint32_t RoutingTable::wide_count(const PeerAddr& a) const {
    const uint64_t key = wide_group(a);
    auto it = std::lower_bound(wide_groups_.begin(), wide_groups_.end(), std::make_pair(key, 0u),
                               [](const auto& x, const auto& y) { return x.first < y.first; });
    return it != wide_groups_.end() && it->first == key ? it->second : 0;
}

bool RoutingTable::diversity_ok(const Bucket& b, const PeerAddr& addr) const {
    if (div_.exempt_private && addr.is_exempt()) return true;
    const uint64_t g = prefix_group(addr);
    uint32_t same = 0;
    for (const Contact& c : b.live)
        if (prefix_group(c.addr) == g) ++same;
    if (same >= div_.per_prefix_max) return false;
    // The table-wide cap is a share of the table, but never below the per-bucket cap, so a
    // young table can still fill.
    const uint64_t share = (uint64_t{div_.prefix_max_pct} * (size_ + 1)) / 100;
    const uint64_t cap = std::max<uint64_t>(share, div_.per_prefix_max);
    return wide_count(addr) + 1 <= cap;
}

SeenResult RoutingTable::seen(const NodeId& id, const PeerAddr& addr, Time now, Contact* ping_out,
                              bool* need_ping) {
    if (need_ping) *need_ping = false;
    if (id == self_) return SeenResult::rejected_self;
    Bucket& b = bucket_for(id, now);
    b.touched = now;
    for (size_t i = 0; i < b.live.size(); ++i) {
        if (b.live[i].id != id) continue;
        Contact c = b.live[i];
        if (c.addr != addr) {
            wide_add(c.addr, -1);
            wide_add(addr, +1);
            c.addr = addr;
        }
        c.last_seen = now;
        c.fails = 0;
        b.live.erase(b.live.begin() + static_cast<std::ptrdiff_t>(i));
        b.live.push_back(c);
        return SeenResult::updated;
    }
    if (b.live.size() < k_) {
        if (!diversity_ok(b, addr)) return SeenResult::rejected_diversity;
        // A contact moving from the replacement cache to the table leaves the cache.
        std::erase_if(b.repl, [&](const Contact& r) { return r.id == id; });
        Contact c;
        c.id = id;
        c.addr = addr;
        c.last_seen = now;
        c.added = now;
        // Grow by doubling up to k: a full bucket holds exactly k, and the few partial
        // buckets nearest to us (most of a table's buckets) hold at most twice their size.
        if (b.live.size() == b.live.capacity())
            b.live.reserve(std::min<size_t>(k_, std::max<size_t>(2, 2 * b.live.capacity())));
        b.live.push_back(c);
        wide_add(addr, +1);
        ++size_;
        ++membership_;
        return SeenResult::added;
    }
    // Full bucket: remember the newcomer and ask for the oldest entry to be pinged.
    auto it =
        std::find_if(b.repl.begin(), b.repl.end(), [&](const Contact& r) { return r.id == id; });
    if (it != b.repl.end()) {
        Contact c = *it;
        c.addr = addr;
        c.last_seen = now;
        b.repl.erase(it);
        b.repl.push_back(c);
    } else {
        if (!diversity_ok(b, addr)) return SeenResult::rejected_diversity;
        if (b.repl.size() >= REPLACEMENTS_PER_BUCKET) b.repl.erase(b.repl.begin());
        Contact c;
        c.id = id;
        c.addr = addr;
        c.last_seen = now;
        c.added = now;
        b.repl.push_back(c);
    }
    if (!b.pinging && ping_out != nullptr && need_ping != nullptr &&
        b.live.front().last_seen + STALE_AFTER <= now) {
        b.pinging = true;
        *ping_out = b.live.front();
        *need_ping = true;
    }
    return SeenResult::replacement;
}

void RttEstimate::add(Time sample) {
    const auto r = static_cast<uint32_t>(std::clamp<Time>(sample, 1, UINT32_MAX / 2));
    if (srtt_us == 0) {
        srtt_us = r;
        rttvar_us = r / 2;
        return;
    }
    const uint32_t dev = srtt_us > r ? srtt_us - r : r - srtt_us;
    rttvar_us = static_cast<uint32_t>((3 * uint64_t{rttvar_us} + dev) / 4);
    srtt_us = std::max<uint32_t>(1, static_cast<uint32_t>((7 * uint64_t{srtt_us} + r) / 8));
}

void RoutingTable::rpc_ok(const NodeId& id, Time rtt, Time now) {
    Bucket* b = existing_bucket_for(id);
    if (b == nullptr) return;
    auto& live = b->live;
    for (size_t j = 0; j < live.size(); ++j) {
        if (live[j].id != id) continue;
        Contact c = live[j];
        RttEstimate e{c.rtt_us, c.rttvar_us};
        e.add(rtt);
        c.rtt_us = e.srtt_us;
        c.rttvar_us = e.rttvar_us;
        c.fails = 0;
        c.last_seen = now;
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(j));
        live.push_back(c);  // an answer makes it the most recently seen
        return;
    }
}

void RoutingTable::rtt_first_sample(const NodeId& id, Time rtt) {
    Bucket* b = existing_bucket_for(id);
    if (b == nullptr) return;
    for (Contact& c : b->live) {
        if (c.id != id || c.rtt_us != 0) continue;
        RttEstimate e;
        e.add(rtt);
        c.rtt_us = e.srtt_us;
        c.rttvar_us = e.rttvar_us;
        return;
    }
}

bool RoutingTable::remove_at(Bucket& b, size_t i) {
    wide_add(b.live[i].addr, -1);
    b.live.erase(b.live.begin() + static_cast<std::ptrdiff_t>(i));
    --size_;
    ++membership_;
    // Promote the most recently seen replacement that passes the diversity caps, at its
    // place in least-recently-seen order.
    for (size_t r = b.repl.size(); r-- > 0;) {
        if (!diversity_ok(b, b.repl[r].addr)) continue;
        const Time t = b.repl[r].last_seen;
        auto pos = std::upper_bound(b.live.begin(), b.live.end(), t,
                                    [](Time x, const Contact& c) { return x < c.last_seen; });
        b.live.insert(pos, b.repl[r]);
        wide_add(b.repl[r].addr, +1);
        ++size_;
        b.repl.erase(b.repl.begin() + static_cast<std::ptrdiff_t>(r));
        break;
    }
    return true;
}

bool RoutingTable::rpc_failed(const NodeId& id, Contact* removed) {
    Bucket* bp = existing_bucket_for(id);
    if (bp == nullptr) return false;
    Bucket& b = *bp;
    std::erase_if(b.repl, [&](const Contact& r) { return r.id == id; });
    for (size_t i = 0; i < b.live.size(); ++i) {
        if (b.live[i].id != id) continue;
        ++b.live[i].fails;
        if (!b.repl.empty() || b.live[i].fails >= MAX_CONTACT_FAILS) {
            if (removed) *removed = b.live[i];
            return remove_at(b, i);
        }
        return false;
    }
    return false;
}

bool RoutingTable::bad_referral(const NodeId& id, Contact* removed) {
    Bucket* bp = existing_bucket_for(id);
    if (bp == nullptr) return false;
    Bucket& b = *bp;
    for (size_t i = 0; i < b.live.size(); ++i) {
        if (b.live[i].id != id) continue;
        if (++b.live[i].bad_referrals >= MAX_CONTACT_FAILS) {
            if (removed) *removed = b.live[i];
            return remove_at(b, i);
        }
        return false;
    }
    return false;
}

void RoutingTable::ping_done(const NodeId& id) {
    if (Bucket* b = existing_bucket_for(id)) b->pinging = false;
}

bool RoutingTable::remove(const NodeId& id) {
    Bucket* bp = existing_bucket_for(id);
    if (bp == nullptr) return false;
    Bucket& b = *bp;
    std::erase_if(b.repl, [&](const Contact& r) { return r.id == id; });
    for (size_t i = 0; i < b.live.size(); ++i)
        if (b.live[i].id == id) return remove_at(b, i);
    return false;
}

const Contact* RoutingTable::find(const NodeId& id) const {
    if (id == self_) return nullptr;
    const auto bi = static_cast<size_t>(bucket_index(id));
    if (bi >= buckets_.size()) return nullptr;
    for (const Contact& c : buckets_[bi].live)
        if (c.id == id) return &c;
    return nullptr;
}

void RoutingTable::touch_bucket_of(const NodeId& target, Time now) {
    const auto bi = static_cast<size_t>(bucket_index(target));
    if (bi >= buckets_.size()) return;
    buckets_[bi].touched = now;
    buckets_[bi].looked_up = now;
}

Time RoutingTable::fresh_since(const Bucket& b, size_t deeper) const {
    return b.live.size() < k_ && deeper >= k_ ? b.looked_up : b.touched;
}

Time RoutingTable::bucket_fresh_since(int i) const {
    const auto bi = static_cast<size_t>(i);
    size_t deeper = 0;
    for (size_t j = bi + 1; j < buckets_.size(); ++j) deeper += buckets_[j].live.size();
    return fresh_since(buckets_[bi], deeper);
}

Time RoutingTable::stalest_since() const {
    Time least = NEVER;
    size_t deeper = 0;
    for (size_t i = buckets_.size(); i-- > 0;) {
        least = std::min(least, fresh_since(buckets_[i], deeper));
        deeper += buckets_[i].live.size();
    }
    return least;
}

void RoutingTable::closest(const NodeId& target, size_t n, std::vector<Contact>& out,
                           bool skip_failing) const {
    out.clear();
    if (n == 0 || size_ == 0) return;
    // Distance classes, nearest first (c = prefix length of target with our id):
    //   bucket c (first differing bit with the target is below c), then every bucket
    //   deeper than c (first differing bit exactly c), then buckets c-1, c-2, ..., 0.
    // Each class is strictly nearer than the next, so we stop after the class that brings
    // the count to n and sort only what was gathered. The deeper buckets are one class, often
    // most of the table: what is gathered and sorted are pointers, and only the n winners are
    // copied, so |out| (a caller's reused scratch) never grows past n contacts.
    //
    // Each gathered contact carries the first word of its distance, so the sort compares
    // integers next to each other and reads a contact again only on a tie of that word.
    // The gathered list is scratch shared by every table of the thread (an engine runs
    // on one), so answering a FIND_NODE allocates nothing once it has grown.
    struct Near {
        uint64_t key;
        const Contact* ct;
    };
    thread_local std::vector<Near> got;
    got.clear();
    const int nb = static_cast<int>(buckets_.size());
    const int c = common_prefix_len(self_, target);
    const uint64_t t0 = target.word(0);
    auto take = [&](int i) {
        for (const Contact& ct : buckets_[static_cast<size_t>(i)].live)
            if (!skip_failing || ct.fails == 0) got.push_back({ct.id.word(0) ^ t0, &ct});
    };
    if (c < nb) take(c);
    if (got.size() < n)
        for (int i = c + 1; i < nb; ++i) take(i);
    for (int i = std::min(c, nb) - 1; i >= 0 && got.size() < n; --i) take(i);
    const size_t m = std::min(n, got.size());
    std::partial_sort(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(m), got.end(),
                      [&](const Near& a, const Near& b) {
                          if (a.key != b.key) return a.key < b.key;
                          return closer_to(target, a.ct->id, b.ct->id);
                      });
    out.reserve(m);
    for (size_t i = 0; i < m; ++i) out.push_back(*got[i].ct);
}

NodeId RoutingTable::random_id_in_bucket(int i, const NodeId& rnd) const {
    NodeId id = rnd;
    for (int bit = 0; bit <= i && bit < static_cast<int>(ID_BITS); ++bit) {
        const auto byte = static_cast<size_t>(bit / 8);
        const auto mask = static_cast<uint8_t>(0x80u >> (bit % 8));
        const bool self_bit = (self_.b[byte] & mask) != 0;
        const bool want = bit < i ? self_bit : !self_bit;
        id.b[byte] = static_cast<uint8_t>(want ? (id.b[byte] | mask) : (id.b[byte] & ~mask));
    }
    return id;
}

uint32_t RoutingTable::bucket_prefix_max_pct(int i) const {
    const auto& live = buckets_[static_cast<size_t>(i)].live;
    if (live.empty()) return 0;
    uint32_t best = 0;
    for (size_t a = 0; a < live.size(); ++a) {
        uint32_t same = 0;
        const uint64_t g = prefix_group(live[a].addr);
        for (const Contact& c : live) same += prefix_group(c.addr) == g ? 1u : 0u;
        best = std::max(best, same);
    }
    return static_cast<uint32_t>(best * 100 / live.size());
}

void RoutingTable::check_invariants() const {
    // A table whose buckets nobody has changed since the last check still holds; the
    // buckets that did change are checked one by one (the simulator checks after every
    // event, and most events touch one bucket or none).
    if (unchecked_from_ >= unchecked_to_) return;
    const size_t from = unchecked_from_, to = std::min(unchecked_to_, buckets_.size());
    unchecked_from_ = SIZE_MAX;
    unchecked_to_ = 0;
    for (size_t i = from; i < to; ++i) {
        const Bucket& b = buckets_[i];
        SVCDHT_CHECK(b.live.size() <= k_ && b.repl.size() <= REPLACEMENTS_PER_BUCKET,
                     "a bucket holds at most k contacts and its replacement cache");
        for (size_t j = 0; j < b.live.size(); ++j) {
            const Contact& c = b.live[j];
            SVCDHT_CHECK(c.id != self_ && static_cast<size_t>(bucket_index(c.id)) == i,
                         "a contact is not us and sits in its own bucket");
            // An id belongs to one bucket only, so duplicates can only sit side by side here.
            for (size_t m = 0; m < j; ++m)
                SVCDHT_CHECK(b.live[m].id != c.id, "a contact appears once");
            SVCDHT_CHECK(j == 0 || b.live[j - 1].last_seen <= c.last_seen,
                         "a bucket is in least-recently-seen order");
        }
        for (const Contact& c : b.repl)
            SVCDHT_CHECK(c.id != self_ && static_cast<size_t>(bucket_index(c.id)) == i,
                         "a contact is not us and sits in its own bucket");
    }
    size_t total = 0;
    for (const Bucket& b : buckets_) total += b.live.size();
    SVCDHT_CHECK(total == size_, "size() is the number of live contacts");
    if (!tally_unchecked_) return;
    tally_unchecked_ = false;
    // Every live contact takes one off its group's tally; a tally that is missing, goes
    // below zero or is left over means wide_groups_ drifted from the table.
    std::vector<std::pair<uint64_t, uint32_t>> left = wide_groups_;
    for (const Bucket& b : buckets_) {
        for (const Contact& c : b.live) {
            const uint64_t g = wide_group(c.addr);
            auto it = std::lower_bound(left.begin(), left.end(), std::make_pair(g, 0u));
            SVCDHT_CHECK(it != left.end() && it->first == g && it->second != 0,
                         "the diversity tally counts every contact");
            --it->second;
        }
    }
    for (const auto& [g, n] : left)
        SVCDHT_CHECK(n == 0, "the diversity tally counts no contact that is gone");
}

}  // namespace svcdht::core
