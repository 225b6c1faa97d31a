// SPDX-License-Identifier: MIT
// The simulator's adversary: hostile hosts run no Node. They hold raw Sessions, open
// sessions into honest tables, and answer every request with contacts they cannot prove
// (ids next to the target, addresses of other hostile hosts), now and then with garbage.
// This is a model of lying peers, not of the daemon: honest hosts run Peers (simnet.cc).
#include <algorithm>

#include "simnet_internal.h"
#include "svcdht/message.h"

namespace svcdht::sim {

using namespace core;

void Sim::liar_connect(uint32_t h, uint32_t t) {
    Event e;
    e.kind = E_CONNECT;
    e.a = h;
    e.b = t;
    e.at = now_ + 2 * link_latency(h, t);
    if (!hosts_[t]->up || !reachable(h, t)) return;
    push(e);
}

Session* Sim::liar(const Conn& c, int side) const {
    auto it = liars_.find(2 * uint64_t{c.id} + static_cast<uint64_t>(side));
    return it != liars_.end() ? it->second.get() : nullptr;
}

void Sim::drop_liar(const Conn& c, int side) {
    liars_.erase(2 * uint64_t{c.id} + static_cast<uint64_t>(side));
}

void Sim::liar_receive(Conn& c, int side, ByteView bytes) {
    Session& s = *liar(c, side);
    while (!bytes.empty()) {
        SessionEvent ev;
        const size_t n = s.recv(bytes, now_, &ev);
        bytes = bytes.subspan(n);
        // A liar answers early requests too: the requester believes the capability its
        // ident claims.
        if (ev.type == SessionEvent::Type::data || ev.type == SessionEvent::Type::early)
            liar_answer(c, side, ev.payload);
        if (ev.type == SessionEvent::Type::closed) {
            liar_flush(c, side);
            c.closed[side] = true;
            drop_liar(c, side);
            if (!c.dead && !c.closed[1 - side]) fin(c, 1 - side);
            release(c);
            return;
        }
        if (n == 0 && ev.type == SessionEvent::Type::none) break;
    }
    s.recv_done();
    liar_flush(c, side);
}

void Sim::liar_flush(Conn& c, int side) {
    Session* s = liar(c, side);
    if (s == nullptr || !s->has_tx()) return;
    Bytes out;
    s->take_tx(&out);
    s->tx_done(out.size());
    transmit(c, side, std::move(out));
}

void Sim::liar_answer(Conn& c, int side, ByteView payload) {
    Session& s = *liar(c, side);
    DhtMsg m;
    DecodeHeader hdr;
    if (decode_dht(payload, DEFAULT_MAX_VALUE_BYTES, &m, &hdr) != Err::ok || !m.is_request())
        return;
    // Sometimes garbage instead of an answer.
    if (rng_.unit() < 0.1) {
        Bytes junk(16 + rng_.below(200));
        rng_.fill(junk.data(), junk.size());
        (void)s.send_data(junk, now_);
        return;
    }
    DhtMsg r;
    r.op = m.op;
    r.rid = m.rid;
    r.f = MsgFlag::response;
    std::vector<NodeInfo> fake;
    const NodeId target = m.op == Op::find_node ? m.target : m.key;
    auto fabricate = [&]() {
        // Ids the liar cannot prove, nearer the target than any real node, pointing at
        // hostile addresses.
        for (uint32_t i = 0; i < cfg_.node.k && !hostile_hosts_.empty(); ++i) {
            NodeInfo n;
            n.id = target;
            n.id.b[31] = static_cast<uint8_t>(rng_.below(256));
            n.id.b[30] ^= static_cast<uint8_t>(1 + rng_.below(255));
            n.addr = hosts_[hostile_hosts_[rng_.below(hostile_hosts_.size())]]->addr;
            fake.push_back(n);
        }
        r.has_nodes = true;
        r.nodes = ItemList<NodeInfo>::of(fake);
    };
    switch (m.op) {
        case Op::ping:
            r.has_obs = true;
            r.obs = remote(c, side);
            break;
        case Op::find_node: fabricate(); break;
        case Op::get_providers:
            fabricate();
            r.has_providers = true;
            break;
        case Op::get_value:
            r.code = Code::not_found;
            fabricate();
            break;
        case Op::add_provider:
        case Op::put_value: break;
    }
    Bytes out;
    encode_dht(r, out);
    (void)s.send_data(out, now_);
}

}  // namespace svcdht::sim
