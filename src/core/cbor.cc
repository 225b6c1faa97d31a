// SPDX-License-Identifier: MIT
// The strict CBOR subset reader and writer. The reader checks every length against the
// bytes that remain before it trusts it, so a hostile length can never make it read or
// reserve past its input. No allocation.
#include "svcdht/cbor.h"

namespace svcdht::core {

Err CborReader::head(uint8_t* major, uint64_t* arg) {
    if (err_ != Err::ok) return err_;
    if (pos_ >= in_.size()) return fail(Err::truncated);
    const uint8_t ib = in_[pos_];
    *major = static_cast<uint8_t>(ib >> 5);
    const uint8_t info = ib & 0x1f;
    if (*major == 7) {
        // Only false (20), true (21) and null (22) are in the subset.
        if (info < 20 || info > 22) return fail(Err::unsupported_type);
        ++pos_;
        *arg = info;
        return Err::ok;
    }
    if (*major == 6) return fail(Err::unsupported_type);  // tags
    if (info < 24) {
        ++pos_;
        *arg = info;
        return Err::ok;
    }
    if (info == 31) return fail(Err::indefinite_length);
    if (info > 27) return fail(Err::unsupported_type);  // 28..30 are reserved
    const size_t n = size_t{1} << (info - 24);
    if (in_.size() - pos_ - 1 < n) return fail(Err::truncated);
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | in_[pos_ + 1 + i];
    pos_ += 1 + n;
    *arg = v;
    return Err::ok;
}

Err CborReader::take_slow(uint8_t want, uint64_t* arg) {
    if (err_ != Err::ok) return err_;
    if (pos_ < in_.size() && (in_[pos_] >> 5) == want) {
        uint8_t major;
        return head(&major, arg);
    }
    // Not the wanted type: peek names what is wrong with the item before calling it the
    // wrong type (truncation, indefinite length, an unsupported type).
    CborType t;
    if (Err e = peek(&t); e != Err::ok) return e;
    return fail(Err::wrong_type);
}

Err CborReader::peek(CborType* t) {
    if (err_ != Err::ok) return err_;
    if (pos_ >= in_.size()) return fail(Err::truncated);
    const uint8_t ib = in_[pos_];
    const uint8_t major = static_cast<uint8_t>(ib >> 5);
    const uint8_t info = ib & 0x1f;
    if (info == 31 && major != 7) return fail(Err::indefinite_length);
    switch (major) {
        case 0: *t = CborType::uint; break;
        case 1: *t = CborType::nint; break;
        case 2: *t = CborType::bstr; break;
        case 3: *t = CborType::tstr; break;
        case 4: *t = CborType::array; break;
        case 5: *t = CborType::map; break;
        case 7:
            if (info < 20 || info > 22) return fail(Err::unsupported_type);
            *t = CborType::simple;
            break;
        default: return fail(Err::unsupported_type);
    }
    return Err::ok;
}

Err CborReader::read_uint(uint64_t* v) {
    return take(0, v);
}

Err CborReader::read_bstr(ByteView* v) {
    uint64_t len;
    if (Err e = take(2, &len); e != Err::ok) return e;
    if (len > max_str_) return fail(Err::string_too_long);
    if (len > in_.size() - pos_) return fail(Err::truncated);
    *v = in_.subspan(pos_, static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return Err::ok;
}

Err CborReader::read_tstr(std::string_view* v) {
    uint64_t len;
    if (Err e = take(3, &len); e != Err::ok) return e;
    if (len > max_str_) return fail(Err::string_too_long);
    if (len > in_.size() - pos_) return fail(Err::truncated);
    *v = as_chars(in_.subspan(pos_, static_cast<size_t>(len)));
    pos_ += static_cast<size_t>(len);
    if (!utf8_valid(*v)) return fail(Err::bad_utf8);
    return Err::ok;
}

Err CborReader::read_bool(bool* v) {
    CborType t;
    if (Err e = peek(&t); e != Err::ok) return e;
    if (t != CborType::simple) return fail(Err::wrong_type);
    uint8_t major;
    uint64_t arg;
    if (Err e = head(&major, &arg); e != Err::ok) return e;
    if (arg == 22) return fail(Err::wrong_type);  // null is not a boolean
    *v = arg == 21;
    return Err::ok;
}

Err CborReader::read_array(uint32_t* n) {
    uint64_t len;
    if (Err e = take(4, &len); e != Err::ok) return e;
    if (depth_ + 1 > CBOR_MAX_DEPTH) return fail(Err::depth_exceeded);
    if (len > CBOR_MAX_ARRAY) return fail(Err::array_too_long);
    // Every item takes at least one byte, so a count beyond the input is truncation.
    if (len > in_.size() - pos_) return fail(Err::truncated);
    ++depth_;
    *n = static_cast<uint32_t>(len);
    return Err::ok;
}

Err CborReader::read_map(uint32_t* n) {
    uint64_t len;
    if (Err e = take(5, &len); e != Err::ok) return e;
    if (depth_ + 1 > CBOR_MAX_DEPTH) return fail(Err::depth_exceeded);
    if (len > CBOR_MAX_MAP) return fail(Err::map_too_large);
    if (2 * len > in_.size() - pos_) return fail(Err::truncated);
    ++depth_;
    *n = static_cast<uint32_t>(len);
    return Err::ok;
}

Err CborReader::skip() {
    CborType t;
    if (Err e = peek(&t); e != Err::ok) return e;
    switch (t) {
        case CborType::uint:
        case CborType::nint:
        case CborType::simple: {
            uint8_t major;
            uint64_t arg;
            return head(&major, &arg);
        }
        case CborType::bstr: {
            ByteView v;
            return read_bstr(&v);
        }
        case CborType::tstr: {
            std::string_view v;
            return read_tstr(&v);
        }
        case CborType::array: {
            uint32_t n;
            if (Err e = read_array(&n); e != Err::ok) return e;
            for (uint32_t i = 0; i < n; ++i)
                if (Err e = skip(); e != Err::ok) return e;
            leave();
            return Err::ok;
        }
        case CborType::map: {
            uint32_t n;
            if (Err e = read_map(&n); e != Err::ok) return e;
            for (uint32_t i = 0; i < 2 * n; ++i)
                if (Err e = skip(); e != Err::ok) return e;
            leave();
            return Err::ok;
        }
    }
    return fail(Err::unsupported_type);
}

void CborWriter::head(uint8_t major, uint64_t v) {
    // The initial byte, then 0, 1, 2, 4 or 8 bytes of |v| big-endian, appended at once: one
    // check of the buffer's room instead of one per byte.
    const auto mt = static_cast<uint8_t>(major << 5);
    if (v < 24) {
        out_.push_back(static_cast<uint8_t>(mt | v));
        return;
    }
    const int len = v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffff ? 4 : 8;
    uint8_t h[9];
    h[0] = static_cast<uint8_t>(mt | (len == 1 ? 24 : len == 2 ? 25 : len == 4 ? 26 : 27));
    for (int i = 0; i < len; ++i) h[1 + i] = static_cast<uint8_t>(v >> (8 * (len - 1 - i)));
    out_.insert(out_.end(), h, h + 1 + len);
}

Err MapKeys::add(std::string_view k) {
    for (uint32_t i = 0; i < n_; ++i)
        if (std::string_view(keys_[i].p, keys_[i].n) == k) return Err::duplicate_key;
    if (n_ < CBOR_MAX_MAP) keys_[n_++] = {k.data(), k.size()};
    return Err::ok;
}

bool utf8_valid(std::string_view s) {
    size_t i = 0;
    const size_t n = s.size();
    while (i < n) {
        const auto c = static_cast<uint8_t>(s[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len;
        uint32_t cp;
        if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1fu;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0fu;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07u;
        } else {
            return false;
        }
        if (n - i < len) return false;
        for (size_t j = 1; j < len; ++j) {
            const auto cc = static_cast<uint8_t>(s[i + j]);
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3fu);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
            return false;  // overlong
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += len;
    }
    return true;
}

}  // namespace svcdht::core
