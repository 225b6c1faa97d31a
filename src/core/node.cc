// SPDX-License-Identifier: MIT
// The Node engine's hub: construction, the timer heap and the action queue, sessions and
// dials as the embedder reports them, the timer dispatch, the API entry points, and the
// views (readiness, invariants). What each part does lives in its own file: rpc.cc (the
// RPC table), serve.cc (answering peers), walk.cc (driving lookups), publish.cc (provide,
// put, replication) and maintain.cc (seeds, join, refresh). Sans-IO: time is an argument,
// randomness comes from Env, and every output is an Action.
#include <algorithm>

#include "node_internal.h"
#include "svcdht/blake3.h"
#include "svcdht/check.h"
#include "svcdht/record.h"

namespace svcdht::core {

const char* api_op_name(ApiOp op) {
    switch (op) {
        case ApiOp::closest: return "closest";
        case ApiOp::find_providers: return "find_providers";
        case ApiOp::get: return "get";
        case ApiOp::provide: return "provide";
        case ApiOp::put: return "put";
        case ApiOp::ping: return "ping";
    }
    return "unknown";
}

Node::Node(const NodeConfig& cfg, const Identity& self, Env env, Time now)
    : cfg_(cfg),
      self_(&self),
      env_(env),
      table_(self.id, cfg.k, cfg.diversity),
      store_(cfg.store),
      node_tokens_(cfg.node_rate),
      node_tokens_at_(now),
      write_tokens_(cfg.node_write_rate),
      write_tokens_at_(now) {
    maintenance_at_ = now + MAINTENANCE_INTERVAL;
    timer(maintenance_at_, TimerKind::maintenance, 0);
}

Node::~Node() = default;

Node::ConnSlots::ConnSlots() = default;
Node::ConnSlots::~ConnSlots() = default;

Node::Conn* Node::ConnSlots::add(PeerRef ref) {
    const size_t slot = static_cast<uint32_t>(ref);
    const size_t chunk = slot / CONN_CHUNK;
    if (chunks_.size() <= chunk) chunks_.resize(chunk + 1);
    if (!chunks_[chunk]) chunks_[chunk] = std::make_unique<Conn[]>(CONN_CHUNK);
    Conn& c = chunks_[chunk][slot % CONN_CHUNK];
    if (c.ref != 0) return nullptr;
    c.ref = ref;
    ++size_;
    return &c;
}

void Node::ConnSlots::erase(Conn* c) {
    const size_t chunk = static_cast<uint32_t>(c->ref) / CONN_CHUNK;
    *c = Conn{};
    --size_;
    const Conn* first = chunks_[chunk].get();
    if (std::all_of(first, first + CONN_CHUNK, [](const Conn& x) { return x.ref == 0; }))
        chunks_[chunk].reset();
}

uint64_t Node::unix_now(Time now) const {
    const int64_t us = cfg_.unix_epoch_offset_us + static_cast<int64_t>(now);
    return us > 0 ? static_cast<uint64_t>(us) / 1000000 : 0;
}

void Node::timer(Time at, TimerKind kind, uint64_t id) {
    if (heap_.size() >= heap_sweep_at_) sweep_timers();
    heap_.push_back({at, timer_seq_++, kind, id});
    std::push_heap(heap_.begin(), heap_.end(), std::greater<TimerEntry>());
}

void Node::sweep_timers() {
    std::erase_if(heap_, [&](const TimerEntry& e) {
        return (e.kind == TimerKind::dial_timeout && !dials_.contains(e.id)) ||
               (e.kind == TimerKind::lookup_deadline && !lookups_.contains(e.id));
    });
    // (at, seq) orders entries totally: the rebuilt heap pops them in the same order.
    std::make_heap(heap_.begin(), heap_.end(), std::greater<TimerEntry>());
    heap_sweep_at_ = std::max(MIN_TIMER_SWEEP, 2 * heap_.size());
    if (heap_.capacity() > 2 * heap_sweep_at_) heap_.shrink_to_fit();
}

Time Node::next_deadline() const {
    Time t = NEVER;
    if (!heap_.empty()) {
        // The maintenance round may be skipped: its entry stands for the round that has
        // something to do. The heap's next entry is then one of the front's children.
        const TimerEntry& front = heap_.front();
        if (front.kind != TimerKind::maintenance) {
            t = front.at;
        } else {
            t = maintenance_deadline(front.at);
            for (size_t i = 1; i <= 2 && i < heap_.size(); ++i) t = std::min(t, heap_[i].at);
        }
    }
    if (!rpc_timeouts_.empty()) t = std::min(t, rpc_timeouts_.begin()->first);
    if (!rpc_hedges_.empty()) t = std::min(t, rpc_hedges_.begin()->first);
    t = std::min(t, store_.next_due());
    return t;
}

Bytes& Node::action_buffer() {
    if (action_bufs_used_ == action_bufs_.size()) action_bufs_.emplace_back();
    Bytes& b = action_bufs_[action_bufs_used_++];
    b.clear();
    return b;
}

void Node::emit_send(PeerRef ref, const DhtMsg& m) {
    Bytes& b = action_buffer();
    encode_dht(m, b);
    Action a;
    a.kind = Action::Kind::send;
    a.peer = ref;
    a.payload = b;
    actions_.push_back(a);
}

bool Node::poll(Action* out) {
    if (action_head_ < actions_.size()) {
        *out = actions_[action_head_++];
        return true;
    }
    // Everything was handed out: recycle buffers and results. A burst (a join's dozens of
    // queries at once) does not keep its room: past KEPT_ACTIONS the queue and the encode
    // buffers are given back.
    if (actions_.capacity() > KEPT_ACTIONS) {
        std::vector<Action>().swap(actions_);
    } else {
        actions_.clear();
    }
    if (action_bufs_.size() > KEPT_ACTIONS) action_bufs_.resize(KEPT_ACTIONS);
    action_head_ = 0;
    action_bufs_used_ = 0;
    retired_.clear();
    return false;
}

Node::Conn* Node::conn_for(const NodeId& id) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return nullptr;
    return conns_.find(it->second);
}

