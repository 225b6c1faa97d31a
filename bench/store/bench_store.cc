// SPDX-License-Identifier: MIT
// bench_store: the macronode's durable store as the daemon composes it, core::Store with an
// embed::DiskStore (LMDB) as its journal, committed once per loop turn. It prints figures,
// one line each, and asserts nothing: ingest rates and commit latency per durability mode
// and commit batch, file size and RSS with N provider records, lookup latency from memory
// and from LMDB, and how long a restarted node takes to load the store back.
//
// Records carry random bytes where a signature belongs: the store does not verify, and the
// cost of verification belongs to the wire path (bench_micro measures it).
#include <lmdb.h>
#include <malloc.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "embed/disk_store.h"
#include "svcdht/blake3.h"
#include "svcdht/node.h"
#include "svcdht/store.h"
#include "util.h"

using namespace svcdht;
using core::Key;

namespace {

constexpr uint64_t TTL_SECS = 86400;
constexpr size_t VALUE_BYTES = 1024;
constexpr size_t LOOKUPS = 200000;
// The writes of one busy loop turn: the daemon commits once per turn, so a node under load
// commits many writes at once. A hundred is a round guess, not a measurement; one write per
// turn (an idle node's trickle) is the worst case and is measured too.
constexpr size_t BUSY_TURN = 100;

uint64_t now_ns() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

struct Options {
    size_t records = 1000000;
    size_t sync_records = 2000;  // sync mode, one write per commit; five times this in turns
    std::string dir;
    bool keep = false;
    uint64_t seed = 1;
};

// Percentiles by nearest rank, of samples in nanoseconds, printed in microseconds.
struct Latency {
    std::vector<uint64_t> ns;
    double pct(double p) {
        if (ns.empty()) return 0;
        std::sort(ns.begin(), ns.end());
        size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(ns.size()) + 0.999999);
        i = std::clamp<size_t>(i, 1, ns.size()) - 1;
        return static_cast<double>(ns[i]) / 1000.0;
    }
};

// /proc/self/status, in KiB: the anonymous part is the in-memory store (and this program),
// the file part is mostly data.mdb pages that LMDB's read-only map has touched.
struct Rss {
    uint64_t rss = 0, hwm = 0, anon = 0, file = 0;
};

Rss rss_now() {
    Rss r;
    FILE* f = std::fopen("/proc/self/status", "r");
    if (f == nullptr) return r;
    char line[256];
    while (std::fgets(line, sizeof line, f) != nullptr) {
        unsigned long long v = 0;
        if (std::sscanf(line, "VmRSS: %llu", &v) == 1) r.rss = v;
        if (std::sscanf(line, "VmHWM: %llu", &v) == 1) r.hwm = v;
        if (std::sscanf(line, "RssAnon: %llu", &v) == 1) r.anon = v;
        if (std::sscanf(line, "RssFile: %llu", &v) == 1) r.file = v;
    }
    std::fclose(f);
    return r;
}

// Bytes this process handed to write calls (LMDB writes its dirty pages with them): what
// a commit costs in pages, whatever the records' own size.
uint64_t bytes_written() {
    FILE* f = std::fopen("/proc/self/io", "r");
    if (f == nullptr) return 0;
    char line[128];
    unsigned long long v = 0;
    while (std::fgets(line, sizeof line, f) != nullptr)
        if (std::sscanf(line, "wchar: %llu", &v) == 1) break;
    std::fclose(f);
    return v;
}

void print_rss(const char* when, const Rss& r) {
    std::printf("rss %-34s VmRSS %8" PRIu64 " KiB  RssAnon %8" PRIu64 " KiB  RssFile %8" PRIu64
                " KiB  VmHWM %8" PRIu64 " KiB\n",
                when, r.rss, r.anon, r.file, r.hwm);
}

// Record |i| is a function of (seed, i) alone, so that lookups can name the keys stored
// without the benchmark holding a million keys of its own (which would count in the RSS).
struct RecordGen {
    uint64_t seed;
    uint64_t ts;  // unix seconds
    std::string a1, a2;
    std::vector<std::string_view> addrs;
    core::ProviderRecord r;
    core::StoreSource src;

