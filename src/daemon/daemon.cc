// SPDX-License-Identifier: MIT
// The svc-dht process lifecycle (see daemon.h): start-up order (identity, bind peers, bind
// admin, start the node), readiness notification, the strict-ready deadline, graceful and
// forced stops, and SIGHUP reloads.
#include "daemon/daemon.h"

#include <unistd.h>

#include <cassert>

#include "daemon/identity.h"
#include "daemon/notify.h"
#include "platform/files.h"
#include "platform/log.h"

namespace svcdht::daemon {

using platform::Logger;
using platform::logger;
using platform::parse_level;

Daemon::Daemon(Config cfg, RawValues flags, std::string config_path, char** envp)
    : cfg_(std::move(cfg)),
      flags_(std::move(flags)),
      config_path_(std::move(config_path)),
      envp_(envp) {}

Daemon::~Daemon() = default;

bool Daemon::load_admin_token(const std::string& path, std::string* err) {
    if (path.empty()) {
        admin_token_.clear();
        return true;
    }
    std::string text;
    if (!platform::read_small_file(path, platform::MAX_SECRET_FILE, &text, err)) {
        *err = "admin_token_file: " + *err;
        return false;
    }
    std::string token = text.substr(0, text.find('\n'));
    if (token.empty()) {
        *err = "admin_token_file " + path + " holds no token on its first line";
        return false;
    }
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
    admin_token_ = token;
    return true;
}

core::RequestId Daemon::start(const admin::ApiCall& c, admin::ApiWaiter* w) {
    const core::Time t = now();
    core::RequestId id = 0;
    switch (c.op) {
        case core::ApiOp::provide: {
            const std::string addrs[] = {c.addr};
            id = node_->provide(c.key, addrs, c.ttl_secs, t);
            break;
        }
        case core::ApiOp::put: id = node_->put(c.value, t); break;
        case core::ApiOp::find_providers: id = node_->find_providers(c.key, t); break;
        case core::ApiOp::get: id = node_->get(c.key, t); break;
        case core::ApiOp::closest:
        case core::ApiOp::ping: id = node_->closest(c.key, t); break;
    }
    // Registered before the pump: a local answer arrives within it.
    api_waiters_[id] = w;
    net_->watch(id, this);
    net_->pump();
    return id;
}

void Daemon::forget(admin::ApiWaiter* w) {
    std::erase_if(api_waiters_, [&](const auto& kv) { return kv.second == w; });
}

void Daemon::on_request_done(const core::RequestResult& r) {
    auto it = api_waiters_.find(r.id);
    if (it == api_waiters_.end()) return;  // its connection went away
    admin::ApiWaiter* w = it->second;
    api_waiters_.erase(it);
    w->on_request_done(r);
}

admin::Gates Daemon::gates() const {
    admin::Gates g;
    const core::Readiness r = node_->readiness();
    g.listeners_bound = net_->listener_bound() || draining_;
    g.bootstrap = r.bootstrap;
    g.routing_ready = r.routing_ready;
    g.queues_ok = r.queues_ok;
    g.not_draining = !draining_;
    g.seeds_up = r.seeds_up;
    g.seeds_required = r.seeds_required;
    g.seeds_configured = r.seeds_configured;
    return g;
}

admin::NetMetrics Daemon::net_metrics() const {
    admin::NetMetrics m;
    const core::Peers& p = net_->peers();
    m.sessions = p.open_sessions();
    m.connections = p.connections();
    m.live = p.live_session_stats();
    m.handshaking = p.handshaking();
    const io::NetStats s = net_->stats();
    m.handshakes_evicted = s.peers.handshakes_evicted;
    m.rx_budget_used = s.rx_budget_used;
    m.tx_budget_used = s.tx_budget_used;
    m.accepted = s.peers.accepted;
    m.dialed = s.peers.dialed;
    m.accept_paused = s.accept_paused;
    m.rejected_per_ip = s.peers.rejected_per_ip;
    m.evicted_idle = s.peers.evicted_idle;
    m.io_errors = s.io_errors;
    if (admin_) {
        m.admin_connections = admin_->connections();
        m.admin_rejected = admin_->rejected();
    }
    return m;
}

int Daemon::run() {
    Logger& log = logger();
    if (!platform::platform_init()) {
        log.error("libsodium failed to initialise");
        return EXIT_FORCED;
    }
    std::string err, warning;
    bool created = false;
    if (!load_or_create(cfg_.identity_file, crypto_, &ident_, &created, &err, &warning)) {
        log.error("identity", {{"error", err}});
        return EXIT_CONFIG;
    }
    if (!warning.empty()) log.warn(warning);
    if (created) log.info("created identity key file", {{"path", cfg_.identity_file}});
    if (!load_admin_token(cfg_.admin_token_file, &err)) {
        log.error("config", {{"error", err}});
        return EXIT_CONFIG;
    }

    uv_loop_init(&loop_);
    net_ = std::make_unique<io::Net>(&loop_, net_options(cfg_, false), &logger());
    if (!net_->bind(&err)) {
        log.error("bind failed", {{"error", err}});
        net_->close_all();
        uv_run(&loop_, UV_RUN_DEFAULT);
        uv_loop_close(&loop_);
        return EXIT_BIND;
    }
    admin_ = std::make_unique<admin::Server>(
        &loop_, *this, static_cast<uint32_t>(cfg_.max_admin_conns), &logger());
    if (!admin_->bind(cfg_.admin_bind, &err)) {
        log.error("bind failed", {{"error", err}});
        admin_->close();
        net_->close_all();
        uv_run(&loop_, UV_RUN_DEFAULT);
        uv_loop_close(&loop_);
        return EXIT_BIND;
    }
    settings_ = admin_settings(cfg_, admin_->loopback());
    if (settings_.require_token && admin_token_.empty())
        log.warn(
            "admin_bind is not loopback and no admin_token_file is set: mutating endpoints will "
            "refuse");

    // The Node advertises the port the listener got (port 0 picks one).
    const core::Env env{&rng_, &crypto_, &logger()};
    core::NodeConfig ncfg = node_settings(cfg_);
    ncfg.listen_port = net_->bound_port();
    scfg_ = session_settings(cfg_);
    scfg_.listen_port = net_->bound_port();
    node_ = std::make_unique<core::Node>(ncfg, ident_, env, now());
    net_->start(*node_, scfg_, ident_, env);

    uv_signal_init(&loop_, &sigint_);
    uv_signal_init(&loop_, &sigterm_);
    uv_signal_init(&loop_, &sighup_);
    sigint_.data = sigterm_.data = sighup_.data = this;
    uv_signal_start(&sigint_, on_signal, SIGINT);
    uv_signal_start(&sigterm_, on_signal, SIGTERM);
    uv_signal_start(&sighup_, on_signal, SIGHUP);
    uv_check_init(&loop_, &check_);
    check_.data = this;
    uv_check_start(&check_, on_check);
    uv_timer_init(&loop_, &drain_timer_);
    uv_timer_init(&loop_, &ready_timer_);
    drain_timer_.data = ready_timer_.data = this;
    handles_ready_ = true;
    if (cfg_.strict_ready)
        uv_timer_start(&ready_timer_, on_ready_timer, cfg_.bootstrap_timeout_ms, 0);

    log.info("svc-dht started", {{"id", ident_.id.hex()},
                                 {"listen", cfg_.listen},
                                 {"port", std::to_string(net_->bound_port())},
                                 {"admin", cfg_.admin_bind},
                                 {"admin_port", std::to_string(admin_->bound_port())},
                                 {"profile", cfg_.profile},
                                 {"network", cfg_.network},
                                 {"seeds", std::to_string(cfg_.bootstrap.size())}});

    // Every later change of readiness arrives with an event, after which on_check runs; the
    // state right after start (a standalone node is ready at once) is checked here.
    service_flags();
    uv_run(&loop_, UV_RUN_DEFAULT);
    const int closed = uv_loop_close(&loop_);
    // Every handle must be closed by now (libuv's rule); a leak here is a bug.
    assert(closed == 0);
    if (closed != 0) log.error("event loop closed with live handles");
    log.info("svc-dht stopped", {{"exit", std::to_string(exit_code_)}});
    return exit_code_;
}

void Daemon::on_signal(uv_signal_t* s, int signum) {
    // Only flags here; on_check acts on them in the same loop turn.
    auto* self = static_cast<Daemon*>(s->data);
    if (signum == SIGHUP) {
        self->reload_flag_ = true;
    } else {
        self->stop_flag_ = true;
        if (++self->stop_signals_ >= 2) {
            logger().warn("second stop signal: exiting at once");
            _exit(EXIT_FORCED);
        }
    }
}

void Daemon::on_check(uv_check_t* c) {
    static_cast<Daemon*>(c->data)->service_flags();
}

void Daemon::service_flags() {
    if (reload_flag_) {
        reload_flag_ = false;
        reload();
    }
    if (stop_flag_ && !draining_) begin_stop();
    if (draining_ && !finished_ && admin_->waiting() == 0 &&
        uv_now(&loop_) >= drain_started_ms_ + DRAIN_LINGER_MS)
        finish_stop();
    if (!draining_ && !notified_ready_ && gates().ready()) {
        notified_ready_ = true;
        notify("READY=1\nSTATUS=ready");
        logger().info("ready", {{"peers", std::to_string(node_->table().size())}});
    }
}

void Daemon::on_ready_timer(uv_timer_t* t) {
    auto* self = static_cast<Daemon*>(t->data);
    if (self->gates().ready() || self->draining_) return;
    const admin::Gates g = self->gates();
    logger().error("not ready within bootstrap_timeout_ms (strict_ready)",
                   {{"bootstrap", g.bootstrap ? "true" : "false"},
                    {"routing_ready", g.routing_ready ? "true" : "false"},
                    {"seeds_up", std::to_string(g.seeds_up)}});
    self->exit_code_ = EXIT_NOT_READY;
    self->begin_stop();
}

void Daemon::begin_stop() {
    draining_ = true;
    logger().info("stopping: draining in-flight requests");
    notify("STOPPING=1");
    node_->begin_drain(now());
    net_->stop_listening();
    drain_started_ms_ = uv_now(&loop_);
    uv_timer_start(&drain_timer_, on_drain_timer, DRAIN_LINGER_MS, 0);
}

void Daemon::on_drain_timer(uv_timer_t* t) {
    auto* self = static_cast<Daemon*>(t->data);
    if (self->finished_) return;
    if (self->admin_->waiting() == 0) {
        self->finish_stop();
        return;
    }
    if (uv_now(&self->loop_) < self->drain_started_ms_ + DRAIN_TIMEOUT_MS) {
        uv_timer_start(t, on_drain_timer, 50, 0);  // check again until the bound
        return;
    }
    logger().warn("drain timeout: closing with requests still in flight",
                  {{"waiting", std::to_string(self->admin_->waiting())}});
    self->finish_stop();
}

void Daemon::finish_stop() {
    finished_ = true;
    admin_->close();
    net_->close_all();
    if (handles_ready_) {
        handles_ready_ = false;
        for (uv_handle_t* h :
             {reinterpret_cast<uv_handle_t*>(&sigint_), reinterpret_cast<uv_handle_t*>(&sigterm_),
              reinterpret_cast<uv_handle_t*>(&sighup_), reinterpret_cast<uv_handle_t*>(&check_),
              reinterpret_cast<uv_handle_t*>(&drain_timer_),
              reinterpret_cast<uv_handle_t*>(&ready_timer_)})
            uv_close(h, nullptr);
    }
}

void Daemon::apply_reloadable(const Config& c) {
    logger().configure(parse_level(c.log_level), c.log_format == "json");
    node_->apply_reloadable(node_settings(c));
    net_->set_limits(peer_limits(c));
    scfg_.idle_timeout = core::msec(c.idle_timeout_ms);
    scfg_.handshake_timeout = core::msec(c.handshake_timeout_ms);
    admin_->set_max_conns(static_cast<uint32_t>(c.max_admin_conns));
    settings_.max_value_bytes = c.max_value_bytes;  // the admin setting SIGHUP may change
}

void Daemon::reload() {
    Config fresh;
    std::vector<ConfigIssue> issues;
    notify("RELOADING=1");
    const bool ok = load_config(flags_, config_path_, envp_, &fresh, &issues);
    for (const ConfigIssue& i : issues)
        (i.fatal ? logger().error("reload", {{"error", i.message}}) : logger().warn(i.message));
    if (!ok) {
        logger().error("reload failed: keeping the running configuration");
        notify("READY=1");
        return;
    }
    std::string err;
    if (fresh.admin_token_file != cfg_.admin_token_file || !fresh.admin_token_file.empty()) {
        if (!load_admin_token(fresh.admin_token_file, &err))
            logger().error("reload", {{"error", err}});
    }
    std::vector<std::string> applied, restart;
    reload_changes(cfg_, fresh, &applied, &restart);
    apply_reloadable(fresh);
    for (const std::string& r : restart)
        logger().warn("changed key needs a restart", {{"change", r}});
    std::string joined;
    for (const std::string& a : applied) joined += (joined.empty() ? "" : "; ") + a;
    logger().info("configuration reloaded", {{"changed", joined.empty() ? "nothing" : joined}});
    // Keep the non-reloadable values of the running process.
    for (const KeyDef& d : config_table()) {
        if (d.reloadable) continue;
        fresh.text[d.key] = cfg_.text[d.key];
        fresh.source[d.key] = cfg_.source[d.key];
    }
    cfg_ = fresh;
    notify("READY=1");
}

}  // namespace svcdht::daemon
