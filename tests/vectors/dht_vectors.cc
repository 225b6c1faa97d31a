// SPDX-License-Identifier: MIT
// dht-vectors: the bridge between our codec and independent tools.
//   dht-vectors list          one JSON line per sample message: its name, the hex of its
//                             encoding, and the values it must decode to (written from the
//                             message struct, not from the CBOR bytes)
//   dht-vectors decode HEX    decode a DhtMsg (or, with --ctrl, a Ctrl message) and print
//                             its values the same way, or {"error": name}
//   dht-vectors corpus DIR    write every sample (and edge cases) as fuzz seeds under DIR
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "svcdht/ctrl.h"
#include "svcdht/frame.h"
#include "svcdht/message.h"
#include "svcdht/session.h"
#include "util.h"

using namespace svcdht::core;
using namespace svcdht::test;

namespace {

std::string jbytes(ByteView b) {
    return "{\"$bytes\":\"" + to_hex(b) + "\"}";
}
std::string jstr(std::string_view s) {
    std::string o = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\';
        o += c;
    }
    return o + "\"";
}

std::string json_node(const NodeInfo& n) {
    return "{\"id\":" + jbytes(n.id.view()) +
           ",\"ip\":" + jbytes({n.addr.ip.data(), n.addr.ip_len}) +
           ",\"port\":" + std::to_string(n.addr.port) + "}";
}

std::string json_record(const ProviderRecord& r) {
    std::string addrs = "[";
    bool first = true;
    for (std::string_view a : r.addrs) {
        if (!first) addrs += ",";
        first = false;
        addrs += jstr(a);
    }
    addrs += "]";
    const bool ed = r.alg == SIG_ED25519;
    return "{\"key\":" + jbytes(r.key.view()) + ",\"pk\":" + jbytes({r.pk.data(), r.pk.size()}) +
           ",\"addrs\":" + addrs + ",\"ttl\":" + std::to_string(r.ttl) +
           ",\"ts\":" + std::to_string(r.ts) +
           ",\"sig\":" + (ed ? jbytes({r.sig.data(), r.sig.size()}) : jbytes(r.asig)) +
           (ed ? "" : ",\"alg\":" + std::to_string(r.alg) + ",\"apk\":" + jbytes(r.apk)) + "}";
}

std::string json_msg(const DhtMsg& m) {
    std::string o =
        "{\"v\":" + std::to_string(m.v) + ",\"op\":" + std::to_string(static_cast<int>(m.op)) +
        ",\"rid\":" + std::to_string(m.rid) + ",\"f\":" + std::to_string(static_cast<int>(m.f));
    if (m.f == MsgFlag::response) o += ",\"code\":" + std::to_string(static_cast<int>(m.code));
    if (m.has_target) o += ",\"target\":" + jbytes(m.target.view());
    if (m.has_key) o += ",\"key\":" + jbytes(m.key.view());
    if (m.has_rec) o += ",\"rec\":" + json_record(m.rec);
    if (m.has_val) o += ",\"val\":" + jbytes(m.val);
    if (m.has_obs)
        o += ",\"obs\":[" + jbytes({m.obs.ip.data(), m.obs.ip_len}) + "," +
             std::to_string(m.obs.port) + "]";
    if (m.has_providers) {
        o += ",\"providers\":[";
        bool first = true;
        for (const ProviderRecord& r : m.providers) {
            if (!first) o += ",";
            first = false;
            o += json_record(r);
        }
        o += "]";
    }
    if (m.has_nodes) {
        o += ",\"nodes\":[";
        bool first = true;
        for (const NodeInfo& n : m.nodes) {
            if (!first) o += ",";
            first = false;
            o += json_node(n);
        }
        o += "]";
    }
    return o + "}";
}

std::string json_ctrl(const CtrlMsg& c) {
    switch (c.t) {
        case CtrlType::ident:
            return "{\"t\":\"ident\",\"v\":" + std::to_string(c.v) +
                   ",\"pk\":" + jbytes({c.pk.data(), 32}) +
                   ",\"nonce\":" + jbytes({c.nonce.data(), 32}) + ",\"net\":" + jstr(c.net) +
                   ",\"port\":" + std::to_string(c.port) + "}";
        case CtrlType::auth: return "{\"t\":\"auth\",\"sig\":" + jbytes({c.sig.data(), 64}) + "}";
        case CtrlType::err:
            return "{\"t\":\"err\",\"code\":" + std::to_string(c.code) + ",\"msg\":" + jstr(c.msg) +
                   "}";
    }
    return "{}";
}

void write_file(const std::string& path, ByteView b) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

void mkdirs(const std::string& d) {
    ::mkdir(d.c_str(), 0755);
}