    RecordGen(uint64_t seed_, uint64_t ts_) : seed(seed_), ts(ts_) {}
    // make fills r (valid until the next call) and src for record |i|: a 32-byte key and
    // publisher key, a 64-byte signature, one tcp address, a second one every other record,
    // sent by one of 4,096 peers on 1,024 networks.
    void make(uint64_t i) {
        core::SeededRng rng(seed * 0x9e3779b97f4a7c15ull + i);
        rng.fill(r.key.b.data(), r.key.b.size());
        rng.fill(r.pk.data(), r.pk.size());
        rng.fill(r.sig.data(), r.sig.size());
        addrs.clear();
        a1 = "tcp://203.0.113." + std::to_string(1 + rng.below(254)) + ":" +
             std::to_string(1024 + rng.below(60000));
        addrs.push_back(a1);
        if (i % 2 == 1) {
            a2 = "tcp://198.51.100." + std::to_string(1 + rng.below(254)) + ":" +
                 std::to_string(1024 + rng.below(60000));
            addrs.push_back(a2);
        }
        r.addrs = core::ItemList<std::string_view>::of(addrs);
        r.ttl = TTL_SECS;
        r.ts = ts;
        const uint64_t peer = rng.below(4096);
        src = core::StoreSource::remote(peer + 1, peer / 4 + 1);
    }
};

// A node as the daemon builds one, with store limits large enough for the whole run: the
// disk store restores into it (and, once, learns the unix time of engine time 0 from it).
struct BenchNode {
    core::SeededRng rng{7};
    std::unique_ptr<core::Node> node;
    BenchNode(const core::StoreLimits& limits, int64_t unix_offset_us) {
        core::NodeConfig cfg;
        cfg.store = limits;
        cfg.unix_epoch_offset_us = unix_offset_us;
        node = std::make_unique<core::Node>(cfg, test::identity(1),
                                            core::Env{&rng, &test::crypto(), nullptr}, 0);
    }
};

struct Bench {
    Options opt;
    std::string root;
    int64_t unix_offset_us = 0;
    core::StoreLimits limits;

    // open opens (or creates) the store of |name|. A new store is loaded into a throwaway
    // node at once, as the daemon does at start: that sets the unix time of engine time 0,
    // in which values' expiries are written.
    std::unique_ptr<embed::DiskStore> open(const std::string& name, bool sync, bool fresh = true) {
        embed::DiskOptions o;
        o.data_dir = root + "/" + name;
        o.sync = sync;
        o.max_bytes = 64ull << 30;
        std::string err;
        std::unique_ptr<embed::DiskStore> d = embed::DiskStore::open(o, &err);
        if (!d) {
            std::fprintf(stderr, "bench_store: %s\n", err.c_str());
            std::exit(1);
        }
        if (fresh) {
            BenchNode n(limits, unix_offset_us);
            d->load(*n.node, 0, unix_offset_us);
        }
        return d;
    }

    static void commit(embed::DiskStore& d) {
        std::string err;
        if (!d.commit(&err)) {
            std::fprintf(stderr, "bench_store: commit: %s\n", err.c_str());
            std::exit(1);
        }
    }

    // ingest_records stores records [0, n) in turns of |batch| writes, each turn ending with
    // a commit as the daemon's loop does, and prints the rate and commit latency. Only the
    // writes and the commit are timed, not making the records. Without a disk store (null)
    // it measures the in-memory store alone.
    void ingest_records(core::Store& store, embed::DiskStore* disk, const char* mode, size_t n,
                        size_t batch) {
        RecordGen g(opt.seed, static_cast<uint64_t>(unix_offset_us / 1000000));
        Latency commits;
        uint64_t total_ns = 0;
        const uint64_t w0 = bytes_written();
        std::vector<RecordGen> turn(batch, g);
        for (size_t done = 0; done < n;) {
            const size_t b = std::min(batch, n - done);
            for (size_t j = 0; j < b; ++j) turn[j].make(done + j);
            const uint64_t t0 = now_ns();
            for (size_t j = 0; j < b; ++j) {
                if (core::Err e = store.put_record(turn[j].r, core::secs(TTL_SECS), turn[j].src);
                    e != core::Err::ok) {
                    std::fprintf(stderr, "bench_store: put_record: %s\n", core::err_name(e));
                    std::exit(1);
                }
            }
            const uint64_t t1 = now_ns();
            if (disk != nullptr) commit(*disk);
            const uint64_t t2 = now_ns();
            if (disk != nullptr) commits.ns.push_back(t2 - t1);
            total_ns += t2 - t0;
            done += b;
        }
        report("records", mode, n, batch, total_ns, bytes_written() - w0, commits);
    }

