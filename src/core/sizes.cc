// SPDX-License-Identifier: MIT
// The sizes table (see sizes.h).
#include "svcdht/sizes.h"

#include "node_internal.h"
#include "svcdht/frame.h"
#include "svcdht/lookup.h"
#include "svcdht/peers.h"
#include "svcdht/routing_table.h"
#include "svcdht/session.h"
#include "svcdht/store.h"

namespace svcdht::core {

std::span<const SizeInfo> struct_sizes() {
    static constexpr SizeInfo TABLE[] = {
        {"NodeId", sizeof(NodeId)},
        {"PeerAddr", sizeof(PeerAddr)},
        {"Contact (routing entry)", sizeof(Contact)},
        {"RoutingTable", sizeof(RoutingTable)},
        {"Session", sizeof(Session)},
        {"FrameDecoder", sizeof(FrameDecoder)},
        {"SessionStats", sizeof(SessionStats)},
        {"Peers", sizeof(Peers)},
        {"Node", sizeof(Node)},
        {"Node::Conn", sizeof(Node::Conn)},
        {"Node::Dial", sizeof(Node::Dial)},
        {"Node::Rpc", sizeof(Node::Rpc)},
        {"Node::LookupState", sizeof(Node::LookupState)},
        {"Candidate", sizeof(Candidate)},
        {"Counters", sizeof(Counters)},
        {"Store", sizeof(Store)},
        {"StoredRecord", sizeof(StoredRecord)},
        {"StoredValue", sizeof(StoredValue)},
        {"DhtMsg", sizeof(DhtMsg)},
        {"RequestResult", sizeof(RequestResult)},
    };
    return TABLE;
}

}  // namespace svcdht::core
