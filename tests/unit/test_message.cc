// SPDX-License-Identifier: MIT
// DhtMsg and Ctrl codecs: round trips of every message, and every reject rule of DESIGN
// 3.2 (duplicate keys, indefinite lengths, depth, array and string limits, wrong types,
// missing fields, truncation at every byte offset), plus the 1400-answerable header.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "svcdht/ctrl.h"
#include "svcdht/message.h"
#include "util.h"

using namespace svcdht::core;
using namespace svcdht::test;

namespace {

Err decode(const Bytes& b, DhtMsg* m = nullptr, DecodeHeader* h = nullptr, size_t max_str = 16384) {
    DhtMsg tmp;
    DecodeHeader th;
    return decode_dht(b, max_str, m ? m : &tmp, h ? h : &th);
}

// build writes a top-level map from (key, writer) pairs, in the order given.
using Field = std::pair<std::string, std::function<void(CborWriter&)>>;
Bytes build(const std::vector<Field>& fields) {
    Bytes b;
    CborWriter w(b);
    w.write_map(fields.size());
    for (const auto& [k, f] : fields) {
        w.write_tstr(k);
        f(w);
    }
    return b;
}
std::function<void(CborWriter&)> u(uint64_t v) {
    return [v](CborWriter& w) { w.write_uint(v); };
}
std::function<void(CborWriter&)> bs(Bytes v) {
    return [v](CborWriter& w) { w.write_bstr(v); };
}
std::function<void(CborWriter&)> ts(std::string v) {
    return [v](CborWriter& w) { w.write_tstr(v); };
}
std::vector<Field> find_node_req_fields() {
    return {{"v", u(1)}, {"op", u(2)}, {"rid", u(9)}, {"f", u(1)}, {"target", bs(Bytes(32, 1))}};
}

}  // namespace

TEST(Message, EverySampleRoundTrips) {
    Samples s;
    for (const auto& [name, m] : s.dht()) {
        const Bytes b = encode(m);
        DhtMsg d;
        DecodeHeader h;
        ASSERT_EQ(decode_dht(b, 16384, &d, &h), Err::ok) << name;
        EXPECT_EQ(encode(d), b) << name << ": re-encoding a decoded message changed it";
        EXPECT_EQ(d.op, m.op) << name;
        EXPECT_EQ(d.rid, m.rid) << name;
        EXPECT_EQ(d.f, m.f) << name;
        EXPECT_EQ(d.code, m.code) << name;
        EXPECT_EQ(d.nodes.size(), m.nodes.size()) << name;
        auto it = m.nodes.begin();
        for (const NodeInfo& n : d.nodes) {
            EXPECT_EQ(n, *it) << name;
            ++it;
        }
        EXPECT_EQ(d.providers.size(), m.providers.size()) << name;
        EXPECT_TRUE(bytes_equal(d.val, m.val)) << name;
        EXPECT_EQ(d.obs, m.obs) << name;
    }
}

TEST(Message, FixedKeyOrderAndWorkedExample) {
    DhtMsg m;
    m.op = Op::ping;
    m.rid = 1;
    // {"v":1,"op":1,"rid":1,"f":1}
    EXPECT_EQ(to_hex(encode(m)),
              "a4617601626f7001637269640161660"
              "1");
}

TEST(Message, AcceptsAnyKeyOrderAndIgnoresUnknownKeys) {
    auto f = find_node_req_fields();
    std::reverse(f.begin(), f.end());
    f.insert(f.begin() + 2, {"zz_future", [](CborWriter& w) {
                                 w.write_array(2);
                                 w.write_tstr("x");
                                 w.write_map(0);
                             }});
    DhtMsg m;
    ASSERT_EQ(decode(build(f), &m), Err::ok);
    EXPECT_EQ(m.op, Op::find_node);
    EXPECT_EQ(m.rid, 9u);
    EXPECT_EQ(m.target, id_of_byte(1));
}