DialId Node::start_dial(const PeerAddr& addr, const NodeId* expect, Time now) {
    auto d = std::make_unique<Dial>();
    d->id = next_dial_++;
    d->addr = addr;
    if (expect != nullptr) {
        d->has_expect = true;
        d->expect = *expect;
        dial_by_id_[*expect] = d->id;
    }
    Action a;
    a.kind = Action::Kind::dial;
    a.dial = d->id;
    a.addr = addr;
    a.has_expect = d->has_expect;
    a.expect = d->expect;
    actions_.push_back(a);
    timer(now + DIAL_TIMEOUT, TimerKind::dial_timeout, d->id);
    const DialId id = d->id;
    dials_.emplace(id, std::move(d));
    return id;
}

void Node::on_session_open(PeerRef ref, const SessionInfo& info, DialId dial, Time now) {
    const InputCheck check{*this};
    Conn* added = info.id == self_->id ? nullptr : conns_.add(ref);
    if (added == nullptr) return;
    Conn& conn = *added;
    conn.id = info.id;
    conn.remote = info.remote;
    conn.ident_port = info.ident_port;
    conn.routable = info.ident_port != 0 && info.remote.valid();
    conn.rate = rate_key(info);
    conn.kept = now;
    PeerRef& newest = by_id_[info.id];
    conn.older = newest;
    newest = ref;
    ++counters_.sessions_opened_total;
    if (conn.routable) {
        learn_contact(conn.id, conn.route(), now);
        // The handshake timed a round trip: a contact that only ever dialed us (we sent it
        // no RPC yet) has an RTT too.
        if (info.handshake_rtt > 0) table_.rtt_first_sample(conn.id, info.handshake_rtt);
    }
    if (info.handshake_rtt > 0) net_rtt_.add(info.handshake_rtt);
    if (conn.routable && table_.contains(conn.id)) arm_keepalive(now + cfg_.idle_timeout / 4 * 3);
    if (resweep_ && joined_ && !draining_ && table_.size() >= cfg_.k) {
        resweep_ = false;
        start_lookup(LookupKind::find_node, self_->id, Purpose::refresh, 0, {}, now);
        sweep_buckets(now);
    }

    std::unique_ptr<Dial> d = take_dial(dial);
    if (!d) return;
    if (d->warm) warm_up(conn, now);
    if (d->seed >= 0) {
        Seed& s = seeds_[static_cast<size_t>(d->seed)];
        s.dialing = false;
        s.attempts = 0;
        s.id = conn.id;
        s.in_table_at = 0;
        if (s.rejoining) s.recheck_at = now + SEED_RECHECK;
        s.rejoining = false;
        if (!s.up) {
            s.up = true;
            log(LogLevel::info, "bootstrap seed authenticated",
                {{"peer", conn.id.short_hex()}, {"addr", s.addr.format()}});
        }
        seed_up(session_contact(conn), now);
    }
    for (uint64_t rid : d->pending) {
        auto rit = rpcs_.find(rid);
        if (rit == rpcs_.end()) continue;
        Rpc& r = *rit->second;
        r.peer = conn.id;
        r.know_id = true;
        // An early request the peer answers is on its way; one it dropped (a peer from
        // before the capability) goes again, now behind our auth.
        if (r.early && info.early_taken) {
            attach(r, ref, r.sent);
            continue;
        }
        if (r.early) ++counters_.early_requests_resent_total;
        r.early = false;
        transmit(r, ref, now);
    }
}

