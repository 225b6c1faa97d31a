// SPDX-License-Identifier: MIT
// The disk store's own file round trip: what a journal wrote comes back from load() and
// dump() exactly, entry by entry, whatever came before it in the file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "embed/disk_store.h"
#include "svcdht/record.h"

using namespace svcdht;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/svc-dht-disk-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

embed::DiskOptions options(const TempDir& dir) {
    embed::DiskOptions o;
    o.data_dir = dir.path;
    o.max_bytes = 64u << 20;
    return o;
}

core::ProviderRecord record(uint8_t key, uint8_t pk, std::vector<std::string_view>& addrs) {
    core::ProviderRecord r;
    r.key.b.fill(key);
    r.pk.fill(pk);
    r.addrs = core::ItemList<std::string_view>::of(addrs);
    r.ts = 1700000000;
    r.ttl = 3600;
    r.sig.fill(static_cast<uint8_t>(key ^ pk));
    return r;
}

}  // namespace

TEST(DiskStore, ARecordAfterOneWithAnAlternativeSignatureComesBackWithoutIt) {
    TempDir dir;
    std::string err;
    embed::DiskOptions o = options(dir);
    {
        auto d = embed::DiskStore::open(o, &err);
        ASSERT_TRUE(d) << err;
        std::vector<std::string_view> addrs = {"tcp://198.51.100.1:4001"};
        // Key 0x10 sorts first: it carries an alternative signature; 0x20 does not.
        core::ProviderRecord alt = record(0x10, 1, addrs);
        const core::Bytes apk(32, 0xa1), asig(64, 0xa2);
        alt.alg = 7;
        alt.apk = apk;
        alt.asig = asig;
        const core::ProviderRecord plain = record(0x20, 2, addrs);
        d->record_stored(alt.key, core::StoredRecord::from(alt, core::secs(3600)));
        d->record_stored(plain.key, core::StoredRecord::from(plain, core::secs(3600)));
        ASSERT_TRUE(d->commit(&err)) << err;
    }
    o.read_only = true;
    auto d = embed::DiskStore::open(o, &err);
    ASSERT_TRUE(d) << err;
    std::vector<embed::DumpEntry> got;
    ASSERT_TRUE(d->dump([&](const embed::DumpEntry& e) { got.push_back(e); }, &err)) << err;
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].alg, 7u);
    EXPECT_EQ(got[1].key.b[0], 0x20);
    EXPECT_EQ(got[1].alg, core::SIG_ED25519) << "the record inherited the one before's algorithm";
    EXPECT_TRUE(d->check(&err)) << err;
}

TEST(DiskStore, ReadingAStoreNoDaemonHoldsCreatesNoLockFile) {
    TempDir dir;
    std::string err;
    embed::DiskOptions o = options(dir);
    { ASSERT_TRUE(embed::DiskStore::open(o, &err)) << err; }
    const std::string lock = dir.path + "/store/lock.mdb";
    std::filesystem::remove(lock);
    o.read_only = true;
    auto d = embed::DiskStore::open(o, &err);
    ASSERT_TRUE(d) << err;
    EXPECT_FALSE(std::filesystem::exists(lock));
}