TEST(Message, RejectsDuplicateKeys) {
    auto f = find_node_req_fields();
    f.push_back({"rid", u(10)});
    EXPECT_EQ(decode(build(f)), Err::duplicate_key);
    auto g = find_node_req_fields();
    g.push_back({"zz", u(1)});
    g.push_back({"zz", u(2)});
    EXPECT_EQ(decode(build(g)), Err::duplicate_key) << "duplicates among unknown keys too";
}

TEST(Message, RejectsIndefiniteLengths) {
    Bytes b = {0xbf};  // indefinite map
    EXPECT_EQ(decode(b), Err::indefinite_length);
    Bytes body = build({{"v", u(1)}, {"op", u(2)}, {"rid", u(9)}, {"f", u(1)}});
    body[0] = 0xa5;  // one more entry: "target" as an indefinite byte string
    const Bytes tail = from_hex(
        "66746172676574"
        "5f4101ff");
    body.insert(body.end(), tail.begin(), tail.end());
    EXPECT_EQ(decode(body), Err::indefinite_length);
}

TEST(Message, RejectsDepthBeyondFour) {
    auto f = find_node_req_fields();
    f.push_back({"x", [](CborWriter& w) {
                     for (int i = 0; i < 4; ++i) w.write_array(1);
                     w.write_uint(0);
                 }});
    EXPECT_EQ(decode(build(f)), Err::depth_exceeded);
    auto g = find_node_req_fields();
    g.push_back({"x", [](CborWriter& w) {
                     for (int i = 0; i < 3; ++i) w.write_array(1);
                     w.write_uint(0);
                 }});
    EXPECT_EQ(decode(build(g)), Err::ok);
}

TEST(Message, RejectsArraysLongerThan64) {
    auto nodes = [](int n) {
        return [n](CborWriter& w) {
            w.write_array(static_cast<uint64_t>(n));
            for (int i = 0; i < n; ++i) {
                w.write_map(3);
                w.write_tstr("id");
                w.write_bstr(Bytes(32, 3));
                w.write_tstr("ip");
                w.write_bstr(Bytes{1, 2, 3, 4});
                w.write_tstr("port");
                w.write_uint(1);
            }
        };
    };
    const std::vector<Field> base = {
        {"v", u(1)}, {"op", u(2)}, {"rid", u(9)}, {"f", u(2)}, {"code", u(1000)}};
    auto ok = base;
    ok.push_back({"nodes", nodes(64)});
    DhtMsg m;
    ASSERT_EQ(decode(build(ok), &m), Err::ok);
    EXPECT_EQ(m.nodes.size(), 64u);
    auto bad = base;
    bad.push_back({"nodes", nodes(65)});
    EXPECT_EQ(decode(build(bad)), Err::array_too_long);
}

TEST(Message, RejectsStringsLongerThanMaxValueBytes) {
    const std::vector<Field> f = {{"v", u(1)},
                                  {"op", u(5)},
                                  {"rid", u(9)},
                                  {"f", u(1)},
                                  {"key", bs(Bytes(32, 0))},
                                  {"val", bs(Bytes(101, 0))}};
    EXPECT_EQ(decode(build(f), nullptr, nullptr, 100), Err::string_too_long);
    EXPECT_EQ(decode(build(f), nullptr, nullptr, 101), Err::ok);
}

TEST(Message, RejectsWrongTypes) {
    const std::vector<std::pair<std::string, std::function<void(CborWriter&)>>> bad = {
        {"v", ts("1")},
        {"op", bs(Bytes{2})},
        {"rid", ts("x")},
        {"f", [](CborWriter& w) { w.write_bool(true); }},
        {"target", u(5)}};
    for (const auto& [key, writer] : bad) {
        auto f = find_node_req_fields();
        for (auto& fld : f)
            if (fld.first == key) fld.second = writer;
        EXPECT_EQ(decode(build(f)), Err::wrong_type) << key;
    }
    // A top level that is not a map.
    EXPECT_EQ(decode(from_hex("80")), Err::wrong_type);
    // A map key that is not text.
    EXPECT_EQ(decode(from_hex("a10101")), Err::wrong_type);
}

