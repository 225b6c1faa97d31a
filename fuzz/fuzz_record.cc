// SPDX-License-Identifier: MIT
// Fuzz target: provider-record admission. The input is a DhtMsg (its rec or providers are
// admitted) or a bare record map. Admission must never crash, and a record it admits must
// carry at most 8 valid addresses and a ttl within the limit.
#include <cstdint>
#include <cstdlib>

#include "platform/sodium.h"
#include "svcdht/message.h"
#include "svcdht/record.h"
#include "util.h"

using namespace svcdht::core;

namespace {

constexpr uint64_t NOW = svcdht::test::T0_UNIX + 60;
constexpr uint64_t MAX_TTL = 172800;

void admit(const ProviderRecord& rec) {
    if (admit_record(rec, svcdht::test::crypto(), NOW, MAX_TTL) != Err::ok) return;
    if (rec.addrs.size() > MAX_PROVIDER_ADDRS || rec.ttl > MAX_TTL) std::abort();
    for (std::string_view a : rec.addrs)
        if (!addr_valid(a)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const ByteView in(data, size);
    DhtMsg m;
    DecodeHeader h;
    if (decode_dht(in, DEFAULT_MAX_VALUE_BYTES, &m, &h) == Err::ok) {
        if (m.has_rec) admit(m.rec);
        for (const ProviderRecord& r : m.providers) admit(r);
    }
    CborReader r(in);
    ProviderRecord rec;
    if (decode_item(r, &rec) == Err::ok) admit(rec);
    return 0;
}