Contact Node::session_contact(const Conn& c) const {
    if (const Contact* ct = table_.find(c.id)) return *ct;
    Contact made;
    made.id = c.id;
    made.addr = c.route();
    return made;
}

std::unique_ptr<Node::Dial> Node::take_dial(DialId dial) {
    auto it = dials_.find(dial);
    if (it == dials_.end()) return nullptr;
    std::unique_ptr<Dial> d = std::move(it->second);
    dials_.erase(it);
    if (d->has_expect) dial_by_id_.erase(d->expect);
    return d;
}

void Node::on_dial_failed(DialId dial, Err why, Time now) {
    const InputCheck check{*this};
    std::unique_ptr<Dial> d = take_dial(dial);
    if (!d) return;
    if (d->seed >= 0) {
        Seed& s = seeds_[static_cast<size_t>(d->seed)];
        s.dialing = false;
        ++s.attempts;
        ++counters_.bootstrap_dial_failures_total;
        const uint32_t shift = std::min<uint32_t>(s.attempts, 16);
        const Time cap = s.up ? SEED_REJOIN_BACKOFF_CAP : SEED_BACKOFF_CAP;
        const Time ceiling = std::min<Time>(cap, SEED_BACKOFF_BASE << shift);
        // Full jitter: a uniform wait in [0, ceiling), so restarted fleets do not
        // hammer a seed in lockstep.
        const Time wait = env_.rng->below(ceiling) + msec(1);
        s.retry_at = now + wait;
        timer(s.retry_at, TimerKind::seed, static_cast<uint64_t>(d->seed));
        if (s.attempts == 1)
            log(LogLevel::warn, "bootstrap seed unreachable, retrying with backoff",
                {{"addr", s.addr.format()}, {"error", err_name(why)}});
    }
    for (uint64_t rid : d->pending) rpc_failed(rid, why, now);
}

