// SPDX-License-Identifier: MIT
// The sans-IO Session: handshake between two real sessions, every failure that closes one,
// the same byte stream split at every point, Data before auth, framing violations, the
// handshake and idle deadlines, and the bounded TX queue. Times are literal.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "svcdht/ctrl.h"
#include "svcdht/message.h"
#include "svcdht/session.h"
#include "util.h"

using namespace svcdht::core;
using namespace svcdht::test;

namespace {

std::string describe(const SessionEvent& ev) {
    switch (ev.type) {
        case SessionEvent::Type::none: return "none";
        case SessionEvent::Type::opened: return "opened";
        case SessionEvent::Type::data: return "data:" + to_hex(ev.payload);
        case SessionEvent::Type::early: return "early:" + to_hex(ev.payload);
        case SessionEvent::Type::closed: return std::string("closed:") + err_name(ev.err);
    }
    return "?";
}

// deliver feeds |bytes| to |s| and returns every event it produced.
std::vector<std::string> deliver(Session& s, ByteView bytes, Time now) {
    std::vector<std::string> out;
    while (!bytes.empty()) {
        SessionEvent ev;
        const size_t n = s.recv(bytes, now, &ev);
        bytes = bytes.subspan(n);
        if (ev.type != SessionEvent::Type::none) out.push_back(describe(ev));
        if (n == 0 && ev.type == SessionEvent::Type::none) break;
    }
    return out;
}

Bytes drain(Session& s) {
    Bytes out;
    s.take_tx(&out);
    s.tx_done(out.size());
    return out;
}

struct Peer {
    Identity id;
    SessionConfig cfg;
    SeededRng rng;
    std::unique_ptr<Session> s;
    std::vector<std::string> events;
    SessionBudgets budgets;

    Peer(uint8_t seed, uint64_t rng_seed, std::string net = "ron")
        : id(identity(seed)), rng(rng_seed) {
        cfg.network = std::move(net);
        cfg.listen_port = 9444;
    }
    void start(Time now, const NodeId* expect = nullptr) {
        s = std::make_unique<Session>(cfg, id, Env{&rng, &crypto(), nullptr}, now, expect, budgets);
    }
};

// pump moves bytes both ways until neither side has anything to send.
void pump(Peer& a, Peer& b, Time now) {
    for (int round = 0; round < 10; ++round) {
        const Bytes ab = drain(*a.s);
        const Bytes ba = drain(*b.s);
        if (ab.empty() && ba.empty()) return;
        for (auto& e : deliver(*b.s, ab, now)) b.events.push_back(e);
        for (auto& e : deliver(*a.s, ba, now)) a.events.push_back(e);
    }
}

Bytes data_frame(std::initializer_list<uint8_t> payload) {
    Bytes f;
    append_frame(f, FrameKind::data, Bytes(payload));
    return f;
}

}  // namespace

TEST(Session, HandshakeOpensBothSidesWithProvenIds) {
    Peer a(1, 11), b(2, 22);
    a.start(0, &b.id.id);  // a dialed b and knows whom it expects
    b.start(0);
    pump(a, b, msec(5));
    EXPECT_EQ(a.events, std::vector<std::string>{"opened"});
    EXPECT_EQ(b.events, std::vector<std::string>{"opened"});
    EXPECT_EQ(a.s->peer_id(), b.id.id);
    EXPECT_EQ(b.s->peer_id(), a.id.id);
    EXPECT_EQ(b.s->peer_port(), 9444);
    ASSERT_EQ(a.s->send_data(Bytes{1, 2, 3}, msec(6)), Err::ok);
    pump(a, b, msec(7));
    EXPECT_EQ(b.events.back(), "data:010203");
}

TEST(Session, FailuresThatCloseTheHandshake) {
    {
        Peer a(1, 11), b(2, 22, "other");
        a.start(0);
        b.start(0);
        pump(a, b, 0);
        EXPECT_EQ(a.events, std::vector<std::string>{"closed:network_mismatch"});
        EXPECT_EQ(b.events, std::vector<std::string>{"closed:network_mismatch"});
    }
    {
        Peer a(1, 11), b(1, 22);  // the same key on both ends
        a.start(0);
        b.start(0);
        pump(a, b, 0);
        EXPECT_EQ(a.events, std::vector<std::string>{"closed:self_connect"});
    }
    {
        Peer a(1, 11), b(2, 22);
        const NodeId someone_else = id_of_byte(9);
        a.start(0, &someone_else);
        b.start(0);
        pump(a, b, 0);
        EXPECT_EQ(a.events, std::vector<std::string>{"closed:peer_id_mismatch"});
        EXPECT_FALSE(a.s->is_open());
    }
}

