// SPDX-License-Identifier: MIT
// The Node engine answering a peer directly (no network): every inbound operation with its
// response codes, the 1400 answer to a half-decodable request, rate limits (1429), clients
// with port 0 kept out of the routing table, and store expiry on the timer.
#include <gtest/gtest.h>

#include <optional>

#include "svcdht/blake3.h"
#include "svcdht/node.h"
#include "svcdht/record.h"
#include "util.h"

using namespace svcdht::core;
using namespace svcdht::test;

namespace {

constexpr uint64_t UNIX0 = T0_UNIX;
constexpr PeerRef PEER = 7;

struct Harness {
    Identity me = identity(21);
    Identity peer = identity(22);
    SeededRng rng{5};
    NodeConfig cfg;
    std::unique_ptr<Node> node;
    Time now = secs(1);

    explicit Harness(uint16_t peer_port = 9444, uint32_t peer_rate = 200, uint32_t burst = 400) {
        cfg.listen_port = 9444;
        cfg.unix_epoch_offset_us = static_cast<int64_t>(UNIX0) * 1000000;
        cfg.peer_rate = peer_rate;
        cfg.peer_burst = burst;
        cfg.max_value_bytes = 64;
        node = std::make_unique<Node>(cfg, me, Env{&rng, &crypto(), nullptr}, 0);
        SessionInfo info;
        info.id = peer.id;
        info.remote = PeerAddr::v4(198, 51, 100, 9, 40000);
        info.ident_port = peer_port;
        node->on_session_open(PEER, info, 0, now);
        drain();
    }
    // drain returns the DhtMsg bytes sent to PEER.
    std::vector<Bytes> drain() {
        std::vector<Bytes> out;
        Action a;
        while (node->poll(&a))
            if (a.kind == Action::Kind::send && a.peer == PEER)
                out.emplace_back(a.payload.begin(), a.payload.end());
        return out;
    }
    // ask sends one request and returns the single answer, decoded into |m| (views into
    // |keep|).
    bool ask(const DhtMsg& req, DhtMsg* m, Bytes* keep) {
        node->on_frame(PEER, encode(req), now);
        auto sent = drain();
        if (sent.size() != 1) return false;
        *keep = sent[0];
        DecodeHeader h;
        return decode_dht(*keep, 65536, m, &h) == Err::ok;
    }
};

DhtMsg request(Op op, uint64_t rid) {
    DhtMsg m;
    m.op = op;
    m.rid = rid;
    return m;
}

// signed_add is an ADD_PROVIDER of |key| by |pub| for 600 s from now, serving |addrs|
// (which the message views: keep them alive while it is used).
DhtMsg signed_add(uint64_t rid, const Identity& pub, const NodeId& key,
                  const std::vector<std::string_view>& addrs) {
    DhtMsg add = request(Op::add_provider, rid);
    add.has_rec = true;
    add.rec.key = key;
    add.rec.pk = pub.keys.pk;
    add.rec.addrs = ItemList<std::string_view>::of(addrs);
    add.rec.ttl = 600;
    add.rec.ts = UNIX0;
    sign_record(add.rec, crypto(), pub.keys.sk);
    return add;
}

}  // namespace

TEST(Node, PingAnswersWithTheObservedAddress) {
    Harness h;
    DhtMsg m;
    Bytes keep;
    ASSERT_TRUE(h.ask(request(Op::ping, 11), &m, &keep));
    EXPECT_EQ(m.rid, 11u);
    EXPECT_EQ(m.code, Code::ok);
    EXPECT_EQ(m.obs, PeerAddr::v4(198, 51, 100, 9, 40000));
    EXPECT_TRUE(h.node->table().contains(h.peer.id)) << "a peer with a port is routable";
}

TEST(Node, ClientsWithPortZeroStayOutOfTheTable) {
    Harness h(0);
    DhtMsg m;
    Bytes keep;
    ASSERT_TRUE(h.ask(request(Op::ping, 1), &m, &keep));
    EXPECT_EQ(h.node->table().size(), 0u);
}