void Node::on_session_closed(PeerRef ref, Err why, Time now) {
    const InputCheck check{*this};
    Conn* closed = conns_.find(ref);
    if (closed == nullptr) return;
    const NodeId id = closed->id;
    const PeerRef older = closed->older;
    // Our RPCs on it, oldest first; the table holds a few dozen at most (max_inflight).
    std::vector<uint64_t> lost;
    if (closed->inflight != 0)
        for (const auto& [rid, r] : rpcs_)
            if (r->ref == ref) lost.push_back(rid);
    conns_.erase(closed);
    // Another session with the same peer (both sides dialed at once), if any, takes over.
    if (auto bit = by_id_.find(id); bit != by_id_.end()) {
        if (bit->second == ref) {
            if (older != 0) {
                bit->second = older;
            } else {
                by_id_.erase(bit);
            }
        } else {
            for (PeerRef r = bit->second; r != 0;) {
                Conn& c = *conns_.find(r);
                if (c.older == ref) {
                    c.older = older;
                    break;
                }
                r = c.older;
            }
        }
    }
    const Err e = why == Err::ok ? Err::session_closed : why;
    for (uint64_t rid : lost) {
        auto rit = rpcs_.find(rid);
        if (rit == rpcs_.end()) continue;
        Rpc& r = *rit->second;
        // A session that closes under a request (most often the peer's idle timeout racing
        // our send) gets the request once more on a fresh connection: every operation is
        // idempotent. A timeout or a second loss fails it.
        if (!r.retried && why != Err::timeout && !draining_) {
            r.retried = true;
            r.ref = 0;
            rpc_timeouts_.erase({r.deadline, rid});
            r.deadline = NEVER;
            Dial* d = nullptr;
            auto dit = dial_by_id_.find(r.peer);
            if (dit != dial_by_id_.end()) d = dials_.at(dit->second).get();
            if (d == nullptr) d = dials_.at(start_dial(r.addr, &r.peer, now)).get();
            if (d->pending.size() < MAX_PENDING_PER_DIAL) {
                d->pending.push_back(rid);
                r.dial = d->id;
                continue;
            }
        }
        rpc_failed(rid, e, now);
    }
}

void Node::learn_contact(const NodeId& id, const PeerAddr& addr, Time now) {
    Contact stale;
    bool need_ping = false;
    const SeenResult r = table_.seen(id, addr, now, &stale, &need_ping);
    switch (r) {
        case SeenResult::added: {
            ++counters_.route_updates_total[static_cast<size_t>(RouteAction::added)];
            const Contact* c = table_.find(id);
            if (c != nullptr) replication_on_add(*c, now);
            break;
        }
        case SeenResult::updated:
            ++counters_.route_updates_total[static_cast<size_t>(RouteAction::updated)];
            break;
        case SeenResult::replacement:
            ++counters_.route_updates_total[static_cast<size_t>(RouteAction::replacement)];
            break;
        case SeenResult::rejected_diversity:
            ++counters_.route_updates_total[static_cast<size_t>(RouteAction::rejected_diversity)];
            break;
        case SeenResult::rejected_self: break;
    }
    if (need_ping) {
        DhtMsg ping;
        ping.op = Op::ping;
        if (send_rpc(stale.id, stale.addr, true, ping, OwnerKind::evict_ping, 0, now) == 0)
            table_.ping_done(stale.id);
    }
}

void Node::contact_removed(const Contact& c, Time now) {
    ++counters_.route_updates_total[static_cast<size_t>(RouteAction::evicted)];
    replication_on_remove(c, now);
}

void Node::on_timer(Time now) {
    const InputCheck check{*this};
    // Whether a maintenance round up to now had something to do is decided on the state
    // before this input, as if the rounds had run at their times.
    const bool maintenance_skipped =
        maintenance_at_ <= now && maintenance_deadline(maintenance_at_) > now;
    while (!rpc_timeouts_.empty() && rpc_timeouts_.begin()->first <= now) {
        const uint64_t rid = rpc_timeouts_.begin()->second;
        rpc_timeouts_.erase(rpc_timeouts_.begin());
        rpc_failed(rid, Err::timeout, now);
    }
    while (!rpc_hedges_.empty() && rpc_hedges_.begin()->first <= now) {
        const uint64_t rid = rpc_hedges_.begin()->second;
        rpc_hedges_.erase(rpc_hedges_.begin());
        auto it = rpcs_.find(rid);
        if (it != rpcs_.end()) it->second->hedge_at = NEVER;
        hedge_check(rid, now);
    }
    while (!heap_.empty() && heap_.front().at <= now) {
        std::pop_heap(heap_.begin(), heap_.end(), std::greater<TimerEntry>());
        const TimerEntry e = heap_.back();
        heap_.pop_back();
        switch (e.kind) {
            case TimerKind::lookup_deadline:
                if (lookups_.count(e.id) != 0) finish_lookup(e.id, Err::timeout, now);
                break;
            case TimerKind::dial_timeout:
                if (dials_.count(e.id) != 0) {
                    Action a;
                    a.kind = Action::Kind::hangup;
                    a.dial = e.id;
                    actions_.push_back(a);
                    on_dial_failed(e.id, Err::timeout, now);
                }
                break;
            case TimerKind::seed:
                if (e.id < seeds_.size() && !seeds_[e.id].dialing && !draining_)
                    seed_dial(e.id, now);
                break;
            case TimerKind::maintenance: {
                // The rounds that had nothing to do were slept through; the entry moves to
                // the grid's next round either way.
                if (!maintenance_skipped) maintenance(now);
                const Time round =
                    e.at + (now - e.at) / MAINTENANCE_INTERVAL * MAINTENANCE_INTERVAL;
                maintenance_at_ = round + MAINTENANCE_INTERVAL;
                timer(maintenance_at_, TimerKind::maintenance, 0);
                break;
            }
            case TimerKind::keepalive:
                if (e.at == keepalive_at_) keepalive(now);
                break;
            default: break;
        }
    }
    if (store_.next_due() <= now) store_due(now);
}