    // ingest_values does the same with values of VALUE_BYTES random bytes under their
    // BLAKE3 (hashed outside the timed part, as the wire path does before the store).
    void ingest_values(core::Store& store, embed::DiskStore& disk, const char* mode, size_t n,
                       size_t batch) {
        core::SeededRng rng(opt.seed + 1000);
        Latency commits;
        uint64_t total_ns = 0;
        const uint64_t w0 = bytes_written();
        std::vector<core::Bytes> vals(batch, core::Bytes(VALUE_BYTES));
        std::vector<Key> keys(batch);
        const core::StoreSource src = core::StoreSource::remote(1, 1);
        for (size_t done = 0; done < n;) {
            const size_t b = std::min(batch, n - done);
            for (size_t j = 0; j < b; ++j) {
                rng.fill(vals[j].data(), vals[j].size());
                keys[j] = core::NodeId::from(core::blake3(vals[j]));
            }
            const uint64_t t0 = now_ns();
            for (size_t j = 0; j < b; ++j) {
                // Spread over senders as records are, so no sender's share binds.
                core::StoreSource s = src;
                s.peer = 1 + (done + j) % 4096;
                s.prefix = 1 + (done + j) % 1024;
                if (core::Err e = store.put_value(keys[j], vals[j], core::secs(TTL_SECS), s);
                    e != core::Err::ok) {
                    std::fprintf(stderr, "bench_store: put_value: %s\n", core::err_name(e));
                    std::exit(1);
                }
            }
            const uint64_t t1 = now_ns();
            commit(disk);
            const uint64_t t2 = now_ns();
            commits.ns.push_back(t2 - t1);
            total_ns += t2 - t0;
            done += b;
        }
        report("values of 1 KiB", mode, n, batch, total_ns, bytes_written() - w0, commits);
    }

    static void report(const char* what, const char* mode, size_t n, size_t batch,
                       uint64_t total_ns, uint64_t written, Latency& commits) {
        const double secs = static_cast<double>(total_ns) / 1e9;
        uint64_t commit_ns = 0;
        for (uint64_t c : commits.ns) commit_ns += c;
        char label[96];
        if (commits.ns.empty())
            std::snprintf(label, sizeof label, "%s, %s:", what, mode);
        else
            std::snprintf(label, sizeof label, "%s, %s, %zu per commit:", what, mode, batch);
        std::printf(
            "ingest %-42s %10.0f /s  (%zu in %.2f s, of which commits %.2f s; written "
            "%.0f B each)\n",
            label, static_cast<double>(n) / secs, n, secs, static_cast<double>(commit_ns) / 1e9,
            static_cast<double>(written) / static_cast<double>(n));
        if (commits.ns.empty()) return;
        std::printf("commit %-42s p50 %9.1f us  p99 %9.1f us  max %9.1f us  (%zu commits)\n", label,
                    commits.pct(50), commits.pct(99), commits.pct(100), commits.ns.size());
    }

    // One store of each kind, durability mode and batch, on a fresh file.
    void ingest_run(const char* kind, bool sync, size_t n, size_t batch) {
        const std::string name =
            std::string(kind) + (sync ? "-sync-" : "-batched-") + std::to_string(batch);
        std::unique_ptr<embed::DiskStore> disk = open(name, sync);
        core::Store store(limits);
        store.set_journal(disk.get());
        if (kind[0] == 'r')
            ingest_records(store, disk.get(), sync ? "sync" : "batched", n, batch);
        else
            ingest_values(store, *disk, sync ? "sync" : "batched", n, batch);
        store.set_journal(nullptr);
        disk.reset();
        std::filesystem::remove_all(root + "/" + name);
        malloc_trim(0);  // so that each RSS line shows what is live
    }

    void file_figures(const embed::DiskStore& disk, size_t n) {
        struct stat st {};
        if (::stat(disk.path().c_str(), &st) != 0) return;
        const auto size = static_cast<double>(st.st_size);
        const auto alloc = static_cast<double>(st.st_blocks) * 512.0;
        std::string err;
        const embed::DiskCounts c = disk.counts(&err);
        std::printf("file data.mdb st_size      %12.0f B  %6.1f B/record\n", size,
                    size / static_cast<double>(n));
        std::printf("file data.mdb allocated    %12.0f B  %6.1f B/record  (st_blocks * 512)\n",
                    alloc, alloc / static_cast<double>(n));
        std::printf("file pages in use          %12" PRIu64 " B  %6.1f B/record\n", c.used_bytes,
                    static_cast<double>(c.used_bytes) / static_cast<double>(n));
    }