TEST(Message, RejectsBadValuesWithPreciseErrors) {
    auto with = [](const std::string& key, std::function<void(CborWriter&)> w) {
        auto f = find_node_req_fields();
        for (auto& fld : f)
            if (fld.first == key) fld.second = w;
        return build(f);
    };
    EXPECT_EQ(decode(with("op", u(7))), Err::bad_op);
    EXPECT_EQ(decode(with("op", u(0))), Err::bad_op);
    EXPECT_EQ(decode(with("rid", u(0))), Err::bad_rid);
    EXPECT_EQ(decode(with("f", u(3))), Err::bad_flag);
    EXPECT_EQ(decode(with("target", bs(Bytes(31, 0)))), Err::bad_field_length);
    EXPECT_EQ(decode(with("v", u(2))), Err::unsupported_version);
    // A response needs a known code.
    const std::vector<Field> resp = {
        {"v", u(1)}, {"op", u(1)}, {"rid", u(9)}, {"f", u(2)}, {"code", u(1234)}};
    EXPECT_EQ(decode(build(resp)), Err::bad_code);
    // NodeInfo with a 5-byte ip or a port above 65535.
    auto node_resp = [](std::function<void(CborWriter&)> node) {
        return build({{"v", u(1)},
                      {"op", u(2)},
                      {"rid", u(9)},
                      {"f", u(2)},
                      {"code", u(1000)},
                      {"nodes", [node](CborWriter& w) {
                           w.write_array(1);
                           node(w);
                       }}});
    };
    EXPECT_EQ(decode(node_resp([](CborWriter& w) {
                  w.write_map(3);
                  w.write_tstr("id");
                  w.write_bstr(Bytes(32, 0));
                  w.write_tstr("ip");
                  w.write_bstr(Bytes(5, 0));
                  w.write_tstr("port");
                  w.write_uint(1);
              })),
              Err::bad_ip);
    EXPECT_EQ(decode(node_resp([](CborWriter& w) {
                  w.write_map(3);
                  w.write_tstr("id");
                  w.write_bstr(Bytes(32, 0));
                  w.write_tstr("ip");
                  w.write_bstr(Bytes(4, 0));
                  w.write_tstr("port");
                  w.write_uint(65536);
              })),
              Err::bad_port);
    EXPECT_EQ(decode(node_resp([](CborWriter& w) {
                  w.write_map(2);
                  w.write_tstr("id");
                  w.write_bstr(Bytes(32, 0));
                  w.write_tstr("ip");
                  w.write_bstr(Bytes(4, 0));
              })),
              Err::missing_field);
}

TEST(Message, MissingFieldsPerOperation) {
    const std::vector<Field> hdr = {{"v", u(1)}, {"rid", u(9)}, {"f", u(1)}};
    for (uint64_t op = 2; op <= 6; ++op) {
        auto f = hdr;
        f.push_back({"op", u(op)});
        DecodeHeader h;
        EXPECT_EQ(decode(build(f), nullptr, &h), Err::missing_field) << op;
        EXPECT_TRUE(h.answerable()) << op;
    }
    auto ping = hdr;
    ping.push_back({"op", u(1)});
    EXPECT_EQ(decode(build(ping)), Err::ok);
    // Responses with code 1000 need their body; error codes need none.
    EXPECT_EQ(
        decode(build({{"v", u(1)}, {"op", u(2)}, {"rid", u(9)}, {"f", u(2)}, {"code", u(1000)}})),
        Err::missing_field);
    EXPECT_EQ(
        decode(build({{"v", u(1)}, {"op", u(2)}, {"rid", u(9)}, {"f", u(2)}, {"code", u(1501)}})),
        Err::ok);
    EXPECT_EQ(decode(build({{"v", u(1)}, {"op", u(2)}, {"rid", u(9)}, {"f", u(2)}})),
              Err::missing_field);
}