TEST(Session, WrongHelloCloses) {
    Peer a(1, 11);
    a.start(0);
    const uint8_t magic[] = {'O', 'A', 'P', '2', 1, 0, 0, 0, 1};
    EXPECT_EQ(deliver(*a.s, {magic, 9}, 0), std::vector<std::string>{"closed:bad_magic"});
    a.start(0);
    const uint8_t v2[] = {'O', 'A', 'P', '1', 2, 0, 0, 0, 1};
    EXPECT_EQ(deliver(*a.s, {v2, 9}, 0), std::vector<std::string>{"closed:bad_version"});
    a.start(0);
    const uint8_t nocaps[] = {'O', 'A', 'P', '1', 1, 0, 0, 0, 0};
    EXPECT_EQ(deliver(*a.s, {nocaps, 9}, 0), std::vector<std::string>{"closed:missing_caps"});
}

TEST(Session, ForgedAuthIsRejected) {
    Peer a(1, 11), b(2, 22);
    a.start(0);
    b.start(0);
    // Deliver b's hello+ident, then a forged auth instead of b's real one.
    Bytes from_b = drain(*b.s);
    CtrlMsg forged;
    forged.t = CtrlType::auth;
    forged.sig.fill(0x33);
    Bytes payload;
    encode_ctrl(forged, payload);
    append_frame(from_b, FrameKind::ctrl, payload);
    EXPECT_EQ(deliver(*a.s, from_b, 0), std::vector<std::string>{"closed:auth_failed"});
}

TEST(Session, AuthBeforeIdentIsAViolation) {
    Peer a(1, 11);
    a.start(0);
    Bytes in(9);
    encode_hello(in.data());
    CtrlMsg auth;
    auth.t = CtrlType::auth;
    Bytes payload;
    encode_ctrl(auth, payload);
    append_frame(in, FrameKind::ctrl, payload);
    EXPECT_EQ(deliver(*a.s, in, 0), std::vector<std::string>{"closed:protocol_violation"});
}

TEST(Session, DataBeforeAuthIsDroppedAndCounted) {
    // A peer without early requests (the protocol before CAP_EARLY_REQUEST) drops Data that
    // precedes the auth; so does one with them for Data ahead of the ident, and for every
    // frame after the one early request.
    for (const bool early : {false, true}) {
        Peer a(1, 11), b(2, 22);
        a.cfg.early_requests = early;
        a.start(0);
        b.start(0);
        Bytes from_b = drain(*b.s);  // hello + ident, no auth yet
        const Bytes ahead = data_frame({7});
        from_b.insert(from_b.begin() + HELLO_LEN, ahead.begin(), ahead.end());
        for (const Bytes& f : {data_frame({9, 9}), data_frame({8})})
            from_b.insert(from_b.end(), f.begin(), f.end());
        const auto events = deliver(*a.s, from_b, 0);
        const std::vector<std::string> want =
            early ? std::vector<std::string>{"early:0909"} : std::vector<std::string>{};
        EXPECT_EQ(events, want);
        EXPECT_EQ(a.s->stats().data_before_auth, early ? 2u : 3u);
        EXPECT_FALSE(a.s->is_open());
        // Before the open, only the early request's one answer may be queued.
        EXPECT_EQ(a.s->send_data(Bytes{1}, 0), early ? Err::ok : Err::session_closed);
        EXPECT_EQ(a.s->send_data(Bytes{2}, 0), Err::session_closed);
    }
}