TEST(Node, HalfDecodableRequestGets1400WithItsRid) {
    Harness h;
    // {"v":1,"op":2,"rid":77,"f":1,"target":h'00'} : a 1-byte target.
    const Bytes bad = from_hex(
        "a5617601626f7002637269641"
        "84d61660166746172676574"
        "4100");
    h.node->on_frame(PEER, bad, h.now);
    auto sent = h.drain();
    ASSERT_EQ(sent.size(), 1u);
    DhtMsg m;
    DecodeHeader hd;
    ASSERT_EQ(decode_dht(sent[0], 65536, &m, &hd), Err::ok);
    EXPECT_EQ(m.rid, 77u);
    EXPECT_EQ(m.code, Code::bad_request);
    EXPECT_EQ(h.node->counters().frames_rejected_total[static_cast<size_t>(Err::bad_field_length)],
              1u);
    // An op this node does not know (a newer peer's) is answered 1400, op echoed as sent:
    // {"v":1,"op":99,"rid":504,"f":1}.
    h.node->on_frame(PEER, from_hex("a4617601626f701863637269641901f8616601"), h.now);
    sent = h.drain();
    ASSERT_EQ(sent.size(), 1u);
    ASSERT_EQ(decode_dht(sent[0], 65536, &m, &hd), Err::bad_op);
    EXPECT_TRUE(hd.have_op && hd.op == 99 && hd.rid == 504 && hd.f == MsgFlag::response);
    EXPECT_EQ(to_hex(sent[0]), "a5617601626f701863637269641901f861660264636f6465190578");
    EXPECT_EQ(h.node->counters().frames_rejected_total[static_cast<size_t>(Err::bad_op)], 1u);
    // Garbage gets no answer, only a count.
    h.node->on_frame(PEER, from_hex("ff00"), h.now);
    EXPECT_TRUE(h.drain().empty());
    EXPECT_EQ(h.node->counters().frames_rejected_total[static_cast<size_t>(Err::unsupported_type)],
              1u);
    // Responses are never answered (this one matches no request).
    DhtMsg resp = request(Op::ping, 5);
    resp.f = MsgFlag::response;
    resp.code = Code::busy;
    h.node->on_frame(PEER, encode(resp), h.now);
    EXPECT_TRUE(h.drain().empty());
    EXPECT_EQ(
        h.node->counters().frames_rejected_total[static_cast<size_t>(Err::unexpected_response)],
        1u);
}

TEST(Node, PutAndGetValueCodes) {
    Harness h;
    const Bytes v = {'x', 'y', 'z'};
    DhtMsg put = request(Op::put_value, 1);
    put.has_key = put.has_val = true;
    put.key = NodeId::from(blake3(v));
    put.val = v;
    DhtMsg m;
    Bytes keep;
    ASSERT_TRUE(h.ask(put, &m, &keep));
    EXPECT_EQ(m.code, Code::ok);
    DhtMsg wrong = put;
    wrong.rid = 2;
    wrong.key = id_of_byte(1);
    ASSERT_TRUE(h.ask(wrong, &m, &keep));
    EXPECT_EQ(m.code, Code::bad_request) << "key must be BLAKE3(val)";
    const Bytes big(65, 1);
    DhtMsg large = put;
    large.rid = 3;
    large.val = big;
    large.key = NodeId::from(blake3(big));
    ASSERT_TRUE(h.ask(large, &m, &keep));
    EXPECT_EQ(m.code, Code::too_large);
    DhtMsg get = request(Op::get_value, 4);
    get.has_key = true;
    get.key = put.key;
    ASSERT_TRUE(h.ask(get, &m, &keep));
    EXPECT_EQ(m.code, Code::ok);
    EXPECT_TRUE(bytes_equal(m.val, v));
    get.key = id_of_byte(9);
    get.rid = 5;
    ASSERT_TRUE(h.ask(get, &m, &keep));
    EXPECT_EQ(m.code, Code::not_found);
    EXPECT_TRUE(m.has_nodes);
    EXPECT_EQ(m.nodes.size(), 0u) << "the only contact is the requester, left out";
}

