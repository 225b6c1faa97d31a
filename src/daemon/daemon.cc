// SPDX-License-Identifier: MIT
// The svc-dht process lifecycle (see daemon.h): start-up order (identity, bind peers, bind
// admin, start the node), readiness notification, the strict-ready deadline, graceful and
// forced stops, and SIGHUP reloads.
#include "daemon/daemon.h"

#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <fstream>

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

namespace {
// kernel_fastopen reads net.ipv4.tcp_fastopen (bit 1: Fast Open dials, bit 2: listeners
// take Fast Open SYNs); -1 if it cannot be read.
int kernel_fastopen() {
    std::ifstream f("/proc/sys/net/ipv4/tcp_fastopen");
    int v = -1;
    if (!(f >> v)) return -1;
    return v;
}
}  // namespace

bool read_admin_token(const std::string& path, std::string* token, std::string* err) {
    token->clear();
    if (path.empty()) return true;
    std::string text;
    if (!platform::read_small_file(path, platform::MAX_SECRET_FILE, &text, err)) {
        *err = "admin_token_file: " + *err;
        return false;
    }
    std::string t = text.substr(0, text.find('\n'));
    while (!t.empty() && (t.back() == '\r' || t.back() == ' ')) t.pop_back();
    if (t.empty()) {
        *err = "admin_token_file " + path + " holds no token on its first line";
        return false;
    }
    *token = t;
    return true;
}

bool Daemon::load_admin_token(const std::string& path, std::string* err) {
    std::string token;
    if (!read_admin_token(path, &token, err)) return false;
    admin_token_ = token;
    return true;
}

// Each API request carries its admin waiter as the callback's user pointer; a waiter whose
// connection goes away is forgotten (forget), so its callback never runs.
core::RequestId Daemon::start(const admin::ApiCall& c, admin::ApiWaiter* w) {
    switch (c.op) {
        case core::ApiOp::provide: {
            const std::string addrs[] = {c.addr};
            return dht_->provide(c.key, addrs, c.ttl_secs, on_api_done, w, c.corr_id);
        }
        case core::ApiOp::put: return dht_->put(c.value, on_api_done, w, c.corr_id);
        case core::ApiOp::find_providers:
            return dht_->find_providers(c.key, on_api_done, w, c.corr_id);
        case core::ApiOp::get: return dht_->get(c.key, on_api_done, w, c.corr_id);
        case core::ApiOp::closest:
        case core::ApiOp::ping: return dht_->closest(c.key, on_api_done, w, c.corr_id);
    }
    return 0;
}

void Daemon::forget(admin::ApiWaiter* w) {
    dht_->forget(w);
}

void Daemon::on_api_done(const DhtResult& r, void* waiter) {
    static_cast<admin::ApiWaiter*>(waiter)->on_request_done(r);
}

admin::Gates Daemon::gates() const {
    admin::Gates g;
    const core::Readiness r = dht_->readiness();
    g.listeners_bound = dht_->listening() || draining_;
    g.bootstrap = r.bootstrap;
    g.routing_ready = r.routing_ready;
    g.queues_ok = r.queues_ok;
    g.not_draining = !draining_;
    g.seeds_up = r.seeds_up;
    g.seeds_required = r.seeds_required;
    g.seeds_configured = r.seeds_configured;
    g.warm_dialed = r.warm_dialed;
    g.warm_up = r.warm_up;
    g.warm_required = r.warm_required;
    g.degraded = r.degraded;
    return g;
}

admin::NetMetrics Daemon::net_metrics() const {
    admin::NetMetrics m;
    const DhtMetrics d = dht_->metrics();
    m.sessions = d.open_sessions;
    m.connections = d.connections;
    m.session_stats = d.sessions;
    m.handshaking = d.handshaking;
    m.handshakes_evicted = d.peers.handshakes_evicted;
    m.rx_budget_used = d.rx_budget_used;
    m.tx_budget_used = d.tx_budget_used;
    m.accepted = d.peers.accepted;
    m.dialed = d.peers.dialed;
    m.accept_paused = d.accept_paused;
    m.fastopen_dialed = d.fastopen_dialed;
    m.fastopen_accepted = d.fastopen_accepted;
    m.rejected_per_ip = d.peers.rejected_per_ip;
    m.evicted_idle = d.peers.evicted_idle;
    m.io_errors = d.io_errors;
    m.persistent = d.persistent;
    m.writes_refused = d.writes_refused;
    m.store_file_bytes = d.store_file_bytes;
    m.persist_errors = d.persist_errors;
    m.persist_dropped = d.persist_dropped;
    m.commit_seconds = d.commit_seconds;
    if (admin_) {
        m.admin_connections = admin_->connections();
        m.admin_rejected = admin_->rejected();
    }
    return m;
}

