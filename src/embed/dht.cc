// SPDX-License-Identifier: MIT
// Dht (svcdht/dht.h): the node as a library. It owns the identity, the Node and the peer
// network (io::Net) and keeps the callbacks of the requests it issued; everything about
// the protocol happens in the core, everything about sockets in io.
#include "svcdht/dht.h"

#include <map>

#include "embed/disk_store.h"
#include "io/addr.h"
#include "io/net.h"
#include "platform/sodium.h"
#include "svcdht/blake3.h"
#include "svcdht/check.h"
#include "svcdht/limits.h"

namespace svcdht {

bool init() {
    return platform::platform_init();
}

core::Seed32 random_seed() {
    return platform::random_seed();
}

core::NodeId id_of_seed(const core::Seed32& seed) {
    const platform::SodiumCrypto crypto;
    return core::make_identity(crypto, seed).id;
}

const char* check_node_config(const core::NodeConfig& c) {
    using namespace core;
    if (c.network.empty() || c.network.size() > MAX_NETWORK_ID_LEN)
        return "network must be 1 to 64 bytes";
    if (!K_RANGE.holds(c.k)) return "k is outside 2..64";
    if (!ALPHA_RANGE.holds(c.alpha)) return "alpha is outside 1..16";
    if (!BETA_RANGE.holds(c.beta) || c.beta > c.alpha) return "beta is outside 0..alpha";
    if (!DISJOINT_RANGE.holds(c.disjoint)) return "disjoint is outside 1..8";
    if (!REPLICA_RANGE.holds(c.replica)) return "replica is outside 1..20";
    if (!HOP_BUDGET_RANGE.holds(c.hop_budget)) return "hop_budget is outside 1..32";
    if (!RPC_TIMEOUT_MS_RANGE.holds(c.rpc_timeout / 1000))
        return "rpc_timeout is outside 50 ms..60 s";
    if (!WARM_SESSIONS_RANGE.holds(c.warm_sessions)) return "warm_sessions is outside 0..4096";
    if (!HEDGE_AFTER_MS_RANGE.holds(c.hedge_after / 1000))
        return "hedge_after is outside 1 ms..60 s";
    if (!DEADLINE_MS_RANGE.holds(c.lookup_deadline / 1000))
        return "lookup_deadline is outside 100 ms..600 s";
    if (!TTL_SECS_RANGE.holds(c.max_ttl_secs)) return "max_ttl_secs is outside 1 s..1 year";
    if (!TTL_SECS_RANGE.holds(c.ttl_secs) || c.ttl_secs > c.max_ttl_secs)
        return "ttl_secs is outside 1 s..max_ttl_secs";
    if (!MAX_VALUE_BYTES_RANGE.holds(c.max_value_bytes))
        return "max_value_bytes is outside 64..1048000";
    if (c.node_rate == 0 || c.node_write_rate == 0)
        return "node_rate and node_write_rate must be > 0";
    if (c.max_inflight_per_peer == 0) return "max_inflight_per_peer must be > 0";
    return nullptr;
}

namespace {
// Contacts of the last run dialed at start, best first; the join finds the rest.
constexpr size_t WARM_CONTACTS = 32;
// The routing table's contacts are saved when its set of ids changed, checked this often
// (so that a node killed soon after it joined still restarts warm), at least every
// CONTACTS_SAVE_MS (their last seen times, RTTs and failures), and at stop.
constexpr uint64_t CONTACTS_CHECK_MS = 2000;
constexpr uint64_t CONTACTS_SAVE_MS = 60000;
// After a failed commit, the disk is probed this often until it takes writes again.
constexpr uint64_t PERSIST_RETRY_MS = 1000;
}  // namespace

struct Dht::Impl final : io::RequestWaiter, io::FlushHook {
    struct Waiter {
        DhtCallback cb;
        void* user;
        core::ApiOp op;
        core::Key key;
        std::string corr_id;
    };

    uv_loop_t* loop = nullptr;
    DhtSettings s;
    platform::SodiumCrypto crypto;
    platform::SystemRng rng;
    core::Identity ident;
    core::SessionConfig scfg;
    std::unique_ptr<io::Net> net;  // from start()
    std::unique_ptr<core::Node> node;
    std::map<core::RequestId, Waiter> waiters;
    bool stopped = false;

