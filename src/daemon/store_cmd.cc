// SPDX-License-Identifier: MIT
// The store commands (see store_cmd.h): counts and sizes, an integrity check, and every
// entry as one JSON object per line.
#include "daemon/store_cmd.h"

#include <cstdio>
#include <ctime>

#include "admin/json.h"
#include "daemon/daemon.h"
#include "embed/disk_store.h"

namespace svcdht::daemon {

namespace {

std::string utc(uint64_t unix_ms) {
    if (unix_ms == 0) return "-";
    const auto t = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char b[32];
    std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return b;
}

std::string hex(const uint8_t* p, size_t n) {
    std::string s(2 * n, '0');
    core::hex_encode({p, n}, s.data());
    return s;
}

void print_entry(const embed::DumpEntry& e) {
    admin::JsonWriter w;
    w.begin_object();
    switch (e.kind) {
        case embed::DumpEntry::Kind::record:
            w.kv("kind", "record").kv("key", "b3:" + e.key.hex());
            w.kv("publisher", hex(e.publisher.data(), e.publisher.size()));
            w.key("addrs").begin_array();
            for (const std::string& a : e.addrs) w.str(a);
            w.end_array();
            w.kv("ts", e.ts).kv("ttl", e.ttl).kv("alg", e.alg).kv("expires", utc(e.expires_ms));
            w.kv("local", e.local);
            break;
        case embed::DumpEntry::Kind::value:
            w.kv("kind", "value").kv("key", "b3:" + e.key.hex());
            w.kv("bytes", uint64_t{e.value_len}).kv("expires", utc(e.expires_ms));
            w.kv("local", e.local);
            if (e.local) w.kv("until", utc(e.until_unix * 1000));
            break;
        case embed::DumpEntry::Kind::contact:
            w.kv("kind", "contact").kv("id", e.key.hex()).kv("addr", e.addr.format());
            w.kv("last_seen", utc(e.last_seen_ms)).kv("rtt_us", uint64_t{e.rtt_us});
            w.kv("fails", uint64_t{e.fails});
            break;
    }
    w.end_object();
    std::printf("%s\n", w.str().c_str());
}

}  // namespace

int run_store_command(const std::string& verb, const std::string& data_dir) {
    if (verb != "stats" && verb != "check" && verb != "dump") {
        std::fprintf(stderr, "svc-dht: store: unknown command '%s' (stats, check, dump)\n",
                     verb.c_str());
        return EXIT_CONFIG;
    }
    embed::DiskOptions o;
    o.data_dir = data_dir;
    o.read_only = true;
    std::string err;
    const std::unique_ptr<embed::DiskStore> d = embed::DiskStore::open(o, &err);
    if (!d) {
        std::fprintf(stderr, "svc-dht: store: %s\n", err.c_str());
        return EXIT_FORCED;
    }
    if (verb == "stats") {
        const embed::DiskCounts c = d->counts(&err);
        if (!err.empty()) {
            std::fprintf(stderr, "svc-dht: store: %s\n", err.c_str());
            return EXIT_FORCED;
        }
        std::printf(
            "file            %s\nrecords         %llu\nvalues          %llu\ncontacts        "
            "%llu\nfile_bytes      %llu\nused_bytes      %llu\nmap_bytes       %llu\n"
            "oldest_expiry   %s\nnewest_expiry   %s\n",
            d->path().c_str(), static_cast<unsigned long long>(c.records),
            static_cast<unsigned long long>(c.values), static_cast<unsigned long long>(c.contacts),
            static_cast<unsigned long long>(c.file_bytes),
            static_cast<unsigned long long>(c.used_bytes),
            static_cast<unsigned long long>(c.map_bytes), utc(c.oldest_expiry_ms).c_str(),
            utc(c.newest_expiry_ms).c_str());
        return EXIT_OK;
    }
    if (verb == "check") {
        if (!d->check(&err)) {
            std::fprintf(stderr, "svc-dht: store: %s: %s\n", d->path().c_str(), err.c_str());
            return EXIT_FORCED;
        }
        const embed::DiskCounts c = d->counts(&err);
        std::printf("%s: ok (%llu records, %llu values, %llu contacts)\n", d->path().c_str(),
                    static_cast<unsigned long long>(c.records),
                    static_cast<unsigned long long>(c.values),
                    static_cast<unsigned long long>(c.contacts));
        return EXIT_OK;
    }
    if (!d->dump(print_entry, &err)) {
        std::fprintf(stderr, "svc-dht: store: %s: %s\n", d->path().c_str(), err.c_str());
        return EXIT_FORCED;
    }
    return EXIT_OK;
}

}  // namespace svcdht::daemon
