// SPDX-License-Identifier: MIT
// OAP/1 HELLO and the incremental frame decoder, including every split point of a stream
// and the oversize discard mode that never buffers the discarded bytes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "svcdht/frame.h"
#include "util.h"

using namespace svcdht::core;
using svcdht::test::to_hex;

namespace {

// feed decodes |stream| delivered in the given pieces and records every event as text:
// "data:<hex>", "ctrl:<hex>", "unknown:<kind>", "oversize:<len>" or "empty".
std::vector<std::string> feed(FrameDecoder& d, const Bytes& stream, const std::vector<size_t>& cuts,
                              size_t* max_buffered = nullptr) {
    std::vector<std::string> out;
    size_t prev = 0;
    std::vector<size_t> ends = cuts;
    ends.push_back(stream.size());
    for (size_t end : ends) {
        ByteView piece = ByteView(stream).subspan(prev, end - prev);
        prev = end;
        while (true) {
            FrameEvent ev;
            const size_t n = d.next(piece, &ev);
            piece = piece.subspan(n);
            if (max_buffered) *max_buffered = std::max(*max_buffered, d.buffered());
            switch (ev.type) {
                case FrameEvent::Type::none: break;
                case FrameEvent::Type::frame:
                    out.push_back((ev.kind == FrameKind::data ? "data:" : "ctrl:") +
                                  to_hex(ev.payload));
                    break;
                case FrameEvent::Type::unknown_kind:
                    out.push_back("unknown:" + std::to_string(ev.raw_kind));
                    break;
                case FrameEvent::Type::oversize:
                    out.push_back("oversize:" + std::to_string(ev.len));
                    break;
                case FrameEvent::Type::empty: out.push_back("empty"); break;
                case FrameEvent::Type::over_budget:
                    out.push_back("over_budget:" + std::to_string(ev.len));
                    break;
            }
            if (ev.type == FrameEvent::Type::none) break;
        }
    }
    return out;
}

Bytes sample_stream() {
    Bytes s;
    append_frame(s, FrameKind::data, Bytes{1, 2, 3});
    append_frame(s, FrameKind::ctrl, Bytes{});
    // unknown kind 7 with 4 payload bytes
    const uint8_t unk[] = {0, 0, 0, 5, 7, 9, 9, 9, 9};
    s.insert(s.end(), unk, unk + sizeof unk);
    append_frame(s, FrameKind::data, Bytes(300, 0xee));
    const uint8_t empty[] = {0, 0, 0, 0};
    s.insert(s.end(), empty, empty + 4);
    append_frame(s, FrameKind::data, Bytes{0x42});
    return s;
}

}  // namespace

TEST(Hello, EncodeAndCheck) {
    uint8_t h[HELLO_LEN];
    encode_hello(h);
    EXPECT_EQ(to_hex({h, HELLO_LEN}),
              "4f41503101"
              "00000001");
    EXPECT_EQ(check_hello(h), Err::ok);
    uint8_t bad[HELLO_LEN];
    std::copy(h, h + HELLO_LEN, bad);
    bad[0] = 'X';
    EXPECT_EQ(check_hello(bad), Err::bad_magic);
    std::copy(h, h + HELLO_LEN, bad);
    bad[4] = 2;
    EXPECT_EQ(check_hello(bad), Err::bad_version);
    encode_hello(bad, 0x2);
    EXPECT_EQ(check_hello(bad), Err::missing_caps);
    encode_hello(bad, 0xffffffff);  // unknown extra capability bits are fine
    EXPECT_EQ(check_hello(bad), Err::ok);
    // The node's own HELLO offers early requests next to GOSSIP_V1 (docs/PROTOCOL.md 1.1).
    encode_hello(h, CAP_GOSSIP_V1 | CAP_EARLY_REQUEST);
    EXPECT_EQ(to_hex({h, HELLO_LEN}),
              "4f41503101"
              "00000003");
    EXPECT_EQ(hello_caps(h), CAP_GOSSIP_V1 | CAP_EARLY_REQUEST);
    EXPECT_EQ(check_hello(h), Err::ok);
}

TEST(Frame, DecodesWholeStream) {
    FrameDecoder d;
    const auto seen = feed(d, sample_stream(), {});
    const std::vector<std::string> want = {
        "data:010203", "ctrl:", "unknown:7", "data:" + std::string(600, 'e'), "empty", "data:42"};
    EXPECT_EQ(seen, want);
}

