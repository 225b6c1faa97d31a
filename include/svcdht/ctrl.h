// SPDX-License-Identifier: MIT
// Ctrl messages (frame kind 0x02): ident and auth, the identity handshake of DESIGN 3.1, and
// err, a notice with a code and a short text. Decoded into views over the frame.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "svcdht/bytes.h"
#include "svcdht/env.h"
#include "svcdht/err.h"

namespace svcdht::core {

enum class CtrlType : uint8_t { ident, auth, err };

struct CtrlMsg {
    CtrlType t = CtrlType::err;
    // ident
    uint64_t v = 1;
    PublicKey pk{};
    std::array<uint8_t, 32> nonce{};
    std::string_view net;
    uint16_t port = 0;
    // auth
    Signature sig{};
    // err
    uint16_t code = 0;
    std::string_view msg;
};

// decode_ctrl parses a Ctrl payload. Errors: CBOR errors, bad_ctrl_type, missing_field,
// bad_field_length, unsupported_version, bad_port, string_too_long.
[[nodiscard]] Err decode_ctrl(ByteView in, CtrlMsg* out);
void encode_ctrl(const CtrlMsg& m, Bytes& out);

}  // namespace svcdht::core
