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
#include <memory>
#include <optional>
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

// A record signed with another algorithm than Ed25519 keeps that algorithm's key and
// signature here, behind a pointer: almost every record is Ed25519 and pays 8 bytes.
struct AltSig {
    uint64_t alg = 0;
    uint32_t apk_len = 0;
    Bytes key_sig;  // its public key, then its signature
};

// StoredRecord owns what a ProviderRecord views, without its key (the store and a lookup
// hold records per key) and packed: 160 bytes plus one allocation for the addresses.
class StoredRecord {
public:
    PublicKey pk{};
    Signature sig{};  // Ed25519
    uint64_t ts = 0;
    Time expires = 0;      // engine time
    uint64_t arrival = 0;  // store-wide arrival order: within a prefix, the oldest goes first

    StoredRecord() = default;
    StoredRecord(StoredRecord&&) noexcept = default;
    StoredRecord& operator=(StoredRecord&&) noexcept = default;

    // from copies an admitted record (its ttl is at most max_ttl_secs, which fits 32 bits).
    static StoredRecord from(const ProviderRecord& r, Time expires);

    uint64_t ttl() const { return ttl_; }
    uint64_t alg() const { return alt_ ? alt_->alg : SIG_ED25519; }
    StoreSource src() const { return {local_, peer_, prefix_, from_publisher_}; }
    void set_src(const StoreSource& s);
    // addrs appends the addresses as views into this record.
    void addrs(std::vector<std::string_view>& out) const;
    std::vector<std::string> addr_strings() const;
    // bytes is what the record costs the store's byte budget: its own size, its address
    // buffer and its other-algorithm signature.
    size_t bytes() const;
    // same_signature: |r| carries the very signature this record holds.
    bool same_signature(const ProviderRecord& r) const;
    // view returns the ProviderRecord of |key| whose addrs point into |addr_views| (filled
    // here) and into this record.
    ProviderRecord view(const Key& key, std::vector<std::string_view>& addr_views) const;

private:
    uint64_t peer_ = 0;  // StoreSource, packed
    uint64_t prefix_ = 0;
    // The addresses, each as its length (one byte below 128, else two: 0x80 | high, low)
    // followed by its bytes, addr_len_ bytes in all.
    std::unique_ptr<uint8_t[]> addr_;
    std::unique_ptr<AltSig> alt_;
    uint32_t ttl_ = 0;
    uint16_t addr_len_ = 0;
    bool local_ = true;
    bool from_publisher_ = false;
};

struct StoredValue {
    Bytes value;
    Time expires = 0;
    StoreSource src;
    // Our own put (src.local): when the lifetime the caller asked for ends, in unix seconds.
    uint64_t until_unix = 0;
};

// What came due at one call of Store::due: how many records and values expired (removed
// already), and the keys whose round is due (see Store::hold).
struct StoreDue {
    size_t expired = 0;
    std::vector<Key> rounds;
};

struct StoreEntryInfo {  // one line of the debug snapshot
    bool is_value = false;
    Key key;
    PublicKey publisher{};  // records only
    std::vector<std::string> addrs;
    size_t value_len = 0;
    Time expires = 0;
};

// radius_code maps an XOR distance to 32 bits, monotonically (a nearer distance never gets
// a larger code): its bit length and the 23 bits after its leading one. A holder keeps the
// code of its replica set's reach per key; comparing codes errs only towards pushing a
// record to one node more.
uint32_t radius_code(const NodeId& distance);

// StoreJournal hears every change of the store's contents, for a durable copy kept by the
// embedder (the daemon's disk store): a record or value stored or changed, and one removed
// (expired or displaced). The store calls it after the change, with engine times.
class StoreJournal {
public:
    virtual ~StoreJournal() = default;
    virtual void record_stored(const Key& key, const StoredRecord& r) = 0;
    virtual void record_removed(const Key& key, const PublicKey& publisher) = 0;
    virtual void value_stored(const Key& key, const StoredValue& v) = 0;
    virtual void value_removed(const Key& key) = 0;
};

class Store {
public:
    explicit Store(StoreLimits limits) : limits_(limits) {}
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

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
    // already held has its expiry extended (and, for our own put, its lifetime
    // |until_unix|). Errors: store_peer_quota, store_prefix_quota, store_full.
    [[nodiscard]] Err put_value(const Key& key, ByteView value, Time expires,
                                const StoreSource& src = {}, uint64_t until_unix = 0);

