// SPDX-License-Identifier: MIT
// The strict CBOR subset: what it accepts, what it rejects and why, and that the writer
// emits the shortest encoding.
#include <gtest/gtest.h>

#include "svcdht/cbor.h"
#include "util.h"

using namespace svcdht::core;
using svcdht::test::from_hex;
using svcdht::test::to_hex;

namespace {
Err skip_all(const Bytes& b, size_t max_str = 64) {
    CborReader r(b, max_str);
    Err e = r.skip();
    if (e == Err::ok && !r.at_end()) return Err::trailing_bytes;
    return e;
}
}  // namespace

TEST(Cbor, WriterUsesShortestHeads) {
    const std::pair<uint64_t, const char*> cases[] = {
        {0, "00"},
        {23, "17"},
        {24, "1818"},
        {255, "18ff"},
        {256, "190100"},
        {65535, "19ffff"},
        {65536, "1a00010000"},
        {0xffffffffULL, "1affffffff"},
        {0x100000000ULL, "1b0000000100000000"},
    };
    for (const auto& [v, hex] : cases) {
        Bytes out;
        CborWriter(out).write_uint(v);
        EXPECT_EQ(to_hex(out), hex) << v;
        CborReader r(out);
        uint64_t back = 0;
        ASSERT_EQ(r.read_uint(&back), Err::ok);
        EXPECT_EQ(back, v);
        EXPECT_TRUE(r.at_end());
    }
}

TEST(Cbor, ReadsEveryAcceptedType) {
    Bytes b;
    CborWriter w(b);
    w.write_array(6);
    w.write_uint(7);
    w.write_bstr(from_hex("0102"));
    w.write_tstr("hé");
    w.write_bool(true);
    w.write_null();
    w.write_map(1);
    w.write_tstr("k");
    w.write_bool(false);
    b.push_back(0x20);  // not part of the array: -1, read through skip below
    CborReader r(b);
    uint32_t n = 0;
    ASSERT_EQ(r.read_array(&n), Err::ok);
    EXPECT_EQ(n, 6u);
    uint64_t u;
    ASSERT_EQ(r.read_uint(&u), Err::ok);
    EXPECT_EQ(u, 7u);
    ByteView bs;
    ASSERT_EQ(r.read_bstr(&bs), Err::ok);
    EXPECT_EQ(to_hex(bs), "0102");
    std::string_view ts;
    ASSERT_EQ(r.read_tstr(&ts), Err::ok);
    EXPECT_EQ(ts, "hé");
    bool bv = false;
    ASSERT_EQ(r.read_bool(&bv), Err::ok);
    EXPECT_TRUE(bv);
    CborType t;
    ASSERT_EQ(r.peek(&t), Err::ok);
    EXPECT_EQ(t, CborType::simple);
    ASSERT_EQ(r.skip(), Err::ok);  // null
    ASSERT_EQ(r.skip(), Err::ok);  // the map
    r.leave();
    ASSERT_EQ(r.peek(&t), Err::ok);
    EXPECT_EQ(t, CborType::nint);
    ASSERT_EQ(r.skip(), Err::ok);
    EXPECT_TRUE(r.at_end());
}

TEST(Cbor, RejectsIndefiniteLengths) {
    for (const char* hex : {"5f4101ff", "7f6161ff", "9f01ff", "bf616101ff"})
        EXPECT_EQ(skip_all(from_hex(hex)), Err::indefinite_length) << hex;
}

TEST(Cbor, RejectsTypesOutsideTheSubset) {
    // tag, half/single/double floats, undefined, simple(0), simple(255 via 0xf8), reserved
    for (const char* hex : {"c001", "f93c00", "fa3f800000", "fb3ff0000000000000", "f7", "e0",
                            "f8ff", "1c", "1d", "1e"})
        EXPECT_EQ(skip_all(from_hex(hex)), Err::unsupported_type) << hex;
}