TEST(Session, AnEarlyRequestIsAnsweredBehindTheResponderAuth) {
    // a dials b and sends a request right behind its ident; b answers it before a's auth,
    // and a reads the answer after b's auth opened the session: two flights, not three.
    for (const bool b_early : {true, false}) {
        Peer a(1, 11), b(2, 22);
        b.cfg.early_requests = b_early;
        a.start(0, &b.id.id);
        b.start(0);
        ASSERT_EQ(a.s->send_early(Bytes{5, 5}, 0), Err::ok);
        EXPECT_EQ(a.s->send_early(Bytes{6}, 0), Err::session_closed);  // once per session
        const Bytes a_first = drain(*a.s);
        b.events = deliver(*b.s, a_first, msec(1));
        if (b_early) {
            EXPECT_EQ(b.events, std::vector<std::string>{"early:0505"});
            ASSERT_EQ(b.s->send_data(Bytes{0xa0}, msec(1)), Err::ok);
        } else {
            EXPECT_TRUE(b.events.empty());
            EXPECT_EQ(b.s->stats().data_before_auth, 1u);
        }
        a.events = deliver(*a.s, drain(*b.s), msec(2));
        const std::vector<std::string> want = b_early
                                                  ? std::vector<std::string>{"opened", "data:a0"}
                                                  : std::vector<std::string>{"opened"};
        EXPECT_EQ(a.events, want);
        // Whether the peer takes early requests is known from its HELLO, which arrives
        // before any answer; one that does not gets the request again on the open session.
        EXPECT_EQ(a.s->peer_took_early(), b_early);
        b.events = deliver(*b.s, drain(*a.s), msec(3));
        EXPECT_EQ(b.events, std::vector<std::string>{"opened"});
    }
}

TEST(Session, AnEarlyRequestIsBoundedToTheHandshakeFrameSize) {
    Peer a(1, 11);
    a.start(0);
    EXPECT_EQ(a.s->send_early(Bytes(HANDSHAKE_MAX_FRAME_LEN - FRAME_HEADER_LEN + 1, 1), 0),
              Err::frame_too_large);
    EXPECT_EQ(a.s->send_early(Bytes(HANDSHAKE_MAX_FRAME_LEN - FRAME_HEADER_LEN, 1), 0), Err::ok);
}

TEST(Session, SameStreamSplitAtEveryPointGivesSameEvents) {
    // Record the full stream b sends to a: hello, ident, auth, then two Data frames.
    Peer a(1, 11), b(2, 22);
    a.start(0);
    b.start(0);
    const Bytes a_first = drain(*a.s);  // a's hello + ident
    (void)deliver(*b.s, a_first, 0);
    Bytes stream = drain(*b.s);  // b's hello + ident + auth
    // b opens once a's auth arrives; a's auth needs b's ident.
    Peer a_probe(1, 11);
    a_probe.start(0);
    (void)drain(*a_probe.s);
    (void)deliver(*a_probe.s, stream, 0);
    (void)deliver(*b.s, drain(*a_probe.s), 0);
    ASSERT_TRUE(b.s->is_open());
    ASSERT_EQ(b.s->send_data(Bytes{1, 2, 3}, 0), Err::ok);
    ASSERT_EQ(b.s->send_data(Bytes(2000, 7), 0), Err::ok);
    const Bytes tail = drain(*b.s);
    stream.insert(stream.end(), tail.begin(), tail.end());

    const std::vector<std::string> want = {"opened", "data:010203",
                                           "data:" + to_hex(Bytes(2000, 7))};
    for (size_t cut = 0; cut <= stream.size(); ++cut) {
        Peer fresh(1, 11);  // same key and nonce as the a that b authenticated
        fresh.start(0);
        std::vector<std::string> got = deliver(*fresh.s, ByteView(stream).subspan(0, cut), 0);
        for (auto& e : deliver(*fresh.s, ByteView(stream).subspan(cut), 0)) got.push_back(e);
        ASSERT_EQ(got, want) << "cut " << cut;
    }
}

TEST(Session, OversizeFrameGets1413AndTheThirdViolationCloses) {
    Peer a(1, 11), b(2, 22);
    a.cfg.max_frame_len = 200;  // the ident (~110 bytes) still fits
    a.start(0);
    b.start(0);
    pump(a, b, 0);
    ASSERT_TRUE(a.s->is_open());
    Bytes big = {0, 0, 0x01, 0x2c, 1};  // len 300
    big.insert(big.end(), 299, 0);
    const Bytes small = data_frame({5});
    Bytes in = big;
    in.insert(in.end(), small.begin(), small.end());
    EXPECT_EQ(deliver(*a.s, in, 0), std::vector<std::string>{"data:05"}) << "session survives";
    EXPECT_EQ(a.s->stats().oversize, 1u);
    // The Ctrl error went out to b.
    const Bytes to_b = drain(*a.s);
    (void)deliver(*b.s, to_b, 0);
    EXPECT_EQ(b.s->stats().peer_errors, 1u);
    const uint8_t empty[] = {0, 0, 0, 0};
    EXPECT_TRUE(deliver(*a.s, {empty, 4}, 0).empty());
    EXPECT_EQ(deliver(*a.s, big, 0), std::vector<std::string>{"closed:too_many_violations"});
}

