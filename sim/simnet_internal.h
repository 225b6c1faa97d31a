// SPDX-License-Identifier: MIT
// The simulator's private structures, shared by simnet.cc (hosts, pipes, the event loop) and
// liar.cc (the adversary). Not part of the simulator's interface.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "mem_store.h"
#include "simnet.h"

namespace svcdht::sim {

using namespace core;

// What an event does. The queue itself orders small Due records (time, sequence, index of
// the Event in a slot table), so a heap sift moves 24 bytes and never a payload; a
// delivery's bytes are one transmission's buffer, in a slot table of their own.
struct Sim::Event {
    Time at = 0;
    uint8_t kind = 0;
    uint32_t a = 0;                 // host or conn
    uint32_t b = 0;                 // side, target host or incarnation
    uint64_t c = 0;                 // dial id
    uint32_t payload = NO_PAYLOAD;  // E_DELIVER: payloads_[payload]
};

struct Sim::Due {
    Time at;
    uint64_t seq;
    uint32_t event;  // index in events_
};

// One transmission's bytes, delivered by one event in the pieces that |cuts| mark off: the
// reader gets each piece as a read of its own.
struct Sim::Payload {
    Bytes bytes;
    uint32_t cuts[2] = {0, 0};  // the ends of the pieces before the last, ascending
    uint32_t ncuts = 0;
};

struct Sim::Host {
    uint32_t idx = 0;
    PeerAddr addr;
    Identity ident;
    std::unique_ptr<SeededRng> rng;
    SessionConfig scfg;
    // SimConfig::persist: the host's durable store. It survives crashes, and is declared
    // before node so that it outlives the node whose journal it is.
    std::unique_ptr<MemStore> disk;
    std::unique_ptr<Node> node;
    std::unique_ptr<Peers> peers;  // declared after node: destroyed first
    bool up = false;
    bool slow = false;
    bool hostile = false;
    uint32_t incarnation = 0;
    Time timer_at = NEVER;
    std::map<RequestId, RequestResult> results;
    // Open pipes touching this host. Each session of its Peers carries its pipe id as tag.
    std::vector<uint32_t> conns;
    // SimConfig::fastopen: the hosts this one holds a Fast Open cookie for, sorted.
    std::vector<uint32_t> cookies;
};

// A TCP connection: an ordered byte pipe with an end on each host. An honest end is a
// session in its host's Peers; a hostile end is a raw Session (Sim::liars_) driven by
// liar.cc. 56 bytes: a large network has a million of them open.
struct Sim::Conn {
    uint32_t id = 0;
    uint32_t host[2] = {0, 0};
    bool closed[2] = {false, false};
    bool dead = false;      // blackholed: nothing gets through any more
    bool syn_data = false;  // the dialer's first write rode the SYN: it is there already
    PeerRef ref[2] = {0, 0};
    Time last_arrival[2] = {0, 0};
    Time base = 0;
};

}  // namespace svcdht::sim
