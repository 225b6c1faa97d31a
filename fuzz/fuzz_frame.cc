// SPDX-License-Identifier: MIT
// Fuzz target: the OAP/1 frame stream. The first input byte seeds how the rest is cut into
// chunks; the events from the chunked stream must equal the events from the whole stream
// (reassembly is split-invariant), the partial-frame buffer never exceeds the frame limit,
// and every payload goes through the DhtMsg or Ctrl decoder.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "svcdht/ctrl.h"
#include "svcdht/env.h"
#include "svcdht/frame.h"
#include "svcdht/message.h"

using namespace svcdht::core;

namespace {

constexpr uint32_t FUZZ_MAX_FRAME = 4096;  // small, so oversize discards are common

struct Ev {
    FrameEvent::Type type;
    uint8_t kind;
    uint32_t len;
    Bytes payload;
    bool operator==(const Ev&) const = default;
};

std::vector<Ev> run(ByteView in, SeededRng* chunker) {
    FrameDecoder d(FUZZ_MAX_FRAME);
    std::vector<Ev> out;
    size_t pos = 0;
    while (pos < in.size()) {
        size_t n = in.size() - pos;
        if (chunker != nullptr) n = 1 + chunker->below(std::min<size_t>(n, 300));
        ByteView piece = in.subspan(pos, n);
        pos += n;
        for (;;) {
            FrameEvent ev;
            const size_t used = d.next(piece, &ev);
            piece = piece.subspan(used);
            if (d.buffered() > FUZZ_MAX_FRAME) std::abort();
            if (ev.type == FrameEvent::Type::none) break;
            Ev e{ev.type,
                 ev.type == FrameEvent::Type::frame ? static_cast<uint8_t>(ev.kind) : ev.raw_kind,
                 ev.len, Bytes(ev.payload.begin(), ev.payload.end())};
            if (ev.type == FrameEvent::Type::frame) {
                if (ev.payload.size() + 1 != ev.len) std::abort();
                if (ev.kind == FrameKind::data) {
                    DhtMsg m;
                    DecodeHeader h;
                    (void)decode_dht(ev.payload, DEFAULT_MAX_VALUE_BYTES, &m, &h);
                } else {
                    CtrlMsg c;
                    (void)decode_ctrl(ev.payload, &c);
                }
            }
            out.push_back(std::move(e));
        }
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const ByteView in(data + 1, size - 1);
    const auto whole = run(in, nullptr);
    SeededRng chunker(data[0]);
    const auto chunked = run(in, &chunker);
    if (whole != chunked) std::abort();
    return 0;
}
