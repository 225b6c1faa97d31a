// SPDX-License-Identifier: MIT
// A strict CBOR (RFC 8949) subset: unsigned and negative integers, byte and text strings,
// arrays and maps with definite lengths, false/true/null. Everything else (tags, floats,
// indefinite lengths, undefined, other simple values) is rejected. The reader hands out
// views into its input and never allocates; errors are sticky. The writer emits the
// shortest encoding of every head, which makes its output canonical.
#pragma once

#include <cstdint>
#include <string_view>

#include "svcdht/bytes.h"
#include "svcdht/err.h"
#include "svcdht/limits.h"

namespace svcdht::core {

enum class CborType : uint8_t { uint, nint, bstr, tstr, array, map, simple };

class CborReader {
public:
    // |max_str| bounds every byte and text string (DESIGN: max_value_bytes).
    explicit CborReader(ByteView in, size_t max_str = DEFAULT_MAX_VALUE_BYTES)
        : in_(in), max_str_(max_str) {}

    // peek returns the type of the next item without consuming it.
    // Errors: truncated, indefinite_length, unsupported_type.
    [[nodiscard]] Err peek(CborType* t);

    // Each read_* consumes one item of the named type.
    // Errors: truncated; wrong_type (another type is next); indefinite_length;
    // unsupported_type; string_too_long; bad_utf8 (text); array_too_long; map_too_large;
    // depth_exceeded (entering a container deeper than CBOR_MAX_DEPTH).
    [[nodiscard]] Err read_uint(uint64_t* v);
    [[nodiscard]] Err read_bstr(ByteView* v);
    [[nodiscard]] Err read_tstr(std::string_view* v);
    [[nodiscard]] Err read_bool(bool* v);
    // read_array/read_map enter a container: the caller reads exactly |n| items (2n for a
    // map) and then calls leave().
    [[nodiscard]] Err read_array(uint32_t* n);
    [[nodiscard]] Err read_map(uint32_t* n);
    void leave() { --depth_; }
    // skip consumes one item of any accepted type, containers included, under the same
    // depth, length and string limits.
    [[nodiscard]] Err skip();

    Err error() const { return err_; }
    size_t max_str() const { return max_str_; }
    size_t offset() const { return pos_; }
    bool at_end() const { return pos_ == in_.size(); }
    ByteView rest() const { return in_.subspan(pos_); }
    // can_enter: one more container may be entered (read_array and read_map check it).
    bool can_enter() const { return depth_ + 1 <= CBOR_MAX_DEPTH; }
    // consume skips |n| bytes of rest() that the caller has checked item by item, as
    // whole items at this depth (a decoder's fast path for a form it knows byte for byte).
    void consume(size_t n) { pos_ += n; }
    // span_from returns the bytes consumed since |start| (an earlier offset()).
    ByteView span_from(size_t start) const { return in_.subspan(start, pos_ - start); }

private:
    Err head(uint8_t* major, uint64_t* arg);
    // take consumes the head of an item of major type |want| (0..5). Heads of one and
    // two bytes, which nearly every item has, are decoded inline; the rest goes through
    // take_slow.
    Err take(uint8_t want, uint64_t* arg) {
        if (err_ == Err::ok && pos_ < in_.size()) {
            const uint8_t ib = in_[pos_];
            if ((ib >> 5) == want) {
                const uint8_t info = ib & 0x1f;
                if (info < 24) {
                    ++pos_;
                    *arg = info;
                    return Err::ok;
                }
                if (info == 24 && in_.size() - pos_ > 1) {
                    *arg = in_[pos_ + 1];
                    pos_ += 2;
                    return Err::ok;
                }
            }
        }
        return take_slow(want, arg);
    }
    Err take_slow(uint8_t want, uint64_t* arg);
    Err fail(Err e) {
        if (err_ == Err::ok) err_ = e;
        return err_;
    }
    ByteView in_;
    size_t pos_ = 0;
    size_t max_str_;
    int depth_ = 0;
    Err err_ = Err::ok;
};

// CborWriter appends shortest-form CBOR to a caller-owned buffer.
class CborWriter {
public:
    explicit CborWriter(Bytes& out) : out_(out) {}
    void write_uint(uint64_t v) { head(0, v); }
    void write_bstr(ByteView v) {
        head(2, v.size());
        append(out_, v);
    }
    void write_tstr(std::string_view v) {
        head(3, v.size());
        append(out_, as_bytes(v));
    }
    void write_array(uint64_t n) { head(4, n); }
    void write_map(uint64_t n) { head(5, n); }
    void write_bool(bool v) { out_.push_back(v ? 0xf5 : 0xf4); }
    void write_null() { out_.push_back(0xf6); }
    // write_encoded appends items the caller encoded itself, in the writer's canonical form.
    void write_encoded(ByteView v) { append(out_, v); }

private:
    void head(uint8_t major, uint64_t v);
    Bytes& out_;
};

// MapKeys rejects duplicate keys within one map (DESIGN 3.2). Keys are compared by bytes;
// a map holds at most CBOR_MAX_MAP keys.
class MapKeys {
public:
    // add returns Err::duplicate_key if |k| was seen in this map before.
    [[nodiscard]] Err add(std::string_view k);

private:
    // A trivially constructible slot, so a MapKeys on the stack costs no zeroing: only
    // the first n_ slots are ever read.
    struct Key {
        const char* p;
        size_t n;
    };
    Key keys_[CBOR_MAX_MAP];
    uint32_t n_ = 0;
};

// utf8_valid is true if |s| is well-formed UTF-8 (no overlongs, no surrogates).
bool utf8_valid(std::string_view s);

}  // namespace svcdht::core
