// SPDX-License-Identifier: MIT
// Decoding a FIND_NODE response with 20 nodes, and walking its nodes, must not touch the
// heap. This binary replaces the global operator new to count allocations.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "svcdht/frame.h"
#include "svcdht/message.h"
#include "util.h"

namespace {
std::atomic<long> g_allocs{0};
// A sink the optimiser cannot see through, so the probe allocation below is not elided.
void* volatile g_sink = nullptr;
}  // namespace

void* operator new(std::size_t n) {
    g_allocs.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
    g_allocs.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}

using namespace svcdht::core;
using namespace svcdht::test;

TEST(Alloc, CountingWorks) {
    const long before = g_allocs.load();
    g_sink = ::operator new(16);
    ::operator delete(g_sink);
    EXPECT_EQ(g_allocs.load() - before, 1);
}

TEST(Alloc, DecodingFindNode20AllocatesNothing) {
    Samples s;
    Bytes frame;
    append_frame(frame, FrameKind::data, encode(s.find_node_20()));

    const long before = g_allocs.load();
    FrameDecoder dec;
    FrameEvent ev;
    const size_t used = dec.next(frame, &ev);
    DhtMsg m;
    DecodeHeader h;
    const Err e = decode_dht(ev.payload, DEFAULT_MAX_VALUE_BYTES, &m, &h);
    unsigned ports = 0;
    for (const NodeInfo& n : m.nodes) ports += n.addr.port;
    const long allocs = g_allocs.load() - before;

    EXPECT_EQ(used, frame.size());
    ASSERT_EQ(ev.type, FrameEvent::Type::frame);
    ASSERT_EQ(e, Err::ok);
    EXPECT_EQ(m.nodes.size(), 20u);
    EXPECT_GT(ports, 0u);
    EXPECT_EQ(allocs, 0) << "decoding a 20-node answer must not allocate";
}