Readiness Node::readiness() const {
    Readiness r;
    r.seeds_configured =
        std::max<uint32_t>(static_cast<uint32_t>(seeds_.size()), cfg_.seeds_expected);
    r.seeds_required = cfg_.bootstrap_required != 0
                           ? std::min<uint32_t>(cfg_.bootstrap_required, r.seeds_configured)
                           : std::min<uint32_t>(3, r.seeds_configured);
    for (const Seed& s : seeds_) r.seeds_up += s.up ? 1 : 0;
    // Restored contacts stand in for the seeds: a node restarted with its table is ready
    // once enough of them authenticate, seeds or not.
    r.warm_dialed = warm_dialed_;
    r.warm_up = warm_up_;
    r.warm_required = warm_dialed_ > 0 ? warm_required() : 0;
    const bool warm = warm_dialed_ > 0 && warm_up_ >= warm_required();
    r.bootstrap = r.seeds_up >= r.seeds_required || warm;
    // Routing stays ready while the table holds a contact: a node whose every contact
    // failed cannot route (it rejoins through its seeds, and is ready again once one
    // answers).
    r.routing_ready = r.seeds_configured == 0 || ((joined_ || warm) && table_.size() > 0);
    r.queues_ok = requests_.size() < cfg_.max_api_requests && rpcs_.size() < cfg_.max_inflight;
    r.draining = draining_;
    r.degraded = degraded_;
    return r;
}

void Node::apply_reloadable(const NodeConfig& c) {
    cfg_.max_value_bytes = c.max_value_bytes;
    cfg_.store = c.store;
    store_.set_limits(c.store);
    cfg_.peer_rate = c.peer_rate;
    cfg_.peer_burst = c.peer_burst;
    cfg_.node_rate = c.node_rate;
    cfg_.node_write_rate = c.node_write_rate;
    cfg_.idle_timeout = c.idle_timeout;
}

void Node::log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
    if (env_.log != nullptr) env_.log->log(level, msg, {fields.begin(), fields.size()});
}

