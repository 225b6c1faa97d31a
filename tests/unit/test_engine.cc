// SPDX-License-Identifier: MIT
// The engine through its one composition (Peers), with literal times, as libtorrent's
// test_dht does: a node under test, and remote peers the test drives by hand (each a real
// Session with its own key, answering or staying silent). Covered here: the RPC timeout
// and the hang-up it causes, the drain-time rule, the retry after a session is lost, the
// dial timeout and the seeds' backoff, hedging, and a holder's replication to a node that
// joins closer to a key.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <vector>

#include "svcdht/ctrl.h"
#include "svcdht/message.h"
#include "svcdht/peers.h"
#include "svcdht/record.h"
#include "util.h"

using namespace svcdht::core;
using namespace svcdht::test;

namespace {

// A remote peer: its session with the node under test and how it behaves.
struct Remote {
    Identity id;
    SessionConfig cfg;
    SeededRng rng;
    PeerAddr addr;
    std::unique_ptr<Session> s;
    PeerRef ref = 0;        // the node's session with it
    bool listening = true;  // dials to it connect
    bool answers = true;    // it answers requests (else it is silent after the handshake)
    bool hold = false;      // it keeps requests unanswered until Engine::release
    std::vector<Bytes> held;
    std::vector<NodeInfo> nodes;           // what it answers FIND_NODE with
    std::vector<std::pair<Op, Time>> got;  // requests it received, and when
    std::vector<NodeId> targets;           // the target of each FIND_NODE it received
    std::vector<Code> codes;               // the codes of the responses it received
    size_t early = 0;                      // requests that came right behind the ident

    Remote(uint8_t seed, uint16_t port) : id(identity(seed)), rng(seed) {
        cfg.listen_port = port;
        addr = PeerAddr::v4(203, 0, 113, seed, port);
    }
    size_t count(Op op) const {
        size_t n = 0;
        for (const auto& [o, t] : got) n += o == op ? 1 : 0;
        return n;
    }
};

class Engine {
public:
    explicit Engine(NodeConfig cfg = {}, SessionConfig scfg = {}) : rng_(1), scfg_(scfg) {
        cfg.listen_port = 9444;
        cfg.unix_epoch_offset_us = static_cast<int64_t>(T0_UNIX) * 1000000;
        scfg_.listen_port = 9444;
        node_ = std::make_unique<Node>(cfg, me_, Env{&rng_, &crypto(), nullptr}, now);
        peers_ = std::make_unique<Peers>(*node_, scfg_, me_, Env{&rng_, &crypto(), nullptr},
                                         PeerLimits{});
    }

    Remote& remote(uint8_t seed) {
        remotes_.push_back(std::make_unique<Remote>(seed, static_cast<uint16_t>(9000 + seed)));
        return *remotes_.back();
    }
    // seed makes a new remote (|n| picks its identity) the node's bootstrap seed and lets
    // the node dial it.
    Remote& seed(uint8_t n) {
        Remote& r = remote(n);
        node_->add_seed(r.addr, now);
        peers_->pump(now);
        settle();
        return r;
    }
    Node& node() { return *node_; }
    Peers& peers() { return *peers_; }

    // settle moves every byte and event until nothing changes, at the current time.
    void settle() {
        for (int round = 0; round < 64; ++round) {
            bool moved = false;
            PeerEvent e;
            while (peers_->poll(&e)) {
                moved = true;
                events.push_back({now, e});
                on_event(e);
            }
            std::vector<PeerRef> dirty;
            peers_->take_dirty(dirty);
            for (PeerRef ref : dirty) {
                Bytes out;
                peers_->take_tx(ref, &out);
                peers_->sent(ref, out.size());
                if (Remote* r = by_ref(ref)) {
                    moved = true;
                    to_remote(*r, out);
                }
            }
            for (auto& r : remotes_) {
                if (!r->s || !r->s->has_tx()) continue;
                Bytes out;
                r->s->take_tx(&out);
                r->s->tx_done(out.size());
                if (r->ref != 0) {
                    moved = true;
                    peers_->received(r->ref, out, now);
                }
            }
            if (!moved) return;
        }
        ADD_FAILURE() << "the engine did not settle";
    }

    // advance moves time on to |t|, firing every deadline on the way.
    void advance(Time t) {
        while (peers_->next_deadline() <= t) {
            now = std::max(now, peers_->next_deadline());
            peers_->on_timer(now);
            settle();
        }
        now = t;
        settle();
    }

    // release has |r| answer the requests it held, and answer at once from then on.
    void release(Remote& r) {
        r.hold = false;
        std::vector<Bytes> held = std::move(r.held);
        for (const Bytes& p : held) {
            r.got.pop_back();  // counted again by answer()
            answer(r, p);
        }
        settle();
    }

    // drop cuts the connection to |r| as if it closed it.
    void drop(Remote& r) {
        const PeerRef ref = r.ref;
        r.s.reset();
        r.ref = 0;
        peers_->closed(ref, Err::peer_closed, now);
        settle();
    }

    size_t count(PeerEvent::Kind k) const {
        size_t n = 0;
        for (const auto& [t, e] : events) n += e.kind == k ? 1 : 0;
        return n;
    }
    std::vector<Time> times(PeerEvent::Kind k) const {
        std::vector<Time> out;
        for (const auto& [t, e] : events)
            if (e.kind == k) out.push_back(t);
        return out;
    }

    Time now = secs(1);
    std::vector<std::pair<Time, PeerEvent>> events;
    std::map<RequestId, RequestResult> results;

private:
    Remote* by_ref(PeerRef ref) {
        for (auto& r : remotes_)
            if (r->ref == ref && ref != 0) return r.get();
        return nullptr;
    }
    Remote* by_addr(const PeerAddr& a) {
        for (auto& r : remotes_)
            if (r->addr == a) return r.get();
        return nullptr;
    }

