// SPDX-License-Identifier: MIT
// MemStore: a simulated host's durable copy of its store, kept in memory across a crash,
// the simulator's stand-in for the daemon's DiskStore. It hears the node's store changes as
// a StoreJournal and keeps them with unix times, as the disk does, so lifetimes run on while
// the host is down; restore() hands them back to a restarted node the way DiskStore::load
// does. It does no I/O and reads no clock: every commit succeeds at once.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "svcdht/node.h"
#include "svcdht/routing_table.h"
#include "svcdht/store.h"

namespace svcdht::sim {

// The contacts a restarted host dials first, at most: the daemon's number (WARM_CONTACTS in
// src/embed/dht.cc), so a simulated restart warms up as a real one does.
inline constexpr size_t SIM_WARM_CONTACTS = 32;

class MemStore final : public core::StoreJournal {
public:
    // |unix_offset_us|: unix time at engine time 0 (the node's unix_epoch_offset_us).
    explicit MemStore(int64_t unix_offset_us) : unix_offset_us_(unix_offset_us) {}

    void record_stored(const core::Key& key, const core::StoredRecord& r) override;
    void record_removed(const core::Key& key, const core::PublicKey& publisher) override;
    void value_stored(const core::Key& key, const core::StoredValue& v) override;
    void value_removed(const core::Key& key) override;

    // take_dirty: the journal heard something since the last call (the commit to make).
    bool take_dirty() { return std::exchange(dirty_, false); }

    struct Loaded {
        uint32_t records = 0, values = 0, dropped = 0;  // dropped: expired or refused
    };
    // restore gives |node| (not started yet) back every saved record and value, as
    // DiskStore::load does, and forgets those the node refuses (expired while the host was
    // down, or over today's limits).
    Loaded restore(core::Node& node, core::Time now);

    // save_contacts keeps the routing table's contacts, ordered as DiskStore::load orders
    // them (fewest failures first, then most recently seen); contacts() returns them.
    void save_contacts(const core::RoutingTable& table);
    std::span<const core::NodeInfo> contacts() const { return contacts_; }

    // clear loses everything (a host that comes back with a fresh data directory).
    void clear();
    size_t record_count() const { return records_.size(); }
    size_t value_count() const { return values_.size(); }

private:
    // A record as the disk keeps it: owned bytes, lifetime as signed (ts + ttl).
    struct SavedRecord {
        uint64_t ts = 0, ttl = 0, alg = 0;
        core::Signature sig{};
        std::vector<std::string> addrs;
        core::Bytes apk, asig;
        core::StoreSource src;
    };
    struct SavedValue {
        core::Bytes value;
        uint64_t expires_unix_ms = 0, until_unix = 0;
        core::StoreSource src;
    };
    uint64_t to_unix_ms(core::Time t) const;

    int64_t unix_offset_us_;
    bool dirty_ = false;
    // Ordered maps: restore() walks them, so the order of restoring is the seed's alone.
    std::map<std::pair<core::Key, core::PublicKey>, SavedRecord> records_;
    std::map<core::Key, SavedValue> values_;
    std::vector<core::NodeInfo> contacts_;
};

}  // namespace svcdht::sim