    // The durable store (s.persist.data_dir set) and its timers: the batched sync, the
    // contacts' save, the probe after a failure.
    std::unique_ptr<embed::DiskStore> disk;
    uv_timer_t sync_timer{}, contacts_timer{}, retry_timer{};
    uint64_t contacts_ids = 0, contacts_saved_ms = 0;  // the last contacts saved (on_contacts)
    size_t contacts_loaded = 0;                        // saved by the last run
    bool disk_timers = false;
    bool failing = false;
    DhtMetrics persist_stats;  // the persistence fields only

    void say(core::LogLevel level, std::string_view msg,
             std::initializer_list<core::LogField> fields) const {
        if (s.log != nullptr) s.log->log(level, msg, std::span(fields.begin(), fields.size()));
    }

    bool before_flush() override {
        if (!disk || !node) return false;
        if (failing) {
            // The disk refused the last commit and retry_timer probes it once a second:
            // a busy loop must not replay the whole buffer every turn. Whatever waits for a
            // commit now is refused at once.
            if (!node->holding_acks()) return false;
            node->persisted(false);
            return true;
        }
        if (!disk->dirty() && !node->holding_acks()) return false;
        node->persisted(commit());
        return true;
    }

    // contacts_worth_saving: the table stands for the network. Until the node has joined
    // (or the table is as large as what the last run saved), a restart during an outage
    // (peers not up yet, every node restarting) would replace good saved contacts with the
    // few, or none, that authenticated so far.
    bool contacts_worth_saving() const {
        const size_t size = node->table().size();
        return size > 0 && (node->joined() || size >= contacts_loaded);
    }

    // commit writes the turn's changes, times it, and on a failure logs it once and
    // starts probing the disk.
    bool commit() {
        const core::Time t0 = io::now_us();
        std::string err;
        const bool ok = disk->commit(&err);
        persist_stats.commit_seconds.observe(static_cast<double>(io::now_us() - t0) / 1e6);
        if (!ok) {
            ++persist_stats.persist_errors;
            if (!failing)
                say(core::LogLevel::error,
                    "store: a commit failed; writes are refused until the disk takes them "
                    "again (reads and routing go on)",
                    {{"file", disk->path()}, {"error", err}});
            if (!failing)
                uv_timer_start(&retry_timer, on_retry, PERSIST_RETRY_MS, PERSIST_RETRY_MS);
            failing = true;
            return false;
        }
        if (failing) {
            failing = false;
            uv_timer_stop(&retry_timer);
            say(core::LogLevel::info, "store: the disk takes writes again",
                {{"file", disk->path()}});
        }
        if (!s.persist.sync && !uv_is_active(reinterpret_cast<uv_handle_t*>(&sync_timer)))
            uv_timer_start(&sync_timer, on_sync, s.persist.sync_interval_ms, 0);
        return true;
    }
    static void on_sync(uv_timer_t* t) {
        auto* m = static_cast<Impl*>(t->data);
        std::string err;
        if (!m->disk->sync(&err))
            m->say(core::LogLevel::error, "store: sync failed",
                   {{"file", m->disk->path()}, {"error", err}});
    }
    static void on_contacts(uv_timer_t* t) {
        auto* m = static_cast<Impl*>(t->data);
        const core::RoutingTable& table = m->node->table();
        uint64_t ids = 1469598103934665603ULL;  // FNV-1a over the ids' prefixes, in table order
        for (int i = 0; i < table.bucket_count(); ++i)
            for (const core::Contact& ct : table.bucket(i))
                ids = (ids ^ ct.id.prefix64()) * 1099511628211ULL;
        const uint64_t now_ms = io::now_us() / 1000;
        if (ids == m->contacts_ids && now_ms - m->contacts_saved_ms < CONTACTS_SAVE_MS) return;
        if (!m->contacts_worth_saving() || m->failing) return;
        m->contacts_ids = ids;
        m->contacts_saved_ms = now_ms;
        m->disk->save_contacts(table);
        m->node->persisted(m->commit());
        m->net->pump();
    }
    static void on_retry(uv_timer_t* t) {
        auto* m = static_cast<Impl*>(t->data);
        m->disk->touch(
            static_cast<uint64_t>(io::unix_epoch_offset_us() + static_cast<int64_t>(io::now_us())) /
            1000);
        if (m->commit()) {
            m->node->persisted(true);
            m->net->pump();
        }
    }
    void start_disk(int64_t unix_offset_us) {
        const core::Time now = io::now_us();
        const embed::LoadResult lr = disk->load(*node, now, unix_offset_us);
        say(core::LogLevel::info, "store loaded",
            {{"file", disk->path()},
             {"records", std::to_string(lr.records)},
             {"values", std::to_string(lr.values)},
             {"expired", std::to_string(lr.expired)},
             {"refused", std::to_string(lr.refused)},
             {"contacts", std::to_string(lr.contacts.size())}});
        contacts_loaded = lr.contacts.size();
        node->set_journal(disk.get());
        net->set_flush_hook(this);
        for (uv_timer_t* t : {&sync_timer, &contacts_timer, &retry_timer}) {
            uv_timer_init(loop, t);
            t->data = this;
        }
        disk_timers = true;
        contacts_saved_ms = io::now_us() / 1000;
        uv_timer_start(&contacts_timer, on_contacts, CONTACTS_CHECK_MS, CONTACTS_CHECK_MS);
        const size_t n = std::min(WARM_CONTACTS, lr.contacts.size());
        node->warm_contacts(std::span(lr.contacts).first(n), now);
    }
    void stop_disk() {
        if (!disk) return;
        if (node) {
            if (contacts_worth_saving()) disk->save_contacts(node->table());
            if (commit()) node->persisted(true);
            std::string err;
            disk->sync(&err);
        }
        if (disk_timers) {
            disk_timers = false;
            for (uv_timer_t* t : {&sync_timer, &contacts_timer, &retry_timer})
                uv_close(reinterpret_cast<uv_handle_t*>(t), nullptr);
        }
    }