void Node::check_invariants() const {
    table_.check_invariants();
    for (const Seed& s : seeds_)
        SVCDHT_CHECK(
            s.in_table_at != table_.membership() + 1 || s.in_table == table_.contains(s.id),
            "a seed's kept table answer is the table's");
    SVCDHT_CHECK(heap_.size() <= heap_sweep_at_, "the timer heap is swept as it grows");
    for (const auto& entry : dials_) {
        const DialId dial = entry.first;
        SVCDHT_CHECK(std::any_of(heap_.begin(), heap_.end(),
                                 [&](const TimerEntry& e) {
                                     return e.kind == TimerKind::dial_timeout && e.id == dial;
                                 }),
                     "a dial's timeout is in the timer heap");
    }
    size_t chained = 0;
    for (const auto& [id, newest] : by_id_) {
        SVCDHT_CHECK(newest != 0, "a peer id in by_id_ has sessions");
        for (PeerRef ref = newest; ref != 0; ++chained) {
            const Conn* c = conns_.find(ref);
            SVCDHT_CHECK(c != nullptr && c->id == id, "by_id_ names open sessions of that peer");
            SVCDHT_CHECK(chained < conns_.size(), "a peer's sessions chain ends");
            ref = c->older;
        }
    }
    SVCDHT_CHECK(chained == conns_.size(), "every open session is its peer's in by_id_");
    std::unordered_map<PeerRef, uint32_t> on_session;
    for (const auto& [rid, r] : rpcs_)
        if (r->ref != 0) {
            SVCDHT_CHECK(conns_.contains(r->ref), "an RPC sent on a session names an open one");
            ++on_session[r->ref];
        }
    conns_.each([&](const Conn& c) {
        SVCDHT_CHECK(c.inflight == (on_session.contains(c.ref) ? on_session[c.ref] : 0),
                     "a session counts the RPCs sent on it");
    });
    for (const auto& [id, d] : dial_by_id_) {
        auto it = dials_.find(d);
        SVCDHT_CHECK(it != dials_.end() && it->second->has_expect && it->second->expect == id,
                     "dial_by_id_ names dials to that id");
    }
    for (const auto& [rid, r] : rpcs_) {
        SVCDHT_CHECK(r->ref == 0 || conns_.contains(r->ref), "a sent RPC's session is open");
        SVCDHT_CHECK(r->ref != 0 || dials_.count(r->dial) != 0, "an unsent RPC waits on a dial");
    }
    SVCDHT_CHECK(owed_.size() <= MAX_OWED_PUSHES, "owed replication pushes stay bounded");
    for (const OwedPush& o : owed_)
        SVCDHT_CHECK(o.tries < MAX_OWED_TRIES, "an owed push is given up after its last try");
    for (const auto& [lid, l] : lookups_) {
        const LookupParams& p = l->lk.params();
        SVCDHT_CHECK(l->lk.inflight() <= (p.alpha + p.beta) * p.disjoint + p.k * 3 * p.disjoint,
                     "a lookup keeps its queries in flight bounded");
    }
}

// ---- API ------------------------------------------------------------------------------------

RequestResult& Node::new_request(ApiOp op, const Key& key, std::string_view corr_id, Time now) {
    auto r = std::make_unique<RequestResult>();
    r->id = next_request_++;
    r->op = op;
    r->key = key;
    r->corr_id = corr_id;
    r->elapsed = now;  // start time until complete() turns it into a duration
    RequestResult& ref = *r;
    requests_.emplace(r->id, std::move(r));
    if (log_on(LogLevel::debug)) {
        const std::string k = op == ApiOp::ping ? std::string("-") : key.cid();
        log(LogLevel::debug, "request started",
            {{"corr_id", ref.corr_id}, {"op", api_op_name(op)}, {"key", k}});
    }
    return ref;
}

const RequestResult* Node::request_of(OwnerKind kind, uint64_t owner_id) const {
    RequestId api = 0;
    if (kind == OwnerKind::api_ping) {
        api = owner_id;
    } else if (kind == OwnerKind::lookup) {
        auto lit = lookups_.find(owner_id);
        if (lit == lookups_.end()) return nullptr;
        if (lit->second->purpose == Purpose::api) api = lit->second->purpose_id;
        if (lit->second->purpose == Purpose::publish)
            return request_of(OwnerKind::publish, lit->second->purpose_id);
    } else if (kind == OwnerKind::publish) {
        auto pit = publishes_.find(owner_id);
        if (pit != publishes_.end()) api = pit->second->api;
    }
    auto rit = api != 0 ? requests_.find(api) : requests_.end();
    return rit != requests_.end() ? rit->second.get() : nullptr;
}

