// SPDX-License-Identifier: MIT
// libsvcdht's API (svcdht/dht.h) on a real libuv loop with real sockets on loopback: two
// nodes in one process, one joining through the other, every request kind, the callback
// rules (exactly once, Err::shutting_down at stop, none after forget), refused settings,
// reconfigure, and a loop that closes with no handle left behind.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "svcdht/dht.h"

using namespace svcdht;

namespace {

// Results land here; each callback's user pointer is a Slot.
struct Slot {
    int calls = 0;
    DhtResult last;
};

void record(const DhtResult& r, void* user) {
    auto* s = static_cast<Slot*>(user);
    ++s->calls;
    s->last = r;
}

core::ByteView bytes(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class DhtTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(init());
        ASSERT_EQ(uv_loop_init(&loop_), 0);
        uv_timer_init(&loop_, &tick_);
    }
    void TearDown() override {
        for (auto& d : nodes_) d->stop();
        uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
        uv_run(&loop_, UV_RUN_DEFAULT);
        // libuv's rule, and libsvcdht's promise: stop() leaves no handle open.
        EXPECT_EQ(uv_loop_close(&loop_), 0);
    }

    Dht& node(DhtSettings s) {
        std::string err;
        auto d = Dht::create(&loop_, std::move(s), random_seed(), &err);
        EXPECT_TRUE(d) << err;
        EXPECT_TRUE(d->start(&err)) << err;
        nodes_.push_back(std::move(d));
        return *nodes_.back();
    }
    static DhtSettings local(std::vector<std::string> seeds = {}) {
        DhtSettings s;
        s.listen = "127.0.0.1:0";
        s.bootstrap = std::move(seeds);
        return s;
    }
    std::string addr(const Dht& d) const { return "127.0.0.1:" + std::to_string(d.port()); }

    // run_until turns the loop until |done| holds; a 10 ms tick bounds each turn, and
    // |turns| bound the whole wait, so a broken node fails the test instead of hanging it.
    bool run_until(const std::function<bool()>& done, int turns = 1000) {
        uv_timer_start(
            &tick_, [](uv_timer_t*) {}, 10, 10);
        for (int i = 0; i < turns && !done(); ++i) uv_run(&loop_, UV_RUN_ONCE);
        uv_timer_stop(&tick_);
        return done();
    }

    uv_loop_t loop_{};
    uv_timer_t tick_{};
    std::vector<std::unique_ptr<Dht>> nodes_;
};

TEST_F(DhtTest, SettingsOutsideTheEngineRangesAreRefused) {
    DhtSettings s = local();
    s.node.k = 1;
    std::string err;
    EXPECT_FALSE(Dht::create(&loop_, s, random_seed(), &err));
    EXPECT_NE(err.find("k is outside"), std::string::npos) << err;
    s = local();
    s.node.beta = s.node.alpha + 1;
    EXPECT_FALSE(Dht::create(&loop_, s, random_seed(), &err));
    EXPECT_NE(err.find("beta"), std::string::npos) << err;
    s = local();
    s.node.warm_sessions = 4097;
    EXPECT_FALSE(Dht::create(&loop_, s, random_seed(), &err));
    EXPECT_NE(err.find("warm_sessions"), std::string::npos) << err;
    s = local();
    s.node.network.clear();
    EXPECT_FALSE(Dht::create(&loop_, s, random_seed(), &err));
    EXPECT_EQ(check_node_config(local().node), nullptr);
}

TEST_F(DhtTest, TheIdComesFromTheSeed) {
    const core::Seed32 seed = random_seed();
    std::string err;
    auto d = Dht::create(&loop_, local(), seed, &err);
    ASSERT_TRUE(d) << err;
    EXPECT_EQ(d->id(), id_of_seed(seed));
    EXPECT_NE(d->id(), id_of_seed(random_seed()));
}

TEST_F(DhtTest, ARequestBeforeStartFailsAtOnce) {
    std::string err;
    auto d = Dht::create(&loop_, local(), random_seed(), &err);
    ASSERT_TRUE(d) << err;
    Slot s;
    EXPECT_EQ(d->get(core::Key{}, record, &s), 0u);
    EXPECT_EQ(s.calls, 1);
    EXPECT_EQ(s.last.err, core::Err::not_ready);
    EXPECT_FALSE(d->ready());
    EXPECT_EQ(d->port(), 0);
}

