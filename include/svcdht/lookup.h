// SPDX-License-Identifier: MIT
// One iterative lookup as a pure state machine (DESIGN 4): a candidate list ordered by
// distance to the target, up to alpha queries in flight per path, hedges for slow queries
// (at most beta), the hop budget, and the termination rule. The Node sends the queries and
// feeds back answers, failures and "slow" marks; this file decides whom to ask next and
// when to stop. No I/O, no clock.
//
// Deviations and choices, written down here:
// - Disjoint paths (S/Kademlia): the seeds are dealt round-robin to d paths, a contact
//   learned on path p stays on path p, and a contact already known to any path is never
//   added again, so no node is queried by two paths. Each path has its own alpha.
// - A path ends when its `need` closest non-failed candidates have all answered (k for a
//   node lookup, `replica` for a publish: go-libp2p's rule). With hedging on (beta > 0) a
//   candidate marked slow lends its slot to a hedge at once, but blocks the end until it
//   is marked late as well (a soft timeout, LATE_FACTOR hedge delays, where DESIGN 4 has
//   it at the hedge itself: that let 81 % of node lookups on 20/100 ms links miss one of
//   the true k closest); its answer is still merged while the lookup runs. The Node marks
//   the queries of a join or refresh late as soon as they are slow, and a query whose
//   peer never accepted TCP after two delays (rpc.cc). One refinement: a slow candidate
//   nearer the target than every answered candidate keeps blocking until it is abandoned
//   (its RPC timed out, or its connection is still not up rpc_timeout after the query
//   began), because its answer would change the nearest result. Without this, one link
//   in the latency tail makes a lookup miss the very node it looks for.
// - When alpha answers in a row bring nothing nearer than the nearest candidate known,
//   the path is stalled: every unasked candidate among its `need` closest is asked at
//   once (the rule of the Kademlia paper), until an answer brings progress again. For a
//   publish that is the replica closest, not all k: asking the k closest at once cost a
//   put 25 RPCs instead of 14 and a worse p95 (789 against 702 ms, docs/PERFORMANCE.md).
// - A referrer that handed out a contact proving another id is distrusted for the rest of
//   the lookup: its other fresh contacts are dropped unasked and its later answers are not
//   merged (S/Kademlia-style, against liars that fill answers with fabricated ids).
// - Hops are true routing hops: table seeds have depth 1, a contact learned from a node at
//   depth d has depth d+1, and candidates deeper than the hop budget are never queried.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "svcdht/counters.h"
#include "svcdht/id.h"
#include "svcdht/message.h"
#include "svcdht/routing_table.h"
#include "svcdht/types.h"

namespace svcdht::core {

struct LookupParams {
    NodeId target;
    LookupKind kind = LookupKind::find_node;
    uint32_t k = 20;
    uint32_t alpha = 3;
    uint32_t beta = 1;
    uint32_t disjoint = 1;
    uint32_t hop_budget = 6;
    // need: how many of the closest candidates must answer before the lookup ends (0 = k).
    // `closest` needs all k; a provide or put only the `replica` it will store on.
    uint32_t need = 0;
};

struct Candidate {
    enum class State : uint8_t { fresh, inflight, answered, failed, too_deep };
    NodeId id;
    PeerAddr addr;
    NodeId referrer;  // who told us about it (zero for table seeds)
    uint8_t depth = 1;
    uint8_t path = 0;
    State st = State::fresh;
    bool slow = false;       // unanswered after its hedge delay: lends its slot to a hedge
    bool late = false;       // unanswered after LATE_FACTOR hedge delays: a soft timeout
    bool abandoned = false;  // no longer waited for, even if it is the nearest
    bool hedge = false;      // sent as a hedge
};

class Lookup {
public:
    Lookup(const LookupParams& p, const NodeId& self);

    // seed adds table contacts at depth 1, dealt round-robin to the paths.
    void seed(std::span<const Contact> contacts);
    // learn adds a contact that |from| (a queried candidate) handed out. Returns false if it
    // was ignored (ourselves, known already, or beyond the candidate cap).
    bool learn(const Candidate& from, const NodeInfo& n);

    // next_query picks the next candidate to ask, marks it in flight and returns it (valid
    // until the next mutation), or nullptr when nothing should be sent now. |hedge| tells
    // whether it goes out as a hedge (alpha already in flight on its path).
    Candidate* next_query(bool* hedge);
    void answered(const NodeId& id);
    void failed(const NodeId& id);
    // distrust drops |referrer|'s unqueried contacts and ignores what it hands out later.
    void distrust(const NodeId& referrer);
    // mark_slow records that the query to |id| is unanswered after hedge_after;
    // mark_abandoned that the lookup should not wait for it even if it is the nearest.
    // mark_slow returns true when the query turned slow just now and wants a hedge it cannot
    // have: hedging is on (beta > 0), a candidate on its path is left to ask, and beta
    // slow queries on that path already hold the hedges (dht_hedge_budget_exhausted_total).
    bool mark_slow(const NodeId& id);
    // mark_late records that it is still unanswered after LATE_FACTOR hedge delays: from
    // then on it no longer blocks the end unless it is the nearest (the soft timeout).
    void mark_late(const NodeId& id);
    void mark_abandoned(const NodeId& id);

    // finished is true when every path has ended (or finish() was called).
    bool finished() const;
    void finish() { finished_ = true; }

    Candidate* find(const NodeId& id);
    const Candidate* find(const NodeId& id) const;
    // closest_answered writes up to |n| answered candidates, nearest first.
    void closest_answered(size_t n, std::vector<NodeInfo>& out) const;
    // cut_by_hop_budget is true when a candidate the hop budget kept from being asked ranks
    // among the k nearest still in play: the result could have been nearer with more hops.
    bool cut_by_hop_budget() const;
    // hops is the depth of the nearest answered candidate (0 if none answered).
    uint32_t hops() const;
    uint32_t inflight() const;
    uint32_t slow_inflight() const;
    const LookupParams& params() const { return p_; }
    const std::vector<Candidate>& candidates() const { return cands_; }

private:
    bool path_done(uint32_t path) const;
    void insert(Candidate c);

    LookupParams p_;
    NodeId self_;
    std::vector<Candidate> cands_;  // ordered by distance to the target
    std::vector<NodeId> distrusted_;
    uint32_t next_path_ = 0;  // round-robin cursor for next_query
    // Per path: answers in a row that brought nothing closer than the nearest candidate
    // already known, whether the last answer did, and whether the path is stalled (alpha
    // quiet answers: every unasked candidate among the `need` nearest is asked at once).
    std::vector<uint8_t> quiet_;
    std::vector<uint8_t> improved_;
    std::vector<uint8_t> stalled_;
    bool finished_ = false;
};

}  // namespace svcdht::core
