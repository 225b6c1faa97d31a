// SPDX-License-Identifier: MIT
// Fuzz target: the Session handshake and framing, fed by a fuzzed peer. The input is a
// script of operations on a link between our Session and an honest peer Session:
//   0 LEN bytes...  deliver raw bytes to our session
//   1               deliver the honest peer's pending output (real signatures)
//   2 IDX           deliver the peer's pending output with byte IDX flipped
//   3 LEN bytes...  the peer sends a Data frame with these bytes (once it is open)
//   4 MS            advance time by MS*20 ms and fire both sessions' timers
//   5               deliver our pending output to the peer
//   6 LEN bytes...  the peer sends an early request with these bytes (before it is open)
// Our session answers each early event it reports with one Data frame.
// Invariants: a session opens only with the peer id of the other side's key (no input can
// prove another key);
// events after closed never appear; a session is never open with the wrong network; an
// early event comes at most once per session, and never once it is open.
#include <cstdint>
#include <cstdlib>

#include "svcdht/message.h"
#include "svcdht/session.h"
#include "util.h"

using namespace svcdht::core;
using svcdht::test::crypto;

namespace {

struct Side {
    Identity id;
    SessionConfig cfg;
    SeededRng rng;
    Session s;
    bool closed = false;
    int early = 0;
    Side(uint8_t seed, uint64_t rng_seed, Time now)
        : id(svcdht::test::identity(seed)),
          cfg(make_cfg()),
          rng(rng_seed),
          s(cfg, id, Env{&rng, &crypto(), nullptr}, now) {}
    static SessionConfig make_cfg() {
        SessionConfig c;
        c.max_frame_len = 2048;
        c.tx_max_frames = 16;
        c.tx_max_bytes = 16384;
        return c;
    }
};

// feed delivers |bytes| to |side|, whose peer is |other|.
void feed(Side& side, const Side& other, ByteView bytes, Time now) {
    while (!bytes.empty()) {
        SessionEvent ev;
        const size_t n = side.s.recv(bytes, now, &ev);
        bytes = bytes.subspan(n);
        if (ev.type != SessionEvent::Type::none && side.closed) std::abort();
        if (ev.type == SessionEvent::Type::closed) side.closed = true;
        if (ev.type == SessionEvent::Type::early) {
            if (side.s.is_open() || ++side.early > 1) std::abort();
            const uint8_t answer[] = {0xa0};
            (void)side.s.send_data(answer, now);
        }
        if (ev.type == SessionEvent::Type::opened && side.s.peer_id() != other.id.id) std::abort();
        if (n == 0 && ev.type == SessionEvent::Type::none) break;
    }
}

Bytes take(Side& side) {
    Bytes out;
    side.s.take_tx(&out);
    side.s.tx_done(out.size());
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Time now = 0;
    Side ours(1, 101, now), peer(2, 202, now);
    size_t i = 0;
    auto byte = [&]() -> uint8_t { return i < size ? data[i++] : 0; };
    int steps = 0;
    while (i < size && steps++ < 64) {
        switch (byte() % 7) {
            case 0: {
                const size_t len = std::min<size_t>(byte(), size - i);
                feed(ours, peer, {data + i, len}, now);
                i += len;
                break;
            }
            case 1: feed(ours, peer, take(peer), now); break;
            case 2: {
                Bytes out = take(peer);
                if (!out.empty()) out[byte() % out.size()] ^= 0x01;
                feed(ours, peer, out, now);
                break;
            }
            case 3: {
                const size_t len = std::min<size_t>(byte(), size - i);
                (void)peer.s.send_data({data + i, len}, now);
                i += len;
                break;
            }
            case 4: {
                now += msec(20) * byte();
                SessionEvent ev;
                ours.s.on_timer(now, &ev);
                if (ev.type == SessionEvent::Type::closed) ours.closed = true;
                peer.s.on_timer(now, &ev);
                break;
            }
            case 5: feed(peer, ours, take(ours), now); break;
            case 6: {
                const size_t len = std::min<size_t>(byte(), size - i);
                (void)peer.s.send_early({data + i, len}, now);
                i += len;
                break;
            }
        }
        if (ours.s.is_open() && ours.closed) std::abort();
    }
    return 0;
}
