// SPDX-License-Identifier: MIT
// The one-shot clients (client_cmd.h). Answers are rendered by the admin plane's own
// render_done, so --json prints byte for byte the shape the HTTP API answers.
#include "daemon/client_cmd.h"

#include <uv.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "admin/routes.h"
#include "daemon/daemon.h"
#include "daemon/settings.h"
#include "svcdht/dht.h"

namespace svcdht::daemon {

namespace {

const char* op_word(ClientOp op) {
    switch (op) {
        case ClientOp::ping: return "ping";
        case ClientOp::lookup: return "lookup";
        case ClientOp::get: return "get";
        case ClientOp::put: return "put";
        case ClientOp::provide: return "provide";
        case ClientOp::find_providers: return "find-providers";
    }
    return "client";
}

// exit_for: 0 on a 200, 2 for what the node refuses as invalid (4xx but 404), else 1.
int exit_for(int status) {
    if (status == 200) return EXIT_OK;
    if (status >= 400 && status < 500 && status != 404) return EXIT_CONFIG;
    return EXIT_FORCED;
}

class Client {
public:
    Client(const ClientRequest& req, const Config& cfg) : req_(req), cfg_(cfg) {}

    int run() {
        if (!init()) return EXIT_FORCED;
        const core::Seed32 seed = random_seed();
        // The correlation id comes from randomness of its own: make_corr_id can be inverted,
        // and the identity's seed must not show in it.
        const core::Seed32 corr = random_seed();
        uint64_t corr_seed = 0;
        for (int i = 0; i < 8; ++i) corr_seed = corr_seed << 8 | corr[static_cast<size_t>(i)];
        corr_id_ = admin::make_corr_id(corr_seed, 1);
        DhtSettings ds = dht_settings(cfg_, true);
        if (req_.op == ClientOp::ping) ds.bootstrap.clear();
        std::string err;
        dht_ = Dht::create(&loop_, ds, seed, &err);
        if (!dht_) {
            std::fprintf(stderr, "svc-dht: %s\n", err.c_str());
            return EXIT_CONFIG;
        }
        uv_loop_init(&loop_);
        // Both timers first: a request may end (and finish() close them) before it returns.
        uv_timer_init(&loop_, &poll_);
        poll_.data = this;
        uv_timer_init(&loop_, &timeout_);
        timeout_.data = this;
        uv_timer_start(&timeout_, on_timeout, req_.timeout_ms, 0);
        if (!dht_->start(&err)) {  // no listener, so nothing to bind; still, say so
            std::fprintf(stderr, "svc-dht: %s\n", err.c_str());
            status_ = EXIT_FORCED;
            finish();
        } else if (req_.op == ClientOp::ping) {
            dht_->ping(req_.target, on_done, this, corr_id_);
        } else {
            uv_timer_start(&poll_, on_poll, 20, 20);  // wait for the join, then ask
        }
        uv_run(&loop_, UV_RUN_DEFAULT);
        uv_loop_close(&loop_);
        return status_;
    }

private:
    static void on_poll(uv_timer_t* t) {
        auto* self = static_cast<Client*>(t->data);
        if (!self->dht_->ready()) return;
        uv_timer_stop(t);
        self->ask();
    }
    void ask() {
        pending_ = admin::Pending{};
        pending_.cid = req_.key_text;
        switch (req_.op) {
            case ClientOp::lookup:
            case ClientOp::ping:  // (ping is asked at start)
                pending_.kind = core::ApiOp::closest;
                dht_->closest(req_.key, on_done, this, corr_id_);
                break;
            case ClientOp::get:
                pending_.kind = core::ApiOp::get;
                pending_.json_value = req_.json;
                dht_->get(req_.key, on_done, this, corr_id_);
                break;
            case ClientOp::put:
                pending_.kind = core::ApiOp::put;
                dht_->put(core::as_bytes(req_.value), on_done, this, corr_id_);
                break;
            case ClientOp::provide: {
                pending_.kind = core::ApiOp::provide;
                const uint64_t ttl = req_.ttl_secs != 0 ? req_.ttl_secs : cfg_.ttl_secs;
                pending_.ttl_used = std::min(ttl, cfg_.max_ttl_secs);
                const std::string addrs[] = {req_.addr};
                dht_->provide(req_.key, addrs, ttl, on_done, this, corr_id_);
                break;
            }
            case ClientOp::find_providers:
                pending_.kind = core::ApiOp::find_providers;
                dht_->find_providers(req_.key, on_done, this, corr_id_);
                break;
        }
    }
    static void on_timeout(uv_timer_t* t) {
        auto* self = static_cast<Client*>(t->data);
        std::fprintf(stderr, "svc-dht: %s timed out after %llu ms%s\n", op_word(self->req_.op),
                     static_cast<unsigned long long>(self->req_.timeout_ms),
                     self->dht_->ready() ? "" : " (the client never joined: are the seeds up?)");
        self->status_ = EXIT_FORCED;
        self->finish();
    }
    void finish() {
        dht_->forget(this);
        dht_->stop();
        if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&timeout_))) {
            uv_close(reinterpret_cast<uv_handle_t*>(&timeout_), nullptr);
            uv_close(reinterpret_cast<uv_handle_t*>(&poll_), nullptr);
        }
    }
    static void on_done(const DhtResult& r, void* user) { static_cast<Client*>(user)->done(r); }
    void done(const DhtResult& r) {
        if (req_.op == ClientOp::ping) {
            print_ping(r);
        } else if (req_.op == ClientOp::lookup && pending_.kind == core::ApiOp::closest) {
            // lookup asks twice: the closest nodes, then the providers of the key.
            closest_ = admin::render_done(pending_, r);
            admin::tag_response(closest_, corr_id_);
            if (!req_.json) print_text(closest_, r);
            if (closest_.status != 200) {
                if (req_.json) std::printf("%s\n", closest_.body.c_str());
                status_ = exit_for(closest_.status);
                finish();
                return;
            }
            pending_.kind = core::ApiOp::find_providers;
            dht_->find_providers(req_.key, on_done, this, corr_id_);
            return;
        } else {
            admin::HttpResponse resp = admin::render_done(pending_, r);
            admin::tag_response(resp, corr_id_);
            status_ = exit_for(resp.status);
            if (req_.json && req_.op == ClientOp::lookup) {
                std::printf("{\"closest\":%s,\"find_providers\":%s}\n", closest_.body.c_str(),
                            resp.body.c_str());
            } else if (req_.json) {
                std::printf("%s\n", resp.body.c_str());
            } else {
                print_text(resp, r);
            }
            // Found means something: providers for find-providers, a node that took the
            // write for put and provide. (lookup succeeds with its closest nodes, providers
            // or not.)
            const bool empty =
                (req_.op == ClientOp::find_providers && r.providers.empty()) ||
                ((req_.op == ClientOp::put || req_.op == ClientOp::provide) && r.stored_on == 0);
            if (status_ == EXIT_OK && empty) status_ = EXIT_FORCED;
        }
        finish();
    }

    void print_ping(const DhtResult& r) {
        if (r.err != core::Err::ok) {
            std::fprintf(stderr, "svc-dht: ping %s failed: %s\n", req_.target.format().c_str(),
                         core::err_message(r.err));
            if (req_.json)
                std::printf("{\"corr_id\":\"%s\",\"error\":\"%s\",\"detail\":\"%s\"}\n",
                            corr_id_.c_str(), core::err_name(r.err), core::err_message(r.err));
            status_ = EXIT_FORCED;
        } else if (req_.json) {
            std::printf(
                "{\"corr_id\":\"%s\",\"peer_id\":\"%s\",\"addr\":\"%s\",\"observed\":\"%s\","
                "\"rtt_ms\":%.3f}\n",
                corr_id_.c_str(), r.peer_id.hex().c_str(), req_.target.format().c_str(),
                r.obs.format().c_str(), static_cast<double>(r.elapsed) / 1000.0);
        } else {
            std::printf("peer      %s\naddress   %s\nobserved  %s\nrtt       %.3f ms\n",
                        r.peer_id.hex().c_str(), req_.target.format().c_str(),
                        r.obs.format().c_str(), static_cast<double>(r.elapsed) / 1000.0);
        }
    }

    // print_text: the human form. Errors go to stderr with the detail the API gives.
    void print_text(const admin::HttpResponse& resp, const DhtResult& r) {
        const char* what = op_word(req_.op);
        if (resp.status != 200) {
            std::fprintf(stderr, "svc-dht: %s failed: %s (corr_id %s)\n", what,
                         core::err_message(r.err), corr_id_.c_str());
            return;
        }
        const double ms = static_cast<double>(r.elapsed) / 1000.0;
        auto complete = [&] {
            std::printf("complete  %s%s%s\n", r.complete ? "true" : "false",
                        r.complete ? "" : " reason=", r.complete ? "" : core::err_name(r.cut));
        };
        switch (pending_.kind) {
            case core::ApiOp::get: std::fwrite(r.value.data(), 1, r.value.size(), stdout); return;
            case core::ApiOp::put:
            case core::ApiOp::provide:
                std::printf("%-9s %s\nstored_on %u\nhops      %u\n",
                            req_.op == ClientOp::put ? "key" : "cid", r.key.cid().c_str(),
                            r.stored_on, r.hops);
                if (req_.op == ClientOp::provide)
                    std::printf("ttl_secs  %llu\n",
                                static_cast<unsigned long long>(pending_.ttl_used));
                complete();
                std::printf("elapsed   %.3f ms\ncorr_id   %s\n", ms, corr_id_.c_str());
                return;
            case core::ApiOp::closest:
                std::printf("key       %s\nhops      %u\nrpcs      %u\n", r.key.cid().c_str(),
                            r.hops, r.rpcs);
                complete();
                std::printf("elapsed   %.3f ms\ncorr_id   %s\nclosest   %zu nodes\n", ms,
                            corr_id_.c_str(), r.nodes.size());
                for (const core::NodeInfo& n : r.nodes)
                    std::printf("  %s  %-22s distance_bits=%d\n", n.id.hex().c_str(),
                                n.addr.format().c_str(),
                                256 - core::common_prefix_len(n.id, r.key));
                return;
            case core::ApiOp::find_providers:
                std::printf("providers %zu\n", r.providers.size());
                for (const core::ProviderInfo& p : r.providers)
                    std::printf("  %s  ttl_secs_left=%llu publisher=%s\n",
                                p.addrs.empty() ? "-" : p.addrs[0].c_str(),
                                static_cast<unsigned long long>(p.secs_left),
                                core::node_id_of(p.publisher).hex().c_str());
                return;
            case core::ApiOp::ping: return;
        }
    }

    const ClientRequest& req_;
    const Config& cfg_;
    std::string corr_id_;
    admin::Pending pending_;
    admin::HttpResponse closest_;  // lookup: the first answer
    uv_loop_t loop_{};
    uv_timer_t timeout_{}, poll_{};
    std::unique_ptr<Dht> dht_;
    int status_ = EXIT_OK;
};

}  // namespace

int run_client(const ClientRequest& req, const Config& cfg) {
    Client c(req, cfg);
    return c.run();
}

}  // namespace svcdht::daemon
