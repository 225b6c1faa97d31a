// SPDX-License-Identifier: MIT
// Provider records: their CBOR item (with the optional algorithm fields), the bytes their
// signature covers, signing, and admission (DESIGN 3.2, PROTOCOL 2.3).
#include "svcdht/record.h"

#include <algorithm>
#include <cstring>

#include "codec.h"
#include "svcdht/blake3.h"

namespace svcdht::core {

using namespace codec;

Err decode_item(CborReader& r, ProviderRecord* out) {
    *out = ProviderRecord{};
    uint32_t n;
    if (Err e = r.read_map(&n); e != Err::ok) return e;
    MapKeys keys;
    unsigned seen = 0;
    bool have_apk = false;
    ByteView sig;
    for (uint32_t i = 0; i < n; ++i) {
        std::string_view k;
        if (Err e = read_key(r, keys, &k); e != Err::ok) return e;
        Err e = Err::ok;
        if (k == "key") {
            e = read_fixed(r, out->key.b.data(), ID_BYTES);
            seen |= 1;
        } else if (k == "pk") {
            e = read_fixed(r, out->pk.data(), out->pk.size());
            seen |= 2;
        } else if (k == "addrs") {
            e = read_list(r, &out->addrs);
            seen |= 4;
        } else if (k == "ttl") {
            e = r.read_uint(&out->ttl);
            seen |= 8;
        } else if (k == "ts") {
            e = r.read_uint(&out->ts);
            seen |= 16;
        } else if (k == "sig") {
            e = r.read_bstr(&sig);
            if (e == Err::ok && sig.size() > MAX_RECORD_SIG_LEN) e = Err::bad_field_length;
            seen |= 32;
        } else if (k == "alg") {
            e = r.read_uint(&out->alg);
        } else if (k == "apk") {
            e = r.read_bstr(&out->apk);
            if (e == Err::ok && out->apk.size() > MAX_RECORD_APK_LEN) e = Err::bad_field_length;
            have_apk = true;
        } else {
            e = r.skip();
        }
        if (e != Err::ok) return e;
    }
    r.leave();
    if (seen != 63) return Err::missing_field;
    // Ed25519 (alg absent or 1): a 64-byte sig and no apk. Another algorithm: an apk, and
    // sizes its verifier checks at admission.
    if (out->alg == SIG_ED25519) {
        if (have_apk || sig.size() != out->sig.size()) return Err::bad_field_length;
        std::copy(sig.begin(), sig.end(), out->sig.begin());
    } else {
        if (!have_apk) return Err::missing_field;
        out->asig = sig;
    }
    return Err::ok;
}

void encode_item(CborWriter& w, const ProviderRecord& rec) {
    // Ed25519 records are written exactly as before algorithms existed (no alg, no apk),
    // so peers that predate them read them unchanged.
    const bool ed = rec.alg == SIG_ED25519;
    w.write_map(ed ? 6 : 8);
    w.write_tstr("key");
    w.write_bstr(rec.key.view());
    w.write_tstr("pk");
    w.write_bstr({rec.pk.data(), rec.pk.size()});
    w.write_tstr("addrs");
    write_list(w, rec.addrs);
    w.write_tstr("ttl");
    w.write_uint(rec.ttl);
    w.write_tstr("ts");
    w.write_uint(rec.ts);
    w.write_tstr("sig");
    w.write_bstr(ed ? ByteView{rec.sig.data(), rec.sig.size()} : rec.asig);
    if (!ed) {
        w.write_tstr("alg");
        w.write_uint(rec.alg);
        w.write_tstr("apk");
        w.write_bstr(rec.apk);
    }
}

void record_signing_bytes(const ProviderRecord& rec, Bytes& out) {
    const bool ed = rec.alg == SIG_ED25519;
    append(out, ed ? as_bytes(PROVIDER_CONTEXT) : as_bytes(PROVIDER_CONTEXT_V2));
    CborWriter w(out);
    w.write_array(ed ? 5 : 6);
    w.write_bstr(rec.key.view());
    w.write_bstr({rec.pk.data(), rec.pk.size()});
    write_list(w, rec.addrs);
    w.write_uint(rec.ttl);
    w.write_uint(rec.ts);
    if (!ed) w.write_uint(rec.alg);
}

void sign_record(ProviderRecord& rec, const Crypto& crypto, const SecretKey& sk) {
    Bytes msg;
    record_signing_bytes(rec, msg);
    rec.sig = crypto.sign(sk, msg);
}

bool addr_valid(std::string_view a) {
    if (a.size() > MAX_ADDR_LEN) return false;
    const size_t sep = a.find("://");
    if (sep == std::string_view::npos) return false;
    const std::string_view scheme = a.substr(0, sep);
    if (scheme != "tcp" && scheme != "quic" && scheme != "local" && scheme != "onion" &&
        scheme != "http" && scheme != "https")
        return false;
    const std::string_view rest = a.substr(sep + 3);
    if (rest.empty()) return false;
    for (char c : rest) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) return false;
    }
    return true;
}

Err admit_record(const ProviderRecord& rec, const Crypto& crypto, uint64_t now_unix,
                 uint64_t max_ttl, bool require_pq) {
    if (rec.addrs.size() > MAX_PROVIDER_ADDRS) return Err::too_many_addrs;
    for (std::string_view a : rec.addrs) {
        if (a.size() > MAX_ADDR_LEN) return Err::addr_too_long;
        if (!addr_valid(a)) return Err::bad_addr_scheme;
    }
    if (rec.ttl > max_ttl) return Err::ttl_too_large;
    if (rec.ts > now_unix + MAX_RECORD_SKEW_SECS) return Err::record_from_future;
    if (rec.ts + rec.ttl <= now_unix) return Err::record_expired;
    const SigVerifier* v = crypto.verifier(rec.alg);
    if (v == nullptr) return Err::unknown_sig_alg;
    Bytes msg;
    record_signing_bytes(rec, msg);
    if (rec.alg == SIG_ED25519) {
        if (!crypto.verify(rec.pk, msg, rec.sig)) return Err::bad_signature;
    } else {
        if (rec.apk.size() != v->pk_len() || rec.asig.size() != v->sig_len())
            return Err::bad_field_length;
        // pk names the publisher: it must be the fingerprint of the key that signed.
        const auto fp = blake3(rec.apk);
        if (!std::equal(fp.begin(), fp.end(), rec.pk.begin())) return Err::bad_signature;
        if (!v->verify(rec.apk, msg, rec.asig)) return Err::bad_signature;
    }
    // Policy last: only a record that verifies counts as a downgrade attempt.
    if (require_pq && !v->post_quantum()) return Err::pq_required;
    return Err::ok;
}

}  // namespace svcdht::core