TEST_F(DhtTest, AJoinedNodeRunsEveryRequestKind) {
    Dht& a = node(local());
    EXPECT_TRUE(a.ready()) << "a node without seeds is ready at once";
    EXPECT_TRUE(a.listening());
    Dht& b = node(local({addr(a)}));
    ASSERT_TRUE(run_until([&] { return b.ready(); }));

    Slot put;
    b.put(bytes("embedded value"), record, &put);
    ASSERT_TRUE(run_until([&] { return put.calls == 1; }));
    ASSERT_EQ(put.last.err, core::Err::ok);
    EXPECT_EQ(put.last.stored_on, 1u);
    EXPECT_EQ(a.node().store().value_count(), 1u) << "the value went to the other node";

    Slot get;
    a.get(put.last.key, record, &get);
    ASSERT_TRUE(run_until([&] { return get.calls == 1; }));
    ASSERT_EQ(get.last.err, core::Err::ok);
    EXPECT_EQ(std::string(get.last.value.begin(), get.last.value.end()), "embedded value");

    Slot provide, providers;
    const core::Key key = put.last.key;
    const std::string addrs[] = {"tcp://127.0.0.1:8080"};
    b.provide(key, addrs, 600, record, &provide);
    ASSERT_TRUE(run_until([&] { return provide.calls == 1; }));
    ASSERT_EQ(provide.last.err, core::Err::ok);
    a.find_providers(key, record, &providers);
    ASSERT_TRUE(run_until([&] { return providers.calls == 1; }));
    ASSERT_EQ(providers.last.providers.size(), 1u);
    EXPECT_EQ(providers.last.providers[0].addrs, std::vector<std::string>{addrs[0]});
    EXPECT_EQ(providers.last.providers[0].ttl, 600u);

    Slot closest, ping;
    b.closest(a.id(), record, &closest);
    ASSERT_TRUE(run_until([&] { return closest.calls == 1; }));
    ASSERT_FALSE(closest.last.nodes.empty());
    EXPECT_EQ(closest.last.nodes[0].id, a.id());
    core::PeerAddr pa;
    pa.ip = {127, 0, 0, 1};
    pa.ip_len = 4;
    pa.port = a.port();
    b.ping(pa, record, &ping);
    ASSERT_TRUE(run_until([&] { return ping.calls == 1; }));
    ASSERT_EQ(ping.last.err, core::Err::ok);
    EXPECT_EQ(ping.last.peer_id, a.id());

    const DhtMetrics m = b.metrics();
    EXPECT_EQ(m.engine.put_total, 1u);
    EXPECT_EQ(m.engine.provides_total, 1u);
    EXPECT_GE(m.open_sessions, 1u);
    EXPECT_GE(m.routing_table, 1u);
    EXPECT_GT(m.sessions.tx_bytes, 0u);
    EXPECT_GT(m.sessions.rx_frames, 0u);
    EXPECT_EQ(a.metrics().stored_values, 1u);
    // Each callback ran exactly once.
    for (const Slot* s : {&put, &get, &provide, &providers, &closest, &ping})
        EXPECT_EQ(s->calls, 1);
}

TEST_F(DhtTest, StopEndsPendingRequestsOnceAndForgetSilencesThem) {
    Dht& a = node(local());
    Dht& b = node(local({addr(a)}));
    ASSERT_TRUE(run_until([&] { return b.ready(); }));
    // Both lookups need an answer from |a|, which needs the loop to turn: they are pending
    // when stop() comes.
    Slot pending, forgotten;
    EXPECT_NE(b.get(id_of_seed(random_seed()), record, &pending), 0u);
    EXPECT_NE(b.closest(id_of_seed(random_seed()), record, &forgotten), 0u);
    EXPECT_EQ(pending.calls + forgotten.calls, 0);
    b.forget(&forgotten);
    b.stop();
    EXPECT_EQ(pending.calls, 1);
    EXPECT_EQ(pending.last.err, core::Err::shutting_down);
    EXPECT_FALSE(pending.last.complete);
    EXPECT_EQ(forgotten.calls, 0);
    b.stop();                             // idempotent
    run_until([] { return false; }, 30);  // nothing arrives later either
    EXPECT_EQ(pending.calls, 1);
    EXPECT_EQ(forgotten.calls, 0);
    Slot late;
    b.get(core::Key{}, record, &late);
    EXPECT_EQ(late.calls, 1);
    EXPECT_EQ(late.last.err, core::Err::shutting_down);
}

TEST_F(DhtTest, ReconfigureTakesEffect) {
    Dht& a = node(local());
    DhtSettings s = local();
    s.node.max_value_bytes = 64;
    a.reconfigure(s);
    Slot put;
    a.put(bytes(std::string(65, 'x')), record, &put);
    ASSERT_TRUE(run_until([&] { return put.calls == 1; }));
    EXPECT_EQ(put.last.err, core::Err::value_too_large);
}

TEST_F(DhtTest, DrainClosesTheListenerAndRefusesNewRequests) {
    Dht& a = node(local());
    a.drain();
    EXPECT_FALSE(a.listening());
    EXPECT_FALSE(a.ready());
    Slot s;
    a.closest(core::Key{}, record, &s);
    ASSERT_TRUE(run_until([&] { return s.calls == 1; }));
    EXPECT_EQ(s.last.err, core::Err::shutting_down);
}

}  // namespace