TEST(Node, AddProviderCodesAndGetProviders) {
    Harness h;
    const Identity pub = identity(30);
    std::vector<std::string_view> addrs = {"tcp://198.51.100.30:9444"};
    auto record = [&](uint64_t ts, uint64_t ttl) {
        ProviderRecord r;
        r.key = id_of_byte(0x44);
        r.pk = pub.keys.pk;
        r.addrs = ItemList<std::string_view>::of(addrs);
        r.ttl = ttl;
        r.ts = ts;
        sign_record(r, crypto(), pub.keys.sk);
        return r;
    };
    DhtMsg add = request(Op::add_provider, 1);
    add.has_rec = true;
    add.rec = record(UNIX0, 600);
    DhtMsg m;
    Bytes keep;
    ASSERT_TRUE(h.ask(add, &m, &keep));
    EXPECT_EQ(m.code, Code::ok);
    add.rid = 2;
    add.rec = record(UNIX0 - 10, 600);
    ASSERT_TRUE(h.ask(add, &m, &keep));
    EXPECT_EQ(m.code, Code::stale_record) << "older than the one held";
    add.rid = 3;
    add.rec = record(UNIX0 - 1000, 600);
    ASSERT_TRUE(h.ask(add, &m, &keep));
    EXPECT_EQ(m.code, Code::stale_record) << "expired";
    add.rid = 4;
    add.rec = record(UNIX0 + 5, 600);
    add.rec.sig[0] ^= 1;
    ASSERT_TRUE(h.ask(add, &m, &keep));
    EXPECT_EQ(m.code, Code::bad_signature);
    add.rid = 5;
    add.rec = record(UNIX0 + 1000, 600);
    ASSERT_TRUE(h.ask(add, &m, &keep));
    EXPECT_EQ(m.code, Code::bad_request) << "from the future";
    EXPECT_EQ(h.node->counters().rejected_total[static_cast<size_t>(Err::bad_signature)], 1u);

    DhtMsg get = request(Op::get_providers, 6);
    get.has_key = true;
    get.key = id_of_byte(0x44);
    ASSERT_TRUE(h.ask(get, &m, &keep));
    EXPECT_EQ(m.code, Code::ok);
    ASSERT_EQ(m.providers.size(), 1u);
    const ProviderRecord got = *m.providers.begin();
    EXPECT_EQ(got.ts, UNIX0);
    EXPECT_EQ(admit_record(got, crypto(), UNIX0, 172800), Err::ok)
        << "served intact, signature and all";

    // The record expires on the node's timer (ts + ttl = 600 s after UNIX0, engine time 0).
    EXPECT_LE(h.node->next_deadline(), secs(600));
    h.node->on_timer(secs(600));
    EXPECT_EQ(h.node->store().record_count(), 0u);
}

TEST(Node, RequirePqRefusesClassicalRecordsAndCountsTheDowngrade) {
    Harness h;
    h.cfg.require_pq = true;
    h.node = std::make_unique<Node>(h.cfg, h.me, Env{&h.rng, &crypto(), nullptr}, 0);
    SessionInfo info;
    info.id = h.peer.id;
    info.remote = PeerAddr::v4(198, 51, 100, 9, 40000);
    info.ident_port = 9444;
    h.node->on_session_open(PEER, info, 0, h.now);
    h.drain();
    const std::vector<std::string_view> addrs = {"tcp://198.51.100.30:9444"};
    const DhtMsg add = signed_add(1, identity(30), id_of_byte(0x44), addrs);
    DhtMsg m;
    Bytes keep;
    ASSERT_TRUE(h.ask(add, &m, &keep));
    EXPECT_EQ(m.code, Code::bad_signature);
    EXPECT_EQ(h.node->counters().pq_downgrade_attempts_total, 1u);
    EXPECT_EQ(h.node->store().record_count(), 0u);
}

TEST(Node, PerPeerQuotaAnswers1429) {
    Harness h(9444, 10, 5);
    int ok = 0, quota = 0;
    for (uint64_t rid = 1; rid <= 8; ++rid) {
        DhtMsg m;
        Bytes keep;
        ASSERT_TRUE(h.ask(request(Op::ping, rid), &m, &keep));
        ok += m.code == Code::ok;
        quota += m.code == Code::quota_exceeded;
    }
    EXPECT_EQ(ok, 5) << "the burst";
    EXPECT_EQ(quota, 3);
    h.now += msec(300);  // 10/s refills three tokens
    DhtMsg m;
    Bytes keep;
    ASSERT_TRUE(h.ask(request(Op::ping, 99), &m, &keep));
    EXPECT_EQ(m.code, Code::ok);
    EXPECT_EQ(h.node->counters().rejected_total[static_cast<size_t>(Err::quota_exceeded)], 3u);
}

