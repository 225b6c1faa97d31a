// SPDX-License-Identifier: MIT
// DiskStore: a macronode's store on disk, in LMDB under data_dir/store (data.mdb and
// lock.mdb), held by one process at a time (an exclusive lock on data_dir/svc-dht.lock).
// It hears every change of the node's store as a StoreJournal, buffers the changes of a
// loop turn and writes them in one transaction (commit), before the turn's acknowledgements
// go out. At start it gives the node back its records, values and the contacts to dial.
//
// Tables: "records" (key || publisher -> record), "values" (key -> value), "contacts"
// (node id -> address, last seen, rtt, failures) and "meta" (the format). Times on disk are
// unix times, so lifetimes run on while the node is down. The encodings are in
// docs/PERSISTENCE.md.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "svcdht/node.h"
#include "svcdht/store.h"

namespace svcdht::embed {

struct DiskOptions {
    std::string data_dir;
    // sync: every commit reaches the disk (fdatasync) before it counts; batched: commits go
    // to the page cache and sync() writes them out (every sync_interval_ms).
    bool sync = false;
    uint64_t max_bytes = 1ull << 30;  // the file grows up to this
    bool read_only = false;           // the operator commands: no lock, no writes
};

struct DiskCounts {
    uint64_t records = 0, values = 0, contacts = 0;
    uint64_t file_bytes = 0;                              // data.mdb on disk
    uint64_t used_bytes = 0;                              // pages in use
    uint64_t map_bytes = 0;                               // current map size
    uint64_t oldest_expiry_ms = 0, newest_expiry_ms = 0;  // unix ms, 0 = none
};

struct LoadResult {
    uint64_t records = 0, values = 0, expired = 0, refused = 0;
    std::vector<core::NodeInfo> contacts;  // best first: fewest failures, then most recent
};

// One stored entry, decoded, for `svc-dht store dump` and `check`.
struct DumpEntry {
    enum class Kind : uint8_t { record, value, contact } kind = Kind::record;
    core::Key key;                // record, value; the node id of a contact
    core::PublicKey publisher{};  // record
    std::vector<std::string> addrs;
    uint64_t ts = 0, ttl = 0, alg = 0;
    uint64_t expires_ms = 0;  // unix ms (records: (ts + ttl) * 1000)
    uint64_t until_unix = 0;  // value
    size_t value_len = 0;
    bool local = false;
    core::PeerAddr addr;  // contact
    uint64_t last_seen_ms = 0;
    uint32_t rtt_us = 0, fails = 0;
};

class DiskStore final : public core::StoreJournal {
public:
    // open takes the lock and opens (or creates) the store under |o.data_dir|. nullptr
    // with a message naming the file, and what to do, when another process holds it, the
    // file is not a store of this format, or it cannot be opened.
    static std::unique_ptr<DiskStore> open(const DiskOptions& o, std::string* err);
    ~DiskStore() override;
    DiskStore(const DiskStore&) = delete;
    DiskStore& operator=(const DiskStore&) = delete;

    // load gives |node| back what is stored, deletes what expired while the node was down
    // (and what today's limits refuse), and returns the contacts to dial.
    LoadResult load(core::Node& node, core::Time now, int64_t unix_offset_us);

    // StoreJournal: buffered for the next commit.
    void record_stored(const core::Key& key, const core::StoredRecord& r) override;
    void record_removed(const core::Key& key, const core::PublicKey& publisher) override;
    void value_stored(const core::Key& key, const core::StoredValue& v) override;
    void value_removed(const core::Key& key) override;
    // save_contacts replaces the saved contacts with |table|'s at the next commit.
    void save_contacts(const core::RoutingTable& table);

    // touch adds a write of its own to the next commit: a probe whether the disk takes
    // writes again after a failure.
    void touch(uint64_t unix_ms);
    bool dirty() const { return !ops_.empty(); }
    // commit writes the buffered changes in one transaction. false with the reason (the
    // disk is full, the file reached max_bytes, an I/O error); the changes stay buffered
    // for the next attempt (at most MAX_PENDING, then the oldest are dropped and counted).
    bool commit(std::string* err);
    // sync writes committed pages out (batched mode); nothing to do in sync mode.
    bool sync(std::string* err);
    uint64_t dropped() const { return dropped_; }

    // counts reads every entry (for the operator); file_bytes only stats the file.
    DiskCounts counts(std::string* err) const;
    uint64_t file_bytes() const;
    // check reads every entry and decodes it: false with the first problem found.
    bool check(std::string* err) const;
    // dump calls |f| with every entry, records then values then contacts.
    bool dump(const std::function<void(const DumpEntry&)>& f, std::string* err) const;

    const std::string& path() const { return path_; }  // the data file

private:
    struct Op {
        enum class Kind : uint8_t { put_record, del_record, put_value, del_value, contacts, meta };
        Kind kind;
        std::string key;
        std::string val;  // contacts: the encoded list, one after another
    };
    DiskStore() = default;
    bool apply(MDB_txn* txn, const Op& op, int* rc) const;
    void commit_deletes();
    bool grow(std::string* err);
    uint64_t to_unix_ms(core::Time t) const;

    MDB_env* env_ = nullptr;
    MDB_dbi records_ = 0, values_ = 0, contacts_ = 0, meta_ = 0;
    int lock_fd_ = -1;
    DiskOptions opts_;
    std::string path_;
    uint64_t map_bytes_ = 0;
    int64_t unix_offset_us_ = 0;
    std::vector<Op> ops_;
    uint64_t dropped_ = 0;
};

}  // namespace svcdht::embed