int corpus(const std::string& dir) {
    Samples s;
    mkdirs(dir);
    for (const char* t : {"fuzz_message", "fuzz_frame", "fuzz_record", "fuzz_session"})
        mkdirs(dir + "/" + t);
    for (const auto& [name, m] : s.dht()) {
        const Bytes b = encode(m);
        write_file(dir + "/fuzz_message/" + name, b);
        Bytes fr;
        fr.push_back(0x03);  // first byte: chunking seed for the frame target
        append_frame(fr, FrameKind::data, b);
        write_file(dir + "/fuzz_frame/" + name, fr);
        if (m.has_rec || m.has_providers) write_file(dir + "/fuzz_record/" + name, b);
    }
    for (const auto& [name, c] : s.ctrl()) {
        Bytes fr = {0x01};
        append_frame(fr, FrameKind::ctrl, encode(c));
        write_file(dir + "/fuzz_frame/ctrl_" + name, fr);
    }
    {
        Bytes bare;
        CborWriter w(bare);
        encode_item(w, s.record());
        write_file(dir + "/fuzz_record/bare_record", bare);
    }
    // Frame edge cases: oversize, empty, unknown kind, split header.
    const Bytes edge_over = {0x00, 0x00, 0x10, 0x00, 0x01, 0x01};
    const Bytes edge_empty = {0x05, 0, 0, 0, 0, 0, 0, 0, 2, 1, 7};
    const Bytes edge_unknown = {0x02, 0, 0, 0, 3, 9, 1, 2, 0, 0, 0, 2, 1, 5};
    write_file(dir + "/fuzz_frame/oversize", edge_over);
    write_file(dir + "/fuzz_frame/empty", edge_empty);
    write_file(dir + "/fuzz_frame/unknown_kind", edge_unknown);
    // Message edge cases: indefinite map, deep nesting, a tag, duplicate keys.
    write_file(dir + "/fuzz_message/indefinite", from_hex("bf617601ff"));
    write_file(dir + "/fuzz_message/deep",
               from_hex("a4617601626f7001637269640161660161788181818101"));
    write_file(dir + "/fuzz_message/tag", from_hex("a16176c001"));
    write_file(dir + "/fuzz_message/dup", from_hex("a2617601617602"));
    // Session scripts (see fuzz/fuzz_session.cc for the operations).
    {
        const Bytes honest = {1, 5, 1, 3, 4, 'a', 'b', 'c', 'd', 1, 3, 1, 'z', 1};
        write_file(dir + "/fuzz_session/honest_open_then_data", honest);
        const Bytes flipped = {1, 5, 2, 40, 3, 2, 'h', 'i', 1};
        write_file(dir + "/fuzz_session/flipped_auth", flipped);
        const Bytes timeout = {1, 4, 200};
        write_file(dir + "/fuzz_session/handshake_timeout", timeout);
        Bytes raw = {0, 9, 'O', 'A', 'P', '2', 1, 0, 0, 0, 1};
        write_file(dir + "/fuzz_session/bad_magic", raw);
        Bytes early = {1, 0};
        Bytes frame;
        append_frame(frame, FrameKind::data, encode(s.dht()[0].msg));
        early.push_back(static_cast<uint8_t>(frame.size()));
        early.insert(early.end(), frame.begin(), frame.end());
        write_file(dir + "/fuzz_session/data_before_auth", early);
        // The peer's request right behind its ident, answered before its auth arrives.
        const Bytes early_request = {6, 3, 'a', 'b', 'c', 5, 1, 5, 1};
        write_file(dir + "/fuzz_session/early_request", early_request);
        Bytes idle = honest;
        idle.push_back(4);
        idle.push_back(255);
        write_file(dir + "/fuzz_session/idle", idle);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "list") {
        Samples s;
        for (const auto& [name, m] : s.dht())
            std::printf("{\"kind\":\"dht\",\"name\":%s,\"hex\":\"%s\",\"expect\":%s}\n",
                        jstr(name).c_str(), to_hex(encode(m)).c_str(), json_msg(m).c_str());
        for (const auto& [name, c] : s.ctrl())
            std::printf("{\"kind\":\"ctrl\",\"name\":%s,\"hex\":\"%s\",\"expect\":%s}\n",
                        jstr(name).c_str(), to_hex(encode(c)).c_str(), json_ctrl(c).c_str());
        return 0;
    }
    if (cmd == "decode" && argc > 2) {
        const bool ctrl = argc > 3 && std::string(argv[3]) == "--ctrl";
        const Bytes b = from_hex(argv[2]);
        if (ctrl) {
            CtrlMsg c;
            const Err e = decode_ctrl(b, &c);
            std::printf("%s\n", e == Err::ok
                                    ? json_ctrl(c).c_str()
                                    : ("{\"error\":\"" + std::string(err_name(e)) + "\"}").c_str());
            return 0;
        }
        DhtMsg m;
        DecodeHeader h;
        const Err e = decode_dht(b, DEFAULT_MAX_VALUE_BYTES, &m, &h);
        std::printf("%s\n", e == Err::ok
                                ? json_msg(m).c_str()
                                : ("{\"error\":\"" + std::string(err_name(e)) + "\"}").c_str());
        return 0;
    }
    if (cmd == "corpus" && argc > 2) return corpus(argv[2]);
    std::fprintf(stderr, "usage: dht-vectors list | decode HEX [--ctrl] | corpus DIR\n");
    return 2;
}
