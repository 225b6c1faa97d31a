// SPDX-License-Identifier: MIT
// Provider records beyond their wire item (message.h): the bytes a signature covers,
// signing with our identity, address syntax, and the admission rules a holder applies
// (DESIGN 3.2, PROTOCOL 2.3).
#pragma once

#include <cstdint>
#include <string_view>

#include "svcdht/bytes.h"
#include "svcdht/env.h"
#include "svcdht/err.h"
#include "svcdht/message.h"

namespace svcdht::core {

// record_signing_bytes appends what a record's signature covers: for Ed25519
// "svc-dht/provider/v1" || CBOR [key, pk, addrs, ttl, ts]; for any other algorithm
// "svc-dht/provider/v2" || CBOR [key, pk, addrs, ttl, ts, alg], so that a signature can
// never be read under another algorithm than the one it was made with.
void record_signing_bytes(const ProviderRecord& rec, Bytes& out);

// sign_record fills rec.sig using |sk|; rec.pk must be the matching public key.
void sign_record(ProviderRecord& rec, const Crypto& crypto, const SecretKey& sk);

// addr_valid checks one provider address: at most 256 bytes, "scheme://rest" with the
// scheme one of tcp, quic, local, onion, http, https and a non-empty rest without spaces or
// control characters.
bool addr_valid(std::string_view a);

// admit_record applies every admission rule of DESIGN 3.2 at |now_unix| seconds. Under
// |require_pq| a record must be signed with a post-quantum algorithm from the registry.
// Errors: too_many_addrs, addr_too_long, bad_addr_scheme, ttl_too_large,
// record_from_future, record_expired, unknown_sig_alg, bad_field_length (key or signature
// of the wrong size for the algorithm), bad_signature, pq_required (a valid record with a
// classical signature under require_pq: a downgrade attempt). Cheap checks run before the
// signature, and the policy after it.
[[nodiscard]] Err admit_record(const ProviderRecord& rec, const Crypto& crypto, uint64_t now_unix,
                               uint64_t max_ttl, bool require_pq = false);

}  // namespace svcdht::core