    // The settings the Dht fills in itself (see DhtSettings::node).
    core::NodeConfig node_config(uint16_t port) const {
        core::NodeConfig n = s.node;
        n.listen_port = port;
        n.idle_timeout = scfg.idle_timeout;  // the keepalive follows the sessions' own
        if (n.seeds_expected == 0) n.seeds_expected = static_cast<uint32_t>(s.bootstrap.size());
        if (n.unix_epoch_offset_us == 0) n.unix_epoch_offset_us = io::unix_epoch_offset_us();
        return n;
    }

    // issue registers |cb| for request |id| (just made on node) and lets the network run it;
    // a request made before start() or after stop() fails at once.
    core::RequestId issue(core::RequestId id, core::ApiOp op, const core::Key& key,
                          std::string_view corr_id, DhtCallback cb, void* user) {
        waiters[id] = Waiter{cb, user, op, key, std::string(corr_id)};
        net->watch(id, this);
        net->pump();  // a local answer arrives in here
        return id;
    }
    bool refuse(core::ApiOp op, const core::Key& key, std::string_view corr_id, DhtCallback cb,
                void* user) {
        if (node && !stopped) return false;
        core::RequestResult r;
        r.op = op;
        r.key = key;
        r.corr_id = corr_id;
        r.complete = false;
        r.err = stopped ? core::Err::shutting_down : core::Err::not_ready;
        cb(r, user);
        return true;
    }

