// SPDX-License-Identifier: MIT
// OAP/1 framing (DESIGN 3.1): the 9-byte HELLO and the incremental frame decoder
// `len:u32 BE | kind:u8 | payload[len-1]`. The decoder takes bytes split anywhere, hands
// out complete payloads (zero-copy when a frame arrives whole), and discards oversize
// and unknown-kind frames as they stream in without ever buffering them.
#pragma once

#include <array>
#include <cstdint>

#include "svcdht/budget.h"
#include "svcdht/bytes.h"
#include "svcdht/err.h"
#include "svcdht/limits.h"

namespace svcdht::core {

inline constexpr std::array<uint8_t, 4> OAP_MAGIC = {'O', 'A', 'P', '1'};
inline constexpr uint8_t OAP_VERSION = 1;
inline constexpr uint32_t CAP_GOSSIP_V1 = 1u << 0;
// CAP_EARLY_REQUEST: this side answers one read request (PING, FIND_NODE, GET_PROVIDERS,
// GET_VALUE) that arrives right behind the peer's ident, before the peer's auth
// (docs/PROTOCOL.md 1.3). Peers from before it leave the bit clear and ignore it.
inline constexpr uint32_t CAP_EARLY_REQUEST = 1u << 1;

enum class FrameKind : uint8_t { data = 0x01, ctrl = 0x02 };

// encode_hello writes the 9-byte HELLO: "OAP1", version 1, caps (big-endian).
void encode_hello(uint8_t out[HELLO_LEN], uint32_t caps = CAP_GOSSIP_V1);

// check_hello validates a peer's HELLO.
// Errors: bad_magic, bad_version, missing_caps. The caller closes the connection.
[[nodiscard]] Err check_hello(const uint8_t in[HELLO_LEN]);
// hello_caps returns the capability bits of a HELLO.
uint32_t hello_caps(const uint8_t in[HELLO_LEN]);

// append_frame appends one frame holding |payload| to |out|.
void append_frame(Bytes& out, FrameKind kind, ByteView payload);

struct FrameEvent {
    enum class Type : uint8_t {
        none,          // all input consumed, no complete event yet
        frame,         // |kind| and |payload| hold a Data or Ctrl frame
        unknown_kind,  // a frame of kind |raw_kind| began; its bytes are being skipped
        oversize,      // a frame header announced |len| > max; its bytes are being skipped
        empty,         // a frame header announced len 0 (no kind byte)
        over_budget,   // a split frame needed more buffer than the node-wide budget has;
                       // the decoder is stuck (it consumes and ignores all further input)
    };
    Type type = Type::none;
    FrameKind kind = FrameKind::data;
    uint8_t raw_kind = 0;
    uint32_t len = 0;
    ByteView payload;  // valid until the next call to FrameDecoder::next
};

class FrameDecoder {
public:
    // |budget|, if given, is charged for the reassembly buffer's memory while it is held.
    explicit FrameDecoder(uint32_t max_len = MAX_FRAME_LEN, ByteBudget* budget = nullptr)
        : max_len_(max_len), budget_(budget) {}
    ~FrameDecoder();
    FrameDecoder(const FrameDecoder&) = delete;
    FrameDecoder& operator=(const FrameDecoder&) = delete;

    // set_max_len changes the largest frame accepted from the next frame header on (a
    // session raises it from the handshake's limit once the peer has authenticated).
    void set_max_len(uint32_t max_len) { max_len_ = max_len; }

    // next consumes bytes of |in| until one event is complete or |in| is used up, and
    // returns how many bytes it consumed. Call it again with the rest of the input until
    // it returns an event of type none. Never fails: protocol violations are events, and
    // the session decides what they cost.
    size_t next(ByteView in, FrameEvent* ev);

    // buffered returns the bytes held for a partial frame (the memory a peer costs us).
    size_t buffered() const { return buf_.size(); }
    // held returns the reassembly memory reserved, partial frame or not.
    size_t held() const { return buf_.capacity(); }
    // has_partial says a split frame is being reassembled (its buffer is held).
    bool has_partial() const { return state_ == State::body && !buf_.empty(); }
    // abandon frees the buffer whatever it holds and ignores all further input (the
    // session closed).
    void abandon() {
        free_buffer();
        state_ = State::stuck;
    }
    // release_buffer frees the partial-frame buffer's memory when it holds no partial
    // frame; the payload of the last event is invalid afterwards.
    void release_buffer();

private:
    enum class State : uint8_t { header, body, discard, stuck };
    void free_buffer();

    uint32_t max_len_;
    uint32_t charged_ = 0;  // bytes of budget_ held for buf_ (at most a frame's length)
    ByteBudget* budget_;
    State state_ = State::header;
    uint8_t hdr_[4] = {0, 0, 0, 0};
    uint8_t hdr_have_ = 0;
    bool pending_clear_ = false;  // buf_ held the last event's payload
    uint32_t len_ = 0;            // frame length being read (kind + payload)
    uint32_t discard_ = 0;        // bytes still to skip
    Bytes buf_;                   // partial frame (kind + payload), only when split
};

}  // namespace svcdht::core
