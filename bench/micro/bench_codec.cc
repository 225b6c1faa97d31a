// SPDX-License-Identifier: MIT
// Micro-benchmarks of the wire layer: frame decoding, DhtMsg decode and encode of a 20-node
// FIND_NODE answer, BLAKE3 of 1 KiB and 64 KiB, and Ed25519 verification. Figures only.
#include <benchmark/benchmark.h>

#include "svcdht/blake3.h"
#include "svcdht/frame.h"
#include "svcdht/message.h"
#include "util.h"

using namespace svcdht::core;
using namespace svcdht::test;

static void BM_FrameDecode20Nodes(benchmark::State& state) {
    Samples s;
    Bytes stream;
    for (int i = 0; i < 16; ++i) append_frame(stream, FrameKind::data, encode(s.find_node_20()));
    for (auto _ : state) {
        FrameDecoder d;
        ByteView in = stream;
        size_t frames = 0;
        while (!in.empty()) {
            FrameEvent ev;
            in = in.subspan(d.next(in, &ev));
            frames += ev.type == FrameEvent::Type::frame;
        }
        benchmark::DoNotOptimize(frames);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
    state.SetItemsProcessed(state.iterations() * 16);
}
BENCHMARK(BM_FrameDecode20Nodes);

static void BM_DhtMsgDecodeFindNode20(benchmark::State& state) {
    Samples s;
    const Bytes b = encode(s.find_node_20());
    for (auto _ : state) {
        DhtMsg m;
        DecodeHeader h;
        benchmark::DoNotOptimize(decode_dht(b, DEFAULT_MAX_VALUE_BYTES, &m, &h));
        unsigned sum = 0;
        for (const NodeInfo& n : m.nodes) sum += n.addr.port;
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DhtMsgDecodeFindNode20);

static void BM_DhtMsgEncodeFindNode20(benchmark::State& state) {
    Samples s;
    Bytes out;
    out.reserve(2048);
    for (auto _ : state) {
        out.clear();
        encode_dht(s.find_node_20(), out);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DhtMsgEncodeFindNode20);

static void BM_Blake3(benchmark::State& state) {
    const Bytes in(static_cast<size_t>(state.range(0)), 0x5a);
    for (auto _ : state) benchmark::DoNotOptimize(blake3(in));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.size()));
}
BENCHMARK(BM_Blake3)->Arg(1024)->Arg(64 * 1024);

static void BM_Ed25519Verify(benchmark::State& state) {
    const Identity id = identity(9);
    const Bytes msg(96, 1);
    const Signature sig = crypto().sign(id.keys.sk, msg);
    for (auto _ : state) benchmark::DoNotOptimize(crypto().verify(id.keys.pk, msg, sig));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ed25519Verify);

static void BM_Ed25519Sign(benchmark::State& state) {
    const Identity id = identity(9);
    const Bytes msg(96, 1);
    for (auto _ : state) benchmark::DoNotOptimize(crypto().sign(id.keys.sk, msg));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ed25519Sign);

BENCHMARK_MAIN();
