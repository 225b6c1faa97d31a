// SPDX-License-Identifier: MIT
// OAP/1 HELLO and the incremental frame decoder. The partial-frame buffer grows only with
// bytes that actually arrived (never with a length a peer announced), and discarded
// frames are skipped byte-count only.
#include "svcdht/frame.h"

#include <algorithm>
#include <cstring>

namespace svcdht::core {

void encode_hello(uint8_t out[HELLO_LEN], uint32_t caps) {
    std::memcpy(out, OAP_MAGIC.data(), OAP_MAGIC.size());
    out[4] = OAP_VERSION;
    store_be32(out + 5, caps);
}

Err check_hello(const uint8_t in[HELLO_LEN]) {
    if (std::memcmp(in, OAP_MAGIC.data(), OAP_MAGIC.size()) != 0) return Err::bad_magic;
    if (in[4] != OAP_VERSION) return Err::bad_version;
    if ((hello_caps(in) & CAP_GOSSIP_V1) == 0) return Err::missing_caps;
    return Err::ok;
}

uint32_t hello_caps(const uint8_t in[HELLO_LEN]) {
    return load_be32(in + 5);
}

void append_frame(Bytes& out, FrameKind kind, ByteView payload) {
    // Header and payload in one growth: a session's transmit buffer starts every turn
    // empty, and the header inserted first was an allocation of its own.
    const size_t at = out.size();
    out.resize(at + FRAME_HEADER_LEN + payload.size());
    uint8_t* p = out.data() + at;
    store_be32(p, static_cast<uint32_t>(payload.size() + 1));
    p[4] = static_cast<uint8_t>(kind);
    std::copy(payload.begin(), payload.end(), p + FRAME_HEADER_LEN);
}

namespace {
// The first reassembly buffer of a split frame; it doubles as bytes arrive (never beyond
// the announced length), so a peer that announces 1 MiB and sends 10 bytes costs 4 KiB.
constexpr size_t FIRST_BUFFER = 4096;
}  // namespace

FrameDecoder::~FrameDecoder() {
    free_buffer();
}

void FrameDecoder::free_buffer() {
    Bytes().swap(buf_);
    if (budget_ != nullptr) budget_->give(charged_);
    charged_ = 0;
}

void FrameDecoder::release_buffer() {
    if (buf_.empty() || pending_clear_) {
        free_buffer();
        pending_clear_ = false;
    }
}

size_t FrameDecoder::next(ByteView in, FrameEvent* ev) {
    ev->type = FrameEvent::Type::none;
    if (state_ == State::stuck) return in.size();
    if (pending_clear_) {
        // Free the reassembly buffer between split frames: most frames arrive whole, and a
        // session that is mostly idle should not keep a frame's worth of memory.
        free_buffer();
        pending_clear_ = false;
    }
    size_t pos = 0;
    while (pos < in.size()) {
        switch (state_) {
            case State::header: {
                const size_t take = std::min<size_t>(4 - hdr_have_, in.size() - pos);
                std::memcpy(hdr_ + hdr_have_, in.data() + pos, take);
                hdr_have_ = static_cast<uint8_t>(hdr_have_ + take);
                pos += take;
                if (hdr_have_ < 4) break;
                hdr_have_ = 0;
                len_ = load_be32(hdr_);
                if (len_ == 0) {
                    ev->type = FrameEvent::Type::empty;
                    return pos;
                }
                if (len_ > max_len_) {
                    state_ = State::discard;
                    discard_ = len_;
                    ev->type = FrameEvent::Type::oversize;
                    ev->len = len_;
                    return pos;
                }
                state_ = State::body;
                break;
            }
            case State::body: {
                const size_t avail = in.size() - pos;
                if (buf_.empty()) {
                    // Look at the kind byte first: an unknown kind is skipped unbuffered.
                    const uint8_t kind = in[pos];
                    if (kind != static_cast<uint8_t>(FrameKind::data) &&
                        kind != static_cast<uint8_t>(FrameKind::ctrl)) {
                        state_ = State::discard;
                        discard_ = len_;
                        ev->type = FrameEvent::Type::unknown_kind;
                        ev->raw_kind = kind;
                        ev->len = len_;
                        return pos;
                    }
                    if (avail >= len_) {
                        // The whole frame is here: hand out a view, copy nothing.
                        ev->type = FrameEvent::Type::frame;
                        ev->kind = static_cast<FrameKind>(kind);
                        ev->len = len_;
                        ev->payload = in.subspan(pos + 1, len_ - 1);
                        pos += len_;
                        state_ = State::header;
                        return pos;
                    }
                }
                const size_t take = std::min<size_t>(len_ - buf_.size(), avail);
                if (buf_.size() + take > buf_.capacity()) {
                    // Grow by doubling, charged to the node-wide budget before allocating.
                    const size_t want = std::min<size_t>(
                        len_, std::max({buf_.size() + take, 2 * buf_.capacity(), FIRST_BUFFER}));
                    if (budget_ != nullptr && !budget_->take(want - charged_)) {
                        free_buffer();
                        state_ = State::stuck;
                        ev->type = FrameEvent::Type::over_budget;
                        ev->len = len_;
                        return in.size();
                    }
                    buf_.reserve(want);
                    charged_ = static_cast<uint32_t>(want);
                }
                buf_.insert(buf_.end(), in.begin() + static_cast<std::ptrdiff_t>(pos),
                            in.begin() + static_cast<std::ptrdiff_t>(pos + take));
                pos += take;
                if (buf_.size() == len_) {
                    ev->type = FrameEvent::Type::frame;
                    ev->kind = static_cast<FrameKind>(buf_[0]);
                    ev->len = len_;
                    ev->payload = ByteView(buf_).subspan(1);
                    state_ = State::header;
                    // The view points into buf_; clear it lazily on the next call.
                    pending_clear_ = true;
                    return pos;
                }
                break;
            }
            case State::stuck: return in.size();
            case State::discard: {
                const size_t take = std::min<size_t>(discard_, in.size() - pos);
                discard_ -= static_cast<uint32_t>(take);
                pos += take;
                if (discard_ == 0) state_ = State::header;
                break;
            }
        }
    }
    return pos;
}

}  // namespace svcdht::core