    // records returns the live records for |key| at |now| (pointers valid until the next
    // mutation), newest first, at most |max|.
    void records(const Key& key, Time now, size_t max, std::vector<const StoredRecord*>& out) const;
    // local_record is our own live record for |key|, or null.
    const StoredRecord* local_record(const Key& key, Time now) const;
    const StoredValue* value(const Key& key, Time now) const;
    bool holds(const Key& key, Time now) const;
    // holds_others: |key| has a live value or a record that is not our own.
    bool holds_others(const Key& key, Time now) const;

    // The holder's state per key, kept with the key's entry and gone with it: the code of
    // its replica set's reach (radius_code) and when its next round (replication, and
    // republishing our own record or value) is due. hold sets both for a key held;
    // reschedule moves the round.
    void hold(const Key& key, uint32_t radius, Time round_at);
    void reschedule(const Key& key, Time round_at);
    // each_held calls f(key, radius&) for every key held, in key order, until f returns
    // false; f may change the radius and nothing else.
    template <class F>
    void each_held(F&& f) {
        for (auto& [key, h] : keys_)
            if (!f(key, h.radius)) return;
    }

    // due removes what expired by |now| and sets |out| to what it removed and the keys
    // whose round is due (their round moves to NEVER until the engine reschedules it), for
    // at most |max_keys| keys: the rest stay due (next_due() <= now) for the next call, so
    // that a mass expiry (a node back after a long stop, a burst that all ends at once)
    // is spread over loop turns. next_due is the earliest time at which due has work.
    void due(Time now, StoreDue& out, size_t max_keys = SIZE_MAX);
    Time next_due() const { return heap_.empty() ? NEVER : heap_.front().at; }

    // keys appends every key held (records or values), in key order.
    void keys(std::vector<Key>& out) const;
    void snapshot(Time now, std::vector<StoreEntryInfo>& out) const;

    size_t record_count() const { return n_records_; }
    size_t value_count() const { return n_values_; }
    size_t bytes() const { return bytes_; }
    // displaced counts records replaced in a full provider list to admit a newcomer.
    uint64_t displaced() const { return displaced_; }
    const StoreLimits& limits() const { return limits_; }
    void set_limits(StoreLimits l) { limits_ = l; }
    // set_journal: from now on every change is told to |j| (nullptr: to nobody).
    void set_journal(StoreJournal* j) { journal_ = j; }

private:
    // One entry per key. The first record is kept inline (most keys have one provider);
    // more records and a value go to Extra. 184 bytes, so a map node is 256 with the key.
    struct Extra {
        std::vector<StoredRecord> more;
        std::optional<StoredValue> value;
    };
    struct Held {
        StoredRecord first;  // when has_first
        std::unique_ptr<Extra> extra;
        Time round_at = NEVER;
        uint32_t radius = UINT32_MAX;
        uint32_t heap_pos : 31 = 0;  // this entry's place in heap_
        uint32_t has_first : 1 = 0;

        size_t count() const { return has_first + (extra ? extra->more.size() : 0); }
        StoredRecord& at(size_t i) { return i == 0 ? first : extra->more[i - 1]; }
        const StoredRecord& at(size_t i) const { return i == 0 ? first : extra->more[i - 1]; }
        const StoredValue* value() const {
            return extra && extra->value ? &*extra->value : nullptr;
        }
        Time next_event() const;
    };
    using Entry = std::map<Key, Held>::value_type;
    // heap_ orders the entries by their next event (an expiry or the round), a binary
    // min-heap whose entries know their place, so a change moves one entry.
    struct Event {
        Time at;
        Entry* entry;
    };
    struct Usage {
        size_t items = 0;
        size_t bytes = 0;
    };
    // charge adds (or removes) one entry of |bytes| to its sender's accounts.
    void charge(const StoreSource& src, size_t bytes, bool add);
    Err check_share(const StoreSource& src, size_t bytes) const;
    // victim picks the record a full list gives up for a newcomer from |src|, or -1.
    std::ptrdiff_t victim(const Held& h, const StoreSource& src) const;
    void add_record(Held& h, StoredRecord r);
    void remove_record(Entry& e, size_t i);
    // settle puts |e| where its next event belongs in the heap, or erases it when it holds
    // nothing.
    void settle(Entry& e);
    void heap_place(size_t i);
    void heap_remove(size_t i);
    void heap_set(size_t i, Event ev);

    StoreLimits limits_;
    StoreJournal* journal_ = nullptr;
    std::map<Key, Held> keys_;
    std::vector<Event> heap_;
    std::map<uint64_t, Usage> by_peer_;    // remote entries per sender
    std::map<uint64_t, Usage> by_prefix_;  // remote entries per sender's prefix
    uint64_t arrivals_ = 0;
    uint64_t displaced_ = 0;
    size_t n_records_ = 0;
    size_t n_values_ = 0;
    size_t bytes_ = 0;
};

}  // namespace svcdht::core