TEST(Message, HeaderTellsWhenA1400IsOwed) {
    // op and rid arrive first, then a bad target: the requester gets a 1400 answer.
    DecodeHeader h;
    auto f = find_node_req_fields();
    f.back().second = bs(Bytes(3, 0));
    EXPECT_EQ(decode(build(f), nullptr, &h), Err::bad_field_length);
    EXPECT_TRUE(h.answerable());
    EXPECT_EQ(h.op, static_cast<uint64_t>(Op::find_node));
    EXPECT_EQ(h.rid, 9u);
    // An op this node does not know still gets its 1400: op, rid and f are all read.
    EXPECT_EQ(
        decode(build({{"v", u(1)}, {"op", u(99)}, {"rid", u(504)}, {"f", u(1)}}), nullptr, &h),
        Err::bad_op);
    EXPECT_TRUE(h.answerable());
    EXPECT_FALSE(h.op_known());
    EXPECT_EQ(h.op, 99u);
    EXPECT_EQ(h.rid, 504u);
    // Unsupported version is answerable too.
    auto g = find_node_req_fields();
    g[0].second = u(2);
    EXPECT_EQ(decode(build(g), nullptr, &h), Err::unsupported_version);
    EXPECT_TRUE(h.answerable());
    // Garbage before op: nothing to answer.
    EXPECT_EQ(decode(from_hex("a2617601"
                              "626f70c0"),
                     nullptr, &h),
              Err::unsupported_type);
    EXPECT_FALSE(h.answerable());
    // A malformed response is never answered.
    const Bytes r =
        build({{"v", u(1)}, {"op", u(2)}, {"rid", u(9)}, {"f", u(2)}, {"code", u(1000)}});
    EXPECT_EQ(decode(r, nullptr, &h), Err::missing_field);
    EXPECT_FALSE(h.answerable());
}

TEST(Message, TruncationAtEveryOffsetOfEverySampleIsRejected) {
    Samples s;
    for (const auto& [name, m] : s.dht()) {
        const Bytes b = encode(m);
        for (size_t cut = 0; cut < b.size(); ++cut) {
            const Bytes part(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(cut));
            EXPECT_NE(decode(part), Err::ok) << name << " cut " << cut;
        }
        Bytes longer = b;
        longer.push_back(0);
        EXPECT_EQ(decode(longer), Err::trailing_bytes) << name;
    }
}

