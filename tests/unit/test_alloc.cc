// SPDX-License-Identifier: MIT
// Decoding a FIND_NODE response with 20 nodes, and walking its nodes, must not touch the
// heap, and sending an answer costs at most one allocation. This binary replaces the
// global operator new to count allocations.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "io/conn.h"
#include "io/net.h"
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

// A session's transmit buffer starts every loop turn empty; framing an answer into it is
// one allocation (the header inserted first and the payload after it were two).
TEST(Alloc, FramingIntoAnEmptyBufferAllocatesOnce) {
    const Bytes payload(700, 0x5a);
    Bytes tx;
    const long before = g_allocs.load();
    append_frame(tx, FrameKind::data, payload);
    EXPECT_EQ(g_allocs.load() - before, 1);
    ASSERT_EQ(tx.size(), FRAME_HEADER_LEN + payload.size());
    FrameDecoder dec;
    FrameEvent ev;
    EXPECT_EQ(dec.next(tx, &ev), tx.size());
    ASSERT_EQ(ev.type, FrameEvent::Type::frame);
    EXPECT_TRUE(std::equal(ev.payload.begin(), ev.payload.end(), payload.begin(), payload.end()));
}

// Each turn writes once to every connection with bytes queued: the request of a finished
// write is handed out again instead of a new one per write, with its bytes freed.
TEST(Alloc, AFinishedWriteRequestIsHandedOutAgain) {
    uv_loop_t loop;
    ASSERT_EQ(uv_loop_init(&loop), 0);
    {
        svcdht::io::Net net(&loop, {}, nullptr);
        svcdht::io::WriteReq* w = net.write_req();
        w->buf.assign(4096, 0x5a);
        net.recycle(w);
        const long before = g_allocs.load();
        svcdht::io::WriteReq* again = net.write_req();
        EXPECT_EQ(g_allocs.load() - before, 0);
        EXPECT_EQ(again, w);
        EXPECT_EQ(again->buf.capacity(), 0u);
        EXPECT_EQ(again->conn, nullptr);
        net.recycle(again);

        // At most SPARE_WRITES are kept: after a burst of more writes than that, the next
        // burst of the same size allocates only the difference.
        constexpr size_t burst = svcdht::io::Net::SPARE_WRITES + 10;
        std::vector<svcdht::io::WriteReq*> reqs;
        for (size_t i = 0; i < burst; ++i) reqs.push_back(net.write_req());
        for (svcdht::io::WriteReq* r : reqs) net.recycle(r);
        reqs.clear();
        reqs.reserve(burst);
        const long before_burst = g_allocs.load();
        for (size_t i = 0; i < burst; ++i) reqs.push_back(net.write_req());
        EXPECT_EQ(g_allocs.load() - before_burst, 10);
        for (svcdht::io::WriteReq* r : reqs) net.recycle(r);
        net.close_all();
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    EXPECT_EQ(uv_loop_close(&loop), 0);
}