TEST(Node, QuotaFollowsThePeerAcrossReconnectsAndClientsByHost) {
    // A peer that takes sessions: a new session with the same id draws from the same bucket.
    for (uint16_t port : {uint16_t{9444}, uint16_t{0}}) {
        Harness h(port, 10, 5);
        for (uint64_t rid = 1; rid <= 5; ++rid) {
            DhtMsg m;
            Bytes keep;
            ASSERT_TRUE(h.ask(request(Op::ping, rid), &m, &keep));
            ASSERT_EQ(m.code, Code::ok);
        }
        h.node->on_session_closed(PEER, Err::peer_closed, h.now);
        SessionInfo info;
        // The same id again, or (for a client, port 0) a fresh key from the same host.
        info.id = port != 0 ? h.peer.id : identity(23).id;
        info.remote = PeerAddr::v4(198, 51, 100, 9, 40001);
        info.ident_port = port;
        h.node->on_session_open(PEER, info, 0, h.now);
        h.drain();
        DhtMsg m;
        Bytes keep;
        ASSERT_TRUE(h.ask(request(Op::ping, 6), &m, &keep));
        EXPECT_EQ(m.code, Code::quota_exceeded) << "port " << port << ": the burst came back";
        // A client on another host has its own bucket.
        if (port == 0) {
            h.node->on_session_closed(PEER, Err::peer_closed, h.now);
            info.remote = PeerAddr::v4(198, 51, 100, 10, 40001);
            h.node->on_session_open(PEER, info, 0, h.now);
            h.drain();
            ASSERT_TRUE(h.ask(request(Op::ping, 7), &m, &keep));
            EXPECT_EQ(m.code, Code::ok);
        }
    }
}

TEST(Node, RateBucketsOfRequestersThatRefilledAreForgottenAndDebtIsKept) {
    // Port 0: clients, one bucket per host. The first host spends its burst; then 5,000
    // other hosts ask once each, 20 us apart: a bucket refills one token in 5 ms, so about
    // 250 of them owe tokens at any time.
    Harness h(0, 200, 400);
    for (uint64_t rid = 1; rid <= 401; ++rid) {
        DhtMsg m;
        Bytes keep;
        ASSERT_TRUE(h.ask(request(Op::ping, rid), &m, &keep));
        ASSERT_EQ(m.code, rid <= 400 ? Code::ok : Code::quota_exceeded) << rid;
    }
    SessionInfo info;
    info.id = identity(23).id;
    info.ident_port = 0;
    size_t most = 0;
    for (uint32_t i = 0; i < 5000; ++i) {
        h.node->on_session_closed(PEER, Err::peer_closed, h.now);
        info.remote =
            PeerAddr::v4(10, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i), 1, 40000);
        h.node->on_session_open(PEER, info, 0, h.now);
        h.drain();
        DhtMsg m;
        Bytes keep;
        ASSERT_TRUE(h.ask(request(Op::ping, 1000 + i), &m, &keep));
        ASSERT_EQ(m.code, Code::ok);
        most = std::max(most, h.node->rate_buckets());
        h.now += 20;  // microseconds
    }
    // 5,000 requesters, of whom at most a few hundred are remembered at any time.
    EXPECT_LE(most, 512u);
    // The first host's debt survived every sweep: 100 ms refilled 20 of its 400 tokens.
    h.node->on_session_closed(PEER, Err::peer_closed, h.now);
    info.remote = PeerAddr::v4(198, 51, 100, 9, 40001);
    h.node->on_session_open(PEER, info, 0, h.now);
    h.drain();
    int ok = 0;
    for (uint64_t rid = 9000; rid < 9030; ++rid) {
        DhtMsg m;
        Bytes keep;
        ASSERT_TRUE(h.ask(request(Op::ping, rid), &m, &keep));
        ok += m.code == Code::ok;
    }
    EXPECT_EQ(ok, 20);
}

