// SPDX-License-Identifier: MIT
// The iterative lookup state machine (see lookup.h). Candidate lists stay small (a few k
// per path), so every decision is a linear walk in distance order.
#include "svcdht/lookup.h"

#include <algorithm>
#include <utility>

namespace svcdht::core {

namespace {
// Candidates kept per path: three times k is enough to replace every failure among the
// k closest twice over, and bounds what hostile answers can make us remember.
constexpr uint32_t CAND_FACTOR = 3;
// Failed candidates remembered per lookup (so they are not tried twice).
constexpr uint32_t MAX_FAILED = 256;
}  // namespace

Lookup::Lookup(const LookupParams& p, const NodeId& self) : p_(p), self_(self) {
    if (p_.disjoint == 0) p_.disjoint = 1;
    if (p_.alpha == 0) p_.alpha = 1;
    if (p_.k == 0) p_.k = 1;
    if (p_.need == 0 || p_.need > p_.k) p_.need = p_.k;
    quiet_.assign(p_.disjoint, 0);
    improved_.assign(p_.disjoint, 0);
    stalled_.assign(p_.disjoint, 0);
    cands_.reserve(std::min<size_t>(64, size_t{p_.k} * CAND_FACTOR * p_.disjoint));
}

void Lookup::insert(Candidate c) {
    auto pos = std::lower_bound(
        cands_.begin(), cands_.end(), c.id,
        [&](const Candidate& x, const NodeId& id) { return closer_to(p_.target, x.id, id); });
    cands_.insert(pos, c);
    // Over the cap on this path: drop the farthest candidate that is not in flight,
    // answered or failed. Failed ones do not count: they must not push live candidates
    // out (a liar's answer is all failures), and they stay so they are not learned again.
    // The new candidate itself stays if it ranks among the k nearest live ones: once the
    // cap's worth had been asked, the cap used to drop every newly learned candidate
    // however near (found at 10,000 nodes: two lookups ended after 60 RPCs without the
    // true nearest). Fresh candidates stay capped; the asked ones are bounded by the RPCs.
    const uint32_t cap = p_.k * CAND_FACTOR;
    uint32_t live = 0;
    for (const Candidate& x : cands_)
        live += x.path == c.path && x.st != Candidate::State::failed ? 1u : 0u;
    if (live > cap) {
        uint32_t rank = live + 1;  // of cands_[i] among the path's live candidates
        for (size_t i = cands_.size(); i-- > 0;) {
            const Candidate& x = cands_[i];
            if (x.path != c.path || x.st == Candidate::State::failed) continue;
            --rank;
            if (x.st != Candidate::State::fresh && x.st != Candidate::State::too_deep) continue;
            if (x.id == c.id && rank <= p_.k) break;
            cands_.erase(cands_.begin() + static_cast<std::ptrdiff_t>(i));
            break;
        }
    }
    // Failures are bounded too, farthest first, so a flood of bad referrals costs at most
    // MAX_FAILED entries.
    uint32_t failed = 0;
    for (const Candidate& x : cands_) failed += x.st == Candidate::State::failed ? 1u : 0u;
    if (failed > MAX_FAILED) {
        for (size_t i = cands_.size(); i-- > 0;) {
            if (cands_[i].st != Candidate::State::failed) continue;
            cands_.erase(cands_.begin() + static_cast<std::ptrdiff_t>(i));
            break;
        }
    }
}

void Lookup::seed(std::span<const Contact> contacts) {
    uint32_t path = 0;
    for (const Contact& ct : contacts) {
        if (ct.id == self_ || find(ct.id) != nullptr) continue;
        Candidate c;
        c.id = ct.id;
        c.addr = ct.addr;
        c.depth = 1;
        c.path = static_cast<uint8_t>(path);
        if (c.depth > p_.hop_budget) c.st = Candidate::State::too_deep;
        insert(c);
        path = (path + 1) % p_.disjoint;
    }
}

bool Lookup::learn(const Candidate& from, const NodeInfo& n) {
    if (n.id == self_ || find(n.id) != nullptr) return false;
    if (std::find(distrusted_.begin(), distrusted_.end(), from.id) != distrusted_.end())
        return false;
    Candidate c;
    c.id = n.id;
    c.addr = n.addr;
    c.referrer = from.id;
    c.depth = static_cast<uint8_t>(std::min<int>(from.depth + 1, 255));
    c.path = from.path;
    if (c.depth > p_.hop_budget) c.st = Candidate::State::too_deep;
    insert(c);
    const Candidate* in = find(n.id);
    if (in == nullptr) return false;
    if (in->st == Candidate::State::too_deep) return true;
    // Nearer than every live candidate of the path known before it: progress.
    for (const Candidate& x : cands_) {
        if (x.path != c.path || x.st == Candidate::State::failed) continue;
        if (x.id == n.id) improved_[c.path] = 1;
        break;
    }
    return true;
}

void Lookup::distrust(const NodeId& referrer) {
    if (referrer.is_zero()) return;
    if (std::find(distrusted_.begin(), distrusted_.end(), referrer) == distrusted_.end())
        distrusted_.push_back(referrer);
    for (Candidate& c : cands_)
        if (c.st == Candidate::State::fresh && c.referrer == referrer)
            c.st = Candidate::State::failed;
}

const Candidate* Lookup::find(const NodeId& id) const {
    // The list is ordered by distance to the target, and distinct ids have distinct
    // distances, so a binary search finds an id.
    auto it = std::lower_bound(
        cands_.begin(), cands_.end(), id,
        [&](const Candidate& x, const NodeId& v) { return closer_to(p_.target, x.id, v); });
    return it != cands_.end() && it->id == id ? &*it : nullptr;
}

Candidate* Lookup::find(const NodeId& id) {
    return const_cast<Candidate*>(std::as_const(*this).find(id));
}

Candidate* Lookup::next_query(bool* hedge) {
    if (finished_) return nullptr;
    for (uint32_t tries = 0; tries < p_.disjoint; ++tries) {
        const uint32_t path = next_path_;
        next_path_ = (next_path_ + 1) % p_.disjoint;
        uint32_t inflight = 0, slow = 0;
        for (const Candidate& c : cands_) {
            if (c.path != path || c.st != Candidate::State::inflight) continue;
            ++inflight;
            slow += c.slow ? 1 : 0;
        }
        // Each slow query lends its slot to a hedge, at most beta of them.
        const uint32_t capacity = p_.alpha + std::min(p_.beta, slow);
        const bool room = inflight < capacity;
        if (!room && stalled_[path] == 0) continue;
        // Only candidates among the k closest live ones are worth asking: beyond them the
        // termination rule is already satisfied. A stalled path asks every unasked one
        // among the `need` closest at once, whatever is in flight (the paper's rule).
        uint32_t rank = 0;
        for (Candidate& c : cands_) {
            if (c.path != path) continue;
            if (c.st == Candidate::State::failed || c.st == Candidate::State::too_deep) continue;
            if (++rank > p_.k) break;
            if (!room && rank > p_.need) break;
            if (c.st != Candidate::State::fresh) continue;
            c.st = Candidate::State::inflight;
            c.hedge = inflight >= p_.alpha;
            *hedge = c.hedge;
            return &c;
        }
    }
    return nullptr;
}

void Lookup::answered(const NodeId& id) {
    Candidate* c = find(id);
    if (c == nullptr) return;
    c->st = Candidate::State::answered;
    const uint32_t path = c->path;
    if (improved_[path] != 0) {
        quiet_[path] = 0;
        stalled_[path] = 0;
    } else if (quiet_[path] < 255 && ++quiet_[path] >= p_.alpha) {
        stalled_[path] = 1;
    }
    improved_[path] = 0;
}

void Lookup::failed(const NodeId& id) {
    if (Candidate* c = find(id)) c->st = Candidate::State::failed;
}

bool Lookup::mark_slow(const NodeId& id) {
    Candidate* c = find(id);
    if (c == nullptr || c->st != Candidate::State::inflight || c->slow) return false;
    c->slow = true;
    if (p_.beta == 0) return false;
    // The same walk as next_query: the slow queries of this path (this one included) and
    // whether a candidate among its k closest live ones is still unasked.
    uint32_t slow = 0, rank = 0;
    bool unasked = false;
    for (const Candidate& x : cands_) {
        if (x.path != c->path) continue;
        slow += x.st == Candidate::State::inflight && x.slow ? 1 : 0;
        if (x.st == Candidate::State::failed || x.st == Candidate::State::too_deep) continue;
        if (++rank <= p_.k && x.st == Candidate::State::fresh) unasked = true;
    }
    return unasked && slow > p_.beta;
}

void Lookup::mark_late(const NodeId& id) {
    if (Candidate* c = find(id); c != nullptr && c->st == Candidate::State::inflight) {
        c->slow = true;
        c->late = true;
    }
}

void Lookup::mark_abandoned(const NodeId& id) {
    if (Candidate* c = find(id); c != nullptr && c->st == Candidate::State::inflight) {
        c->slow = true;
        c->late = true;
        c->abandoned = true;
    }
}

bool Lookup::path_done(uint32_t path) const {
    uint32_t rank = 0;
    bool answered_before = false;
    for (const Candidate& c : cands_) {
        if (c.path != path) continue;
        if (c.st == Candidate::State::failed || c.st == Candidate::State::too_deep) continue;
        if (c.st == Candidate::State::fresh) return false;
        if (c.st == Candidate::State::inflight) {
            const bool soft = c.late && p_.beta > 0 && (answered_before || c.abandoned);
            if (!soft) return false;
        }
        answered_before |= c.st == Candidate::State::answered;
        if (++rank >= p_.need) break;
    }
    return true;
}

bool Lookup::finished() const {
    if (finished_) return true;
    for (uint32_t p = 0; p < p_.disjoint; ++p)
        if (!path_done(p)) return false;
    return true;
}

void Lookup::closest_answered(size_t n, std::vector<NodeInfo>& out) const {
    out.clear();
    for (const Candidate& c : cands_) {
        if (out.size() >= n) break;
        if (c.st == Candidate::State::answered) out.push_back({c.id, c.addr});
    }
}

bool Lookup::cut_by_hop_budget() const {
    uint32_t rank = 0;
    for (const Candidate& c : cands_) {
        if (c.st == Candidate::State::failed) continue;
        if (c.st == Candidate::State::too_deep) return true;
        if (++rank >= p_.k) break;
    }
    return false;
}

uint32_t Lookup::hops() const {
    for (const Candidate& c : cands_)
        if (c.st == Candidate::State::answered) return c.depth;
    return 0;
}

uint32_t Lookup::inflight() const {
    uint32_t n = 0;
    for (const Candidate& c : cands_) n += c.st == Candidate::State::inflight ? 1 : 0;
    return n;
}

uint32_t Lookup::slow_inflight() const {
    uint32_t n = 0;
    for (const Candidate& c : cands_) n += c.st == Candidate::State::inflight && c.slow ? 1 : 0;
    return n;
}

}  // namespace svcdht::core