    void on_event(const PeerEvent& e) {
        switch (e.kind) {
            case PeerEvent::Kind::dial: {
                Remote* r = by_addr(e.addr);
                if (r == nullptr || !r->listening) return;  // no answer: the dial times out
                r->s =
                    std::make_unique<Session>(r->cfg, r->id, Env{&r->rng, &crypto(), nullptr}, now);
                r->ref = peers_->connected(e.dial, r->addr, now);
                return;
            }
            case PeerEvent::Kind::cancel_dial: return;
            case PeerEvent::Kind::close: {
                Remote* r = by_ref(e.ref);
                peers_->closed(e.ref, Err::session_closed, now);
                if (r != nullptr) {
                    r->s.reset();
                    r->ref = 0;
                }
                return;
            }
            case PeerEvent::Kind::done: results[e.result->id] = *e.result; return;
        }
    }

    void to_remote(Remote& r, ByteView bytes) {
        while (!bytes.empty() && r.s) {
            SessionEvent ev;
            const size_t n = r.s->recv(bytes, now, &ev);
            bytes = bytes.subspan(n);
            if (ev.type == SessionEvent::Type::early) ++r.early;
            if (ev.type == SessionEvent::Type::data || ev.type == SessionEvent::Type::early)
                answer(r, ev.payload);
            if (n == 0 && ev.type == SessionEvent::Type::none) break;
        }
        if (r.s) r.s->recv_done();
    }

    void answer(Remote& r, ByteView payload) {
        DhtMsg m;
        DecodeHeader h;
        if (decode_dht(payload, 65536, &m, &h) != Err::ok) return;
        if (!m.is_request()) {
            r.codes.push_back(m.code);
            return;
        }
        r.got.push_back({m.op, now});
        if (m.op == Op::find_node) r.targets.push_back(m.target);
        if (r.hold) {
            r.held.emplace_back(payload.begin(), payload.end());
            return;
        }
        if (!r.answers) return;
        DhtMsg a;
        a.op = m.op;
        a.rid = m.rid;
        a.f = MsgFlag::response;
        switch (m.op) {
            case Op::ping:
                a.has_obs = true;
                a.obs = PeerAddr::v4(198, 51, 100, 1, 9444);
                break;
            case Op::find_node:
            case Op::get_providers:
                a.has_nodes = true;
                a.nodes = ItemList<NodeInfo>::of(r.nodes);
                a.has_providers = m.op == Op::get_providers;
                break;
            case Op::get_value:
                a.code = Code::not_found;
                a.has_nodes = true;
                a.nodes = ItemList<NodeInfo>::of(r.nodes);
                break;
            default: break;
        }
        Bytes out;
        encode_dht(a, out);
        (void)r.s->send_data(out, now);
    }

    Identity me_ = identity(1);
    SeededRng rng_;
    SessionConfig scfg_;
    std::unique_ptr<Node> node_;
    std::unique_ptr<Peers> peers_;
    std::vector<std::unique_ptr<Remote>> remotes_;
};

// add_provider_from has |by| send the node a record of |publisher| for |key|.
void add_provider_from(Engine& e, Remote& by, const Key& key, uint8_t publisher, uint64_t ttl) {
    const Identity pub = identity(publisher);
    std::vector<std::string_view> addrs = {"tcp://198.51.100.40:9444"};
    DhtMsg add;
    add.op = Op::add_provider;
    add.rid = 77;
    add.has_rec = true;
    add.rec.key = key;
    add.rec.pk = pub.keys.pk;
    add.rec.addrs = ItemList<std::string_view>::of(addrs);
    add.rec.ttl = ttl;
    add.rec.ts = T0_UNIX;
    sign_record(add.rec, crypto(), pub.keys.sk);
    Bytes wire;
    encode_dht(add, wire);
    ASSERT_EQ(by.s->send_data(wire, e.now), Err::ok);
    e.settle();
}

NodeConfig no_hedges() {
    NodeConfig c;
    c.beta = 0;
    return c;
}

}  // namespace

TEST(Engine, AnRpcUnansweredForItsTimeoutHangsTheSessionUpAtThatInstant) {
    Engine e(no_hedges());
    Remote& seed = e.remote(2);
    seed.answers = false;
    e.node().add_seed(seed.addr, e.now);
    e.peers().pump(e.now);
    e.settle();
    ASSERT_NE(seed.ref, 0u);
    ASSERT_EQ(seed.count(Op::find_node), 1u) << "the join's self-lookup";
    const Time sent = seed.got.front().second;
    e.advance(sent + msec(1499));
    EXPECT_EQ(e.count(PeerEvent::Kind::close), 0u);
    e.advance(sent + msec(1500));
    ASSERT_EQ(e.count(PeerEvent::Kind::close), 1u);
    EXPECT_EQ(e.times(PeerEvent::Kind::close).front(), sent + msec(1500));
    EXPECT_EQ(e.node().counters().timeout_total, 1u);
}

TEST(Engine, AHangUpInsideADrainReachesTheNodeAfterTheDrain) {
    // Two RPCs on one silent session; the first times out while the second is in flight.
    // The Node asks for a hang-up in the same drain that reports the timeout; Peers carries
    // it out after the drain (a nested input would trip the Node's InputCheck), and the
    // second RPC, lost with the session, is retried on a fresh dial.
    NodeConfig c = no_hedges();
    Engine e(c);
    Remote& r = e.remote(3);
    r.answers = false;
    e.node().add_seed(r.addr, e.now);
    e.peers().pump(e.now);
    e.settle();
    const Time first = r.got.front().second;
    e.advance(first + msec(100));
    const NodeId other = id_of_byte(0x77);
    e.node().closest(other, e.now);  // a second FIND_NODE on the same session
    e.peers().pump(e.now);
    e.settle();
    ASSERT_EQ(r.targets.size(), 2u);
    ASSERT_EQ(r.targets.back(), other);
    const size_t dials = e.count(PeerEvent::Kind::dial);
    e.advance(first + msec(1500));
    EXPECT_EQ(e.count(PeerEvent::Kind::close), 1u);
    EXPECT_EQ(e.count(PeerEvent::Kind::dial), dials + 1) << "the lost query is retried";
    EXPECT_EQ(std::count(r.targets.begin(), r.targets.end(), other), 2)
        << "and sent again on the new session";
    e.node().check_invariants();
    e.peers().check_invariants();
}