TEST(Session, UnknownKindIsSkipped) {
    Peer a(1, 11), b(2, 22);
    a.start(0);
    b.start(0);
    pump(a, b, 0);
    const uint8_t unk[] = {0, 0, 0, 3, 0x09, 1, 2};
    Bytes in(unk, unk + sizeof unk);
    const Bytes d = data_frame({6});
    in.insert(in.end(), d.begin(), d.end());
    EXPECT_EQ(deliver(*a.s, in, 0), std::vector<std::string>{"data:06"});
    EXPECT_EQ(a.s->stats().unknown_kind, 1u);
}

TEST(Session, HandshakeDeadline) {
    Peer a(1, 11);
    a.start(msec(1000));
    EXPECT_EQ(a.s->next_deadline(), msec(3000));
    SessionEvent ev;
    a.s->on_timer(msec(2999), &ev);
    EXPECT_EQ(ev.type, SessionEvent::Type::none);
    a.s->on_timer(msec(3000), &ev);
    EXPECT_EQ(describe(ev), "closed:handshake_timeout");
    EXPECT_EQ(a.s->next_deadline(), NEVER);
}

TEST(Session, IdleDeadlineMovesWithTraffic) {
    Peer a(1, 11), b(2, 22);
    a.start(0);
    b.start(0);
    pump(a, b, msec(10));
    ASSERT_TRUE(a.s->is_open());
    EXPECT_EQ(a.s->next_deadline(), msec(10) + secs(60));
    ASSERT_EQ(a.s->send_data(Bytes{1}, secs(30)), Err::ok);
    EXPECT_EQ(a.s->next_deadline(), secs(90));
    SessionEvent ev;
    a.s->on_timer(secs(90), &ev);
    EXPECT_EQ(describe(ev), "closed:idle_timeout");
}

TEST(Session, TxQueueIsBoundedAndDropsAreCounted) {
    Peer a(1, 11), b(2, 22);
    a.cfg.tx_max_frames = 4;
    a.cfg.tx_max_bytes = 1 << 20;
    a.start(0);
    b.start(0);
    pump(a, b, 0);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(a.s->send_data(Bytes{1}, 0), Err::ok);
    EXPECT_EQ(a.s->send_data(Bytes{1}, 0), Err::tx_full);
    EXPECT_EQ(a.s->stats().tx_dropped, 1u);
    Bytes out;
    a.s->take_tx(&out);
    EXPECT_EQ(a.s->send_data(Bytes{1}, 0), Err::ok) << "taking the queue frees frame slots";
    // The byte bound counts bytes still in flight until tx_done.
    Peer c(3, 33), d(4, 44);
    c.cfg.tx_max_bytes = 200;
    c.start(0);
    d.start(0);
    pump(c, d, 0);
    EXPECT_EQ(c.s->send_data(Bytes(100, 0), 0), Err::ok);
    Bytes held;
    c.s->take_tx(&held);
    EXPECT_EQ(c.s->send_data(Bytes(100, 0), 0), Err::tx_full);
    c.s->tx_done(held.size());
    EXPECT_EQ(c.s->send_data(Bytes(100, 0), 0), Err::ok);
}

TEST(Session, SendBeforeOpenIsRefused) {
    Peer a(1, 11);
    a.start(0);
    EXPECT_EQ(a.s->send_data(Bytes{1}, 0), Err::session_closed);
}

TEST(Session, StrangerAnnouncingMoreThanTheHandshakeNeedsIsClosed) {
    Peer a(1, 11);
    a.start(0);
    Bytes in(HELLO_LEN);
    encode_hello(in.data());
    const uint8_t hdr[] = {0, 0, 0x04, 0x01, 2};  // a Ctrl frame of 1025 bytes
    in.insert(in.end(), hdr, hdr + sizeof hdr);
    EXPECT_EQ(deliver(*a.s, in, 0), std::vector<std::string>{"closed:frame_too_large"});
    EXPECT_EQ(a.s->stats().oversize, 1u);
}

