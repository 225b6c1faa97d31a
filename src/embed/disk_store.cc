// SPDX-License-Identifier: MIT
// The store on disk (see disk_store.h): LMDB under data_dir/store, one write transaction
// per commit, the map grown on demand up to max_bytes, and the entry encodings.
#include "embed/disk_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "svcdht/blake3.h"

namespace svcdht::embed {

using core::ByteView;
using core::Key;

namespace {

constexpr uint8_t FORMAT = 1;  // the first byte of every entry
constexpr char MAGIC[] = "svc-dht store 1";
constexpr uint64_t MIN_MAP = 8ull << 20;
// Changes kept for a retry while the disk refuses them; beyond, the oldest are dropped (the
// node refuses new writes meanwhile, so only expiries, republishing rounds and the latest
// contacts and probe add to them; deletes are retried on their own: commit_deletes).
constexpr size_t MAX_PENDING = 65536;
constexpr uint8_t F_LOCAL = 1, F_FROM_PUBLISHER = 2, F_ALT = 4;

// ---- little-endian encoding -------------------------------------------------------------
void put_u(std::string& out, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_b(std::string& out, const uint8_t* p, size_t n) {
    out.append(reinterpret_cast<const char*>(p), n);
}

struct Cursor {
    const uint8_t* p;
    const uint8_t* end;
    bool ok = true;
    uint64_t u(int bytes) {
        if (end - p < bytes) {
            ok = false;
            return 0;
        }
        uint64_t v = 0;
        for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
        p += bytes;
        return v;
    }
    const uint8_t* take(size_t n) {
        if (static_cast<size_t>(end - p) < n) {
            ok = false;
            return nullptr;
        }
        const uint8_t* at = p;
        p += n;
        return at;
    }
};

MDB_val val_of(const std::string& s) {
    return {s.size(), const_cast<char*>(s.data())};
}
std::string key_bytes(const Key& k) {
    return {reinterpret_cast<const char*>(k.b.data()), k.b.size()};
}

std::string lmdb_error(const char* what, int rc) {
    return std::string(what) + ": " + mdb_strerror(rc);
}

// A decoded record: its views point into the entry (valid while the transaction lives).
struct RecordEntry {
    core::ProviderRecord rec;
    std::vector<std::string_view> addrs;
    core::StoreSource src;
};

bool decode_record(const MDB_val& k, const MDB_val& v, RecordEntry* out) {
    if (k.mv_size != 64) return false;
    Cursor c{static_cast<const uint8_t*>(v.mv_data),
             static_cast<const uint8_t*>(v.mv_data) + v.mv_size};
    if (c.u(1) != FORMAT) return false;
    // One entry is decoded into the same RecordEntry after another: nothing of the last
    // one may stay (an Ed25519-only record after one with an alternative signature).
    out->rec = core::ProviderRecord{};
    out->src = core::StoreSource{};
    const auto flags = static_cast<uint8_t>(c.u(1));
    out->src.local = (flags & F_LOCAL) != 0;
    out->src.from_publisher = (flags & F_FROM_PUBLISHER) != 0;
    out->src.peer = c.u(8);
    out->src.prefix = c.u(8);
    core::ProviderRecord& r = out->rec;
    const auto* kb = static_cast<const uint8_t*>(k.mv_data);
    std::copy(kb, kb + 32, r.key.b.begin());
    std::copy(kb + 32, kb + 64, r.pk.begin());
    r.ts = c.u(8);
    r.ttl = c.u(4);
    if (const uint8_t* s = c.take(r.sig.size())) std::copy(s, s + r.sig.size(), r.sig.begin());
    const uint64_t n = c.u(1);
    if (n > core::MAX_PROVIDER_ADDRS) return false;
    out->addrs.clear();
    for (uint64_t i = 0; i < n && c.ok; ++i) {
        const uint64_t len = c.u(2);
        const uint8_t* a = c.take(len);
        if (a != nullptr) out->addrs.emplace_back(reinterpret_cast<const char*>(a), len);
    }
    r.addrs = core::ItemList<std::string_view>::of(out->addrs);
    if ((flags & F_ALT) != 0) {
        r.alg = c.u(8);
        const uint64_t apk = c.u(4), asig = c.u(4);
        const uint8_t* a = c.take(apk);
        const uint8_t* s = c.take(asig);
        if (c.ok) {
            r.apk = ByteView(a, apk);
            r.asig = ByteView(s, asig);
        }
    }
    return c.ok && c.p == c.end;
}

struct ValueEntry {
    ByteView value;
    uint64_t expires_ms = 0, until_unix = 0;
    core::StoreSource src;
};

bool decode_value(const MDB_val& k, const MDB_val& v, ValueEntry* out) {
    if (k.mv_size != 32) return false;
    Cursor c{static_cast<const uint8_t*>(v.mv_data),
             static_cast<const uint8_t*>(v.mv_data) + v.mv_size};
    if (c.u(1) != FORMAT) return false;
    const auto flags = static_cast<uint8_t>(c.u(1));
    out->src.local = (flags & F_LOCAL) != 0;
    out->src.peer = c.u(8);
    out->src.prefix = c.u(8);
    out->expires_ms = c.u(8);
    out->until_unix = c.u(8);
    if (!c.ok) return false;
    out->value = ByteView(c.p, static_cast<size_t>(c.end - c.p));
    return true;
}

struct ContactEntry {
    core::NodeInfo node;
    uint64_t last_seen_ms = 0;
    uint32_t rtt_us = 0, fails = 0;
};

void encode_contact(std::string& out, const core::Contact& ct, uint64_t last_seen_ms) {
    put_u(out, FORMAT, 1);
    put_u(out, ct.addr.ip_len, 1);
    put_b(out, ct.addr.ip.data(), ct.addr.ip_len);
    put_u(out, ct.addr.port, 2);
    put_u(out, last_seen_ms, 8);
    put_u(out, ct.rtt_us, 4);
    put_u(out, ct.fails, 2);
}

bool decode_contact(const MDB_val& k, const MDB_val& v, ContactEntry* out) {
    if (k.mv_size != 32) return false;
    const auto* kb = static_cast<const uint8_t*>(k.mv_data);
    std::copy(kb, kb + 32, out->node.id.b.begin());
    Cursor c{static_cast<const uint8_t*>(v.mv_data),
             static_cast<const uint8_t*>(v.mv_data) + v.mv_size};
    if (c.u(1) != FORMAT) return false;
    const uint64_t ip_len = c.u(1);
    if (ip_len != 4 && ip_len != 16) return false;
    out->node.addr = core::PeerAddr{};
    out->node.addr.ip_len = static_cast<uint8_t>(ip_len);
    if (const uint8_t* ip = c.take(ip_len)) std::copy(ip, ip + ip_len, out->node.addr.ip.begin());
    out->node.addr.port = static_cast<uint16_t>(c.u(2));
    out->last_seen_ms = c.u(8);
    out->rtt_us = static_cast<uint32_t>(c.u(4));
    out->fails = static_cast<uint32_t>(c.u(2));
    return c.ok && c.p == c.end;
}

// each walks one table; f returns false to stop. false with |err| on a read error.
template <class F>
bool each(MDB_txn* txn, MDB_dbi dbi, F&& f, std::string* err) {
    MDB_cursor* cur = nullptr;
    if (int rc = mdb_cursor_open(txn, dbi, &cur); rc != 0) {
        *err = lmdb_error("cursor", rc);
        return false;
    }
    MDB_val k, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == 0) {
        if (!f(k, v)) break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        *err = lmdb_error("read", rc);
        return false;
    }
    return true;
}

}  // namespace

// ---- open ---------------------------------------------------------------------------------

std::unique_ptr<DiskStore> DiskStore::open(const DiskOptions& o, std::string* err) {
    std::unique_ptr<DiskStore> d(new DiskStore());
    d->opts_ = o;
    const std::string dir = o.data_dir + "/store";
    d->path_ = dir + "/data.mdb";
    const std::string recover = "; move it aside (mv " + dir + " " + dir +
                                ".bad) to start with an empty store, or restore a backup";
    if (!o.read_only) {
        if (::mkdir(o.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
            *err = "data_dir " + o.data_dir + ": " + std::strerror(errno);
            return nullptr;
        }
        const std::string lock = o.data_dir + "/svc-dht.lock";
        d->lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (d->lock_fd_ < 0) {
            *err = lock + ": " + std::strerror(errno);
            return nullptr;
        }
        if (::flock(d->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
            char pid[32] = {};
            const ssize_t n = ::pread(d->lock_fd_, pid, sizeof pid - 1, 0);
            *err = "data_dir " + o.data_dir + " is in use by another svc-dht" +
                   (n > 0 ? " (pid " + std::string(pid, static_cast<size_t>(n)) + ")" : "") +
                   " holding " + lock;
            return nullptr;
        }
        // The pid is for the operator's message only: a full disk must not stop the start
        // (reads are served from a full disk), so a failed write is left at that.
        const std::string me = std::to_string(::getpid());
        if (::ftruncate(d->lock_fd_, 0) == 0) (void)!::pwrite(d->lock_fd_, me.data(), me.size(), 0);
        if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
            *err = dir + ": " + std::strerror(errno);
            return nullptr;
        }
    }
    struct stat st {};
    const bool exists = ::stat(d->path_.c_str(), &st) == 0;
    if (o.read_only && !exists) {
        *err = "no store at " + d->path_;
        return nullptr;
    }
    const uint64_t file = exists ? static_cast<uint64_t>(st.st_size) : 0;
    d->map_bytes_ = std::min(o.max_bytes, std::max(MIN_MAP, file * 2));
    d->map_bytes_ = std::max(d->map_bytes_, file);  // never below what is there
    if (int rc = mdb_env_create(&d->env_); rc != 0) {
        *err = lmdb_error("store", rc);
        return nullptr;
    }
    mdb_env_set_maxdbs(d->env_, 4);
    mdb_env_set_mapsize(d->env_, d->map_bytes_);
    unsigned flags = MDB_NOTLS;
    if (o.read_only) flags |= MDB_RDONLY;
    // The operator commands, often run as root: without lock.mdb no daemon has the store
    // open, and creating it here would leave a root-owned file the service user cannot
    // open. Read without LMDB's reader table then.
    if (struct stat ls{}; o.read_only && ::stat((dir + "/lock.mdb").c_str(), &ls) != 0)
        flags |= MDB_NOLOCK;
    if (!o.sync) flags |= MDB_NOSYNC;
    if (int rc = mdb_env_open(d->env_, dir.c_str(), flags, 0600); rc != 0) {
        if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED)
            *err = d->path_ + " is not a store this svc-dht can read (" + mdb_strerror(rc) + ")" +
                   recover;
        else
            *err = lmdb_error(d->path_.c_str(), rc);
        return nullptr;
    }
    // The tables, and the format mark a new store gets and an old one must carry.
    MDB_txn* txn = nullptr;
    if (int rc = mdb_txn_begin(d->env_, nullptr, o.read_only ? MDB_RDONLY : 0, &txn); rc != 0) {
        *err = lmdb_error(d->path_.c_str(), rc);
        return nullptr;
    }
    const unsigned create = o.read_only ? 0 : MDB_CREATE;
    int rc = mdb_dbi_open(txn, "meta", create, &d->meta_);
    MDB_val mk{5, const_cast<char*>("magic")}, mv{0, nullptr};
    bool fresh = false;
    if (rc == 0) {
        rc = mdb_get(txn, d->meta_, &mk, &mv);
        fresh = rc == MDB_NOTFOUND;
        if (fresh) rc = 0;
    }
    if (rc == 0 && fresh) {
        MDB_dbi main_dbi = 0;
        MDB_stat ms{};
        rc = mdb_dbi_open(txn, nullptr, 0, &main_dbi);
        if (rc == 0) rc = mdb_stat(txn, main_dbi, &ms);
        if (rc == 0 && (ms.ms_entries > 1 || o.read_only)) rc = MDB_INCOMPATIBLE;  // not ours
    }
    if (rc == 0 && !fresh &&
        (mv.mv_size != sizeof MAGIC - 1 || std::memcmp(mv.mv_data, MAGIC, mv.mv_size) != 0))
        rc = MDB_INCOMPATIBLE;
    if (rc == 0 && fresh) {
        MDB_val m{sizeof MAGIC - 1, const_cast<char*>(MAGIC)};
        rc = mdb_put(txn, d->meta_, &mk, &m, 0);
    }
    for (auto [name, dbi] : {std::pair{"records", &d->records_}, std::pair{"values", &d->values_},
                             std::pair{"contacts", &d->contacts_}})
        if (rc == 0) rc = mdb_dbi_open(txn, name, create, dbi);
    if (rc != 0) {
        mdb_txn_abort(txn);
        if (rc == MDB_INCOMPATIBLE || rc == MDB_NOTFOUND || rc == MDB_CORRUPTED ||
            rc == MDB_PAGE_NOTFOUND)
            *err = d->path_ + " holds no svc-dht store of format 1" + recover;
        else
            *err = lmdb_error(d->path_.c_str(), rc);
        return nullptr;
    }
    if (rc = mdb_txn_commit(txn); rc != 0) {
        *err = lmdb_error(d->path_.c_str(), rc);
        return nullptr;
    }
    return d;
}

DiskStore::~DiskStore() {
    if (env_ != nullptr) {
        if (!opts_.read_only) mdb_env_sync(env_, 1);
        mdb_env_close(env_);
    }
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

// ---- load ---------------------------------------------------------------------------------

LoadResult DiskStore::load(core::Node& node, core::Time now, int64_t unix_offset_us) {
    unix_offset_us_ = unix_offset_us;
    LoadResult out;
    MDB_txn* txn = nullptr;
    if (mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn) != 0) return out;
    std::string err;
    RecordEntry re;
    each(
        txn, records_,
        [&](const MDB_val& k, const MDB_val& v) {
            const core::Err e = decode_record(k, v, &re) ? node.restore_record(re.rec, re.src, now)
                                                         : core::Err::truncated;
            if (e == core::Err::ok) {
                ++out.records;
            } else {
                (e == core::Err::record_expired ? out.expired : out.refused) += 1;
                ops_.push_back({Op::Kind::del_record,
                                std::string(static_cast<const char*>(k.mv_data), k.mv_size),
                                {}});
            }
            return true;
        },
        &err);
    ValueEntry ve;
    each(
        txn, values_,
        [&](const MDB_val& k, const MDB_val& v) {
            Key key;
            core::Err e = core::Err::truncated;
            if (decode_value(k, v, &ve)) {
                std::copy_n(static_cast<const uint8_t*>(k.mv_data), 32, key.b.begin());
                e = node.restore_value(key, ve.value, ve.expires_ms, ve.until_unix, ve.src, now);
            }
            if (e == core::Err::ok) {
                ++out.values;
            } else {
                (e == core::Err::record_expired ? out.expired : out.refused) += 1;
                ops_.push_back({Op::Kind::del_value,
                                std::string(static_cast<const char*>(k.mv_data), k.mv_size),
                                {}});
            }
            return true;
        },
        &err);
    std::vector<ContactEntry> contacts;
    ContactEntry ce;
    each(
        txn, contacts_,
        [&](const MDB_val& k, const MDB_val& v) {
            if (decode_contact(k, v, &ce)) contacts.push_back(ce);
            return true;
        },
        &err);
    mdb_txn_abort(txn);
    std::stable_sort(contacts.begin(), contacts.end(),
                     [](const ContactEntry& a, const ContactEntry& b) {
                         if (a.fails != b.fails) return a.fails < b.fails;
                         return a.last_seen_ms > b.last_seen_ms;
                     });
    for (const ContactEntry& c : contacts) out.contacts.push_back(c.node);
    return out;
}

// ---- the journal --------------------------------------------------------------------------

uint64_t DiskStore::to_unix_ms(core::Time t) const {
    const int64_t us = unix_offset_us_ + static_cast<int64_t>(t);
    return us > 0 ? static_cast<uint64_t>(us) / 1000 : 0;
}

void DiskStore::record_stored(const Key& key, const core::StoredRecord& r) {
    Op op{Op::Kind::put_record, key_bytes(key), {}};
    put_b(op.key, r.pk.data(), r.pk.size());
    std::vector<std::string_view> addrs;
    const core::ProviderRecord rec = r.view(key, addrs);
    const core::StoreSource src = r.src();
    std::string& v = op.val;
    put_u(v, FORMAT, 1);
    put_u(v,
          (src.local ? F_LOCAL : 0) | (src.from_publisher ? F_FROM_PUBLISHER : 0) |
              (rec.alg != core::SIG_ED25519 ? F_ALT : 0),
          1);
    put_u(v, src.peer, 8);
    put_u(v, src.prefix, 8);
    put_u(v, rec.ts, 8);
    put_u(v, rec.ttl, 4);
    put_b(v, rec.sig.data(), rec.sig.size());
    put_u(v, addrs.size(), 1);
    for (std::string_view a : addrs) {
        put_u(v, a.size(), 2);
        v.append(a);
    }
    if (rec.alg != core::SIG_ED25519) {
        put_u(v, rec.alg, 8);
        put_u(v, rec.apk.size(), 4);
        put_u(v, rec.asig.size(), 4);
        put_b(v, rec.apk.data(), rec.apk.size());
        put_b(v, rec.asig.data(), rec.asig.size());
    }
    ops_.push_back(std::move(op));
}

void DiskStore::record_removed(const Key& key, const core::PublicKey& publisher) {
    Op op{Op::Kind::del_record, key_bytes(key), {}};
    put_b(op.key, publisher.data(), publisher.size());
    ops_.push_back(std::move(op));
}

void DiskStore::value_stored(const Key& key, const core::StoredValue& sv) {
    Op op{Op::Kind::put_value, key_bytes(key), {}};
    std::string& v = op.val;
    put_u(v, FORMAT, 1);
    put_u(v, sv.src.local ? F_LOCAL : 0, 1);
    put_u(v, sv.src.peer, 8);
    put_u(v, sv.src.prefix, 8);
    put_u(v, to_unix_ms(sv.expires), 8);
    put_u(v, sv.until_unix, 8);
    put_b(v, sv.value.data(), sv.value.size());
    ops_.push_back(std::move(op));
}

void DiskStore::touch(uint64_t unix_ms) {
    std::erase_if(ops_, [](const Op& o) { return o.kind == Op::Kind::meta; });  // the latest
    Op op{Op::Kind::meta, "written", {}};
    put_u(op.val, unix_ms, 8);
    ops_.push_back(std::move(op));
}

void DiskStore::value_removed(const Key& key) {
    ops_.push_back({Op::Kind::del_value, key_bytes(key), {}});
}

void DiskStore::save_contacts(const core::RoutingTable& table) {
    std::erase_if(ops_, [](const Op& o) { return o.kind == Op::Kind::contacts; });  // replaced
    Op op{Op::Kind::contacts, {}, {}};
    std::string one;
    for (int i = 0; i < table.bucket_count(); ++i) {
        for (const core::Contact& ct : table.bucket(i)) {
            if (!ct.addr.valid()) continue;
            one.clear();
            encode_contact(one, ct, to_unix_ms(ct.last_seen));
            op.val += key_bytes(ct.id);
            put_u(op.val, one.size(), 1);
            op.val += one;
        }
    }
    ops_.push_back(std::move(op));
}

// ---- commit -------------------------------------------------------------------------------

bool DiskStore::apply(MDB_txn* txn, const Op& op, int* rc) const {
    MDB_val k = val_of(op.key), v = val_of(op.val);
    switch (op.kind) {
        case Op::Kind::put_record: *rc = mdb_put(txn, records_, &k, &v, 0); break;
        case Op::Kind::put_value: *rc = mdb_put(txn, values_, &k, &v, 0); break;
        case Op::Kind::meta: *rc = mdb_put(txn, meta_, &k, &v, 0); break;
        case Op::Kind::del_record:
        case Op::Kind::del_value:
            *rc = mdb_del(txn, op.kind == Op::Kind::del_record ? records_ : values_, &k, nullptr);
            if (*rc == MDB_NOTFOUND) *rc = 0;
            break;
        case Op::Kind::contacts: {
            *rc = mdb_drop(txn, contacts_, 0);
            size_t at = 0;
            while (*rc == 0 && at + 33 <= op.val.size()) {
                const size_t len = static_cast<uint8_t>(op.val[at + 32]);
                MDB_val ck{32, const_cast<char*>(op.val.data() + at)};
                MDB_val cv{len, const_cast<char*>(op.val.data() + at + 33)};
                *rc = mdb_put(txn, contacts_, &ck, &cv, 0);
                at += 33 + len;
            }
            break;
        }
    }
    return *rc == 0;
}

bool DiskStore::grow(std::string* err) {
    if (map_bytes_ >= opts_.max_bytes) {
        *err = "the store file reached max_store_bytes (" + std::to_string(opts_.max_bytes) +
               " bytes)";
        return false;
    }
    const uint64_t next = std::min(opts_.max_bytes, map_bytes_ * 2);
    if (int rc = mdb_env_set_mapsize(env_, next); rc != 0) {
        *err = lmdb_error("growing the store map", rc);
        return false;
    }
    map_bytes_ = next;
    return true;
}

bool DiskStore::commit(std::string* err) {
    if (ops_.empty()) return true;
    for (;;) {
        MDB_txn* txn = nullptr;
        int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
        if (rc != 0) {
            *err = lmdb_error("store", rc);
            break;
        }
        for (const Op& op : ops_)
            if (!apply(txn, op, &rc)) break;
        if (rc == 0) {
            rc = mdb_txn_commit(txn);
        } else {
            mdb_txn_abort(txn);
        }
        if (rc == 0) {
            ops_.clear();
            return true;
        }
        if (rc == MDB_MAP_FULL && grow(err)) continue;
        if (rc != MDB_MAP_FULL) *err = lmdb_error("store write", rc);
        // LMDB stops after an I/O error on its meta page: only a new process can go on.
        if (rc == MDB_PANIC) *err += " (LMDB cannot go on: restart the daemon)";
        break;
    }
    commit_deletes();
    if (ops_.size() > MAX_PENDING) {
        const size_t drop = ops_.size() - MAX_PENDING;
        ops_.erase(ops_.begin(), ops_.begin() + static_cast<std::ptrdiff_t>(drop));
        dropped_ += drop;
    }
    return false;
}

// commit_deletes: after a failed commit, the deletes that are the last change of their
// entry are committed alone (a delete needs no room beyond the pages it frees), so that
// expiries free space on a full disk or a file at max_bytes, and the buffer shrinks.
void DiskStore::commit_deletes() {
    auto is_delete = [](const Op& op) {
        return op.kind == Op::Kind::del_record || op.kind == Op::Kind::del_value;
    };
    auto entry = [](const Op& op) {
        const bool record = op.kind == Op::Kind::put_record || op.kind == Op::Kind::del_record;
        return std::string(1, record ? 'r' : 'v') + op.key;
    };
    std::map<std::string, size_t> last;  // entry -> index of its last op
    for (size_t i = 0; i < ops_.size(); ++i)
        if (ops_[i].kind != Op::Kind::contacts && ops_[i].kind != Op::Kind::meta)
            last[entry(ops_[i])] = i;
    std::vector<const Op*> deletes;
    for (const auto& [e, i] : last)
        if (is_delete(ops_[i])) deletes.push_back(&ops_[i]);
    if (deletes.empty()) return;
    MDB_txn* txn = nullptr;
    if (mdb_txn_begin(env_, nullptr, 0, &txn) != 0) return;
    int rc = 0;
    for (const Op* op : deletes)
        if (!apply(txn, *op, &rc)) break;
    if (rc != 0 || mdb_txn_commit(txn) != 0) {
        if (rc != 0) mdb_txn_abort(txn);
        return;
    }
    std::erase_if(ops_, [&](const Op& op) {
        if (op.kind == Op::Kind::contacts || op.kind == Op::Kind::meta) return false;
        const auto it = last.find(entry(op));
        return it != last.end() && is_delete(ops_[it->second]);
    });
}

bool DiskStore::sync(std::string* err) {
    if (opts_.sync || opts_.read_only) return true;
    if (int rc = mdb_env_sync(env_, 1); rc != 0) {
        *err = lmdb_error("store sync", rc);
        return false;
    }
    return true;
}

// ---- the operator's view ------------------------------------------------------------------

uint64_t DiskStore::file_bytes() const {
    struct stat fs {};
    return ::stat(path_.c_str(), &fs) == 0 ? static_cast<uint64_t>(fs.st_size) : 0;
}

DiskCounts DiskStore::counts(std::string* err) const {
    DiskCounts c;
    MDB_envinfo info{};
    MDB_stat st{};
    mdb_env_info(env_, &info);
    mdb_env_stat(env_, &st);
    c.map_bytes = info.me_mapsize;
    c.used_bytes = (info.me_last_pgno + 1) * st.ms_psize;
    c.file_bytes = file_bytes();
    MDB_txn* txn = nullptr;
    if (int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn); rc != 0) {
        *err = lmdb_error("store", rc);
        return c;
    }
    MDB_stat s{};
    mdb_stat(txn, records_, &s);
    c.records = s.ms_entries;
    mdb_stat(txn, values_, &s);
    c.values = s.ms_entries;
    mdb_stat(txn, contacts_, &s);
    c.contacts = s.ms_entries;
    auto expiry = [&](uint64_t ms) {
        if (c.oldest_expiry_ms == 0 || ms < c.oldest_expiry_ms) c.oldest_expiry_ms = ms;
        c.newest_expiry_ms = std::max(c.newest_expiry_ms, ms);
    };
    RecordEntry re;
    each(
        txn, records_,
        [&](const MDB_val& k, const MDB_val& v) {
            if (decode_record(k, v, &re)) expiry((re.rec.ts + re.rec.ttl) * 1000);
            return true;
        },
        err);
    ValueEntry ve;
    each(
        txn, values_,
        [&](const MDB_val& k, const MDB_val& v) {
            if (decode_value(k, v, &ve)) expiry(ve.expires_ms);
            return true;
        },
        err);
    mdb_txn_abort(txn);
    return c;
}