TEST(Node, PeersThatAskedOnceLongAgoAreNotRemembered) {
    // 200 clients on hosts of their own ask once each, a second apart: each bucket has
    // refilled long before the next one asks (one token in 5 ms), so the node holds only
    // the few since its last sweep (RATE_SWEEP_MIN, 32), not one for every host that asked.
    Harness h(0);
    size_t most = 0;
    for (uint32_t i = 0; i < 200; ++i) {
        h.node->on_session_closed(PEER, Err::peer_closed, h.now);
        SessionInfo info;
        info.id = identity(23).id;
        info.remote = PeerAddr::v4(10, 1, static_cast<uint8_t>(i), 1, 40000);
        info.ident_port = 0;
        h.node->on_session_open(PEER, info, 0, h.now);
        h.drain();
        DhtMsg m;
        Bytes keep;
        ASSERT_TRUE(h.ask(request(Op::ping, 1 + i), &m, &keep)) << i;
        ASSERT_EQ(m.code, Code::ok) << i;
        most = std::max(most, h.node->rate_buckets());
        h.now += secs(1);
    }
    EXPECT_GE(most, 32u);
    EXPECT_LE(most, 33u);
}

TEST(Node, TheNewestOpenSessionOfAPeerCarriesItsRequests) {
    // Three sessions with one peer (both sides dialed at once, then a reconnect): requests
    // go out on the newest open one, and closing sessions hands over newest first.
    Harness h;
    SessionInfo info;
    info.id = h.peer.id;
    info.remote = PeerAddr::v4(198, 51, 100, 9, 40001);
    info.ident_port = 9444;
    for (PeerRef ref : {PeerRef{8}, PeerRef{9}}) h.node->on_session_open(ref, info, 0, h.now);
    (void)h.drain();
    h.node->check_invariants();
    const auto sent_on = [&h]() {
        (void)h.node->closest(h.peer.id, h.now);
        std::vector<PeerRef> refs;
        Action a;
        while (h.node->poll(&a))
            if (a.kind == Action::Kind::send) refs.push_back(a.peer);
        return refs;
    };
    EXPECT_EQ(sent_on(), std::vector<PeerRef>{9});
    h.node->on_session_closed(8, Err::peer_closed, h.now);  // the middle one
    h.node->check_invariants();
    EXPECT_EQ(sent_on(), std::vector<PeerRef>{9});
    h.node->on_session_closed(9, Err::peer_closed, h.now);
    h.node->check_invariants();
    EXPECT_EQ(sent_on(), std::vector<PeerRef>{PEER});
    h.node->on_session_closed(PEER, Err::peer_closed, h.now);
    h.node->check_invariants();
    EXPECT_EQ(h.node->active_sessions(), 0u);
}

TEST(Node, AReusedSlotNamesOnlyItsNewSession) {
    // The node keeps sessions by their ref's slot (its low half); the embedder reuses a
    // slot with a new generation in the high half. A frame or a close for the old ref must
    // not reach the new session, and a slot still held is not taken by another ref.
    Harness h;
    const PeerRef old_ref = (PeerRef{1} << 32) | 40;
    const PeerRef new_ref = (PeerRef{2} << 32) | 40;
    const Identity other = identity(23);
    SessionInfo info;
    info.id = h.peer.id;
    info.remote = PeerAddr::v4(198, 51, 100, 9, 40001);
    info.ident_port = 9444;
    h.node->on_session_open(old_ref, info, 0, h.now);
    info.id = other.id;
    h.node->on_session_open(new_ref, info, 0, h.now);  // the slot is held: refused
    EXPECT_EQ(h.node->active_sessions(), 2u);
    h.node->on_session_closed(old_ref, Err::peer_closed, h.now);
    h.node->on_session_open(new_ref, info, 0, h.now);
    h.node->check_invariants();
    EXPECT_EQ(h.node->active_sessions(), 2u);
    (void)h.drain();

    const auto answers_on = [&h](PeerRef ref) {
        h.node->on_frame(ref, encode(request(Op::ping, 5)), h.now);
        std::vector<PeerRef> refs;
        Action a;
        while (h.node->poll(&a))
            if (a.kind == Action::Kind::send) refs.push_back(a.peer);
        return refs;
    };
    EXPECT_EQ(answers_on(new_ref), std::vector<PeerRef>{new_ref});
    EXPECT_TRUE(answers_on(old_ref).empty());
    h.node->on_session_closed(old_ref, Err::peer_closed, h.now);  // stale: ignored
    EXPECT_EQ(h.node->active_sessions(), 2u);
    EXPECT_EQ(answers_on(new_ref), std::vector<PeerRef>{new_ref});
    h.node->on_session_closed(new_ref, Err::peer_closed, h.now);
    h.node->check_invariants();
    EXPECT_EQ(h.node->active_sessions(), 1u);
    EXPECT_TRUE(answers_on(new_ref).empty());
}

