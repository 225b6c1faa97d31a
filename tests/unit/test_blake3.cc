// SPDX-License-Identifier: MIT
// BLAKE3 against the official test vectors (tests/vectors/blake3.txt), hash and keyed
// hash, one-shot and fed in uneven pieces.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "svcdht/blake3.h"
#include "util.h"

using namespace svcdht::core;
using svcdht::test::to_hex;

namespace {

struct Vector {
    size_t len;
    std::string hash, keyed;
};

std::vector<Vector> load_vectors() {
    std::ifstream f(std::string(SVCDHT_SOURCE_DIR) + "/tests/vectors/blake3.txt");
    std::vector<Vector> out;
    std::string line;
    while (std::getline(f, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream ss(line);
        Vector v;
        ss >> v.len >> v.hash >> v.keyed;
        out.push_back(v);
    }
    return out;
}

Bytes pattern(size_t n) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i % 251);
    return b;
}

std::array<uint8_t, 32> test_key() {
    const std::string k = "whats the Elvish word for friend";
    std::array<uint8_t, 32> key;
    std::copy(k.begin(), k.end(), key.begin());
    return key;
}

}  // namespace

TEST(Blake3, OfficialVectorsOneShot) {
    const auto vectors = load_vectors();
    ASSERT_GE(vectors.size(), 13u) << "tests/vectors/blake3.txt not found or short";
    for (const auto& v : vectors) {
        const Bytes in = pattern(v.len);
        EXPECT_EQ(to_hex(blake3(in)), v.hash) << "len " << v.len;
        EXPECT_EQ(to_hex(blake3_keyed(test_key(), in)), v.keyed) << "len " << v.len;
    }
}

TEST(Blake3, OfficialVectorsIncremental) {
    for (const auto& v : load_vectors()) {
        const Bytes in = pattern(v.len);
        for (size_t step : {1u, 7u, 64u, 65u, 1000u, 1024u, 4096u}) {
            Blake3 h, k(test_key());
            for (size_t off = 0; off < in.size(); off += step) {
                const size_t n = std::min(step, in.size() - off);
                h.update(ByteView(in).subspan(off, n));
                k.update(ByteView(in).subspan(off, n));
            }
            EXPECT_EQ(to_hex(h.finalize()), v.hash) << "len " << v.len << " step " << step;
            EXPECT_EQ(to_hex(k.finalize()), v.keyed) << "len " << v.len << " step " << step;
        }
    }
}

TEST(Blake3, FinalizeDoesNotDisturbState) {
    const Bytes in = pattern(3000);
    Blake3 h;
    h.update(ByteView(in).subspan(0, 1500));
    (void)h.finalize();
    h.update(ByteView(in).subspan(1500));
    EXPECT_EQ(h.finalize(), blake3(in));
}