    // The node answers GET_PROVIDERS from memory: Store::records for keys it holds, and
    // for keys it does not. Each call is timed on its own.
    void lookups_in_memory(const core::Store& store, size_t n) {
        RecordGen g(opt.seed, 0);
        core::SeededRng pick(opt.seed + 2);
        std::vector<const core::StoredRecord*> out;
        Latency hit, miss, empty;
        size_t found = 0;
        for (size_t i = 0; i < LOOKUPS; ++i) {
            g.make(pick.below(n));
            const Key key = g.r.key;
            const uint64_t t0 = now_ns();
            out.clear();
            store.records(key, 0, core::DEFAULT_K, out);
            const uint64_t t1 = now_ns();
            hit.ns.push_back(t1 - t0);
            found += out.size();
        }
        for (size_t i = 0; i < LOOKUPS; ++i) {
            Key key;
            pick.fill(key.b.data(), key.b.size());
            const uint64_t t0 = now_ns();
            out.clear();
            store.records(key, 0, core::DEFAULT_K, out);
            const uint64_t t1 = now_ns();
            miss.ns.push_back(t1 - t0);
            found += out.size();
        }
        for (size_t i = 0; i < LOOKUPS; ++i) {
            const uint64_t t0 = now_ns();
            const uint64_t t1 = now_ns();
            empty.ns.push_back(t1 - t0);
        }
        std::printf(
            "lookup memory, key held        p50 %7.2f us  p99 %7.2f us  (%zu lookups, "
            "%zu records found)\n",
            hit.pct(50), hit.pct(99), LOOKUPS, found);
        std::printf("lookup memory, key not held    p50 %7.2f us  p99 %7.2f us\n", miss.pct(50),
                    miss.pct(99));
        std::printf("lookup timer alone             p50 %7.2f us  p99 %7.2f us  (included above)\n",
                    empty.pct(50), empty.pct(99));
    }

