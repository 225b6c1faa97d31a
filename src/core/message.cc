// SPDX-License-Identifier: MIT
// DhtMsg and Ctrl codecs. Every field is type- and length-checked before use; lists are
// validated completely here so that later walks over their bytes cannot fail. Decoding
// allocates nothing; encoding appends to a caller-owned buffer.
#include "svcdht/message.h"

#include <algorithm>
#include <cstring>

#include "svcdht/blake3.h"

namespace svcdht::core {

// ---- ops and codes ------------------------------------------------------------------

const char* op_name(Op op) {
    switch (op) {
#define SVCDHT_OP_NAME(name, n) \
    case Op::name: return #name;
        SVCDHT_OPS(SVCDHT_OP_NAME)
#undef SVCDHT_OP_NAME
    }
    return "unknown";
}

namespace {
constexpr Code CODES[] = {
#define SVCDHT_CODE_LIST(name, n) Code::name,
    SVCDHT_CODES(SVCDHT_CODE_LIST)
#undef SVCDHT_CODE_LIST
};
constexpr const char* CODE_NAMES[] = {
#define SVCDHT_CODE_NAMES(name, n) #name,
    SVCDHT_CODES(SVCDHT_CODE_NAMES)
#undef SVCDHT_CODE_NAMES
};
static_assert(sizeof CODES / sizeof CODES[0] == CODE_COUNT);
}  // namespace

bool code_known(uint64_t v) {
    for (Code c : CODES)
        if (static_cast<uint64_t>(c) == v) return true;
    return false;
}

int code_index(Code c) {
    for (int i = 0; i < CODE_COUNT; ++i)
        if (CODES[i] == c) return i;
    return 0;
}

Code code_at(int index) {
    return CODES[index];
}

const char* code_name(Code c) {
    return CODE_NAMES[code_index(c)];
}

Code code_for_err(Err e) {
    switch (e) {
        case Err::ok: return Code::ok;
        case Err::bad_signature:
        case Err::pq_required: return Code::bad_signature;
        case Err::stale_record:
        case Err::record_expired: return Code::stale_record;
        case Err::value_too_large: return Code::too_large;
        case Err::store_full:
        case Err::busy: return Code::busy;
        case Err::not_found: return Code::not_found;
        case Err::quota_exceeded:
        case Err::store_peer_quota:
        case Err::store_prefix_quota: return Code::quota_exceeded;
        case Err::not_ready: return Code::not_ready;
        case Err::timeout: return Code::timeout;
        default: return Code::bad_request;
    }
}

Err err_for_code(Code c) {
    switch (c) {
        case Code::ok: return Err::ok;
        case Code::not_found: return Err::not_found;
        case Code::too_large: return Err::value_too_large;
        case Code::quota_exceeded: return Err::quota_exceeded;
        case Code::bad_signature: return Err::bad_signature;
        case Code::stale_record: return Err::stale_record;
        case Code::not_ready: return Err::not_ready;
        case Code::busy: return Err::busy;
        case Code::timeout: return Err::timeout;
        case Code::bad_request: return Err::remote_error;
    }
    return Err::remote_error;
}

// ---- helpers ----------------------------------------------------------------------

namespace {

Err read_fixed(CborReader& r, uint8_t* dst, size_t n) {
    ByteView v;
    if (Err e = r.read_bstr(&v); e != Err::ok) return e;
    if (v.size() != n) return Err::bad_field_length;
    std::memcpy(dst, v.data(), n);
    return Err::ok;
}

Err read_key(CborReader& r, MapKeys& keys, std::string_view* k) {
    if (Err e = r.read_tstr(k); e != Err::ok) return e;
    if (k->size() > CBOR_MAX_KEY_LEN) return Err::string_too_long;
    return keys.add(*k);
}

Err read_ip(CborReader& r, PeerAddr* a) {
    ByteView v;
    if (Err e = r.read_bstr(&v); e != Err::ok) return e;
    if (v.size() != 4 && v.size() != 16) return Err::bad_ip;
    std::memcpy(a->ip.data(), v.data(), v.size());
    a->ip_len = static_cast<uint8_t>(v.size());
    return Err::ok;
}

Err read_port(CborReader& r, uint16_t* port) {
    uint64_t p;
    if (Err e = r.read_uint(&p); e != Err::ok) return e;
    if (p > 65535) return Err::bad_port;
    *port = static_cast<uint16_t>(p);
    return Err::ok;
}

// read_list validates an array of T items and returns them as an ItemList over the bytes.
template <class T>
Err read_list(CborReader& r, ItemList<T>* out) {
    uint32_t n;
    if (Err e = r.read_array(&n); e != Err::ok) return e;
    const size_t start = r.offset();
    T tmp{};
    for (uint32_t i = 0; i < n; ++i)
        if (Err e = decode_item(r, &tmp); e != Err::ok) return e;
    *out = ItemList<T>::encoded(r.span_from(start), n, r.max_str());
    r.leave();
    return Err::ok;
}

template <class T>
void write_list(CborWriter& w, const ItemList<T>& l) {
    w.write_array(l.size());
    for (const T& item : l) encode_item(w, item);
}

void write_ip(CborWriter& w, const PeerAddr& a) {
    w.write_bstr({a.ip.data(), a.ip_len});
}

}  // namespace

// ---- items --------------------------------------------------------------------------

Err decode_item(CborReader& r, NodeInfo* out) {
    *out = NodeInfo{};
    uint32_t n;
    if (Err e = r.read_map(&n); e != Err::ok) return e;
    MapKeys keys;
    bool have_id = false, have_ip = false, have_port = false;
    for (uint32_t i = 0; i < n; ++i) {
        std::string_view k;
        if (Err e = read_key(r, keys, &k); e != Err::ok) return e;
        Err e = Err::ok;
        if (k == "id") {
            e = read_fixed(r, out->id.b.data(), ID_BYTES);
            have_id = true;
        } else if (k == "ip") {
            e = read_ip(r, &out->addr);
            have_ip = true;
        } else if (k == "port") {
            e = read_port(r, &out->addr.port);
            have_port = true;
        } else {
            e = r.skip();
        }
        if (e != Err::ok) return e;
    }
    r.leave();
    if (!have_id || !have_ip || !have_port) return Err::missing_field;
    return Err::ok;
}

void encode_item(CborWriter& w, const NodeInfo& n) {
    w.write_map(3);
    w.write_tstr("id");
    w.write_bstr(n.id.view());
    w.write_tstr("ip");
    write_ip(w, n.addr);
    w.write_tstr("port");
    w.write_uint(n.addr.port);
}

Err decode_item(CborReader& r, std::string_view* out) {
    return r.read_tstr(out);
}

void encode_item(CborWriter& w, std::string_view s) {
    w.write_tstr(s);
}

Err decode_item(CborReader& r, ProviderRecord* out) {
    *out = ProviderRecord{};
    uint32_t n;
    if (Err e = r.read_map(&n); e != Err::ok) return e;
    MapKeys keys;
    unsigned seen = 0;
    bool have_apk = false;
    ByteView sig;
    for (uint32_t i = 0; i < n; ++i) {
        std::string_view k;
        if (Err e = read_key(r, keys, &k); e != Err::ok) return e;
        Err e = Err::ok;
        if (k == "key") {
            e = read_fixed(r, out->key.b.data(), ID_BYTES);
            seen |= 1;
        } else if (k == "pk") {
            e = read_fixed(r, out->pk.data(), out->pk.size());
            seen |= 2;
        } else if (k == "addrs") {
            e = read_list(r, &out->addrs);
            seen |= 4;
        } else if (k == "ttl") {
            e = r.read_uint(&out->ttl);
            seen |= 8;
        } else if (k == "ts") {
            e = r.read_uint(&out->ts);
            seen |= 16;
        } else if (k == "sig") {
            e = r.read_bstr(&sig);
            if (e == Err::ok && sig.size() > MAX_RECORD_SIG_LEN) e = Err::bad_field_length;
            seen |= 32;
        } else if (k == "alg") {
            e = r.read_uint(&out->alg);
        } else if (k == "apk") {
            e = r.read_bstr(&out->apk);
            if (e == Err::ok && out->apk.size() > MAX_RECORD_APK_LEN) e = Err::bad_field_length;
            have_apk = true;
        } else {
            e = r.skip();
        }
        if (e != Err::ok) return e;
    }
    r.leave();
    if (seen != 63) return Err::missing_field;
    // Ed25519 (alg absent or 1): a 64-byte sig and no apk. Another algorithm: an apk, and
    // sizes its verifier checks at admission.
    if (out->alg == SIG_ED25519) {
        if (have_apk || sig.size() != out->sig.size()) return Err::bad_field_length;
        std::copy(sig.begin(), sig.end(), out->sig.begin());
    } else {
        if (!have_apk) return Err::missing_field;
        out->asig = sig;
    }
    return Err::ok;
}

void encode_item(CborWriter& w, const ProviderRecord& rec) {
    // Ed25519 records are written exactly as before algorithms existed (no alg, no apk),
    // so peers that predate them read them unchanged.
    const bool ed = rec.alg == SIG_ED25519;
    w.write_map(ed ? 6 : 8);
    w.write_tstr("key");
    w.write_bstr(rec.key.view());
    w.write_tstr("pk");
    w.write_bstr({rec.pk.data(), rec.pk.size()});
    w.write_tstr("addrs");
    write_list(w, rec.addrs);
    w.write_tstr("ttl");
    w.write_uint(rec.ttl);
    w.write_tstr("ts");
    w.write_uint(rec.ts);
    w.write_tstr("sig");
    w.write_bstr(ed ? ByteView{rec.sig.data(), rec.sig.size()} : rec.asig);
    if (!ed) {
        w.write_tstr("alg");
        w.write_uint(rec.alg);
        w.write_tstr("apk");
        w.write_bstr(rec.apk);
    }
}

// ---- DhtMsg ---------------------------------------------------------------------------

namespace {

Err decode_obs(CborReader& r, PeerAddr* a) {
    uint32_t n;
    if (Err e = r.read_array(&n); e != Err::ok) return e;
    if (n != 2) return Err::bad_field_length;
    if (Err e = read_ip(r, a); e != Err::ok) return e;
    if (Err e = read_port(r, &a->port); e != Err::ok) return e;
    r.leave();
    return Err::ok;
}

// check_fields enforces which fields each (op, flag, code) must carry.
Err check_fields(const DhtMsg& m) {
    if (m.is_request()) {
        switch (m.op) {
            case Op::ping: return Err::ok;
            case Op::find_node: return m.has_target ? Err::ok : Err::missing_field;
            case Op::get_providers:
            case Op::get_value: return m.has_key ? Err::ok : Err::missing_field;
            case Op::add_provider: return m.has_rec ? Err::ok : Err::missing_field;
            case Op::put_value: return m.has_key && m.has_val ? Err::ok : Err::missing_field;
        }
        return Err::bad_op;
    }
    if (m.code == Code::not_found && m.op == Op::get_value)
        return m.has_nodes ? Err::ok : Err::missing_field;
    if (m.code != Code::ok) return Err::ok;  // error answers carry no body
    switch (m.op) {
        case Op::ping: return m.has_obs ? Err::ok : Err::missing_field;
        case Op::find_node: return m.has_nodes ? Err::ok : Err::missing_field;
        case Op::get_providers:
            return m.has_providers && m.has_nodes ? Err::ok : Err::missing_field;
        case Op::get_value: return m.has_val ? Err::ok : Err::missing_field;
        case Op::add_provider:
        case Op::put_value: return Err::ok;
    }
    return Err::bad_op;
}

}  // namespace

Err decode_dht(ByteView in, size_t max_str, DhtMsg* out, DecodeHeader* hdr) {
    *out = DhtMsg{};
    *hdr = DecodeHeader{};
    CborReader r(in, max_str);
    uint32_t n;
    if (Err e = r.read_map(&n); e != Err::ok) return e;
    MapKeys keys;
    bool have_v = false, have_code = false;
    uint64_t code = 0;
    for (uint32_t i = 0; i < n; ++i) {
        std::string_view k;
        if (Err e = read_key(r, keys, &k); e != Err::ok) return e;
        Err e = Err::ok;
        if (k == "v") {
            e = r.read_uint(&out->v);
            have_v = true;
        } else if (k == "op") {
            // An op we do not know is reported after the rest of the header is read, so
            // the requester still gets its 1400 (a newer peer learns the op is unsupported
            // here without waiting out a timeout).
            e = r.read_uint(&hdr->op);
            if (e == Err::ok) {
                hdr->have_op = true;
                if (hdr->op_known()) out->op = static_cast<Op>(hdr->op);
            }
        } else if (k == "rid") {
            e = r.read_uint(&out->rid);
            if (e == Err::ok && out->rid == 0) e = Err::bad_rid;
            if (e == Err::ok) {
                hdr->rid = out->rid;
                hdr->have_rid = true;
            }
        } else if (k == "f") {
            uint64_t f;
            e = r.read_uint(&f);
            if (e == Err::ok && f != 1 && f != 2) e = Err::bad_flag;
            if (e == Err::ok) {
                out->f = static_cast<MsgFlag>(f);
                hdr->f = out->f;
                hdr->have_f = true;
            }
        } else if (k == "code") {
            e = r.read_uint(&code);
            have_code = true;
        } else if (k == "target") {
            e = read_fixed(r, out->target.b.data(), ID_BYTES);
            out->has_target = true;
        } else if (k == "key") {
            e = read_fixed(r, out->key.b.data(), ID_BYTES);
            out->has_key = true;
        } else if (k == "rec") {
            e = decode_item(r, &out->rec);
            out->has_rec = true;
        } else if (k == "val") {
            e = r.read_bstr(&out->val);
            out->has_val = true;
        } else if (k == "obs") {
            e = decode_obs(r, &out->obs);
            out->has_obs = true;
        } else if (k == "providers") {
            e = read_list(r, &out->providers);
            out->has_providers = true;
        } else if (k == "nodes") {
            e = read_list(r, &out->nodes);
            out->has_nodes = true;
        } else {
            e = r.skip();
        }
        if (e != Err::ok) return e;
    }
    r.leave();
    if (!r.at_end()) return Err::trailing_bytes;
    if (!hdr->have_op || !hdr->have_rid || !hdr->have_f || !have_v) return Err::missing_field;
    if (!hdr->op_known()) return Err::bad_op;
    if (out->v != 1) return Err::unsupported_version;
    if (out->f == MsgFlag::response) {
        if (!have_code) return Err::missing_field;
        if (!code_known(code)) return Err::bad_code;
        out->code = static_cast<Code>(code);
    }
    return check_fields(*out);
}

void encode_dht(const DhtMsg& m, Bytes& out) {
    CborWriter w(out);
    const bool resp = m.f == MsgFlag::response;
    uint64_t n = resp ? 5 : 4;
    for (bool present :
         {m.has_target, m.has_key, m.has_rec, m.has_val, m.has_obs, m.has_providers, m.has_nodes})
        n += present ? 1 : 0;
    w.write_map(n);
    w.write_tstr("v");
    w.write_uint(m.v);
    w.write_tstr("op");
    w.write_uint(static_cast<uint64_t>(m.op));
    w.write_tstr("rid");
    w.write_uint(m.rid);
    w.write_tstr("f");
    w.write_uint(static_cast<uint64_t>(m.f));
    if (resp) {
        w.write_tstr("code");
        w.write_uint(static_cast<uint64_t>(m.code));
    }
    if (m.has_target) {
        w.write_tstr("target");
        w.write_bstr(m.target.view());
    }
    if (m.has_key) {
        w.write_tstr("key");
        w.write_bstr(m.key.view());
    }
    if (m.has_rec) {
        w.write_tstr("rec");
        encode_item(w, m.rec);
    }
    if (m.has_val) {
        w.write_tstr("val");
        w.write_bstr(m.val);
    }
    if (m.has_obs) {
        w.write_tstr("obs");
        w.write_array(2);
        write_ip(w, m.obs);
        w.write_uint(m.obs.port);
    }
    if (m.has_providers) {
        w.write_tstr("providers");
        write_list(w, m.providers);
    }
    if (m.has_nodes) {
        w.write_tstr("nodes");
        write_list(w, m.nodes);
    }
}

void encode_error_answer(uint64_t op, uint64_t rid, Code code, Bytes& out) {
    CborWriter w(out);
    w.write_map(5);
    w.write_tstr("v");
    w.write_uint(1);
    w.write_tstr("op");
    w.write_uint(op);
    w.write_tstr("rid");
    w.write_uint(rid);
    w.write_tstr("f");
    w.write_uint(static_cast<uint64_t>(MsgFlag::response));
    w.write_tstr("code");
    w.write_uint(static_cast<uint64_t>(code));
}

// ---- Ctrl -----------------------------------------------------------------------------

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

// ---- provider records ------------------------------------------------------------------

void record_signing_bytes(const ProviderRecord& rec, Bytes& out) {
    const bool ed = rec.alg == SIG_ED25519;
    append(out, ed ? as_bytes(PROVIDER_CONTEXT) : as_bytes(PROVIDER_CONTEXT_V2));
    CborWriter w(out);
    w.write_array(ed ? 5 : 6);
    w.write_bstr(rec.key.view());
    w.write_bstr({rec.pk.data(), rec.pk.size()});
    write_list(w, rec.addrs);
    w.write_uint(rec.ttl);
    w.write_uint(rec.ts);
    if (!ed) w.write_uint(rec.alg);
}

void sign_record(ProviderRecord& rec, const Crypto& crypto, const SecretKey& sk) {
    Bytes msg;
    record_signing_bytes(rec, msg);
    rec.sig = crypto.sign(sk, msg);
}

bool addr_valid(std::string_view a) {
    if (a.size() > MAX_ADDR_LEN) return false;
    const size_t sep = a.find("://");
    if (sep == std::string_view::npos) return false;
    const std::string_view scheme = a.substr(0, sep);
    if (scheme != "tcp" && scheme != "quic" && scheme != "local" && scheme != "onion" &&
        scheme != "http" && scheme != "https")
        return false;
    const std::string_view rest = a.substr(sep + 3);
    if (rest.empty()) return false;
    for (char c : rest) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) return false;
    }
    return true;
}

