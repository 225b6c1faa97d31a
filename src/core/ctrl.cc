// SPDX-License-Identifier: MIT
// The Ctrl codec: ident, auth and err, the handshake and notices of DESIGN 3.1.
#include "svcdht/ctrl.h"

#include <cstring>

#include "codec.h"

namespace svcdht::core {

using namespace codec;

Err decode_ctrl(ByteView in, CtrlMsg* out) {
    *out = CtrlMsg{};
    CborReader r(in, MAX_CTRL_MSG_LEN);
    uint32_t n;
    if (Err e = r.read_map(&n); e != Err::ok) return e;
    MapKeys keys;
    unsigned seen = 0;
    enum : unsigned { T = 1, V = 2, PK = 4, NONCE = 8, NET = 16, PORT = 32, SIG = 64, CODE = 128 };
    std::string_view t;
    for (uint32_t i = 0; i < n; ++i) {
        std::string_view k;
        if (Err e = read_key(r, keys, &k); e != Err::ok) return e;
        Err e = Err::ok;
        if (k == "t") {
            e = r.read_tstr(&t);
            seen |= T;
        } else if (k == "v") {
            e = r.read_uint(&out->v);
            seen |= V;
        } else if (k == "pk") {
            e = read_fixed(r, out->pk.data(), out->pk.size());
            seen |= PK;
        } else if (k == "nonce") {
            e = read_fixed(r, out->nonce.data(), out->nonce.size());
            seen |= NONCE;
        } else if (k == "net") {
            e = r.read_tstr(&out->net);
            if (e == Err::ok && out->net.size() > MAX_NETWORK_ID_LEN) e = Err::string_too_long;
            seen |= NET;
        } else if (k == "port") {
            e = read_port(r, &out->port);
            seen |= PORT;
        } else if (k == "sig") {
            e = read_fixed(r, out->sig.data(), out->sig.size());
            seen |= SIG;
        } else if (k == "code") {
            uint64_t c;
            e = r.read_uint(&c);
            if (e == Err::ok && c > 0xffff) e = Err::bad_code;
            out->code = static_cast<uint16_t>(c);
            seen |= CODE;
        } else if (k == "msg") {
            e = r.read_tstr(&out->msg);
        } else {
            e = r.skip();
        }
        if (e != Err::ok) return e;
    }
    r.leave();
    if (!r.at_end()) return Err::trailing_bytes;
    if (!(seen & T)) return Err::missing_field;
    if (t == "ident") {
        out->t = CtrlType::ident;
        const unsigned need = V | PK | NONCE | NET | PORT;
        if ((seen & need) != need) return Err::missing_field;
        if (out->v != 1) return Err::unsupported_version;
    } else if (t == "auth") {
        out->t = CtrlType::auth;
        if (!(seen & SIG)) return Err::missing_field;
    } else if (t == "err") {
        out->t = CtrlType::err;
        if (!(seen & CODE)) return Err::missing_field;
    } else {
        return Err::bad_ctrl_type;
    }
    return Err::ok;
}

void encode_ctrl(const CtrlMsg& m, Bytes& out) {
    CborWriter w(out);
    switch (m.t) {
        case CtrlType::ident:
            w.write_map(6);
            w.write_tstr("t");
            w.write_tstr("ident");
            w.write_tstr("v");
            w.write_uint(m.v);
            w.write_tstr("pk");
            w.write_bstr({m.pk.data(), m.pk.size()});
            w.write_tstr("nonce");
            w.write_bstr({m.nonce.data(), m.nonce.size()});
            w.write_tstr("net");
            w.write_tstr(m.net);
            w.write_tstr("port");
            w.write_uint(m.port);
            break;
        case CtrlType::auth:
            w.write_map(2);
            w.write_tstr("t");
            w.write_tstr("auth");
            w.write_tstr("sig");
            w.write_bstr({m.sig.data(), m.sig.size()});
            break;
        case CtrlType::err:
            w.write_map(3);
            w.write_tstr("t");
            w.write_tstr("err");
            w.write_tstr("code");
            w.write_uint(m.code);
            w.write_tstr("msg");
            w.write_tstr(m.msg);
            break;
    }
}

}  // namespace svcdht::core
