// SPDX-License-Identifier: MIT
// The DhtMsg codec: operations and codes, NodeInfo and address items, and the message map.
// Every field is type- and length-checked before use; lists are validated completely here
// so that later walks over their bytes cannot fail. Decoding allocates nothing; encoding
// appends to a caller-owned buffer. Ctrl messages are in ctrl.cc, records in record.cc.
#include "svcdht/message.h"

#include "codec.h"

#include <algorithm>
#include <cstring>

#include "svcdht/blake3.h"

namespace svcdht::core {

using namespace codec;

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
        case Err::store_unavailable:
        case Err::degraded:
        case Err::writes_shed:
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

// ---- items --------------------------------------------------------------------------

namespace {
// The canonical NodeInfo around its id, ip and port: map(3), "id", bstr(32) + id, "ip",
// bstr(4 or 16) + ip, "port", then the port as the shortest uint.
constexpr uint8_t NODE_HEAD[] = {0xa3, 0x62, 'i', 'd', 0x58, ID_BYTES};
constexpr uint8_t NODE_IP[] = {0x62, 'i', 'p'};
constexpr uint8_t NODE_PORT[] = {0x64, 'p', 'o', 'r', 't'};
constexpr size_t NODE_MAX =
    sizeof NODE_HEAD + ID_BYTES + sizeof NODE_IP + 1 + 16 + sizeof NODE_PORT + 3;
}  // namespace

bool decode_node_canonical(CborReader& r, NodeInfo* out) {
    // The general walk enters a map and reads strings of up to 32 bytes: where it would
    // fail on that alone, so must this.
    if (r.error() != Err::ok || !r.can_enter() || r.max_str() < ID_BYTES) return false;
    const ByteView in = r.rest();
    size_t at = sizeof NODE_HEAD;
    if (in.size() < at + ID_BYTES + sizeof NODE_IP + 1 ||
        std::memcmp(in.data(), NODE_HEAD, at) != 0)
        return false;
    NodeInfo n;
    std::memcpy(n.id.b.data(), in.data() + at, ID_BYTES);
    at += ID_BYTES;
    if (std::memcmp(in.data() + at, NODE_IP, sizeof NODE_IP) != 0) return false;
    at += sizeof NODE_IP;
    const uint8_t ip_head = in[at++];
    const size_t ip_len = ip_head == 0x44 ? 4 : ip_head == 0x50 ? 16 : 0;
    if (ip_len == 0 || in.size() < at + ip_len + sizeof NODE_PORT + 1) return false;
    std::memcpy(n.addr.ip.data(), in.data() + at, ip_len);
    n.addr.ip_len = static_cast<uint8_t>(ip_len);
    at += ip_len;
    if (std::memcmp(in.data() + at, NODE_PORT, sizeof NODE_PORT) != 0) return false;
    at += sizeof NODE_PORT;
    const uint8_t port_head = in[at++];
    if (port_head < 24) {
        n.addr.port = port_head;
    } else if (port_head == 0x18 && in.size() > at) {
        n.addr.port = in[at++];
    } else if (port_head == 0x19 && in.size() >= at + 2) {
        n.addr.port = static_cast<uint16_t>(in[at] << 8 | in[at + 1]);
        at += 2;
    } else {
        return false;
    }
    r.consume(at);
    *out = n;
    return true;
}

Err decode_item(CborReader& r, NodeInfo* out) {
    return decode_node_canonical(r, out) ? Err::ok : decode_node_map(r, out);
}

Err decode_node_map(CborReader& r, NodeInfo* out) {
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

// encode_item writes the canonical form in one append: the bytes of write_map(3),
// write_tstr("id"), write_bstr(id), write_tstr("ip"), write_ip, write_tstr("port") and
// write_uint(port).
void encode_item(CborWriter& w, const NodeInfo& n) {
    uint8_t buf[NODE_MAX];
    size_t at = 0;
    auto put = [&](const uint8_t* p, size_t len) {
        std::memcpy(buf + at, p, len);
        at += len;
    };
    put(NODE_HEAD, sizeof NODE_HEAD);
    put(n.id.b.data(), ID_BYTES);
    put(NODE_IP, sizeof NODE_IP);
    const size_t ip_len = std::min<size_t>(n.addr.ip_len, 16);
    buf[at++] = static_cast<uint8_t>(0x40 | ip_len);
    put(n.addr.ip.data(), ip_len);
    put(NODE_PORT, sizeof NODE_PORT);
    const uint16_t port = n.addr.port;
    if (port < 24) {
        buf[at++] = static_cast<uint8_t>(port);
    } else if (port <= 0xff) {
        buf[at++] = 0x18;
        buf[at++] = static_cast<uint8_t>(port);
    } else {
        buf[at++] = 0x19;
        buf[at++] = static_cast<uint8_t>(port >> 8);
        buf[at++] = static_cast<uint8_t>(port);
    }
    w.write_encoded({buf, at});
}

Err decode_item(CborReader& r, std::string_view* out) {
    return r.read_tstr(out);
}

void encode_item(CborWriter& w, std::string_view s) {
    w.write_tstr(s);
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

}  // namespace svcdht::core
