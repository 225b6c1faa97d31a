// SPDX-License-Identifier: MIT
// The Kademlia routing table: 256 buckets by common-prefix length with our id, k contacts
// each in least-recently-seen order, a replacement cache per bucket, ping-before-evict,
// failure counts, RTT per contact and the diversity caps. Pure: no I/O, no clock reads; the
// node passes `now` and acts on what the table asks for (a ping of a stale contact).
//
// Deviations from the Kademlia paper, written down here:
// - Fixed buckets by prefix length instead of splitting: with XOR distance the two are the
//   same tree, and fixed indexing keeps closest() exact and allocation-bounded.
// - Contacts enter only after an authenticated session (they proved their id), never
//   straight from someone else's FIND_NODE answer.
// - A contact that failed an RPC is replaced at once when the bucket has a replacement,
//   and removed after MAX_CONTACT_FAILS failures otherwise (libtorrent does the same).
// - Diversity caps limit how many contacts one /24 (/48) may hold in a bucket and one /16
//   (/32) in the whole table, against eclipse attacks (loopback and private ranges exempt).
// - Ping-before-evict pings the least-recently-seen contact only when it is questionable
//   (silent for STALE_AFTER); otherwise the newcomer waits in the replacement cache.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "svcdht/id.h"
#include "svcdht/types.h"

namespace svcdht::core {

// A contact failing this many RPCs in a row is removed even with no replacement waiting.
inline constexpr uint16_t MAX_CONTACT_FAILS = 3;
// Replacement cache entries per bucket: enough to refill a bucket after a burst of churn
// without keeping a second copy of the table.
inline constexpr size_t REPLACEMENTS_PER_BUCKET = 8;
// A full bucket pings its least-recently-seen contact only if that contact is questionable:
// not heard from for this long (Mainline DHT's 15-minute rule). A contact seen recently is
// known good, and pinging it for every newcomer would cost a session per inbound request.
inline constexpr Time STALE_AFTER = secs(15 * 60);

// RttEstimate is a smoothed round trip and its mean deviation, updated as in RFC 6298
// (gains 1/8 and 1/4), in microseconds.
struct RttEstimate {
    uint32_t srtt_us = 0;  // 0 = no sample yet
    uint32_t rttvar_us = 0;

    void add(Time sample);
    bool known() const { return srtt_us != 0; }
    // bound is srtt + 4 rttvar: the time within which an answer is expected.
    Time bound() const { return Time{srtt_us} + 4 * Time{rttvar_us}; }
};

struct Contact {
    NodeId id;
    PeerAddr addr;       // routing address: the IP we saw and the port of their ident
    Time last_seen = 0;  // last time they answered or sent us something
    Time added = 0;
    uint32_t rtt_us = 0;         // smoothed RPC round trip (RFC 6298), 0 = unknown
    uint32_t rttvar_us = 0;      // its mean deviation
    uint16_t fails = 0;          // consecutive failed RPCs
    uint16_t bad_referrals = 0;  // contacts they handed us that proved another id
};

struct DiversityConfig {
    uint32_t per_prefix_max = 2;   // per bucket, from one IPv4 /24 or IPv6 /48
    uint32_t prefix_max_pct = 20;  // of the whole table, from one IPv4 /16 or IPv6 /32
    bool exempt_private = true;    // loopback and private ranges are not capped
};

enum class SeenResult : uint8_t {
    added,               // a new contact is in the table
    updated,             // an existing contact moved to most-recently-seen
    replacement,         // the bucket is full: the contact waits in the replacement cache
    rejected_diversity,  // over a diversity cap
    rejected_self,       // our own id
};

class RoutingTable {
public:
    RoutingTable(const NodeId& self, uint32_t k, DiversityConfig div);

    // seen records that |id| at |addr| is alive (an authenticated session or an answer).
    // When the bucket is full, |ping_out| receives the least-recently-seen contact that
    // should be pinged (ping-before-evict) if one is not already being pinged.
    SeenResult seen(const NodeId& id, const PeerAddr& addr, Time now, Contact* ping_out = nullptr,
                    bool* need_ping = nullptr);

    // rpc_ok records a successful RPC round trip (updates RTT, clears failures).
    void rpc_ok(const NodeId& id, Time rtt, Time now);
    // rtt_first_sample gives a contact with no RTT yet its first sample (a handshake's).
    void rtt_first_sample(const NodeId& id, Time rtt);
    // rpc_failed counts a failed RPC. It returns true if the contact was removed (replaced
    // from the cache, or over MAX_CONTACT_FAILS); |removed| then holds it.
    bool rpc_failed(const NodeId& id, Contact* removed = nullptr);
    // bad_referral charges |id| for handing out a contact that proved another id; three
    // of them remove it.
    bool bad_referral(const NodeId& id, Contact* removed = nullptr);
    // ping_done ends a ping-before-evict round for |id|'s bucket.
    void ping_done(const NodeId& id);
    // remove drops |id| (if present) and promotes a replacement.
    bool remove(const NodeId& id);

