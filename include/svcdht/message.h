// SPDX-License-Identifier: MIT
// DhtMsg (Data frame payloads): the schema of DESIGN 3.2, decoded into views over the frame
// without allocating, and encoded with the keys in one fixed order. Lists (nodes,
// providers, addrs) are validated in full at decode time and then walked lazily from the
// validated bytes, so a 20-node answer costs no heap. Ctrl messages are in ctrl.h; the
// provider-record signing bytes and admission rules in record.h.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "svcdht/bytes.h"
#include "svcdht/cbor.h"
#include "svcdht/env.h"
#include "svcdht/err.h"
#include "svcdht/id.h"
#include "svcdht/limits.h"
#include "svcdht/types.h"

namespace svcdht::core {

// ---- operations and codes ------------------------------------------------------------

#define SVCDHT_OPS(X)   \
    X(ping, 1)          \
    X(find_node, 2)     \
    X(get_providers, 3) \
    X(add_provider, 4)  \
    X(put_value, 5)     \
    X(get_value, 6)

enum class Op : uint8_t {
#define SVCDHT_OP_ENUM(name, n) name = n,
    SVCDHT_OPS(SVCDHT_OP_ENUM)
#undef SVCDHT_OP_ENUM
};
inline constexpr int OP_COUNT = 6;
inline int op_index(Op op) {
    return static_cast<int>(op) - 1;
}
const char* op_name(Op op);
// is_read: the ops that change nothing on the responder (every op but the two stores); a
// peer answers one of them before the requester's auth (docs/PROTOCOL.md 1.3).
inline bool is_read(Op op) {
    return op != Op::add_provider && op != Op::put_value;
}

enum class MsgFlag : uint8_t { request = 1, response = 2 };

#define SVCDHT_CODES(X)     \
    X(ok, 1000)             \
    X(bad_request, 1400)    \
    X(not_found, 1404)      \
    X(too_large, 1413)      \
    X(quota_exceeded, 1429) \
    X(bad_signature, 1440)  \
    X(stale_record, 1441)   \
    X(not_ready, 1450)      \
    X(busy, 1501)           \
    X(timeout, 1508)

enum class Code : uint16_t {
#define SVCDHT_CODE_ENUM(name, n) name = n,
    SVCDHT_CODES(SVCDHT_CODE_ENUM)
#undef SVCDHT_CODE_ENUM
};
inline constexpr int CODE_COUNT = 10;
bool code_known(uint64_t v);
// code_index maps a Code to 0..CODE_COUNT-1 (for metric arrays).
int code_index(Code c);
Code code_at(int index);
const char* code_name(Code c);  // "ok", "bad_request", ...
// code_for_err maps an admission or engine error to the wire code a responder sends.
Code code_for_err(Err e);
// err_for_code maps a non-ok code received from a peer to an Err for the requester.
Err err_for_code(Code c);

// ---- items -----------------------------------------------------------------------------

struct NodeInfo {
    NodeId id;
    PeerAddr addr;  // ip and port as advertised
    bool operator==(const NodeInfo&) const = default;
};

template <class T>
class ItemList;

struct ProviderRecord;

// Item decoders and encoders, used by ItemList and by the message codec.
[[nodiscard]] Err decode_item(CborReader& r, NodeInfo* out);
[[nodiscard]] Err decode_item(CborReader& r, std::string_view* out);
[[nodiscard]] Err decode_item(CborReader& r, ProviderRecord* out);
void encode_item(CborWriter& w, const NodeInfo& n);
// decode_item reads a NodeInfo with decode_node_canonical, or else decode_node_map.
// decode_node_canonical reads the exact bytes encode_item writes (every answer of a peer
// of this project, twenty to a FIND_NODE answer) without walking the map. It returns false
// and consumes nothing for any other form. decode_node_map is the general walk (any key
// order, unknown keys skipped, longer heads); it gives the same result for the canonical
// bytes.
bool decode_node_canonical(CborReader& r, NodeInfo* out);
[[nodiscard]] Err decode_node_map(CborReader& r, NodeInfo* out);
void encode_item(CborWriter& w, std::string_view s);
void encode_item(CborWriter& w, const ProviderRecord& rec);

// ItemList<T> is either a view of a caller's array (for encoding) or the validated CBOR
// bytes of an array's items (after decoding), walked with a forward iterator. Either way
// it never owns memory.
template <class T>
class ItemList {
public:
    ItemList() = default;
    static ItemList of(std::span<const T> items) {
        ItemList l;
        l.items_ = items.data();
        l.count_ = static_cast<uint32_t>(items.size());
        return l;
    }
    static ItemList encoded(ByteView raw, uint32_t count, size_t max_str) {
        ItemList l;
        l.raw_ = raw;
        l.count_ = count;
        l.max_str_ = max_str;
        return l;
    }
    uint32_t size() const { return count_; }
    bool empty() const { return count_ == 0; }