int Daemon::run() {
    Logger& log = logger();
    if (!init()) {
        log.error("libsodium failed to initialise");
        return EXIT_FORCED;
    }
    std::string err, warning;
    bool created = false;
    core::Seed32 seed{};
    if (!load_or_create(cfg_.identity_file, &seed, &created, &err, &warning)) {
        log.error("identity", {{"error", err}});
        return EXIT_CONFIG;
    }
    if (!warning.empty()) log.warn(warning);
    if (created) log.info("created identity key file", {{"path", cfg_.identity_file}});
    if (!load_admin_token(cfg_.admin_token_file, &err)) {
        log.error("config", {{"error", err}});
        return EXIT_CONFIG;
    }

    DhtSettings ds = dht_settings(cfg_, false);
    ds.log = &logger();
    // The config table already held every value to the engine's ranges.
    dht_ = Dht::create(&loop_, ds, seed, &err);
    if (!dht_) {
        log.error("config", {{"error", err}});
        return EXIT_CONFIG;
    }
    uv_loop_init(&loop_);
    // The admin port is bound before the node starts, so a bind failure on either port
    // exits before any peer has been dialed.
    admin_ = std::make_unique<admin::Server>(
        &loop_, *this, static_cast<uint32_t>(cfg_.max_admin_conns), &logger());
    const bool admin_bound = admin_->bind(cfg_.admin_bind, &err);
    if (!admin_bound || !dht_->start(&err)) {
        log.error("bind failed", {{"error", err}});
        admin_->close();
        dht_->stop();
        uv_run(&loop_, UV_RUN_DEFAULT);
        uv_loop_close(&loop_);
        return EXIT_BIND;
    }
    settings_ = admin_settings(cfg_, admin_->loopback());
    if (settings_.require_token && admin_token_.empty())
        log.warn(
            "admin_bind is not loopback and no admin_token_file is set: mutating endpoints will "
            "refuse");

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
    uv_timer_init(&loop_, &watchdog_timer_);
    drain_timer_.data = ready_timer_.data = watchdog_timer_.data = this;
    // Under a service manager's watchdog, ping it from the loop at half its interval: if the
    // loop stops turning, the pings stop and the manager restarts the node.
    if (const uint64_t wd = watchdog_usec(); wd != 0) {
        const uint64_t every_ms = std::max<uint64_t>(1, wd / 2000);
        uv_timer_start(&watchdog_timer_, on_watchdog_timer, every_ms, every_ms);
        log.info("watchdog enabled", {{"ping_every_ms", std::to_string(every_ms)}});
    }
    handles_ready_ = true;
    if (cfg_.strict_ready)
        uv_timer_start(&ready_timer_, on_ready_timer, cfg_.bootstrap_timeout_ms, 0);

    log.info("svc-dht started", {{"id", dht_->id().hex()},
                                 {"listen", cfg_.listen},
                                 {"port", std::to_string(dht_->port())},
                                 {"admin", cfg_.admin_bind},
                                 {"admin_port", std::to_string(admin_->bound_port())},
                                 {"profile", cfg_.profile},
                                 {"network", cfg_.network},
                                 {"seeds", std::to_string(cfg_.bootstrap.size())}});
    if (const int k = kernel_fastopen(); cfg_.tcp_fastopen && k >= 0 && (k & 3) != 3)
        log.info("TCP Fast Open is partly off in the kernel",
                 {{"sysctl_tcp_fastopen", std::to_string(k)},
                  {"dials", (k & 1) != 0 ? "on" : "off"},
                  {"listener", (k & 2) != 0 ? "on" : "off"},
                  {"hint", "set it to 3 to save a round trip on repeated connections both ways"}});

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
    // Counts of suppressed warnings are told once their window ends (no timer of its own:
    // an idle node does not wake for it, the next event carries it).
    logger().flush();
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
        logger().info("ready", {{"peers", std::to_string(dht_->node().table().size())}});
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

void Daemon::on_watchdog_timer(uv_timer_t*) {
    notify("WATCHDOG=1");
}

void Daemon::begin_stop() {
    draining_ = true;
    logger().info("stopping: draining in-flight requests");
    notify("STOPPING=1");
    dht_->drain();
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
    dht_->stop();
    if (handles_ready_) {
        handles_ready_ = false;
        for (uv_handle_t* h :
             {reinterpret_cast<uv_handle_t*>(&sigint_), reinterpret_cast<uv_handle_t*>(&sigterm_),
              reinterpret_cast<uv_handle_t*>(&sighup_), reinterpret_cast<uv_handle_t*>(&check_),
              reinterpret_cast<uv_handle_t*>(&drain_timer_),
              reinterpret_cast<uv_handle_t*>(&ready_timer_),
              reinterpret_cast<uv_handle_t*>(&watchdog_timer_)})
            uv_close(h, nullptr);
    }
}

void Daemon::apply_reloadable(const Config& c) {
    logger().configure(parse_level(c.log_level), c.log_format == "json");
    dht_->reconfigure(dht_settings(c, false));
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