    // closest writes up to |n| contacts closest to |target| into |out| (cleared first),
    // nearest first. Exact. |skip_failing| leaves out contacts with failures.
    void closest(const NodeId& target, size_t n, std::vector<Contact>& out,
                 bool skip_failing = false) const;

    const Contact* find(const NodeId& id) const;
    bool contains(const NodeId& id) const { return find(id) != nullptr; }
    size_t size() const { return size_; }
    // membership changes whenever a contact enters or leaves the live lists (not when one
    // is only seen again or timed), so an answer of contains() holds while it stays put.
    uint64_t membership() const { return membership_; }
    uint32_t k() const { return k_; }
    const NodeId& self() const { return self_; }
    int bucket_count() const { return static_cast<int>(buckets_.size()); }
    std::span<const Contact> bucket(int i) const { return buckets_[static_cast<size_t>(i)].live; }
    size_t replacements(int i) const { return buckets_[static_cast<size_t>(i)].repl.size(); }
    // bucket_fresh_since returns when bucket |i| last counted as fresh: a refresh is due
    // refresh_interval later. A contact seen or a lookup into its range freshens a bucket,
    // except a short one (under k contacts while the deeper buckets, whose ranges together
    // are as wide as its own, hold k or more): contacts that keep talking do not fill it,
    // so only a lookup does. Contacts failing together leave such a bucket, as when many
    // nodes restart at once, and it stays short until a lookup into its range fills it.
    Time bucket_fresh_since(int i) const;
    // stalest_since is the least bucket_fresh_since over all buckets (NEVER when there are
    // none), in one pass: the maintenance deadline asks for it after every input.
    Time stalest_since() const;
    // touch_bucket_of marks a lookup for |target|: its bucket is fresh.
    void touch_bucket_of(const NodeId& target, Time now);
    int bucket_index(const NodeId& id) const;
    // random_id_in_bucket returns an id whose prefix length with ours is |i|, drawing the
    // free bits from |rnd| (32 random bytes).
    NodeId random_id_in_bucket(int i, const NodeId& rnd) const;
    // bucket_prefix_max_pct returns the share (0..100) of bucket |i| held by its largest
    // single /24 or /48 group (the dht_bucket_prefix_max_pct gauge).
    uint32_t bucket_prefix_max_pct(int i) const;

    void set_diversity(DiversityConfig d) { div_ = d; }
    // check_invariants aborts if sizes, order, uniqueness, self-absence or bucket
    // placement are wrong. Debug builds and the simulator call it after every event. It
    // checks the buckets changed since its last run, and the diversity tallies when they
    // changed.
    void check_invariants() const;

private:
    struct Bucket {
        std::vector<Contact> live;  // index 0 = least recently seen
        std::vector<Contact> repl;  // newest last
        Time touched = 0;           // a contact seen or a lookup into the range
        Time looked_up = 0;         // a lookup into the range
        bool pinging = false;
    };
    bool diversity_ok(const Bucket& b, const PeerAddr& addr) const;
    // fresh_since is bucket_fresh_since for |b| when the buckets deeper than it hold
    // |deeper| contacts together (the short-bucket rule in one place).
    Time fresh_since(const Bucket& b, size_t deeper) const;
    // bucket_for returns |id|'s bucket, created if need be (at |now|); existing_bucket_for
    // returns it if it exists and |id| is not ours. Both mark it changed, as changing() does.
    Bucket& bucket_for(const NodeId& id, Time now);
    Bucket* existing_bucket_for(const NodeId& id);
    Bucket& changing(size_t i);
    bool remove_at(Bucket& b, size_t i);

    NodeId self_;
    uint32_t k_;
    DiversityConfig div_;
    std::vector<Bucket> buckets_;  // grows to the deepest prefix length seen
    size_t size_ = 0;
    uint64_t membership_ = 0;
    // The buckets changed since check_invariants last ran: [unchecked_from_, unchecked_to_).
    mutable size_t unchecked_from_ = SIZE_MAX;
    mutable size_t unchecked_to_ = 0;
    mutable bool tally_unchecked_ = false;  // wide_groups_ changed since the last check
    // Table-wide counts per /16 (IPv4) or /32 (IPv6) group, kept sorted by key.
    std::vector<std::pair<uint64_t, uint32_t>> wide_groups_;
    void wide_add(const PeerAddr& a, int delta);
    uint32_t wide_count(const PeerAddr& a) const;
};

// prefix_group returns a key naming the /24 (IPv4) or /48 (IPv6) an address is in;
// wide_group the /16 or /32. Keys of the two families never collide.
uint64_t prefix_group(const PeerAddr& a);
uint64_t wide_group(const PeerAddr& a);
// host_group names one host: an IPv4 address or an IPv6 /64 (one host normally holds a
// whole /64). Its keys never collide with the two above.
uint64_t host_group(const PeerAddr& a);

}  // namespace svcdht::core
