// SPDX-License-Identifier: MIT
// sizes: prints sizeof of the core structures (memcached's sizes.c), to budget memory per
// node on edge boards and per simulated node at 10,000+ nodes.
#include <cstdio>

#include "../src/core/node_internal.h"
#include "svcdht/frame.h"
#include "svcdht/lookup.h"
#include "svcdht/node.h"
#include "svcdht/routing_table.h"
#include "svcdht/session.h"
#include "svcdht/store.h"

using namespace svcdht::core;

int main() {
    std::printf("%-28s %6s\n", "structure", "bytes");
    auto row = [](const char* name, size_t n) { std::printf("%-28s %6zu\n", name, n); };
    row("NodeId", sizeof(NodeId));
    row("PeerAddr", sizeof(PeerAddr));
    row("Contact (routing entry)", sizeof(Contact));
    row("RoutingTable", sizeof(RoutingTable));
    row("Session", sizeof(Session));
    row("FrameDecoder", sizeof(FrameDecoder));
    row("SessionStats", sizeof(SessionStats));
    row("Node", sizeof(Node));
    row("Node::Conn", sizeof(Node::Conn));
    row("Node::Dial", sizeof(Node::Dial));
    row("Node::Rpc", sizeof(Node::Rpc));
    row("Node::LookupState", sizeof(Node::LookupState));
    row("Candidate", sizeof(Candidate));
    row("Counters", sizeof(Counters));
    row("Store", sizeof(Store));
    row("StoredRecord", sizeof(StoredRecord));
    row("DhtMsg", sizeof(DhtMsg));
    row("RequestResult", sizeof(RequestResult));
    return 0;
}