TEST(Session, SplitFrameBeyondTheNodeBudgetClosesAndGivesTheBudgetBack) {
    ByteBudget rx;
    rx.limit = 8192;
    Peer a(1, 11), b(2, 22);
    a.budgets.rx = &rx;
    a.start(0);
    b.start(0);
    pump(a, b, 0);
    ASSERT_TRUE(a.s->is_open());
    EXPECT_EQ(rx.used, 0u) << "frames that arrive whole are not buffered";
    // Half of a 100,000-byte frame: the buffer doubles past the 8 KiB budget.
    Bytes part = {0, 0x01, 0x86, 0xa0, 1};
    part.insert(part.end(), 50000, 0);
    EXPECT_EQ(deliver(*a.s, part, 0), std::vector<std::string>{"closed:rx_budget"});
    EXPECT_EQ(a.s->stats().rx_budget, 1u);
    EXPECT_EQ(rx.used, 0u);
    EXPECT_GE(rx.refused, 1u);
    // Within the budget, the buffer is charged while held and returned once used.
    Peer c(3, 33), d(4, 44);
    c.budgets.rx = &rx;
    c.start(0);
    d.start(0);
    pump(c, d, 0);
    const Bytes f = data_frame({1, 2, 3, 4, 5, 6});
    EXPECT_TRUE(deliver(*c.s, ByteView(f).subspan(0, 8), 0).empty());
    EXPECT_GT(rx.used, 0u);
    EXPECT_EQ(deliver(*c.s, ByteView(f).subspan(8), 0),
              std::vector<std::string>{"data:010203040506"});
    c.s->recv_done();
    EXPECT_EQ(rx.used, 0u);
}

TEST(Session, TrickledFrameIsCutAfterIdleTimeoutEvenWhileWeSend) {
    Peer a(1, 11), b(2, 22);
    a.start(0);
    b.start(0);
    pump(a, b, 0);
    ASSERT_TRUE(a.s->is_open());
    const Bytes f = data_frame({1, 2, 3, 4, 5, 6, 7, 8});
    for (size_t i = 0; i < 7; ++i)
        EXPECT_TRUE(deliver(*a.s, ByteView(f).subspan(i, 1), secs(10) + secs(i)).empty());
    // The buffer began at 14 s with the kind byte (the 4-byte header is not buffered);
    // our own sends keep the session active but not the partial frame.
    ASSERT_EQ(a.s->send_data(Bytes{1}, secs(70)), Err::ok);
    EXPECT_EQ(a.s->next_deadline(), secs(14) + secs(60));
    SessionEvent ev;
    a.s->on_timer(secs(73), &ev);
    EXPECT_EQ(ev.type, SessionEvent::Type::none);
    a.s->on_timer(secs(74), &ev);
    EXPECT_EQ(describe(ev), "closed:frame_stalled");
    EXPECT_EQ(a.s->stats().stalled, 1u);
}

TEST(Session, TxBudgetIsNodeWideAndReturnedByTxDoneAndClose) {
    ByteBudget tx;
    tx.limit = 2000;
    Peer a(1, 11), b(2, 22);
    a.budgets.tx = &tx;
    a.start(0);
    b.start(0);
    pump(a, b, 0);
    ASSERT_TRUE(a.s->is_open());
    EXPECT_EQ(tx.used, 0u) << "the handshake bytes went out and were returned";
    EXPECT_EQ(a.s->send_data(Bytes(1500, 0), 0), Err::ok);
    EXPECT_EQ(a.s->send_data(Bytes(1500, 0), 0), Err::tx_full);
    EXPECT_EQ(a.s->stats().tx_dropped, 1u);
    Bytes out;
    a.s->take_tx(&out);
    EXPECT_EQ(tx.used, out.size()) << "bytes in flight stay charged";
    a.s->tx_done(out.size());
    EXPECT_EQ(tx.used, 0u);
    EXPECT_EQ(a.s->send_data(Bytes(1500, 0), 0), Err::ok);
    a.s.reset();
    EXPECT_EQ(tx.used, 0u) << "a session gives back what it still held";
}
