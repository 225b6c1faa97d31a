// SPDX-License-Identifier: MIT
// Field helpers shared by the message, Ctrl and provider-record codecs: fixed-size byte
// strings, map keys with the duplicate check, addresses, ports and validated lists. Private
// to the core.
#pragma once

#include "svcdht/cbor.h"
#include "svcdht/message.h"

namespace svcdht::core::codec {

inline Err read_fixed(CborReader& r, uint8_t* dst, size_t n) {
    ByteView v;
    if (Err e = r.read_bstr(&v); e != Err::ok) return e;
    if (v.size() != n) return Err::bad_field_length;
    std::memcpy(dst, v.data(), n);
    return Err::ok;
}

inline Err read_key(CborReader& r, MapKeys& keys, std::string_view* k) {
    if (Err e = r.read_tstr(k); e != Err::ok) return e;
    if (k->size() > CBOR_MAX_KEY_LEN) return Err::string_too_long;
    return keys.add(*k);
}

inline Err read_ip(CborReader& r, PeerAddr* a) {
    ByteView v;
    if (Err e = r.read_bstr(&v); e != Err::ok) return e;
    if (v.size() != 4 && v.size() != 16) return Err::bad_ip;
    std::memcpy(a->ip.data(), v.data(), v.size());
    a->ip_len = static_cast<uint8_t>(v.size());
    return Err::ok;
}

inline Err read_port(CborReader& r, uint16_t* port) {
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

inline void write_ip(CborWriter& w, const PeerAddr& a) {
    w.write_bstr({a.ip.data(), a.ip_len});
}

}  // namespace svcdht::core::codec