TEST(Node, FindNodeAnswersAtMostKAndNeverTheRequester) {
    Harness h;
    // Twenty-five more peers open sessions and enter the table.
    for (uint8_t i = 0; i < 25; ++i) {
        SessionInfo info;
        info.id = identity(static_cast<uint8_t>(100 + i)).id;
        info.remote = PeerAddr::v4(static_cast<uint8_t>(20 + i), 0, 113, 1, 9444);  // distinct /16s
        info.ident_port = 9444;
        h.node->on_session_open(100 + i, info, 0, h.now);
    }
    h.drain();
    DhtMsg find = request(Op::find_node, 3);
    find.has_target = true;
    find.target = h.peer.id;
    DhtMsg m;
    Bytes keep;
    ASSERT_TRUE(h.ask(find, &m, &keep));
    EXPECT_EQ(m.nodes.size(), 20u);
    for (const NodeInfo& n : m.nodes) EXPECT_NE(n.id, h.peer.id);
}

TEST(Node, ApiOnAnEmptyTableFailsFast) {
    Harness h;
    Node& n = *h.node;
    SeededRng rng(1);
    Identity lonely = identity(40);
    NodeConfig cfg;
    Node alone(cfg, lonely, Env{&rng, &crypto(), nullptr}, 0);
    const RequestId id = alone.closest(id_of_byte(1), 0);
    Action a;
    ASSERT_TRUE(alone.poll(&a));
    ASSERT_EQ(a.kind, Action::Kind::done);
    EXPECT_EQ(a.result->id, id);
    EXPECT_EQ(a.result->err, Err::no_peers);
    EXPECT_TRUE(alone.readiness().routing_ready) << "no seeds: standalone";
    (void)n;
}

// Reads never change what the node stores: after a value and a record are in, a burst of
// every read operation (hits and misses) tells the store's journal nothing, and the
// snapshot is the same entry for entry.
TEST(Node, ReadsLeaveTheStoreAsItWas) {
    struct Journal final : StoreJournal {
        size_t changes = 0;
        void record_stored(const Key&, const StoredRecord&) override { ++changes; }
        void record_removed(const Key&, const PublicKey&) override { ++changes; }
        void value_stored(const Key&, const StoredValue&) override { ++changes; }
        void value_removed(const Key&) override { ++changes; }
    };
    Harness h;
    const Bytes v = {'r', 'e', 'a', 'd'};
    DhtMsg put = request(Op::put_value, 1);
    put.has_key = put.has_val = true;
    put.key = NodeId::from(blake3(v));
    put.val = v;
    DhtMsg m;
    Bytes keep;
    ASSERT_TRUE(h.ask(put, &m, &keep));
    ASSERT_EQ(m.code, Code::ok);
    const std::vector<std::string_view> addrs = {"tcp://198.51.100.31:9444"};
    ASSERT_TRUE(h.ask(signed_add(2, identity(31), id_of_byte(0x45), addrs), &m, &keep));
    ASSERT_EQ(m.code, Code::ok);
    std::vector<StoreEntryInfo> before, after;
    h.node->store().snapshot(h.now, before);
    ASSERT_EQ(before.size(), 2u);
    Journal j;
    h.node->set_journal(&j);
    uint64_t rid = 10;
    for (const Key& k : {put.key, id_of_byte(0x45), id_of_byte(0x99)}) {
        for (Op op : {Op::get_value, Op::get_providers, Op::find_node, Op::ping}) {
            DhtMsg q = request(op, rid++);
            q.has_key = op == Op::get_value || op == Op::get_providers;
            q.key = k;
            q.target = k;
            ASSERT_TRUE(h.ask(q, &m, &keep)) << op_name(op);
            ASSERT_EQ(m.rid, rid - 1);
        }
    }
    EXPECT_EQ(j.changes, 0u) << "a read changed the store";
    EXPECT_FALSE(h.node->holding_acks());
    h.node->store().snapshot(h.now, after);
    ASSERT_EQ(after.size(), before.size());
    for (size_t i = 0; i < before.size(); ++i) {
        EXPECT_EQ(after[i].key, before[i].key);
        EXPECT_EQ(after[i].expires, before[i].expires);
        EXPECT_EQ(after[i].value_len, before[i].value_len);
    }
}
