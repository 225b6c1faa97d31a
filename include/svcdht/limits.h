// SPDX-License-Identifier: MIT
// Every size, count and time limit of the wire layer, in one place, each with the reason
// for its value. Configurable limits have their default here and their key in the config
// table (src/daemon/config.cc).
#pragma once

#include <cstddef>
#include <cstdint>

#include "svcdht/types.h"

namespace svcdht::core {

// OAP/1 (DESIGN 3.1). The HELLO is fixed; a frame length counts the kind byte and the
// payload, and 1 MiB is the overlay's limit, kept for compatibility with svc-overlay v1.
inline constexpr size_t HELLO_LEN = 9;
inline constexpr size_t FRAME_HEADER_LEN = 5;  // len:u32 + kind:u8
inline constexpr uint32_t MAX_FRAME_LEN = 1'048'576;
// Before a session authenticates, frames are capped at what the handshake needs: an ident
// is under 200 bytes, an auth about 80 and a Ctrl error at most ~300. A stranger who
// announces more is closed at once, so an unauthenticated connection never costs more than
// this in reassembly memory.
inline constexpr uint32_t HANDSHAKE_MAX_FRAME_LEN = 1024;
// The third framing violation (oversize or empty frame) in one session closes it: two are
// forgiven so a peer with a slightly larger limit is told (Ctrl 1413) rather than cut off.
inline constexpr int MAX_FRAME_VIOLATIONS = 3;

// CBOR subset (DESIGN 3.2). Depth 4 is what the deepest message needs (map > providers
// array > record map > addrs array); 64 bounds any list a peer can make us walk.
inline constexpr int CBOR_MAX_DEPTH = 4;
inline constexpr uint32_t CBOR_MAX_ARRAY = 64;
// The largest message map has 9 keys; 32 leaves room for keys a newer peer may add
// (readers ignore unknown keys) while bounding the duplicate-key check to 32*32 compares.
inline constexpr uint32_t CBOR_MAX_MAP = 32;
// Map keys are short field names; 64 bytes bounds what a hostile key costs to compare.
inline constexpr size_t CBOR_MAX_KEY_LEN = 64;

// Values and records.
inline constexpr size_t DEFAULT_MAX_VALUE_BYTES = 16384;
inline constexpr size_t MAX_PROVIDER_ADDRS = 8;
inline constexpr size_t MAX_ADDR_LEN = 256;
// A record may be dated up to 300 s ahead, to absorb clock skew between publisher and
// holder without letting a publisher pin a record far in the future.
inline constexpr uint64_t MAX_RECORD_SKEW_SECS = 300;
inline constexpr uint64_t DEFAULT_TTL_SECS = 86400;
inline constexpr uint64_t DEFAULT_MAX_TTL_SECS = 172800;
// Provider-record keys and signatures of algorithms other than Ed25519: room for the
// largest standard post-quantum signature scheme of the ML-DSA family (ML-DSA-87: 2,592-byte
// keys, 4,627-byte signatures), which is what a registered verifier could bring.
inline constexpr size_t MAX_RECORD_APK_LEN = 2592;
inline constexpr size_t MAX_RECORD_SIG_LEN = 4627;
// The network id travels in every ident; 64 bytes is plenty for a name.
inline constexpr size_t MAX_NETWORK_ID_LEN = 64;
// Ctrl err messages carry a short human text for operators reading a capture.
inline constexpr size_t MAX_CTRL_MSG_LEN = 256;

// Session defaults (DESIGN 3.1, 7).
inline constexpr Time DEFAULT_HANDSHAKE_TIMEOUT = msec(2000);
inline constexpr Time DEFAULT_IDLE_TIMEOUT = msec(60000);
// The transmit queue of one session: 256 frames or 512 KiB, whichever comes first. A
// FIND_NODE answer is ~1.5 KiB and a value at most 16 KiB, so this holds hundreds of
// answers for a healthy peer while a peer that stops reading costs at most 512 KiB.
inline constexpr uint32_t DEFAULT_TX_MAX_FRAMES = 256;
inline constexpr size_t DEFAULT_TX_MAX_BYTES = 512 * 1024;

// Node-wide memory for every session together (settable: max_reassembly_bytes and
// max_tx_queue_bytes). Per-session limits bound one peer; these bound all of them, so 500
// connections that each hold most of a 1 MiB frame cost 4 MiB, not 500 MiB. Micronode
// defaults fit an edge board; macronode ones a server.
inline constexpr size_t DEFAULT_RX_BUDGET = 4u << 20;
inline constexpr size_t DEFAULT_TX_BUDGET = 8u << 20;

// The engine's settings: each default and the range the daemon accepts ({min, max}), read
// by NodeConfig, the config table (src/daemon/config.cc) and dht-sim alike. The defaults
// are DESIGN 7's; the ranges keep a setting meaningful (k below 2 is no table, alpha above
// 16 floods the network, a hop budget above 32 is never needed under 2^32 nodes).
struct Range {
    uint64_t min, max;
    constexpr bool holds(uint64_t v) const { return v >= min && v <= max; }
};
inline constexpr uint32_t DEFAULT_K = 20;
inline constexpr Range K_RANGE{2, 64};
inline constexpr uint32_t DEFAULT_ALPHA = 3;
inline constexpr Range ALPHA_RANGE{1, 16};
inline constexpr uint32_t DEFAULT_BETA = 1;
inline constexpr Range BETA_RANGE{0, 16};  // and at most alpha
inline constexpr uint32_t DEFAULT_DISJOINT = 1;
inline constexpr Range DISJOINT_RANGE{1, 8};
inline constexpr uint32_t DEFAULT_REPLICA = 3;
inline constexpr Range REPLICA_RANGE{1, 20};
inline constexpr uint32_t DEFAULT_HOP_BUDGET = 6;
inline constexpr Range HOP_BUDGET_RANGE{1, 32};
inline constexpr uint64_t DEFAULT_RPC_TIMEOUT_MS = 1500;
inline constexpr Range RPC_TIMEOUT_MS_RANGE{50, 60000};
inline constexpr uint64_t DEFAULT_HEDGE_AFTER_MS = 250;
// With adaptive_timeout an RPC is given the round trips it needs times srtt + 4 rttvar
// (RFC 6298), never less than rpc_timeout and never more than this many times it: a peer
// that answers ever slower cannot hold our RPCs longer than that. Twice covers links of
// 400 ms one way (a query on a new connection answered after 2 round trips of up to
// 1.6 s together); four times let a GET with one query in flight and no hedge wait on
// nodes ten times slower than the rest until its deadline (docs/PERFORMANCE.md).
inline constexpr Time ADAPTIVE_TIMEOUT_MAX_FACTOR = 2;
// Sessions to routing-table contacts kept open by pings (NodeConfig::warm_sessions).
inline constexpr uint32_t DEFAULT_WARM_SESSIONS = 32;
inline constexpr Range WARM_SESSIONS_RANGE{0, 4096};
// The adaptive hedge delay never goes below this (loopback and LAN round trips are
// microseconds; hedging on scheduling noise would only add RPCs).
inline constexpr Time MIN_HEDGE_DELAY = msec(10);
// A lookup query unanswered after this many hedge delays no longer holds the lookup's end
// (unless it is the nearest candidate): slow enough to be an outlier, not a far link. With
// the default 250 ms, 1.25 s: on 20/100 ms links a factor of 3 let 5.6 % of node lookups
// miss one of the true k closest, 5 lets 0.6 % (docs/PERFORMANCE.md).
inline constexpr Time LATE_FACTOR = 5;
inline constexpr Range HEDGE_AFTER_MS_RANGE{1, 60000};
inline constexpr uint64_t DEFAULT_DEADLINE_MS = 5000;
inline constexpr Range DEADLINE_MS_RANGE{100, 600000};
// A value fits one frame with its message around it; a ttl is at most a year.
inline constexpr Range MAX_VALUE_BYTES_RANGE{64, 1048000};
inline constexpr Range TTL_SECS_RANGE{1, 31536000};  // ttl_secs, max_ttl_secs

// Domain separation strings for the two things svc-dht signs.
inline constexpr char AUTH_CONTEXT[] = "svc-dht/auth/v1";
inline constexpr char PROVIDER_CONTEXT[] = "svc-dht/provider/v1";
inline constexpr char PROVIDER_CONTEXT_V2[] = "svc-dht/provider/v2";  // alg != Ed25519

}  // namespace svcdht::core
