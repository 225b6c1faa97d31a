// SPDX-License-Identifier: MIT
// A NodeView over a real, sans-IO Node with no network: the admin routes and the fuzzer
// run against it. start() issues a request and collects what the Node finished.
#pragma once

#include <map>

#include "admin/routes.h"
#include "platform/sodium.h"
#include "svcdht/node.h"

namespace svcdht::test {

class FakeView final : public admin::NodeView {
public:
    FakeView() : ident_(make()), node_(config(), ident_, core::Env{&rng_, &crypto_, nullptr}, 0) {
        gates_.listeners_bound = gates_.bootstrap = gates_.routing_ready = gates_.queues_ok = true;
    }
    const core::Node& node() const override { return node_; }
    admin::Gates gates() const override { return gates_; }
    admin::NetMetrics net_metrics() const override { return {}; }
    platform::ProcessStats process() const override { return {}; }
    const admin::AdminSettings& settings() const override { return settings_; }
    const std::string& admin_token() const override { return token_; }
    core::Time now() const override { return now_; }
    core::RequestId start(const admin::ApiCall& c, admin::ApiWaiter* w) override {
        core::RequestId id = 0;
        switch (c.op) {
            case core::ApiOp::provide: {
                const std::string addrs[] = {c.addr};
                id = node_.provide(c.key, addrs, c.ttl_secs, now_);
                break;
            }
            case core::ApiOp::put: id = node_.put(c.value, now_); break;
            case core::ApiOp::find_providers: id = node_.find_providers(c.key, now_); break;
            case core::ApiOp::get: id = node_.get(c.key, now_); break;
            default: id = node_.closest(c.key, now_); break;
        }
        pump();
        if (w != nullptr && done(id) != nullptr) w->on_request_done(*done(id));
        return id;
    }
    void forget(admin::ApiWaiter*) override {}
    void set_degraded(bool on) override {
        node_.set_degraded(on, now_);
        gates_.degraded = on;
    }
    void pump() {
        core::Action a;
        while (node_.poll(&a))
            if (a.kind == core::Action::Kind::done) done_[a.result->id] = *a.result;
    }
    const core::RequestResult* done(core::RequestId id) const {
        auto it = done_.find(id);
        return it == done_.end() ? nullptr : &it->second;
    }
    // add_peer opens a session with a made-up peer so the table is not empty (its RPCs are
    // never answered: lookups stay pending).
    void add_peer(uint8_t seed) {
        core::SessionInfo info;
        info.id = core::make_identity(crypto_, core::Seed32{seed}).id;
        info.remote = core::PeerAddr::v4(seed, 1, 2, 3, 9444);
        info.ident_port = 9444;
        node_.on_session_open(1000 + seed, info, 0, now_);
        pump();
    }

    admin::Gates gates_;
    admin::AdminSettings settings_;
    std::string token_;
    core::Time now_ = core::secs(10);

private:
    core::Identity make() {
        (void)platform::platform_init();
        return core::make_identity(crypto_, core::Seed32{42});
    }
    static core::NodeConfig config() {
        core::NodeConfig c;
        c.listen_port = 9444;
        c.unix_epoch_offset_us = 1767225600LL * 1000000;
        return c;
    }
    platform::SodiumCrypto crypto_;
    core::SeededRng rng_{7};
    core::Identity ident_;
    core::Node node_;
    std::map<core::RequestId, core::RequestResult> done_;
};

}  // namespace svcdht::test