TEST(Engine, AnInputInTheMiddleOfADrainIsCaught) {
#ifdef NDEBUG
    GTEST_SKIP() << "InputCheck is compiled out under NDEBUG";
#else
    EXPECT_DEATH(
        {
            Engine e;
            Remote& r = e.remote(4);
            e.node().add_seed(r.addr, e.now);
            Action a;
            ASSERT_TRUE(e.node().poll(&a));    // the seed dial: a drain has begun
            e.node().add_seed(r.addr, e.now);  // an input before it ended
        },
        "in the middle of a drain");
#endif
}

TEST(Engine, ASessionLostUnderARequestRetriesItOnceOnAFreshConnection) {
    Engine e(no_hedges());
    Remote& r = e.remote(5);
    r.answers = false;
    e.node().add_seed(r.addr, e.now);
    e.peers().pump(e.now);
    e.settle();
    ASSERT_EQ(r.count(Op::find_node), 1u) << "the join's self-lookup";
    const NodeId self = r.targets.front();
    auto joins = [&] { return std::count(r.targets.begin(), r.targets.end(), self); };
    e.advance(e.now + msec(10));
    e.drop(r);  // the peer's idle timeout raced our request
    EXPECT_EQ(joins(), 2) << "sent once more, on a new session";
    EXPECT_EQ(e.count(PeerEvent::Kind::dial), 2u);
    e.advance(e.now + msec(10));
    e.drop(r);  // lost again: no third attempt (the join then ends and refreshes buckets)
    EXPECT_EQ(joins(), 2);
}

TEST(Engine, ADialThatNeverConnectsIsGivenUpAfterFiveSecondsAndSeedsBackOff) {
    Engine e;
    Remote& seed = e.remote(6);
    seed.listening = false;  // SYNs go unanswered
    e.node().add_seed(seed.addr, e.now);
    e.peers().pump(e.now);
    e.settle();
    const Time start = e.now;
    ASSERT_EQ(e.count(PeerEvent::Kind::dial), 1u);
    e.advance(start + secs(5) - 1);
    EXPECT_EQ(e.count(PeerEvent::Kind::cancel_dial), 0u);
    e.advance(start + secs(5));
    EXPECT_EQ(e.count(PeerEvent::Kind::cancel_dial), 1u);
    // Full jitter over 1 s << attempts: the second dial comes within 2 s of the first
    // failure, the third within 4 s of the second, and so on (capped at 5 minutes). The
    // maintenance round's rejoin never dials a seed ahead of its backoff.
    Time failed = start + secs(5);
    for (uint32_t attempt = 1; attempt <= 4; ++attempt) {
        e.advance(failed + (secs(1) << attempt) + msec(1));
        ASSERT_EQ(e.count(PeerEvent::Kind::dial), attempt + 1) << attempt;
        const Time dialed = e.times(PeerEvent::Kind::dial).back();
        EXPECT_GT(dialed, failed);
        failed = dialed + secs(5);
    }
    EXPECT_FALSE(e.node().readiness().bootstrap);
    // Every dial of the seed is counted, and every one that failed: the fifth is still out.
    EXPECT_EQ(e.node().counters().bootstrap_dial_attempts_total, 5u);
    EXPECT_EQ(e.node().counters().bootstrap_dial_failures_total, 4u);
}

TEST(Engine, AConnectionsTagStaysWithItsSlotAndGoesWithIt) {
    Engine e;
    Remote& r = e.seed(12);
    const PeerRef first = r.ref;
    ASSERT_NE(first, 0u);
    EXPECT_EQ(e.peers().tag(first), 0u) << "0 until set";
    e.peers().set_tag(first, 42);
    EXPECT_EQ(e.peers().tag(first), 42u);
    e.drop(r);
    EXPECT_EQ(e.peers().tag(first), 0u) << "the slot is gone";
    // A new connection takes the freed slot under a new generation: the old ref reaches
    // nothing, and the new one starts untagged.
    const PeerRef next = e.peers().accepted(PeerAddr::v4(203, 0, 113, 77, 40000), e.now);
    ASSERT_NE(next, 0u);
    ASSERT_NE(next, first);
    e.peers().set_tag(first, 7);
    EXPECT_EQ(e.peers().tag(next), 0u);
    EXPECT_EQ(e.peers().tag(first), 0u);
}

// Sessions count into one total held by Peers: what a session counted stays in it after
// the session ended, and the next session adds to it.
TEST(Engine, EverySessionCountsIntoTheTotalsAndTheyOutliveIt) {
    Engine e;
    Remote& r = e.seed(12);
    const SessionStats& totals = e.peers().session_stats();
    const uint64_t frames_open = totals.rx_frames;
    EXPECT_GE(frames_open, 3u) << "the seed's ident, auth and its answer to the join";
    EXPECT_EQ(totals.rx_bytes, r.s->stats().tx_bytes) << "every byte the seed sent";
    e.drop(r);
    EXPECT_EQ(totals.rx_frames, frames_open) << "an ended session's counts stay";
    // A stranger's connection that sends nothing counts no frame in.
    ASSERT_NE(e.peers().accepted(PeerAddr::v4(203, 0, 113, 77, 40000), e.now), 0u);
    e.settle();
    EXPECT_EQ(totals.rx_frames, frames_open);
    const uint64_t tx_before = totals.tx_bytes;
    Remote& r2 = e.seed(13);
    EXPECT_GT(totals.rx_frames, frames_open) << "the second seed's frames are added";
    EXPECT_GT(totals.tx_bytes, tx_before);
    EXPECT_NE(r2.ref, 0u);
}

// A dial that connected leaves its five-second timeout in the timer heap, to be skipped
// when due. After a burst of them the heap is swept as it grows, not kept at the size of
// every burst added up.
TEST(Engine, TimeoutsOfDialsThatConnectedAreSweptOutOfTheTimerHeap) {
    Engine e;
    auto burst = [&](uint8_t from, uint8_t to) {
        for (uint8_t n = from; n < to; ++n) e.node().ping(e.remote(n).addr, e.now);
        e.peers().pump(e.now);
        e.settle();
    };
    burst(2, 102);
    ASSERT_EQ(e.count(PeerEvent::Kind::dial), 100u);
    ASSERT_EQ(e.node().active_sessions(), 100u);
    const size_t after_first = e.node().timer_entries();
    EXPECT_GE(after_first, 100u) << "every dial's timeout is still in the heap";
    burst(102, 152);
    ASSERT_EQ(e.node().active_sessions(), 150u);
    EXPECT_LT(e.node().timer_entries(), after_first)
        << "the first burst's timeouts went when the heap grew";
    e.node().check_invariants();
}