    // The same keys read straight from data.mdb (after the disk store closed: one process
    // must not open an LMDB environment twice), as a node serving from disk would: a read
    // transaction renewed per lookup, and a cursor over the entries key || publisher of the
    // key (the publisher is what the reader does not know). Two passes: the first maps
    // pages on first touch (a fresh process; the file is in the page cache), the second
    // finds most of them mapped.
    void lookups_in_lmdb(const std::string& data_dir, size_t n) {
        MDB_env* env = nullptr;
        MDB_txn* txn = nullptr;
        MDB_dbi dbi = 0;
        const std::string dir = data_dir + "/store";
        int rc = mdb_env_create(&env);
        if (rc == 0) rc = mdb_env_set_maxdbs(env, 4);
        if (rc == 0) rc = mdb_env_set_mapsize(env, 64ull << 30);
        if (rc == 0) rc = mdb_env_open(env, dir.c_str(), MDB_RDONLY | MDB_NOTLS, 0600);
        // The table's handle outlives the transaction that opened it only once that one
        // commits.
        if (rc == 0) rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn);
        if (rc == 0) rc = mdb_dbi_open(txn, "records", 0, &dbi);
        if (rc == 0) rc = mdb_txn_commit(txn);
        if (rc == 0) rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn);
        MDB_stat ms{};
        if (rc == 0) rc = mdb_stat(txn, dbi, &ms);
        if (rc != 0) {
            std::printf("lookup lmdb: %s\n", mdb_strerror(rc));
            if (env != nullptr) mdb_env_close(env);
            return;
        }
        const auto leaf = static_cast<double>(ms.ms_leaf_pages);
        std::printf("lmdb records table: %" PRIu64 " entries, depth %u, %" PRIu64
                    " branch + %" PRIu64 " leaf + %" PRIu64
                    " overflow pages of %u B, "
                    "%.1f entries per leaf page\n",
                    static_cast<uint64_t>(ms.ms_entries), ms.ms_depth,
                    static_cast<uint64_t>(ms.ms_branch_pages),
                    static_cast<uint64_t>(ms.ms_leaf_pages),
                    static_cast<uint64_t>(ms.ms_overflow_pages), ms.ms_psize,
                    static_cast<double>(ms.ms_entries) / leaf);
        MDB_cursor* cur = nullptr;
        mdb_cursor_open(txn, dbi, &cur);
        mdb_txn_reset(txn);

        RecordGen g(opt.seed, 0);
        for (int pass = 0; pass < 2; ++pass) {
            core::SeededRng pick(opt.seed + 3 + static_cast<uint64_t>(pass));
            Latency lat;
            size_t found = 0;
            for (size_t i = 0; i < LOOKUPS; ++i) {
                g.make(pick.below(n));
                Key want = g.r.key;
                MDB_val key{want.b.size(), want.b.data()}, val;
                const uint64_t t0 = now_ns();
                mdb_txn_renew(txn);
                mdb_cursor_renew(txn, cur);
                for (int r = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
                     r == 0 && key.mv_size == 64 &&
                     std::memcmp(key.mv_data, want.b.data(), want.b.size()) == 0;
                     r = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
                    ++found;
                mdb_txn_reset(txn);
                const uint64_t t1 = now_ns();
                lat.ns.push_back(t1 - t0);
            }
            std::printf(
                "lookup lmdb, %-19s p50 %7.2f us  p99 %7.2f us  (%zu lookups, %zu "
                "found)\n",
                pass == 0 ? "first pass, new map" : "second pass", lat.pct(50), lat.pct(99),
                LOOKUPS, found);
        }
        mdb_txn_renew(txn);
        // How full the leaves are: the bytes of the entries (a node header of 8 bytes, the
        // key, the value, and the page's 2-byte slot) against the leaf pages' space.
        uint64_t entry_bytes = 0;
        MDB_val k, v;
        mdb_cursor_renew(txn, cur);
        for (int r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); r == 0;
             r = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
            entry_bytes += 8 + k.mv_size + v.mv_size + 2;
        mdb_cursor_close(cur);
        mdb_txn_abort(txn);
        txn = nullptr;
        std::printf(
            "lmdb entry %.1f B on average (key 64, node header 8, slot 2); leaf pages "
            "%.1f %% full\n",
            static_cast<double>(entry_bytes) / static_cast<double>(ms.ms_entries),
            100.0 * static_cast<double>(entry_bytes) / (leaf * (ms.ms_psize - 16)));
        // What the fill costs: the same entries in full leaf pages (as a bulk load in key
        // order would leave them; random keys split pages and leave them two-thirds full).
        const double full = static_cast<double>(entry_bytes) / (ms.ms_psize - 16) * ms.ms_psize;
        std::printf("lmdb leaves if full would take %.1f B/record\n",
                    full / static_cast<double>(n));
        mdb_env_close(env);
    }

    // The figures with N records: ingest (batched, a busy turn per commit), the file, the
    // memory, lookups, and the restart.
    void full_store() {
        const size_t n = opt.records;
        const std::string name = "records-full";
        print_rss("at start", rss_now());
        std::unique_ptr<embed::DiskStore> disk = open(name, false);
        auto store = std::make_unique<core::Store>(limits);
        store->set_journal(disk.get());
        ingest_records(*store, disk.get(), "batched", n, BUSY_TURN);
        std::string err;
        const uint64_t t0 = now_ns();
        disk->sync(&err);
        std::printf(
            "sync after ingest (batched mode's periodic sync, everything at once): "
            "%.2f s\n",
            static_cast<double>(now_ns() - t0) / 1e9);
        file_figures(*disk, n);
        std::printf("store bytes (the store's own account) %" PRIu64 " B, %.1f B/record\n",
                    static_cast<uint64_t>(store->bytes()),
                    static_cast<double>(store->bytes()) / static_cast<double>(n));
        print_rss("with the records stored", rss_now());
        lookups_in_memory(*store, n);
        store->set_journal(nullptr);
        disk.reset();
        store.reset();
        malloc_trim(0);
        print_rss("store and disk store closed", rss_now());

        // A restart: open the file and give a fresh node its records back.
        BenchNode fresh(limits, unix_offset_us);
        const uint64_t l0 = now_ns();
        disk = open(name, false, false);
        const uint64_t l1 = now_ns();
        const embed::LoadResult lr = disk->load(*fresh.node, 0, unix_offset_us);
        const uint64_t l2 = now_ns();
        const double load_s = static_cast<double>(l2 - l1) / 1e9;
        std::printf("restart: open %.3f s, load %" PRIu64
                    " records in %.2f s, %.0f records/s "
                    "(%" PRIu64 " expired, %" PRIu64 " refused)\n",
                    static_cast<double>(l1 - l0) / 1e9, lr.records, load_s,
                    static_cast<double>(lr.records) / load_s, lr.expired, lr.refused);
        print_rss("after the restart load", rss_now());
        disk.reset();
        fresh.node.reset();
        malloc_trim(0);
        lookups_in_lmdb(root + "/" + name, n);
        std::filesystem::remove_all(root + "/" + name);

        // The same records into the in-memory store alone: what of the ingest time is the
        // store's own (the rest is encoding the journal's entries and the commits).
        store = std::make_unique<core::Store>(limits);
        ingest_records(*store, nullptr, "in memory alone, no journal", n, BUSY_TURN);
        store.reset();
        malloc_trim(0);
    }
};

