// SPDX-License-Identifier: MIT
// The svc-dht process: owns the uv loop, the node (a Dht: engine, sessions and sockets,
// the same one libsvcdht embeds), the admin plane, signals and the lifecycle. Signal callbacks only
// set flags; a check handle acts on them once per loop turn. SIGINT/SIGTERM: readiness turns false
// at once, the peer listener closes, in-flight API requests drain (bounded), then everything closes
// and run() returns 0; a second signal exits at once with status 1. SIGHUP reloads the reloadable
// keys.
#pragma once

#include <uv.h>

#include <memory>
#include <string>

#include "admin/routes.h"
#include "admin/server.h"
#include "daemon/config.h"
#include "daemon/settings.h"
#include "io/addr.h"
#include "platform/proc.h"
#include "svcdht/dht.h"

namespace svcdht::daemon {

// Exit statuses (svc-dht(8)).
inline constexpr int EXIT_OK = 0;
inline constexpr int EXIT_FORCED = 1;
inline constexpr int EXIT_CONFIG = 2;
inline constexpr int EXIT_BIND = 3;
inline constexpr int EXIT_NOT_READY = 4;

// How long a graceful stop waits for in-flight API requests before closing anyway.
inline constexpr uint64_t DRAIN_TIMEOUT_MS = 3000;
// A graceful stop keeps the admin port answering (/readyz 503) at least this long, so a
// load balancer polling readiness sees the node leave before its port closes.
inline constexpr uint64_t DRAIN_LINGER_MS = 1000;

// read_admin_token reads the bearer token from the first line of |path| (empty path: no
// token). The daemon and the admin commands read it alike.
bool read_admin_token(const std::string& path, std::string* token, std::string* err);

class Daemon final : public admin::NodeView {
public:
    Daemon(Config cfg, RawValues flags, std::string config_path, char** envp);
    ~Daemon() override;
    // run binds, starts and runs until stopped; returns the exit status.
    int run();

    // NodeView for the admin plane: read-only views, and start() as the one road in.
    const core::Node& node() const override { return dht_->node(); }
    admin::Gates gates() const override;
    admin::NetMetrics net_metrics() const override;
    platform::ProcessStats process() const override { return platform::read_process_stats(); }
    const admin::AdminSettings& settings() const override { return settings_; }
    const std::string& admin_token() const override { return admin_token_; }
    core::Time now() const override { return io::now_us(); }
    core::RequestId start(const admin::ApiCall& call, admin::ApiWaiter* w) override;
    void forget(admin::ApiWaiter* w) override;
    void set_degraded(bool on) override { dht_->set_degraded(on); }

private:
    static void on_api_done(const DhtResult& r, void* waiter);  // Dht -> admin waiter
    static void on_signal(uv_signal_t* s, int signum);
    static void on_check(uv_check_t* c);
    static void on_drain_timer(uv_timer_t* t);
    static void on_ready_timer(uv_timer_t* t);
    static void on_watchdog_timer(uv_timer_t* t);
    void service_flags();
    void begin_stop();
    void finish_stop();
    void reload();
    void apply_reloadable(const Config& c);
    bool load_admin_token(const std::string& path, std::string* err);

    Config cfg_;
    RawValues flags_;
    std::string config_path_;
    char** envp_;
    uv_loop_t loop_{};
    std::unique_ptr<Dht> dht_;
    std::unique_ptr<admin::Server> admin_;
    admin::AdminSettings settings_;
    uv_signal_t sigint_{}, sigterm_{}, sighup_{};
    uv_check_t check_{};
    uv_timer_t drain_timer_{}, ready_timer_{}, watchdog_timer_{};
    bool handles_ready_ = false;
    std::string admin_token_;
    int exit_code_ = EXIT_OK;
    bool stop_flag_ = false, reload_flag_ = false;
    int stop_signals_ = 0;
    bool draining_ = false, finished_ = false, notified_ready_ = false;
    uint64_t drain_started_ms_ = 0;
};

}  // namespace svcdht::daemon