// A NodeInfo in the bytes encode_item writes is read without walking its map
// (decode_node_canonical); any other form goes the general way (decode_node_map). The two
// must agree on every input: each canonical sample with every byte replaced by values
// that matter to the parser, cut at every length, followed by more bytes, under a string
// limit below the id's length and four containers deep gives the same error, and the
// same NodeInfo and end offset, both ways.
TEST(Message, TheCanonicalNodeInfoFastPathAgreesWithTheGeneralWalk) {
    std::vector<NodeInfo> samples;
    const uint16_t ports[] = {0, 23, 24, 255, 256, 4001, 65535};
    for (const uint16_t port : ports) {
        NodeInfo v4;
        v4.id.b.fill(0x11);
        v4.id.b[31] = static_cast<uint8_t>(port);
        v4.addr = PeerAddr::v4(10, 0, 0, 1, port);
        samples.push_back(v4);
        NodeInfo v6 = v4;
        v6.addr.ip.fill(0xfe);
        v6.addr.ip_len = 16;
        samples.push_back(v6);
    }
    // Bytes that mean something to the parser: heads of each length, types, map sizes.
    const uint8_t TELLING[] = {0x00, 0x17, 0x18, 0x19, 0x1a, 0x20, 0x40, 0x43, 0x44, 0x45, 0x50,
                               0x58, 0x59, 0x62, 0x63, 0x64, 0x7f, 0xa2, 0xa3, 0xa4, 0xff};
    auto agree = [](const Bytes& in, size_t max_str = 16384, int depth = 0) {
        CborReader a(in, max_str), b(in, max_str);
        for (int i = 0; i < depth; ++i) {
            uint32_t n;
            ASSERT_EQ(a.read_array(&n), Err::ok);
            ASSERT_EQ(b.read_array(&n), Err::ok);
        }
        NodeInfo x, y;
        const Err ea = decode_item(a, &x), eb = decode_node_map(b, &y);
        ASSERT_EQ(ea, eb);
        if (ea != Err::ok) return;
        EXPECT_EQ(x, y);
        EXPECT_EQ(a.offset(), b.offset());
    };
    for (const NodeInfo& n : samples) {
        Bytes enc;
        CborWriter w(enc);
        encode_item(w, n);
        Bytes ref;  // what the writer's calls, one field at a time, give
        CborWriter rw(ref);
        rw.write_map(3);
        rw.write_tstr("id");
        rw.write_bstr(n.id.view());
        rw.write_tstr("ip");
        rw.write_bstr({n.addr.ip.data(), n.addr.ip_len});
        rw.write_tstr("port");
        rw.write_uint(n.addr.port);
        ASSERT_EQ(enc, ref);
        CborReader r(enc);
        NodeInfo got;
        ASSERT_TRUE(decode_node_canonical(r, &got));
        EXPECT_EQ(got, n);
        EXPECT_TRUE(r.at_end());

        for (size_t len = 0; len <= enc.size(); ++len)
            agree(Bytes(enc.begin(), enc.begin() + static_cast<ptrdiff_t>(len)));
        for (size_t i = 0; i < enc.size(); ++i) {
            for (const uint8_t v : TELLING) {
                Bytes m = enc;
                m[i] = v;
                agree(m);
            }
        }
        // (Built at their full size: growing a short vector by insert trips a false
        // -Wstringop-overread of g++ 12's aarch64 LTO build.)
        Bytes more(enc.size() + 1, 0x00);
        std::copy(enc.begin(), enc.end(), more.begin());
        agree(more);
        agree(enc, 16);
        Bytes nested(4 + enc.size(), 0x81);  // four arrays of one item, then the NodeInfo
        std::copy(enc.begin(), enc.end(), nested.begin() + 4);
        agree(nested, 16384, 4);
        agree(nested, 16384, 3);
    }
}

TEST(Ctrl, EverySampleRoundTrips) {
    Samples s;
    for (const auto& [name, c] : s.ctrl()) {
        const Bytes b = encode(c);
        CtrlMsg d;
        ASSERT_EQ(decode_ctrl(b, &d), Err::ok) << name;
        EXPECT_EQ(encode(d), b) << name;
        for (size_t cut = 0; cut < b.size(); ++cut)
            EXPECT_NE(decode_ctrl(ByteView(b).subspan(0, cut), &d), Err::ok) << name << " " << cut;
    }
}

TEST(Ctrl, RejectsUnknownTypeMissingFieldsAndLongNetwork) {
    CtrlMsg d;
    EXPECT_EQ(decode_ctrl(build({{"t", ts("hello")}}), &d), Err::bad_ctrl_type);
    EXPECT_EQ(decode_ctrl(build({{"t", ts("auth")}}), &d), Err::missing_field);
    EXPECT_EQ(decode_ctrl(build({{"t", ts("auth")}, {"sig", bs(Bytes(63, 0))}}), &d),
              Err::bad_field_length);
    EXPECT_EQ(decode_ctrl(build({{"sig", bs(Bytes(64, 0))}}), &d), Err::missing_field);
    const std::vector<Field> ident = {{"t", ts("ident")},
                                      {"v", u(1)},
                                      {"pk", bs(Bytes(32, 1))},
                                      {"nonce", bs(Bytes(32, 2))},
                                      {"net", ts(std::string(65, 'n'))},
                                      {"port", u(1)}};
    EXPECT_EQ(decode_ctrl(build(ident), &d), Err::string_too_long);
    auto v2 = ident;
    v2[4].second = ts("ron");
    v2[1].second = u(2);
    EXPECT_EQ(decode_ctrl(build(v2), &d), Err::unsupported_version);
}