    void on_request_done(const core::RequestResult& r) override {
        auto it = waiters.find(r.id);
        if (it == waiters.end()) return;
        const Waiter w = it->second;
        waiters.erase(it);
        w.cb(r, w.user);
    }
};

Dht::Dht(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Dht::~Dht() = default;

std::unique_ptr<Dht> Dht::create(uv_loop_t* loop, DhtSettings s, const core::Seed32& seed,
                                 std::string* err) {
    if (const char* why = check_node_config(s.node); why != nullptr) {
        *err = why;
        return nullptr;
    }
    auto impl = std::make_unique<Impl>();
    impl->loop = loop;
    impl->s = std::move(s);
    impl->ident = core::make_identity(impl->crypto, seed);
    impl->scfg = impl->s.session;
    impl->scfg.network = impl->s.node.network;
    if (!impl->s.persist.data_dir.empty()) {
        const DhtSettings::Persist& p = impl->s.persist;
        if (p.sync_interval_ms < 10 || p.sync_interval_ms > 60000 || p.max_bytes < (8u << 20)) {
            *err = "persist: sync_interval_ms is outside 10..60000 or max_bytes under 8 MiB";
            return nullptr;
        }
        embed::DiskOptions o;
        o.data_dir = impl->s.persist.data_dir;
        o.sync = impl->s.persist.sync;
        o.max_bytes = impl->s.persist.max_bytes;
        impl->disk = embed::DiskStore::open(o, err);
        if (!impl->disk) return nullptr;
    }
    return std::unique_ptr<Dht>(new Dht(std::move(impl)));
}

bool Dht::start(std::string* err) {
    Impl& m = *impl_;
    SVCDHT_CHECK(!m.net && !m.stopped, "Dht::start is called once");
    io::NetOptions opts;
    opts.listen = m.s.listen;
    opts.seeds = m.s.bootstrap;
    opts.limits = m.s.limits;
    opts.tcp_fastopen = m.s.tcp_fastopen;
    m.net = std::make_unique<io::Net>(m.loop, opts, m.s.log);
    if (!m.net->bind(err)) {
        m.stopped = true;
        m.net->close_all();
        return false;
    }
    // The node advertises the port the listener got (port 0 picks one).
    m.scfg.listen_port = m.net->bound_port();
    const core::Env env{&m.rng, &m.crypto, m.s.log};
    const core::NodeConfig ncfg = m.node_config(m.net->bound_port());
    m.node = std::make_unique<core::Node>(ncfg, m.ident, env, io::now_us());
    m.net->start(*m.node, m.scfg, m.ident, env);
    if (m.disk) {
        m.start_disk(ncfg.unix_epoch_offset_us);
        m.net->pump();
    }
    return true;
}

void Dht::stop() {
    Impl& m = *impl_;
    if (m.stopped) return;
    m.stopped = true;
    // Callbacks may issue requests; those fail at once now that stopped is set.
    std::map<core::RequestId, Impl::Waiter> pending;
    pending.swap(m.waiters);
    for (const auto& [id, w] : pending) {
        core::RequestResult r;
        r.id = id;
        r.op = w.op;
        r.key = w.key;
        r.corr_id = w.corr_id;
        r.err = core::Err::shutting_down;
        r.complete = false;
        w.cb(r, w.user);
    }
    m.stop_disk();
    if (m.net) m.net->close_all();
}

void Dht::drain() {
    Impl& m = *impl_;
    if (!m.node || m.stopped) return;
    m.node->begin_drain(io::now_us());
    m.net->stop_listening();
    m.net->pump();
}

void Dht::set_degraded(bool on) {
    Impl& m = *impl_;
    if (!m.node || m.stopped) return;
    m.node->set_degraded(on, io::now_us());
    m.net->pump();
}

const core::NodeId& Dht::id() const {
    return impl_->ident.id;
}

uint16_t Dht::port() const {
    return impl_->net ? impl_->net->bound_port() : 0;
}

bool Dht::listening() const {
    return impl_->net && !impl_->stopped && impl_->net->listener_bound();
}

core::Readiness Dht::readiness() const {
    return impl_->node ? impl_->node->readiness() : core::Readiness{};
}

bool Dht::ready() const {
    const core::Readiness r = readiness();
    return !impl_->stopped && r.routing_ready && !r.draining;
}

core::RequestId Dht::closest(const core::Key& key, DhtCallback cb, void* user,
                             std::string_view corr_id) {
    Impl& m = *impl_;
    if (m.refuse(core::ApiOp::closest, key, corr_id, cb, user)) return 0;
    return m.issue(m.node->closest(key, io::now_us(), {}, corr_id), core::ApiOp::closest, key,
                   corr_id, cb, user);
}

core::RequestId Dht::find_providers(const core::Key& key, DhtCallback cb, void* user,
                                    std::string_view corr_id) {
    Impl& m = *impl_;
    if (m.refuse(core::ApiOp::find_providers, key, corr_id, cb, user)) return 0;
    return m.issue(m.node->find_providers(key, io::now_us(), {}, corr_id),
                   core::ApiOp::find_providers, key, corr_id, cb, user);
}

core::RequestId Dht::get(const core::Key& key, DhtCallback cb, void* user,
                         std::string_view corr_id) {
    Impl& m = *impl_;
    if (m.refuse(core::ApiOp::get, key, corr_id, cb, user)) return 0;
    return m.issue(m.node->get(key, io::now_us(), {}, corr_id), core::ApiOp::get, key, corr_id, cb,
                   user);
}

core::RequestId Dht::provide(const core::Key& key, std::span<const std::string> addrs,
                             uint64_t ttl_secs, DhtCallback cb, void* user,
                             std::string_view corr_id) {
    Impl& m = *impl_;
    if (m.refuse(core::ApiOp::provide, key, corr_id, cb, user)) return 0;
    const uint64_t ttl = ttl_secs != 0 ? ttl_secs : m.node->config().ttl_secs;
    return m.issue(m.node->provide(key, addrs, ttl, io::now_us(), corr_id), core::ApiOp::provide,
                   key, corr_id, cb, user);
}

core::RequestId Dht::put(core::ByteView value, DhtCallback cb, void* user,
                         std::string_view corr_id) {
    Impl& m = *impl_;
    const core::Key key = core::NodeId::from(core::blake3(value));
    if (m.refuse(core::ApiOp::put, key, corr_id, cb, user)) return 0;
    return m.issue(m.node->put(value, io::now_us(), corr_id), core::ApiOp::put, key, corr_id, cb,
                   user);
}

core::RequestId Dht::ping(const core::PeerAddr& addr, DhtCallback cb, void* user,
                          std::string_view corr_id) {
    Impl& m = *impl_;
    if (m.refuse(core::ApiOp::ping, core::Key{}, corr_id, cb, user)) return 0;
    return m.issue(m.node->ping(addr, io::now_us(), corr_id), core::ApiOp::ping, core::Key{},
                   corr_id, cb, user);
}

void Dht::forget(const void* user) {
    std::erase_if(impl_->waiters, [&](const auto& kv) { return kv.second.user == user; });
}

DhtMetrics Dht::metrics() const {
    const Impl& m = *impl_;
    DhtMetrics d;
    if (!m.node) return d;
    const core::Node& n = *m.node;
    d.engine = n.counters();
    const core::Peers& p = m.net->peers();
    d.sessions = p.session_stats();
    const io::NetStats s = m.net->stats();
    d.peers = s.peers;
    d.open_sessions = p.open_sessions();
    d.connections = p.connections();
    d.handshaking = p.handshaking();
    d.routing_table = n.table().size();
    d.stored_records = n.store().record_count();
    d.stored_values = n.store().value_count();
    d.stored_bytes = n.store().bytes();
    d.rx_budget_used = s.rx_budget_used;
    d.tx_budget_used = s.tx_budget_used;
    d.accept_paused = s.accept_paused;
    d.io_errors = s.io_errors;
    d.fastopen_dialed = s.fastopen_dialed;
    d.fastopen_accepted = s.fastopen_accepted;
    if (m.disk) {
        const DhtMetrics& ps = m.persist_stats;
        d.persistent = true;
        d.writes_refused = n.writes_refused();
        d.persist_errors = ps.persist_errors;
        d.persist_dropped = m.disk->dropped();
        d.commit_seconds = ps.commit_seconds;
        d.store_file_bytes = m.disk->file_bytes();
    }
    return d;
}

const core::Node& Dht::node() const {
    SVCDHT_CHECK(impl_->node != nullptr, "Dht::node() is read after start()");
    return *impl_->node;
}

void Dht::reconfigure(const DhtSettings& s) {
    Impl& m = *impl_;
    m.s.node = s.node;
    m.s.limits = s.limits;
    m.scfg.idle_timeout = s.session.idle_timeout;
    m.scfg.handshake_timeout = s.session.handshake_timeout;
    if (!m.node) return;
    m.node->apply_reloadable(m.node_config(m.net->bound_port()));
    m.net->set_limits(s.limits);
}

}  // namespace svcdht
