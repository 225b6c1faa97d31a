// SPDX-License-Identifier: MIT
// OAP/1 framing (DESIGN 3.1): the 9-byte HELLO and the incremental frame decoder
// `len:u32 BE | kind:u8 | payload[len-1]`. The decoder takes bytes split anywhere, hands
// out complete payloads (zero-copy when a frame arrives whole), and discards oversize
// and unknown-kind frames as they stream in without ever buffering them.
#pragma once

#include <array>
#include <cstdint>

#include "svcdht/bytes.h"
#include "svcdht/err.h"
#include "svcdht/limits.h"

namespace svcdht::core {

inline constexpr std::array<uint8_t, 4> OAP_MAGIC = {'O', 'A', 'P', '1'};
inline constexpr uint8_t OAP_VERSION = 1;
inline constexpr uint32_t CAP_GOSSIP_V1 = 1u << 0;

enum class FrameKind : uint8_t { data = 0x01, ctrl = 0x02 };

// encode_hello writes the 9-byte HELLO: "OAP1", version 1, caps (big-endian).
void encode_hello(uint8_t out[HELLO_LEN], uint32_t caps = CAP_GOSSIP_V1);

// check_hello validates a peer's HELLO.
// Errors: bad_magic, bad_version, missing_caps. The caller closes the connection.
[[nodiscard]] Err check_hello(const uint8_t in[HELLO_LEN]);

// append_frame appends one frame holding |payload| to |out|.
void append_frame(Bytes& out, FrameKind kind, ByteView payload);

struct FrameEvent {
    enum class Type : uint8_t {
        none,          // all input consumed, no complete event yet
        frame,         // |kind| and |payload| hold a Data or Ctrl frame
        unknown_kind,  // a frame of kind |raw_kind| began; its bytes are being skipped
        oversize,      // a frame header announced |len| > max; its bytes are being skipped
        empty,         // a frame header announced len 0 (no kind byte)
    };
    Type type = Type::none;
    FrameKind kind = FrameKind::data;
    uint8_t raw_kind = 0;
    uint32_t len = 0;
    ByteView payload;  // valid until the next call to FrameDecoder::next
};

class FrameDecoder {
public:
    explicit FrameDecoder(uint32_t max_len = MAX_FRAME_LEN) : max_len_(max_len) {}

    // next consumes bytes of |in| until one event is complete or |in| is used up, and
    // returns how many bytes it consumed. Call it again with the rest of the input until
    // it returns an event of type none. Never fails: protocol violations are events, and
    // the session decides what they cost.
    size_t next(ByteView in, FrameEvent* ev);

    // buffered returns the bytes held for a partial frame (the memory a peer costs us).
    size_t buffered() const { return buf_.size(); }
    // held returns the reassembly memory reserved, partial frame or not.
    size_t held() const { return buf_.capacity(); }
    // release_buffer frees the partial-frame buffer's memory when it holds no partial
    // frame; the payload of the last event is invalid afterwards.
    void release_buffer();

private:
    enum class State : uint8_t { header, body, discard };
    uint32_t max_len_;
    State state_ = State::header;
    uint8_t hdr_[4] = {0, 0, 0, 0};
    uint8_t hdr_have_ = 0;
    uint32_t len_ = 0;            // frame length being read (kind + payload)
    uint32_t discard_ = 0;        // bytes still to skip
    Bytes buf_;                   // partial frame (kind + payload), only when split
    bool pending_clear_ = false;  // buf_ held the last event's payload
};

}  // namespace svcdht::core