TEST(Engine, ASeedThatAnswersCountsOneDialAndNoFailure) {
    Engine e;
    e.seed(12);
    EXPECT_TRUE(e.node().readiness().bootstrap);
    EXPECT_EQ(e.node().counters().bootstrap_dial_attempts_total, 1u);
    EXPECT_EQ(e.node().counters().bootstrap_dial_failures_total, 0u);
}

TEST(Engine, AQuerySilentForHedgeAfterLendsItsSlotToAHedge) {
    NodeConfig c;
    c.alpha = 1;
    c.beta = 1;
    c.hedge_after = msec(250);
    Engine e(c);
    Remote& a = e.remote(7);
    Remote& b = e.remote(8);
    Remote& slow = e.remote(9);
    slow.answers = false;
    // The seed knows two contacts; the nearer one to the lookup's target is silent.
    e.node().add_seed(a.addr, e.now);
    e.peers().pump(e.now);
    e.settle();
    a.nodes = {{slow.id.id, slow.addr}, {b.id.id, b.addr}};
    e.advance(e.now + msec(1));
    e.node().closest(slow.id.id, e.now);  // the silent node is the nearest
    e.peers().pump(e.now);
    e.settle();
    ASSERT_EQ(slow.count(Op::find_node), 1u);
    const Time asked = slow.got.front().second;
    e.advance(asked + msec(249));
    EXPECT_EQ(b.count(Op::find_node), 0u) << "alpha 1: nothing else in flight yet";
    e.advance(asked + msec(250));
    EXPECT_EQ(b.count(Op::find_node), 1u) << "the hedge goes out at hedge_after";
    EXPECT_GE(e.node().counters().hedge_spawned_total, 1u);
}

// With adaptive_hedge the delay follows the round trips measured so far, not the fixed
// hedge_after: here every answer is instant, so the hedge goes at the floor, 10 ms.
TEST(Engine, AnAdaptiveHedgeFollowsTheMeasuredRoundTripsNotTheFixedDelay) {
    NodeConfig c;
    c.alpha = 1;
    c.beta = 1;
    c.hedge_after = msec(250);
    c.adaptive_hedge = true;
    Engine e(c);
    Remote& a = e.remote(7);
    Remote& b = e.remote(8);
    Remote& slow = e.remote(9);
    slow.answers = false;
    e.node().add_seed(a.addr, e.now);
    e.peers().pump(e.now);
    e.settle();
    a.nodes = {{slow.id.id, slow.addr}, {b.id.id, b.addr}};
    e.advance(e.now + msec(1));
    e.node().closest(slow.id.id, e.now);
    e.peers().pump(e.now);
    e.settle();
    ASSERT_EQ(slow.count(Op::find_node), 1u);
    const Time asked = slow.got.front().second;
    e.advance(asked + MIN_HEDGE_DELAY - 1);
    EXPECT_EQ(b.count(Op::find_node), 0u);
    e.advance(asked + MIN_HEDGE_DELAY);
    EXPECT_EQ(b.count(Op::find_node), 1u) << "hedged at the floor, long before 250 ms";
}

// With adaptive_timeout an RPC on an open session is given the peer's smoothed RTT plus
// four deviations when that is longer than rpc_timeout, at most twice rpc_timeout;
// without it, rpc_timeout. slow_then_silent has a peer answer |holds| pings after the delay
// the node would give the next one (less 1 ms), then go silent, and returns how long the
// node waits on the silent ping before it hangs up.
TEST(Engine, AnRpcTimeoutFollowsThePeersRoundTripsBetweenTheFixedOneAndTwiceIt) {
    auto slow_then_silent = [](bool adaptive, int holds, Time first_hold) {
        NodeConfig c = no_hedges();
        c.adaptive_timeout = adaptive;
        Engine e(c);
        Remote& r = e.remote(4);
        Time hold = first_hold;
        for (int i = 0; i < holds; ++i) {
            r.hold = true;
            const RequestId id = e.node().ping(r.addr, e.now);
            e.peers().pump(e.now);
            e.settle();
            e.advance(e.now + hold);
            e.release(r);
            EXPECT_EQ(e.results.at(id).err, Err::ok) << "answered within its timeout";
            hold = e.node().rpc_timeout_now() - msec(1);
        }
        r.answers = false;
        const size_t closes = e.count(PeerEvent::Kind::close);
        (void)e.node().ping(r.addr, e.now);
        e.peers().pump(e.now);
        e.settle();
        const Time sent = r.got.back().second;
        e.advance(sent + secs(30));
        EXPECT_EQ(e.count(PeerEvent::Kind::close), closes + 1);
        EXPECT_EQ(e.node().counters().timeout_total, 1u);
        return e.times(PeerEvent::Kind::close).back() - sent;
    };
    // One answer after 800 ms: srtt 800, rttvar 400, so 2.4 s (RFC 6298's first sample).
    EXPECT_EQ(slow_then_silent(true, 1, msec(800)), msec(2400));
    EXPECT_EQ(slow_then_silent(false, 1, msec(800)), msec(1500)) << "fixed: rpc_timeout";
    // A peer answering at once is still given rpc_timeout, never less.
    EXPECT_EQ(slow_then_silent(true, 1, 0), msec(1500));
    // Answers each just inside the last timeout push the estimate up: 2.4 s, then 3.8 and
    // 5.4, which the ceiling holds at twice rpc_timeout.
    EXPECT_EQ(slow_then_silent(true, 2, msec(800)), msec(3000));
    EXPECT_EQ(slow_then_silent(true, 3, msec(800)), msec(3000));
}