// log_done writes the end of a request: at debug always, and a warning (rate-limited per
// kind by the sink) for the failures an operator acts on: a lookup that ran out of time or
// hops, a peer that could not be reached, a write the store refused.
void Node::log_done(const RequestResult& r, Err err) {
    const bool notable = err == Err::timeout || err == Err::deadline || err == Err::hop_budget ||
                         err == Err::unreachable || err == Err::store_unavailable ||
                         err == Err::store_full;
    const bool debug = log_on(LogLevel::debug);
    if (!debug && !(notable && log_on(LogLevel::warn))) return;
    char elapsed[32];
    std::snprintf(elapsed, sizeof elapsed, "%.3f", static_cast<double>(r.elapsed) / 1e3);
    const std::string k = r.op == ApiOp::ping ? std::string("-") : r.key.cid();
    const std::string hops = std::to_string(r.hops);
    const std::string rpcs = std::to_string(r.rpcs);
    const std::initializer_list<LogField> fields = {{"corr_id", r.corr_id},
                                                    {"op", api_op_name(r.op)},
                                                    {"key", k},
                                                    {"hops", hops},
                                                    {"rpcs", rpcs},
                                                    {"elapsed_ms", elapsed},
                                                    {"outcome", err_name(err)}};
    if (debug) log(LogLevel::debug, "request done", fields);
    if (notable) log(LogLevel::warn, "request failed", fields);
}

void Node::complete(RequestResult& r, Err err, Time now) {
    auto it = requests_.find(r.id);
    if (it == requests_.end()) return;
    std::unique_ptr<RequestResult> owned = std::move(it->second);
    requests_.erase(it);
    owned->err = err;
    owned->elapsed = now - owned->elapsed;
    // Our own write is acknowledged only once it is on disk (set_journal): |covering| is
    // the commit that must hold it (0: the journal could not take it).
    auto w = api_writes_.find(owned->id);
    const bool write = w != api_writes_.end();
    const uint64_t covering = write ? w->second : 0;
    if (write) {
        api_writes_.erase(w);
        if (covering == 0 && err == Err::ok) owned->err = err = Err::store_unavailable;
    }
    log_done(*owned, err);
    if (write && covering > commits_ && err == Err::ok) {
        held_results_.push_back(std::move(owned));
        return;
    }
    if (err != Err::ok) counters_.error(err);
    Action a;
    a.kind = Action::Kind::done;
    a.result = owned.get();
    actions_.push_back(a);
    retired_.push_back(std::move(owned));
}

// api_gate refuses a new API request while draining or overloaded; it completes the
// request with the error and returns false.
bool Node::api_gate(RequestResult& r, Time now) {
    if (draining_) {
        complete(r, Err::shutting_down, now);
        return false;
    }
    if (requests_.size() > cfg_.max_api_requests) {
        complete(r, Err::busy, now);
        return false;
    }
    return true;
}

RequestId Node::closest(const Key& key, Time now, LookupOptions o, std::string_view corr_id) {
    const InputCheck check{*this};
    RequestResult& r = new_request(ApiOp::closest, key, corr_id, now);
    const RequestId id = r.id;
    if (!api_gate(r, now)) return id;
    if (table_.size() == 0) {
        complete(r, Err::no_peers, now);
        return id;
    }
    start_lookup(LookupKind::find_node, key, Purpose::api, id, o, now);
    return id;
}

RequestId Node::find_providers(const Key& key, Time now, LookupOptions o,
                               std::string_view corr_id) {
    const InputCheck check{*this};
    RequestResult& r = new_request(ApiOp::find_providers, key, corr_id, now);
    const RequestId id = r.id;
    if (!api_gate(r, now)) return id;
    store_.records(key, now, MAX_PROVIDERS_PER_ANSWER, scratch_records_);
    if (!scratch_records_.empty() || table_.size() == 0) {
        // Held here (or nowhere else to ask): answer from the local store, zero hops.
        const uint64_t now_unix = unix_now(now);
        for (const StoredRecord* s : scratch_records_)
            r.providers.push_back(provider_info(*s, now_unix));
        if (!r.providers.empty()) ++counters_.found_total;
        ++counters_.lookups_total[static_cast<size_t>(LookupKind::get_providers)];
        complete(r, Err::ok, now);
        return id;
    }
    start_lookup(LookupKind::get_providers, key, Purpose::api, id, o, now);
    return id;
}

