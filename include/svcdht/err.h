// SPDX-License-Identifier: MIT
// The one table of every error svc-dht can produce, and Result<T>. Errors are values:
// nothing in the core throws on peer input. Each entry has a snake_case name (used in
// metrics labels, logs and JSON) and a human sentence.
#pragma once

#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

namespace svcdht::core {

// X(name, message)
#define SVCDHT_ERRORS(X)                                                                \
    X(ok, "success")                                                                    \
    /* byte cursors and CBOR */                                                         \
    X(truncated, "input ended in the middle of an item")                                \
    X(trailing_bytes, "bytes follow the end of the message")                            \
    X(indefinite_length, "indefinite-length items are not accepted")                    \
    X(unsupported_type, "CBOR type outside the accepted subset (tags, floats, simple)") \
    X(depth_exceeded, "nesting deeper than 4 levels")                                   \
    X(array_too_long, "array longer than 64 items")                                     \
    X(map_too_large, "map with more entries than any message has")                      \
    X(string_too_long, "string longer than the configured limit")                       \
    X(duplicate_key, "a map key appears twice")                                         \
    X(wrong_type, "a field has the wrong CBOR type")                                    \
    X(bad_utf8, "a text string is not valid UTF-8")                                     \
    X(int_overflow, "an integer does not fit the field")                                \
    /* ids */                                                                           \
    X(bad_hex_length, "expected 64 hex characters")                                     \
    X(bad_hex_char, "expected lowercase hex characters 0-9a-f")                         \
    X(bad_cid_prefix, "expected the prefix b3:")                                        \
    /* OAP/1 framing */                                                                 \
    X(bad_magic, "HELLO does not start with OAP1")                                      \
    X(bad_version, "HELLO version is not 1")                                            \
    X(missing_caps, "HELLO lacks the GOSSIP_V1 capability")                             \
    X(frame_empty, "frame length 0 (a frame holds at least its kind byte)")             \
    X(frame_too_large, "frame longer than 1 MiB")                                       \
    X(unknown_kind, "frame kind is neither Data nor Ctrl")                              \
    X(too_many_violations, "third framing violation in one session")                    \
    /* DhtMsg and Ctrl schema */                                                        \
    X(missing_field, "a required field is missing")                                     \
    X(bad_field_length, "a byte string has the wrong length")                           \
    X(unsupported_version, "message version is not 1")                                  \
    X(bad_op, "op is not one of 1..6")                                                  \
    X(bad_flag, "f is neither 1 (request) nor 2 (response)")                            \
    X(bad_rid, "rid must be non-zero")                                                  \
    X(bad_code, "code is not a known response code")                                    \
    X(bad_ctrl_type, "Ctrl message t is not ident, auth or err")                        \
    X(too_many_addrs, "more than 8 provider addresses")                                 \
    X(addr_too_long, "a provider address is longer than 256 bytes")                     \
    X(bad_addr_scheme, "a provider address is not a tcp/quic/local/onion/http(s) URI")  \
    X(bad_ip, "ip must be 4 or 16 bytes")                                               \
    X(bad_port, "port must be at most 65535")                                           \
    X(too_many_nodes, "more NodeInfo entries than k allows")                            \
    /* records and values */                                                            \
    X(bad_signature, "signature does not verify")                                       \
    X(unknown_sig_alg, "record signed with an algorithm this node does not know")       \
    X(pq_required, "record signed only classically where require_pq is on")             \
    X(record_expired, "record ts + ttl is in the past")                                 \
    X(record_from_future, "record ts is more than 300 s in the future")                 \
    X(ttl_too_large, "record ttl exceeds max_ttl")                                      \
    X(key_mismatch, "key is not BLAKE3 of the value")                                   \
    X(value_too_large, "value longer than max_value_bytes")                             \
    X(stale_record, "a newer record from the same publisher is already stored")         \
    X(store_full, "the store is at its item or byte limit")                             \
    X(store_peer_quota, "the sending peer's share of the store is used up")             \
    X(store_prefix_quota, "the sending network's share of the store is used up")        \
    X(store_unavailable, "the store cannot write to its disk: writes are refused")      \
    X(degraded, "the node is read-only (degraded mode): it stores nothing new")         \
    X(writes_shed, "inbound writes are shed under load; reads keep their budget")       \
    /* session */                                                                       \
    X(handshake_timeout, "handshake did not finish within handshake_timeout")           \
    X(network_mismatch, "peer is on another network id")                                \
    X(self_connect, "peer claims our own node id")                                      \
    X(peer_id_mismatch, "peer proved another id than the one we dialed")                \
    X(auth_failed, "peer's auth signature does not verify")                             \
    X(protocol_violation, "peer broke the handshake order")                             \
    X(data_before_auth, "Data frame arrived before authentication")                     \
    X(tx_full, "per-session transmit queue is full")                                    \
    X(rx_budget, "node-wide frame reassembly budget is exhausted")                      \
    X(frame_stalled, "a partial frame did not complete within idle_timeout")            \
    X(idle_timeout, "session idle for longer than idle_timeout")                        \
    X(conn_evicted, "connection closed to make room at the connection cap")             \
    X(peer_closed, "peer closed the connection")                                        \
    X(session_closed, "the session is closed")                                          \
    X(io, "socket or file I/O failed")                                                  \
    X(unexpected_response, "a response matches no request in flight")                   \
    /* engine */                                                                        \
    X(timeout, "no answer before the deadline")                                         \
    X(deadline, "the lookup ran out of time before it converged")                       \
    X(hop_budget, "the lookup reached its hop budget before it converged")              \
    X(not_found, "nothing is stored under that key")                                    \
    X(busy, "peer or node is busy")                                                     \
    X(quota_exceeded, "per-peer request quota exceeded")                                \
    X(not_ready, "routing is not ready yet")                                            \
    X(no_peers, "the routing table is empty")                                           \
    X(unreachable, "could not connect to the peer")                                     \
    X(remote_error, "peer answered with an error code")                                 \
    X(too_many_requests, "too many requests in flight")                                 \
    X(shutting_down, "the node is shutting down")

enum class Err : uint8_t {
#define SVCDHT_ERR_ENUM(name, msg) name,
    SVCDHT_ERRORS(SVCDHT_ERR_ENUM)
#undef SVCDHT_ERR_ENUM
};

inline constexpr int ERR_COUNT = 0
#define SVCDHT_ERR_COUNT(name, msg) +1
    SVCDHT_ERRORS(SVCDHT_ERR_COUNT)
#undef SVCDHT_ERR_COUNT
    ;

// err_name returns the snake_case name of |e| (stable: used in metric labels and JSON).
const char* err_name(Err e);
// err_message returns one human sentence describing |e|.
const char* err_message(Err e);

// Result<T> holds either a T or an Err other than Err::ok. It is a small stand-in for
// std::expected (absent from g++ 12). Accessing value() of an error is a bug (asserted).
template <class T>
class [[nodiscard]] Result {
public:
    Result(T v) : err_(Err::ok), has_(true) { new (&storage_) T(std::move(v)); }  // NOLINT
    Result(Err e) : err_(e), has_(false) {}                                       // NOLINT
    Result(const Result& o) : err_(o.err_), has_(o.has_) {
        if (has_) new (&storage_) T(o.value());
    }
    Result(Result&& o) noexcept : err_(o.err_), has_(o.has_) {
        if (has_) new (&storage_) T(std::move(o.value()));
    }
    Result& operator=(Result o) noexcept {
        reset();
        err_ = o.err_;
        has_ = o.has_;
        if (has_) new (&storage_) T(std::move(o.value()));
        return *this;
    }
    ~Result() { reset(); }

    bool ok() const { return has_; }
    explicit operator bool() const { return has_; }
    Err err() const { return err_; }
    T& value() { return *std::launder(reinterpret_cast<T*>(&storage_)); }
    const T& value() const { return *std::launder(reinterpret_cast<const T*>(&storage_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }

private:
    void reset() {
        if (has_) value().~T();
        has_ = false;
    }
    Err err_;
    bool has_;
    alignas(T) unsigned char storage_[sizeof(T)];
};

}  // namespace svcdht::core