Err admit_record(const ProviderRecord& rec, const Crypto& crypto, uint64_t now_unix,
                 uint64_t max_ttl, bool require_pq) {
    if (rec.addrs.size() > MAX_PROVIDER_ADDRS) return Err::too_many_addrs;
    for (std::string_view a : rec.addrs) {
        if (a.size() > MAX_ADDR_LEN) return Err::addr_too_long;
        if (!addr_valid(a)) return Err::bad_addr_scheme;
    }
    if (rec.ttl > max_ttl) return Err::ttl_too_large;
    if (rec.ts > now_unix + MAX_RECORD_SKEW_SECS) return Err::record_from_future;
    if (rec.ts + rec.ttl <= now_unix) return Err::record_expired;
    const SigVerifier* v = crypto.verifier(rec.alg);
    if (v == nullptr) return Err::unknown_sig_alg;
    Bytes msg;
    record_signing_bytes(rec, msg);
    if (rec.alg == SIG_ED25519) {
        if (!crypto.verify(rec.pk, msg, rec.sig)) return Err::bad_signature;
    } else {
        if (rec.apk.size() != v->pk_len() || rec.asig.size() != v->sig_len())
            return Err::bad_field_length;
        // pk names the publisher: it must be the fingerprint of the key that signed.
        const auto fp = blake3(rec.apk);
        if (!std::equal(fp.begin(), fp.end(), rec.pk.begin())) return Err::bad_signature;
        if (!v->verify(rec.apk, msg, rec.asig)) return Err::bad_signature;
    }
    // Policy last: only a record that verifies counts as a downgrade attempt.
    if (require_pq && !v->post_quantum()) return Err::pq_required;
    return Err::ok;
}

}  // namespace svcdht::core