TEST(Cbor, RejectsDepthBeyondFour) {
    EXPECT_EQ(skip_all(from_hex("81818181"
                                "01")),
              Err::ok);
    EXPECT_EQ(skip_all(from_hex("8181818181"
                                "01")),
              Err::depth_exceeded);
    EXPECT_EQ(skip_all(from_hex("a16161a16161a16161a1616101")), Err::ok);
    EXPECT_EQ(skip_all(from_hex("a16161a16161a16161a16161a1616101")), Err::depth_exceeded);
}

TEST(Cbor, RejectsArraysLongerThan64) {
    Bytes ok, bad;
    CborWriter(ok).write_array(64);
    ok.insert(ok.end(), 64, 0x01);
    CborWriter(bad).write_array(65);
    bad.insert(bad.end(), 65, 0x01);
    EXPECT_EQ(skip_all(ok), Err::ok);
    EXPECT_EQ(skip_all(bad), Err::array_too_long);
}

TEST(Cbor, RejectsOversizeStringsAndHugeLengths) {
    Bytes b;
    CborWriter(b).write_bstr(Bytes(65, 0));
    EXPECT_EQ(skip_all(b, 64), Err::string_too_long);
    EXPECT_EQ(skip_all(b, 65), Err::ok);
    // A length far beyond the input is truncation, never an allocation.
    EXPECT_EQ(skip_all(from_hex("5b00000000ffffffff00"), SIZE_MAX), Err::truncated);
    EXPECT_EQ(skip_all(from_hex("9a00000040"), 64), Err::truncated);
}

TEST(Cbor, RejectsInvalidUtf8) {
    EXPECT_EQ(skip_all(from_hex("62c328")), Err::bad_utf8);    // broken continuation
    EXPECT_EQ(skip_all(from_hex("62c0af")), Err::bad_utf8);    // overlong
    EXPECT_EQ(skip_all(from_hex("63eda080")), Err::bad_utf8);  // surrogate
    EXPECT_EQ(skip_all(from_hex("63e282ac")), Err::ok);        // euro sign
    EXPECT_FALSE(utf8_valid("\xf4\x90\x80\x80"));              // beyond U+10FFFF
}

TEST(Cbor, TruncationAtEveryOffsetIsAnError) {
    Bytes b;
    CborWriter w(b);
    w.write_map(2);
    w.write_tstr("a");
    w.write_array(3);
    w.write_uint(1000000);
    w.write_bstr(Bytes(10, 7));
    w.write_tstr("xyz");
    w.write_tstr("b");
    w.write_uint(1);
    ASSERT_EQ(skip_all(b), Err::ok);
    for (size_t cut = 0; cut < b.size(); ++cut) {
        Bytes part(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(cut));
        EXPECT_EQ(skip_all(part), Err::truncated) << cut;
    }
}

TEST(Cbor, ErrorsAreSticky) {
    const Bytes b = from_hex("c0 01");
    CborReader r(b);
    uint64_t v;
    EXPECT_EQ(r.read_uint(&v), Err::unsupported_type);
    EXPECT_EQ(r.skip(), Err::unsupported_type);
    EXPECT_EQ(r.error(), Err::unsupported_type);
}

TEST(Cbor, WrongTypeIsReported) {
    const Bytes b = from_hex("4101");
    CborReader r(b);
    uint64_t v;
    EXPECT_EQ(r.read_uint(&v), Err::wrong_type);
    const Bytes n = from_hex("f6");
    CborReader rn(n);
    bool bv;
    EXPECT_EQ(rn.read_bool(&bv), Err::wrong_type);
}

TEST(Cbor, MapKeysRejectDuplicates) {
    MapKeys k;
    EXPECT_EQ(k.add("a"), Err::ok);
    EXPECT_EQ(k.add("b"), Err::ok);
    EXPECT_EQ(k.add("a"), Err::duplicate_key);
}