bool DiskStore::dump(const std::function<void(const DumpEntry&)>& f, std::string* err) const {
    MDB_txn* txn = nullptr;
    if (int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn); rc != 0) {
        *err = lmdb_error("store", rc);
        return false;
    }
    bool ok = true;
    auto bad = [&](const char* table, const MDB_val& k) {
        *err = std::string("undecodable entry in table ") + table + " (key of " +
               std::to_string(k.mv_size) + " bytes)";
        ok = false;
        return false;
    };
    RecordEntry re;
    ok = each(
             txn, records_,
             [&](const MDB_val& k, const MDB_val& v) {
                 if (!decode_record(k, v, &re)) return bad("records", k);
                 DumpEntry e;
                 e.kind = DumpEntry::Kind::record;
                 e.key = re.rec.key;
                 e.publisher = re.rec.pk;
                 e.addrs.assign(re.addrs.begin(), re.addrs.end());
                 e.ts = re.rec.ts;
                 e.ttl = re.rec.ttl;
                 e.alg = re.rec.alg;
                 e.expires_ms = (re.rec.ts + re.rec.ttl) * 1000;
                 e.local = re.src.local;
                 f(e);
                 return true;
             },
             err) &&
         ok;
    ValueEntry ve;
    if (ok)
        ok = each(
                 txn, values_,
                 [&](const MDB_val& k, const MDB_val& v) {
                     if (!decode_value(k, v, &ve)) return bad("values", k);
                     DumpEntry e;
                     e.kind = DumpEntry::Kind::value;
                     std::copy_n(static_cast<const uint8_t*>(k.mv_data), 32, e.key.b.begin());
                     e.value_len = ve.value.size();
                     e.expires_ms = ve.expires_ms;
                     e.until_unix = ve.until_unix;
                     e.local = ve.src.local;
                     f(e);
                     return true;
                 },
                 err) &&
             ok;
    ContactEntry ce;
    if (ok)
        ok = each(
                 txn, contacts_,
                 [&](const MDB_val& k, const MDB_val& v) {
                     if (!decode_contact(k, v, &ce)) return bad("contacts", k);
                     DumpEntry e;
                     e.kind = DumpEntry::Kind::contact;
                     e.key = ce.node.id;
                     e.addr = ce.node.addr;
                     e.last_seen_ms = ce.last_seen_ms;
                     e.rtt_us = ce.rtt_us;
                     e.fails = ce.fails;
                     f(e);
                     return true;
                 },
                 err) &&
             ok;
    mdb_txn_abort(txn);
    return ok;
}

bool DiskStore::check(std::string* err) const {
    // Every entry decodes (dump), and every value's key is BLAKE3 of its bytes. LMDB checks
    // its own pages as they are read.
    if (!dump([](const DumpEntry&) {}, err)) return false;
    MDB_txn* txn = nullptr;
    if (int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn); rc != 0) {
        *err = lmdb_error("store", rc);
        return false;
    }
    bool ok = true;
    ValueEntry ve;
    ok = each(
             txn, values_,
             [&](const MDB_val& k, const MDB_val& v) {
                 Key key;
                 std::copy_n(static_cast<const uint8_t*>(k.mv_data), 32, key.b.begin());
                 if (decode_value(k, v, &ve) && core::NodeId::from(core::blake3(ve.value)) == key)
                     return true;
                 *err = "value " + key.hex() + " does not hash to its key";
                 ok = false;
                 return false;
             },
             err) &&
         ok;
    mdb_txn_abort(txn);
    return ok;
}

}  // namespace svcdht::embed