RequestId Node::get(const Key& key, Time now, LookupOptions o, std::string_view corr_id) {
    const InputCheck check{*this};
    RequestResult& r = new_request(ApiOp::get, key, corr_id, now);
    const RequestId id = r.id;
    ++counters_.get_total;
    if (!api_gate(r, now)) return id;
    if (const StoredValue* v = store_.value(key, now)) {
        r.value = v->value;
        ++counters_.found_total;
        counters_.get_latency.observe(0);
        complete(r, Err::ok, now);
        return id;
    }
    if (table_.size() == 0) {
        complete(r, Err::not_found, now);
        return id;
    }
    start_lookup(LookupKind::get_value, key, Purpose::api, id, o, now);
    return id;
}

RequestId Node::provide(const Key& key, std::span<const std::string> addrs, uint64_t ttl_secs,
                        Time now, std::string_view corr_id) {
    const InputCheck check{*this};
    RequestResult& r = new_request(ApiOp::provide, key, corr_id, now);
    const RequestId id = r.id;
    if (!api_gate(r, now)) return id;
    if (ttl_secs == 0) ttl_secs = cfg_.ttl_secs;
    if (ttl_secs > cfg_.max_ttl_secs) {
        complete(r, Err::ttl_too_large, now);
        return id;
    }
    if (addrs.size() > MAX_PROVIDER_ADDRS) {
        complete(r, Err::too_many_addrs, now);
        return id;
    }
    for (const std::string& a : addrs) {
        if (!addr_valid(a)) {
            complete(r, a.size() > MAX_ADDR_LEN ? Err::addr_too_long : Err::bad_addr_scheme, now);
            return id;
        }
    }
    ++counters_.provides_total;
    if (!write_admitted(r, now)) return id;
    const std::vector<std::string_view> views(addrs.begin(), addrs.end());
    if (Err e = provide_round(key, views, unix_now(now) + ttl_secs, id, now); e != Err::ok)
        complete(r, e, now);
    return id;
}

// write_admitted: our own write may be stored (not read-only, the disk takes writes);
// with a journal its result will wait for the commit that covers it. Else r completes.
bool Node::write_admitted(RequestResult& r, Time now) {
    const Err e = degraded_ ? Err::degraded : persist_failed_ ? Err::store_unavailable : Err::ok;
    if (e != Err::ok) {
        complete(r, e, now);
        return false;
    }
    if (journal_ != nullptr) api_writes_[r.id] = commits_ + 1;
    return true;
}

RequestId Node::put(ByteView value, Time now, std::string_view corr_id) {
    const InputCheck check{*this};
    const Key key = NodeId::from(blake3(value));
    RequestResult& r = new_request(ApiOp::put, key, corr_id, now);
    const RequestId id = r.id;
    ++counters_.put_total;
    if (!api_gate(r, now)) return id;
    if (value.size() > cfg_.max_value_bytes) {
        complete(r, Err::value_too_large, now);
        return id;
    }
    if (!write_admitted(r, now)) return id;
    if (Err e = put_round(key, value, unix_now(now) + cfg_.ttl_secs, id, now); e != Err::ok)
        complete(r, e, now);
    return id;
}

RequestId Node::ping(const PeerAddr& addr, Time now, std::string_view corr_id) {
    const InputCheck check{*this};
    RequestResult& r = new_request(ApiOp::ping, Key{}, corr_id, now);
    const RequestId id = r.id;
    if (!api_gate(r, now)) return id;
    DhtMsg req;
    req.op = Op::ping;
    if (send_rpc(NodeId{}, addr, false, req, OwnerKind::api_ping, id, now) == 0)
        complete(r, Err::unreachable, now);
    return id;
}

void Node::begin_drain(Time now) {
    const InputCheck check{*this};
    (void)now;
    draining_ = true;
}

void Node::set_degraded(bool on, Time now) {
    const InputCheck check{*this};
    (void)now;
    if (degraded_ == on) return;
    degraded_ = on;
    if (on) {
        log(LogLevel::warn, "degraded mode on: new stores are refused, lookups and reads serve",
            {});
    } else {
        log(LogLevel::info, "degraded mode off: stores are accepted again", {});
    }
}

}  // namespace svcdht::core
