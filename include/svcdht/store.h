// SPDX-License-Identifier: MIT
// The local store: signed provider records (one per key and publisher, newer ts wins) and
// content-addressed values (key = BLAKE3(value)). Bounded in items and bytes, per key and in
// total; records and values expire on the engine's timer (expire(now)), never on read:
// get() filters by time but changes nothing. Pure; no clock reads.
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
};

// StoredRecord owns what a ProviderRecord views.
struct StoredRecord {
    Key key;
    PublicKey pk{};
    std::vector<std::string> addrs;
    uint64_t ttl = 0;
    uint64_t ts = 0;
    Signature sig{};
    Time expires = 0;  // engine time

    size_t bytes() const;
    // view returns a ProviderRecord whose addrs point into |addr_views| (filled here).
    ProviderRecord view(std::vector<std::string_view>& addr_views) const;
    static StoredRecord from(const ProviderRecord& r, Time expires);
};

struct StoredValue {
    Bytes value;
    Time expires = 0;
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

    // put_record stores |rec| (already admitted) until |expires|. Storing the identical
    // record again succeeds and changes nothing.
    // Errors: stale_record (a newer record, or another one with the same ts, from the same
    // publisher is held), store_full (item, byte or per-key limit).
    [[nodiscard]] Err put_record(const ProviderRecord& rec, Time expires);
    // put_value stores |value| under |key| (the caller checked key = BLAKE3(value)); a value
    // already held has its expiry extended. Errors: store_full.
    [[nodiscard]] Err put_value(const Key& key, ByteView value, Time expires);

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
    StoreLimits limits_;
    std::map<Key, std::vector<StoredRecord>> records_;
    std::map<Key, StoredValue> values_;
    std::priority_queue<Expiry, std::vector<Expiry>, std::greater<Expiry>> expiry_;
    size_t n_records_ = 0;
    size_t bytes_ = 0;
};

}  // namespace svcdht::core