// warm_sessions: the session to a routing-table contact gets a PING once it has been quiet
// for three quarters of the idle timeout, so it outlives the timeout; without warm
// sessions the same session idles out after it.
TEST(Engine, ASessionToATableContactIsKeptOpenByPingsOrIdlesOutWithoutWarmSessions) {
    for (const uint32_t warm : {DEFAULT_WARM_SESSIONS, 0u}) {
        NodeConfig c;
        c.warm_sessions = warm;
        Engine e(c);
        Remote& seed = e.seed(21);
        ASSERT_TRUE(e.node().table().contains(seed.id.id));
        ASSERT_EQ(e.node().active_sessions(), 1u);
        const size_t pings = seed.count(Op::ping);
        const Time opened = e.now;
        e.advance(opened + secs(5 * 60));
        if (warm == 0) {
            EXPECT_EQ(seed.count(Op::ping), pings);
            EXPECT_EQ(e.node().active_sessions(), 0u) << "idled out";
            EXPECT_EQ(e.node().warm_sessions(), 0u);
            continue;
        }
        // One ping per 45 s of quiet: five minutes take six.
        EXPECT_EQ(seed.count(Op::ping) - pings, 6u);
        EXPECT_EQ(e.node().counters().keepalive_pings_total, 6u);
        EXPECT_EQ(e.node().active_sessions(), 1u) << "kept open";
        EXPECT_EQ(e.node().warm_sessions(), 1u);
        EXPECT_EQ(seed.got.back().second - seed.got[seed.got.size() - 2].second, secs(45));
    }
}

// Warm sessions go to the farthest buckets first (where lookups for most keys begin): with
// room for one, a contact of the lowest bucket keeps its session and the rest idle out.
TEST(Engine, WarmSessionsGoToTheFarthestBucketsFirst) {
    NodeConfig c;
    c.warm_sessions = 1;
    Engine e(c);
    std::vector<Remote*> rs;
    for (uint8_t n = 21; n < 29; ++n) {
        Remote& r = e.remote(n);
        r.addr = PeerAddr::v4(10, n, 0, 1, r.addr.port);  // private: no diversity cap
        (void)e.node().ping(r.addr, e.now);
        e.peers().pump(e.now);
        e.settle();
        rs.push_back(&r);
    }
    ASSERT_EQ(e.node().active_sessions(), rs.size());
    const RoutingTable& t = e.node().table();
    int lowest = 256, highest = -1;
    for (const Remote* r : rs) {
        lowest = std::min(lowest, t.bucket_index(r->id.id));
        highest = std::max(highest, t.bucket_index(r->id.id));
    }
    ASSERT_LT(lowest, highest) << "the remotes span more than one bucket";
    e.advance(e.now + secs(5 * 60));
    EXPECT_EQ(e.node().active_sessions(), 1u);
    EXPECT_EQ(e.node().warm_sessions(), 1u);
    for (const Remote* r : rs) {
        if (r->ref == 0) continue;
        EXPECT_EQ(t.bucket_index(r->id.id), lowest) << "the one kept is in the farthest bucket";
        EXPECT_EQ(r->count(Op::ping), 7u) << "its first ping, then six to keep it";
    }
}

TEST(Engine, ASecondSlowQueryWithBetaSpentCountsTheHedgeBudgetExhausted) {
    NodeConfig c;
    c.alpha = 1;
    c.beta = 1;
    c.hedge_after = msec(250);
    Engine e(c);
    Remote& a = e.remote(13);
    Remote& x = e.remote(14);
    Remote& y = e.remote(15);
    Remote& z = e.remote(16);
    // The target is x's id: x is asked first, then the nearer of y and z (silent too), and
    // the farther one answers but is only reached as a hedge.
    const NodeId target = x.id.id;
    Remote& slow2 = closer_to(target, y.id.id, z.id.id) ? y : z;
    Remote& last = &slow2 == &y ? z : y;
    x.answers = false;
    slow2.answers = false;
    e.node().add_seed(a.addr, e.now);
    e.peers().pump(e.now);
    e.settle();
    a.nodes = {{x.id.id, x.addr}, {slow2.id.id, slow2.addr}, {last.id.id, last.addr}};
    e.advance(e.now + msec(1));
    e.node().closest(target, e.now);
    e.peers().pump(e.now);
    e.settle();
    ASSERT_EQ(x.count(Op::find_node), 1u);
    const Time asked = x.got.front().second;
    e.advance(asked + msec(250));
    ASSERT_EQ(slow2.count(Op::find_node), 1u) << "x's slot went to a hedge";
    EXPECT_EQ(e.node().counters().hedge_budget_exhausted_total, 0u) << "beta covered x";
    const Time hedged = slow2.got.front().second;
    e.advance(hedged + msec(249));
    EXPECT_EQ(e.node().counters().hedge_budget_exhausted_total, 0u);
    e.advance(hedged + msec(250));
    EXPECT_EQ(e.node().counters().hedge_budget_exhausted_total, 1u)
        << "the hedge is slow too, a candidate waits, and beta 1 is spent";
    EXPECT_EQ(last.count(Op::find_node), 0u) << "so nothing more goes out";
}

TEST(Engine, PublishRoundsReportTheCopiesTheyConfirmed) {
    Engine e;  // replica 3
    const std::string addr = "tcp://198.51.100.7:9444";
    // Alone, a provide confirms only our own copy.
    e.node().provide(id_of_byte(0x21), {&addr, 1}, 600, e.now);
    e.peers().pump(e.now);
    e.settle();
    ReplicationHeld h = e.node().replication_held();
    EXPECT_EQ(h.samples, 1u);
    EXPECT_EQ(h.min, 1u);
    EXPECT_EQ(e.node().counters().replication_short_total, 1u);
    // With two peers that store what they are sent: ours and theirs, three copies.
    e.seed(17);
    Remote& b = e.remote(18);
    e.node().add_seed(b.addr, e.now);
    e.peers().pump(e.now);
    e.settle();
    ASSERT_EQ(e.node().table().size(), 2u);
    e.advance(e.now + msec(10));
    e.node().provide(id_of_byte(0x22), {&addr, 1}, 600, e.now);
    e.peers().pump(e.now);
    e.settle();
    // b got the first key when it joined inside its replica set, then the second one.
    EXPECT_EQ(b.count(Op::add_provider), 2u);
    h = e.node().replication_held();
    EXPECT_EQ(h.samples, 2u);
    EXPECT_EQ(h.min, 1u);
    EXPECT_DOUBLE_EQ(h.median, 2.0) << "the mean of 1 and 3";
    EXPECT_EQ(e.node().counters().replication_checks_total, 2u);
    EXPECT_EQ(e.node().counters().replication_short_total, 1u) << "three copies meet replica";
}