void usage() {
    std::fprintf(stderr,
                 "usage: bench_store [--records N] [--sync-records N] [--quick] [--dir DIR] "
                 "[--keep] [--seed S]\n"
                 "  --records N       provider records of the full store (default 1000000)\n"
                 "  --sync-records N  records and values per run in sync mode with one write\n"
                 "                    per commit (default 2000; five times as many in turns)\n"
                 "  --quick           100000 records and 500 in sync mode\n"
                 "  --dir DIR         work under DIR (kept); default a new directory under\n"
                 "                    $TMPDIR or /var/tmp, removed at the end unless --keep\n");
}

}  // namespace

int main(int argc, char** argv) {
    Bench b;
    bool own_dir = true;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        const bool has_next = i + 1 < argc;
        if (a == "--records" && has_next) {
            b.opt.records = std::strtoull(argv[++i], nullptr, 10);
        } else if (a == "--sync-records" && has_next) {
            b.opt.sync_records = std::strtoull(argv[++i], nullptr, 10);
        } else if (a == "--quick") {
            b.opt.records = 100000;
            b.opt.sync_records = 500;
        } else if (a == "--dir" && has_next) {
            b.opt.dir = argv[++i];
            own_dir = false;
        } else if (a == "--keep") {
            b.opt.keep = true;
        } else if (a == "--seed" && has_next) {
            b.opt.seed = std::strtoull(argv[++i], nullptr, 10);
        } else {
            usage();
            return 2;
        }
    }
    if (b.opt.records < 1000 || b.opt.sync_records < 10) {
        usage();
        return 2;
    }
    if (own_dir) {
        const char* tmp = std::getenv("TMPDIR");
        std::string tmpl =
            std::string(tmp != nullptr && *tmp != 0 ? tmp : "/var/tmp") + "/bench_store.XXXXXX";
        if (::mkdtemp(tmpl.data()) == nullptr) {
            std::perror(tmpl.c_str());
            return 1;
        }
        b.root = tmpl;
    } else {
        std::error_code ec;
        std::filesystem::create_directories(b.opt.dir, ec);
        b.root = b.opt.dir;
    }
    b.unix_offset_us = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    b.limits.max_items = 4 * b.opt.records;
    b.limits.max_bytes = 64ull << 30;

    struct statfs fs {};
    const bool tmpfs = ::statfs(b.root.c_str(), &fs) == 0 && fs.f_type == 0x01021994;
    std::printf(
        "bench_store: %zu records, under %s%s; rates count the writes and the commit "
        "of each loop turn\n",
        b.opt.records, b.root.c_str(), tmpfs ? " (tmpfs: sync mode reaches no disk)" : "");

    const size_t n = b.opt.records, s = b.opt.sync_records;
    b.full_store();
    b.ingest_run("records", false, n / 10, 1);
    b.ingest_run("values", false, n / 10, BUSY_TURN);
    b.ingest_run("values", false, n / 50, 1);
    b.ingest_run("records", true, s, 1);
    b.ingest_run("records", true, 5 * s, BUSY_TURN);
    b.ingest_run("values", true, s, 1);
    b.ingest_run("values", true, 5 * s, BUSY_TURN);
    print_rss("at the end", rss_now());

    if (own_dir && !b.opt.keep) std::filesystem::remove_all(b.root);
    return 0;
}