TEST(Frame, EverySplitPointGivesTheSameEvents) {
    const Bytes s = sample_stream();
    FrameDecoder ref;
    const auto want = feed(ref, s, {});
    for (size_t cut = 0; cut <= s.size(); ++cut) {
        FrameDecoder d;
        EXPECT_EQ(feed(d, s, {cut}), want) << "cut " << cut;
    }
    // And every pair of split points within the first frames.
    for (size_t a = 0; a < 40; ++a)
        for (size_t b = a; b < 40; ++b) {
            FrameDecoder d;
            EXPECT_EQ(feed(d, s, {a, b}), want) << a << "," << b;
        }
    // One byte at a time.
    std::vector<size_t> ones;
    for (size_t i = 1; i < s.size(); ++i) ones.push_back(i);
    FrameDecoder d;
    EXPECT_EQ(feed(d, s, ones), want);
}

TEST(Frame, OversizeIsDiscardedWithoutBuffering) {
    FrameDecoder d(1024);
    Bytes s;
    const uint8_t hdr[] = {0, 0, 0x10, 0x00, 1};  // len 4096 > 1024
    s.insert(s.end(), hdr, hdr + sizeof hdr);
    s.insert(s.end(), 4095, 0xaa);
    append_frame(s, FrameKind::data, Bytes{7});
    std::vector<size_t> cuts;
    for (size_t i = 100; i < s.size(); i += 100) cuts.push_back(i);
    size_t max_buf = 0;
    const auto seen = feed(d, s, cuts, &max_buf);
    const std::vector<std::string> want = {"oversize:4096", "data:07"};
    EXPECT_EQ(seen, want);
    EXPECT_EQ(max_buf, 0u) << "discarded bytes must not be buffered";
}

TEST(Frame, MaximumFrameIsAccepted) {
    FrameDecoder d;
    Bytes s;
    append_frame(s, FrameKind::data, Bytes(MAX_FRAME_LEN - 1, 1));
    const auto seen = feed(d, s, {3, 70000});
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].substr(0, 5), "data:");
    Bytes t;
    const uint8_t hdr[] = {0, 0x10, 0, 1};  // MAX_FRAME_LEN + 1
    t.insert(t.end(), hdr, hdr + 4);
    FrameDecoder d2;
    EXPECT_EQ(feed(d2, t, {})[0], "oversize:" + std::to_string(MAX_FRAME_LEN + 1));
}

TEST(Frame, UnknownKindIsSkippedWithoutBuffering) {
    FrameDecoder d;
    Bytes s = {0, 0, 0x08, 0x01, 0x33};  // len 2049, kind 0x33
    s.insert(s.end(), 2048, 0);
    append_frame(s, FrameKind::ctrl, Bytes{5});
    size_t max_buf = 0;
    const auto seen = feed(d, s, {6, 1000}, &max_buf);
    const std::vector<std::string> want = {"unknown:51", "ctrl:05"};
    EXPECT_EQ(seen, want);
    EXPECT_EQ(max_buf, 0u);
}

TEST(Frame, ReleaseFreesASplitFrameOnceItsPayloadIsUsed) {
    FrameDecoder d;
    Bytes s;
    append_frame(s, FrameKind::data, Bytes(1200, 0x42));
    const ByteView all(s);
    FrameEvent ev;
    EXPECT_EQ(d.next(all.first(700), &ev), 700u);
    EXPECT_EQ(ev.type, FrameEvent::Type::none);
    d.release_buffer();  // a partial frame is kept
    EXPECT_EQ(d.buffered(), 700u - FRAME_HEADER_LEN + 1);
    EXPECT_EQ(d.next(all.subspan(700), &ev), s.size() - 700);
    ASSERT_EQ(ev.type, FrameEvent::Type::frame);
    EXPECT_EQ(ev.payload.size(), 1200u);
    EXPECT_GE(d.held(), 1201u);
    d.release_buffer();  // the payload was used: nothing stays reserved
    EXPECT_EQ(d.held(), 0u);
    EXPECT_EQ(d.next(all.first(3), &ev), 3u);  // and the decoder goes on
    EXPECT_EQ(d.next(all.subspan(3), &ev), s.size() - 3);
    EXPECT_EQ(ev.type, FrameEvent::Type::frame);
}