    class iterator {
    public:
        iterator(const ItemList* l, uint32_t i) : l_(l), i_(i), r_(l->raw_, l->max_str_) { load(); }
        const T& operator*() const { return cur_; }
        const T* operator->() const { return &cur_; }
        iterator& operator++() {
            ++i_;
            load();
            return *this;
        }
        bool operator==(const iterator& o) const { return i_ == o.i_; }
        bool operator!=(const iterator& o) const { return i_ != o.i_; }

    private:
        void load() {
            if (i_ >= l_->count_) return;
            if (l_->items_ != nullptr) {
                cur_ = l_->items_[i_];
            } else {
                // The bytes were validated when the message was decoded.
                (void)decode_item(r_, &cur_);
            }
        }
        const ItemList* l_;
        uint32_t i_;
        CborReader r_;
        T cur_{};
    };
    iterator begin() const { return iterator(this, 0); }
    iterator end() const { return iterator(this, count_); }

private:
    const T* items_ = nullptr;
    ByteView raw_;
    uint32_t count_ = 0;
    size_t max_str_ = DEFAULT_MAX_VALUE_BYTES;
};

// A provider record. With the default algorithm (Ed25519, `alg` absent on the wire) |pk| is
// the publisher's key and |sig| its signature. With another algorithm |apk| and |asig| hold
// that algorithm's key and signature, and |pk| is BLAKE3(apk): a 32-byte publisher id, so a
// list holds one record per (key, pk) whatever the algorithm.
struct ProviderRecord {
    Key key;
    PublicKey pk{};
    ItemList<std::string_view> addrs;
    uint64_t ttl = 0;  // seconds
    uint64_t ts = 0;   // unix seconds when signed
    Signature sig{};   // alg == SIG_ED25519
    uint64_t alg = SIG_ED25519;
    ByteView apk;   // alg != SIG_ED25519: the algorithm's public key
    ByteView asig;  // alg != SIG_ED25519: its signature
};

// ---- DhtMsg ------------------------------------------------------------------------

struct DhtMsg {
    uint64_t v = 1;
    Op op = Op::ping;
    uint64_t rid = 0;
    MsgFlag f = MsgFlag::request;
    Code code = Code::ok;  // responses only
    bool has_target = false, has_key = false, has_rec = false, has_val = false, has_obs = false,
         has_providers = false, has_nodes = false;
    NodeId target;                       // FIND_NODE request
    Key key;                             // GET_PROVIDERS, PUT_VALUE, GET_VALUE requests
    ProviderRecord rec;                  // ADD_PROVIDER request
    ByteView val;                        // PUT_VALUE request, GET_VALUE response
    PeerAddr obs;                        // PING response: the address the responder saw
    ItemList<ProviderRecord> providers;  // GET_PROVIDERS response
    ItemList<NodeInfo> nodes;            // FIND_NODE, GET_PROVIDERS, GET_VALUE responses

    bool is_request() const { return f == MsgFlag::request; }
};

// DecodeHeader reports how far a rejected message got: when op, rid and f were read and
// the message is a request, the responder answers 1400 with that rid (DESIGN 3.2). |op| is
// the raw value, so an op this node does not know (a newer peer's) is answered too.
struct DecodeHeader {
    bool have_op = false, have_rid = false, have_f = false;
    uint64_t op = 0;
    uint64_t rid = 0;
    MsgFlag f = MsgFlag::request;
    bool answerable() const { return have_op && have_rid && have_f && f == MsgFlag::request; }
    bool op_known() const { return op >= 1 && op <= OP_COUNT; }
};

// decode_dht parses one DhtMsg from a Data payload. Views in |out| point into |in|.
// |max_str| is max_value_bytes. On error |hdr| says whether a 1400 answer is owed.
// Errors: every CBOR error; missing_field; bad_field_length; unsupported_version; bad_op;
// bad_flag; bad_rid; bad_code; bad_ip; bad_port; trailing_bytes.
[[nodiscard]] Err decode_dht(ByteView in, size_t max_str, DhtMsg* out, DecodeHeader* hdr);

// encode_dht appends |m| to |out| with keys in the fixed order
// v, op, rid, f, code, target, key, rec, val, obs, providers, nodes.
void encode_dht(const DhtMsg& m, Bytes& out);

// encode_error_answer appends the bodiless answer {v, op, rid, f: 2, code} to a request
// whose op may be unknown here (|op| is echoed as the requester sent it).
void encode_error_answer(uint64_t op, uint64_t rid, Code code, Bytes& out);

}  // namespace svcdht::core
