// SPDX-License-Identifier: MIT
// The local store: signed provider records (one per key and publisher, newer ts wins) and
// content-addressed values (key = BLAKE3(value)). Bounded in items and bytes, per key and in
// total, and fair between the peers that fill it: each entry remembers who sent it, one
// peer and one network prefix may hold only a share of the store, and a key's full provider
// list makes room for a newcomer from a less represented prefix (see put_record). Records
// and values expire on the engine's timer (expire(now)), never on read: get() filters by
// time but changes nothing. Pure; no clock reads.
#pragma once

#include <cstdint>
#include <map>
#include <queue>
#include <string>
#include <vector>

#include "svcdht/bytes.h"
#include "svcdht/env.h"
#include "svcdht/err.h"
#include "svcdht/id.h"
#include "svcdht/message.h"
#include "svcdht/types.h"

namespace svcdht::core {

struct StoreLimits {
    size_t max_items = 100000;          // records + values
    size_t max_bytes = 64ull << 20;     // approximate heap bytes of records + values
    size_t max_providers_per_key = 32;  // one answer carries at most this many records
    // Share (percent of max_items and of max_bytes) that entries sent by one peer, and from
    // one network prefix, may hold. Keys are free, networks are not: the prefix share is
    // what stops one host with many keys from filling the store.
    uint32_t peer_share_pct = 10;
    uint32_t prefix_share_pct = 25;
};

// Who sent an entry. Our own publishes and API writes are local: they count against the
// totals only. A remote entry counts against its peer's and its prefix's shares.
struct StoreSource {
    bool local = true;
    uint64_t peer = 0;  // first 8 bytes of the sender's proven id
    // The sender's network: its /24 (IPv4) or /48 (IPv6), or for loopback and private
    // addresses (while the diversity rules exempt them) its host, IPv4 address or IPv6 /64
    // (see Node::store_source). A private deployment's hosts are then each their own prefix.
    uint64_t prefix = 0;
    // The sender is the record's publisher (its id is BLAKE3(pk)): a refresh it sends
    // moves the entry to its own account, while one relayed by a holder does not.
    bool from_publisher = false;

    static StoreSource remote(uint64_t peer, uint64_t prefix) {
        return {false, peer, prefix, false};
    }
};

// StoredRecord owns what a ProviderRecord views.
struct StoredRecord {
    Key key;
    PublicKey pk{};
    std::vector<std::string> addrs;
    uint64_t ttl = 0;
    uint64_t ts = 0;
    Signature sig{};  // Ed25519
    uint64_t alg = SIG_ED25519;
    Bytes alg_key_sig;  // another algorithm: its public key then its signature
    uint32_t apk_len = 0;
    Time expires = 0;  // engine time
    StoreSource src;
    uint64_t arrival = 0;  // store-wide arrival order: within a prefix, the oldest goes first

    size_t bytes() const;
    // same_signature: |r| carries the very signature this record holds.
    bool same_signature(const ProviderRecord& r) const;
    // view returns a ProviderRecord whose addrs point into |addr_views| (filled here).
    ProviderRecord view(std::vector<std::string_view>& addr_views) const;
    static StoredRecord from(const ProviderRecord& r, Time expires);
};

struct StoredValue {
    Bytes value;
    Time expires = 0;
    StoreSource src;
};

struct StoreEntryInfo {  // one line of the debug snapshot
    bool is_value = false;
    Key key;
    PublicKey publisher{};  // records only
    std::vector<std::string> addrs;
    size_t value_len = 0;
    Time expires = 0;
};

class Store {
public:
    explicit Store(StoreLimits limits) : limits_(limits) {}

    // put_record stores |rec| (already admitted) until |expires|, sent by |src|. Storing
    // the identical record again succeeds and changes nothing; a newer one from the same
    // publisher replaces it in place.
    // A key's list holds at most max_providers_per_key records. When it is full, a newcomer
    // replaces a record rather than being refused: from the prefix with the most
    // records in the list if the newcomer's prefix has fewer, else from the newcomer's own
    // prefix; within that prefix the record held longest goes. Local records are never
    // replaced.
    // An attacker with many keys on few networks thus holds at most its fair share of a
    // list, and an honest publisher from another network always gets in and stays.
    // Errors: stale_record (a newer record, or another one with the same ts, from the same
    // publisher is held), store_peer_quota / store_prefix_quota (the sender's share of the
    // store is used up), store_full (item or byte limit).
    [[nodiscard]] Err put_record(const ProviderRecord& rec, Time expires,
                                 const StoreSource& src = {});
    // put_value stores |value| under |key| (the caller checked key = BLAKE3(value)); a value
    // already held has its expiry extended. Errors: store_peer_quota, store_prefix_quota,
    // store_full.
    [[nodiscard]] Err put_value(const Key& key, ByteView value, Time expires,
                                const StoreSource& src = {});

    // records returns the live records for |key| at |now| (pointers valid until the next
    // mutation), newest first, at most |max|.
    void records(const Key& key, Time now, size_t max, std::vector<const StoredRecord*>& out) const;
    const StoredValue* value(const Key& key, Time now) const;
    bool holds(const Key& key, Time now) const;

    // expire removes everything whose expiry is <= now; it returns how many it removed.
    size_t expire(Time now);
    Time next_expiry() const;

    // keys appends every key held (records or values), in key order.
    void keys(std::vector<Key>& out) const;
    void snapshot(Time now, std::vector<StoreEntryInfo>& out) const;

    size_t record_count() const { return n_records_; }
    size_t value_count() const { return values_.size(); }
    size_t bytes() const { return bytes_; }
    // displaced counts records replaced in a full provider list to admit a newcomer.
    uint64_t displaced() const { return displaced_; }
    void set_limits(StoreLimits l) { limits_ = l; }

private:
    struct Expiry {
        Time at;
        Key key;
        PublicKey pk;  // all zero for a value
        bool is_value;
        bool operator>(const Expiry& o) const {
            if (at != o.at) return at > o.at;
            if (key != o.key) return key > o.key;
            return pk > o.pk;
        }
    };
    struct Usage {
        size_t items = 0;
        size_t bytes = 0;
    };
    // charge adds (or with a negative sign removes) one entry of |bytes| to its sender's
    // accounts.
    void charge(const StoreSource& src, size_t bytes, bool add);
    Err check_share(const StoreSource& src, size_t bytes) const;
    // victim picks the record a full list gives up for a newcomer from |src|, or -1.
    std::ptrdiff_t victim(const std::vector<StoredRecord>& list, const StoreSource& src) const;

    StoreLimits limits_;
    std::map<Key, std::vector<StoredRecord>> records_;
    std::map<uint64_t, Usage> by_peer_;    // remote entries per sender
    std::map<uint64_t, Usage> by_prefix_;  // remote entries per sender's prefix
    uint64_t arrivals_ = 0;
    uint64_t displaced_ = 0;
    std::map<Key, StoredValue> values_;
    std::priority_queue<Expiry, std::vector<Expiry>, std::greater<Expiry>> expiry_;
    size_t n_records_ = 0;
    size_t bytes_ = 0;
};

}  // namespace svcdht::core