TEST(Engine, AHolderPushesItsRecordsToANodeThatJoinsCloserToTheKey) {
    Engine e;
    Remote& far = e.seed(10);
    // A publisher stores a record here for a key next to a node that has not joined yet.
    Remote& near = e.remote(11);
    const Key key = near.id.id;  // the newcomer is the closest node there is to this key
    add_provider_from(e, far, key, 40, 3600);
    ASSERT_EQ(e.node().store().record_count(), 1u);
    // The newcomer opens a session: it joins our view inside the key's replica set.
    e.node().add_seed(near.addr, e.now);
    e.peers().pump(e.now);
    e.settle();
    EXPECT_GE(near.count(Op::add_provider), 1u) << "the record followed the closest node";
}

TEST(Engine, AStandaloneNodeWithNothingToMaintainAsksForNoWakeUp) {
    // No seed and no contact: no maintenance round would do anything, so the node sets no
    // deadline at all and an idle edge board stays asleep (it used to tick every 10 s).
    Engine e;
    EXPECT_EQ(e.node().next_deadline(), NEVER);
    EXPECT_EQ(e.peers().next_deadline(), NEVER);
    e.advance(e.now + secs(3600));
    EXPECT_EQ(e.node().next_deadline(), NEVER);
}

TEST(Engine, MaintenanceSleepsUntilARoundOnItsTenSecondGridHasWorkDue) {
    // The node was built at 1 s, so its maintenance rounds fall at 11 s, 21 s, 31 s, ...
    // It joins at 1 s; with a 25 s refresh interval the earliest work after that is the
    // refresh of what the join touched, due at 26 s. The node sleeps through the rounds
    // before it and refreshes at the 31 s round, as it did when every round woke it.
    NodeConfig c = no_hedges();
    c.refresh_interval = secs(25);
    Engine e(c);
    ASSERT_EQ(e.now, secs(1));
    Remote& seed = e.seed(3);
    const size_t joined = seed.count(Op::find_node);
    ASSERT_GE(joined, 1u) << "the join's lookups";
    e.advance(secs(31) - 1);
    EXPECT_EQ(seed.count(Op::find_node), joined);
    e.advance(secs(31));
    ASSERT_GT(seed.count(Op::find_node), joined) << "the refresh";
    EXPECT_EQ(seed.got.back().second, secs(31));
}

TEST(Engine, AHeldKeysRoundRepublishesOurRecordAndReplicatesOthersWithinTheirLifetimes) {
    NodeConfig c = no_hedges();
    c.republish_secs = 100;
    c.refresh_interval = secs(100000);
    Engine e(c);
    Remote& seed = e.seed(2);
    const Time t0 = e.now;
    // Our own record for 250 s, and another publisher's, sent here by the seed, for 150 s.
    const std::vector<std::string> addrs = {"tcp://198.51.100.9:9444"};
    (void)e.node().provide(id_of_byte(0x50), addrs, 250, e.now);
    e.peers().pump(e.now);
    e.settle();
    ASSERT_EQ(seed.count(Op::add_provider), 1u) << "the provide";
    add_provider_from(e, seed, id_of_byte(0x60), 41, 150);
    ASSERT_EQ(e.node().store().record_count(), 2u);
    const uint64_t signed_at = e.node().store().local_record(id_of_byte(0x50), e.now)->ts;

    e.advance(t0 + secs(100) - 1);
    EXPECT_EQ(seed.count(Op::add_provider), 1u) << "nothing before the rounds";
    e.advance(t0 + secs(100));
    EXPECT_EQ(e.node().counters().republishes_total, 1u);
    EXPECT_EQ(seed.count(Op::add_provider), 3u)
        << "ours signed again, and the other publisher's pushed to the replica set";
    EXPECT_EQ(e.node().store().local_record(id_of_byte(0x50), e.now)->ts, signed_at + 100);

    e.advance(t0 + secs(200));
    EXPECT_EQ(e.node().counters().republishes_total, 2u) << "ours lives until 250 s";
    EXPECT_EQ(seed.count(Op::add_provider), 4u) << "the other record expired at 150 s";
    e.advance(t0 + secs(400));
    EXPECT_EQ(e.node().counters().republishes_total, 2u) << "not beyond the lifetime asked for";
    EXPECT_EQ(e.node().store().record_count(), 0u);
    EXPECT_EQ(seed.count(Op::add_provider), 4u);
}

TEST(Engine, AProvideOurOwnStoreRefusesFailsWithTheReasonAndPublishesNothing) {
    NodeConfig c = no_hedges();
    c.store.max_items = 1;
    Engine e(c);
    Remote& seed = e.seed(2);
    const Bytes value = {1, 2, 3};
    (void)e.node().put(value, e.now);
    e.peers().pump(e.now);
    e.settle();
    ASSERT_EQ(seed.count(Op::put_value), 1u);
    const std::vector<std::string> addrs = {"tcp://198.51.100.9:9444"};
    const RequestId id = e.node().provide(id_of_byte(0x50), addrs, 250, e.now);
    e.peers().pump(e.now);
    e.settle();
    ASSERT_EQ(e.results.count(id), 1u);
    EXPECT_EQ(e.results[id].err, Err::store_full);
    EXPECT_EQ(seed.count(Op::add_provider), 0u);
}

// A journal that only counts what the store told it.
struct CountingJournal final : StoreJournal {
    size_t stored = 0, removed = 0;
    void record_stored(const Key&, const StoredRecord&) override { ++stored; }
    void record_removed(const Key&, const PublicKey&) override { ++removed; }
    void value_stored(const Key&, const StoredValue&) override { ++stored; }
    void value_removed(const Key&) override { ++removed; }
};

