// SPDX-License-Identifier: MIT
// Fuzz target: DhtMsg and Ctrl decoding. Whatever decodes must re-encode, decode again, and
// re-encode to the same bytes (decode -> encode -> decode gives the same message).
#include <cstdint>
#include <cstdlib>

#include "svcdht/ctrl.h"
#include "svcdht/message.h"

using namespace svcdht::core;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const ByteView in(data, size);
    DhtMsg m;
    DecodeHeader h;
    if (decode_dht(in, DEFAULT_MAX_VALUE_BYTES, &m, &h) == Err::ok) {
        Bytes e1;
        encode_dht(m, e1);
        DhtMsg m2;
        DecodeHeader h2;
        if (decode_dht(e1, DEFAULT_MAX_VALUE_BYTES, &m2, &h2) != Err::ok) std::abort();
        Bytes e2;
        encode_dht(m2, e2);
        if (e1 != e2) std::abort();
        if (m2.op != m.op || m2.rid != m.rid || m2.f != m.f || m2.code != m.code) std::abort();
        if (m2.nodes.size() != m.nodes.size() || m2.providers.size() != m.providers.size())
            std::abort();
    } else if (h.answerable() && (h.rid == 0 || !h.have_op)) {
        std::abort();  // an answerable header always has an op and a non-zero rid
    }
    CtrlMsg c;
    if (decode_ctrl(in, &c) == Err::ok) {
        Bytes e1;
        encode_ctrl(c, e1);
        CtrlMsg c2;
        if (decode_ctrl(e1, &c2) != Err::ok) std::abort();
        Bytes e2;
        encode_ctrl(c2, e2);
        if (e1 != e2) std::abort();
    }
    return 0;
}
