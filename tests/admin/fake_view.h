// SPDX-License-Identifier: MIT
// A NodeView over a real, sans-IO Node with no network: the admin routes and the fuzzer
// run against it. pump() collects the Node's finished requests.
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
    core::Node& node() override { return node_; }
    admin::Gates gates() const override { return gates_; }
    admin::NetMetrics net_metrics() const override { return {}; }
    const admin::AdminSettings& settings() const override { return settings_; }
    const std::string& admin_token() const override { return token_; }
    core::Time now() const override { return now_; }
    void pump() override {
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