TEST(Engine, WithAJournalTheOkToAnAddProviderWaitsForTheCommit) {
    Engine e(no_hedges());
    CountingJournal j;
    e.node().set_journal(&j);
    Remote& seed = e.seed(2);
    add_provider_from(e, seed, id_of_byte(0x61), 9, 3600);
    EXPECT_EQ(j.stored, 1u);
    EXPECT_TRUE(seed.codes.empty()) << "acknowledged before the commit";
    EXPECT_TRUE(e.node().holding_acks());
    e.node().persisted(true);
    e.peers().pump(e.now);
    e.settle();
    ASSERT_EQ(seed.codes.size(), 1u);
    EXPECT_EQ(seed.codes[0], Code::ok);
    EXPECT_FALSE(e.node().holding_acks());
}

TEST(Engine, AFailedCommitAnswersBusyAndRefusesWritesUntilACommitSucceeds) {
    Engine e(no_hedges());
    CountingJournal j;
    e.node().set_journal(&j);
    Remote& seed = e.seed(2);
    add_provider_from(e, seed, id_of_byte(0x62), 9, 3600);
    const Bytes value = {4, 5, 6};
    const RequestId put = e.node().put(value, e.now);
    e.peers().pump(e.now);
    e.settle();
    EXPECT_EQ(e.results.count(put), 0u) << "the put's result waits for the commit";
    e.node().persisted(false);
    e.peers().pump(e.now);
    e.settle();
    ASSERT_EQ(seed.codes.size(), 1u);
    EXPECT_EQ(seed.codes[0], Code::busy);
    ASSERT_EQ(e.results.count(put), 1u);
    EXPECT_EQ(e.results[put].err, Err::store_unavailable);
    EXPECT_TRUE(e.node().writes_refused());
    // Refused at once now, without touching the store; reads go on.
    const size_t stored = j.stored;
    add_provider_from(e, seed, id_of_byte(0x63), 9, 3600);
    ASSERT_EQ(seed.codes.size(), 2u);
    EXPECT_EQ(seed.codes[1], Code::busy);
    EXPECT_EQ(j.stored, stored);
    const RequestId refused = e.node().put(Bytes{7}, e.now);
    e.peers().pump(e.now);
    e.settle();
    ASSERT_EQ(e.results.count(refused), 1u);
    EXPECT_EQ(e.results[refused].err, Err::store_unavailable);
    // A commit succeeds (the disk has room again): writes are taken and acknowledged.
    e.node().persisted(true);
    EXPECT_FALSE(e.node().writes_refused());
    add_provider_from(e, seed, id_of_byte(0x64), 9, 3600);
    EXPECT_EQ(seed.codes.size(), 2u);
    e.node().persisted(true);
    e.peers().pump(e.now);
    e.settle();
    ASSERT_EQ(seed.codes.size(), 3u);
    EXPECT_EQ(seed.codes[2], Code::ok);
}

namespace {
// send_from has |by| send the node |m| (a request); the caller settles.
void send_from(Engine& e, Remote& by, const DhtMsg& m) {
    Bytes wire;
    encode_dht(m, wire);
    ASSERT_EQ(by.s->send_data(wire, e.now), Err::ok);
}
}  // namespace

TEST(Engine, DegradedModeRefusesStoresAndServesReads) {
    Engine e(no_hedges());
    Remote& seed = e.seed(2);
    add_provider_from(e, seed, id_of_byte(0x71), 9, 3600);
    ASSERT_EQ(seed.codes.size(), 1u);
    EXPECT_EQ(seed.codes[0], Code::ok);
    e.node().set_degraded(true, e.now);
    EXPECT_TRUE(e.node().readiness().degraded);
    add_provider_from(e, seed, id_of_byte(0x72), 9, 3600);
    ASSERT_EQ(seed.codes.size(), 2u);
    EXPECT_EQ(seed.codes[1], Code::busy);
    const RequestId put = e.node().put(Bytes{1, 2}, e.now);
    e.peers().pump(e.now);
    e.settle();
    ASSERT_EQ(e.results.count(put), 1u);
    EXPECT_EQ(e.results[put].err, Err::degraded);
    // What the node holds is still served.
    DhtMsg get;
    get.op = Op::get_providers;
    get.rid = 90;
    get.has_key = true;
    get.key = id_of_byte(0x71);
    send_from(e, seed, get);
    e.settle();
    ASSERT_EQ(seed.codes.size(), 3u);
    EXPECT_EQ(seed.codes[2], Code::ok);
    e.node().set_degraded(false, e.now);
    add_provider_from(e, seed, id_of_byte(0x73), 9, 3600);
    ASSERT_EQ(seed.codes.size(), 4u);
    EXPECT_EQ(seed.codes[3], Code::ok);
}

TEST(Engine, UnderLoadWritesAreShedBeforeReads) {
    NodeConfig c = no_hedges();
    c.node_rate = 40;  // a burst of 40 requests node-wide; writes may take the first 20
    c.node_write_rate = 1000;
    c.peer_rate = 100000;
    c.peer_burst = 100000;
    Engine e(c);
    Remote& seed = e.seed(2);
    seed.codes.clear();
    for (uint8_t i = 0; i < 40; ++i) add_provider_from(e, seed, id_of_byte(0x80 + i), 9, 3600);
    const auto stored =
        static_cast<size_t>(std::count(seed.codes.begin(), seed.codes.end(), Code::ok));
    EXPECT_GT(stored, 0u);
    EXPECT_LT(stored, 40u) << "no write was shed";
    seed.codes.clear();
    for (uint64_t i = 0; i < 15; ++i) {
        DhtMsg ping;
        ping.op = Op::ping;
        ping.rid = 200 + i;
        send_from(e, seed, ping);
    }
    e.settle();
    ASSERT_EQ(seed.codes.size(), 15u);
    for (Code code : seed.codes) EXPECT_EQ(code, Code::ok) << "a read was refused";
}

// Routing is ready only while the table holds a contact: a node whose every contact failed
// answers not ready (and rejoins through its seed), and is ready again once it answers.
TEST(Engine, RoutingIsNotReadyOnceEveryContactFailedAndReadyAgainAfterTheRejoin) {
    Engine e(no_hedges());
    Remote& seed = e.seed(2);
    e.advance(e.now + secs(1));
    ASSERT_TRUE(e.node().readiness().routing_ready);
    ASSERT_EQ(e.node().table().size(), 1u);
    // The seed goes silent, then unreachable (a partition): its RPCs fail.
    seed.answers = false;
    seed.listening = false;
    for (int i = 0; i < 4 && e.node().table().size() > 0; ++i) {
        e.node().closest(id_of_byte(static_cast<uint8_t>(0x10 + i)), e.now);
        e.peers().pump(e.now);
        e.settle();
        e.advance(e.now + secs(5));  // past the RPC timeout
    }
    ASSERT_EQ(e.node().table().size(), 0u) << "three failed RPCs evict the only contact";
    EXPECT_FALSE(e.node().readiness().routing_ready);
    seed.answers = true;
    seed.listening = true;
    e.advance(e.now + secs(400));  // the seed's backoff and a maintenance round
    EXPECT_EQ(e.node().table().size(), 1u);
    EXPECT_TRUE(e.node().readiness().routing_ready);
}

// A closer node with no room for more requests (max_inflight_per_peer in flight to it) is
// owed the rest of a replication, not skipped until the key's next round hours later: the
// pushes wait, counted in dht_replication_owed, and go out at the next maintenance round.
TEST(Engine, ReplicationPushesABusyPeerHadNoRoomForAreOwedAndSentLater) {
    NodeConfig c = no_hedges();
    c.max_inflight_per_peer = 4;
    c.refresh_interval = secs(100000);
    Engine e(c);
    Remote& seed = e.seed(2);
    // Eight keys stored here by another publisher (the seed carries them).
    for (uint8_t k = 0; k < 8; ++k) add_provider_from(e, seed, id_of_byte(0x60 + k), 41, 3600);
    ASSERT_EQ(e.node().store().record_count(), 8u);
    // A new node: with fewer than replica contacts every key's replica set takes it in, so
    // it is pushed all eight at once, and it answers nothing for now.
    Remote& near = e.remote(3);
    near.hold = true;
    (void)e.node().ping(near.addr, e.now);
    e.peers().pump(e.now);
    e.settle();
    ASSERT_TRUE(e.node().table().contains(near.id.id));
    const size_t first = near.count(Op::add_provider);
    EXPECT_EQ(first, 4u) << "the per-peer cap";
    EXPECT_EQ(e.node().replication_owed(), 4u);
    EXPECT_GE(e.node().counters().error_total[static_cast<size_t>(Err::busy)], 1u);
    // It answers; the owed pushes go at the next maintenance round.
    e.release(near);
    EXPECT_EQ(near.count(Op::add_provider), first) << "nothing before the round";
    e.advance(e.now + secs(10));
    EXPECT_EQ(near.count(Op::add_provider), 8u) << "every key reached it";
    EXPECT_EQ(e.node().replication_owed(), 0u);
    EXPECT_EQ(e.node().counters().replication_retries_total, 8u - first);
    EXPECT_EQ(e.node().counters().replication_given_up_total, 0u);
}

// A peer that stays busy is tried MAX_OWED_TRIES times with doubling delays, then given up
// and counted; nothing is owed for ever.
TEST(Engine, AnOwedPushToAPeerThatStaysBusyIsGivenUpAfterItsTries) {
    NodeConfig c = no_hedges();
    c.max_inflight_per_peer = 2;
    c.rpc_timeout = secs(100000);  // the held requests never time out: it stays busy
    c.refresh_interval = secs(100000);
    SessionConfig s;
    s.idle_timeout = secs(100000);
    Engine e(c, s);
    Remote& seed = e.seed(2);
    for (uint8_t k = 0; k < 3; ++k) add_provider_from(e, seed, id_of_byte(0x60 + k), 41, 7200);
    Remote& near = e.remote(3);
    near.hold = true;
    near.cfg.idle_timeout = s.idle_timeout;
    (void)e.node().ping(near.addr, e.now);
    e.peers().pump(e.now);
    e.settle();
    const size_t owed = e.node().replication_owed();
    ASSERT_GE(owed, 1u);
    e.advance(e.now + secs(10 + 20 + 40 + 80 + 160 + 320) - 1);
    EXPECT_EQ(e.node().replication_owed(), owed) << "still trying";
    e.advance(e.now + secs(20));
    EXPECT_EQ(e.node().replication_owed(), 0u);
    EXPECT_EQ(e.node().counters().replication_given_up_total, owed);
    EXPECT_EQ(e.node().counters().replication_retries_total, 0u);
}

// A request to a peer without a session rides right behind our ident (docs/PROTOCOL.md
// 1.3): a peer that answers early has it before its handshake ends, and answers it once; one
// from before early requests drops it, and gets it again on the open session.
TEST(Engine, AColdRequestRidesBehindTheIdentAndAnOldPeerGetsItAgain) {
    // cold_ping pings a remote that takes early requests or not, from a node that sends
    // them or not, and returns the remote once the ping has ended Ok.
    auto cold_ping = [](Engine& e, bool peer_early) -> Remote& {
        Remote& r = e.remote(4);
        r.cfg.early_requests = peer_early;
        const RequestId id = e.node().ping(r.addr, e.now);
        e.peers().pump(e.now);
        e.settle();
        EXPECT_EQ(e.results.count(id), 1u);
        EXPECT_EQ(e.results[id].err, Err::ok);
        EXPECT_EQ(r.count(Op::ping), 1u) << "answered once";
        return r;
    };
    SessionConfig off;
    off.early_requests = false;
    for (const bool peer_early : {true, false}) {
        SCOPED_TRACE(peer_early ? "the peer answers early" : "an old peer");
        Engine e;
        const Remote& r = cold_ping(e, peer_early);
        EXPECT_EQ(r.early, peer_early ? 1u : 0u);
        EXPECT_EQ(r.s->stats().data_before_auth, peer_early ? 0u : 1u);
        EXPECT_EQ(e.node().counters().early_requests_sent_total, 1u);
        EXPECT_EQ(e.node().counters().early_requests_resent_total, peer_early ? 0u : 1u);
        // With early requests off here, the request waits for the session, as before them.
        Engine old(NodeConfig{}, off);
        const Remote& r2 = cold_ping(old, peer_early);
        EXPECT_EQ(r2.early, 0u);
        EXPECT_EQ(r2.s->stats().data_before_auth, 0u);
        EXPECT_EQ(old.node().counters().early_requests_sent_total, 0u);
    }
}
