// SPDX-License-Identifier: MIT
// The one-shot clients (svc-dht(8), COMMANDS): ping, lookup, get, put, provide and
// find-providers. Each is a node without a listener, built from the same settings as the
// daemon's, that joins through the seeds over the real protocol, asks once and exits.
// With --json each prints what the HTTP API answers for the same request, corr_id included.
#pragma once

#include <cstdint>
#include <string>

#include "daemon/config.h"
#include "svcdht/id.h"
#include "svcdht/types.h"

namespace svcdht::daemon {

enum class ClientOp { ping, lookup, get, put, provide, find_providers };

struct ClientRequest {
    ClientOp op = ClientOp::ping;
    core::PeerAddr target;  // ping
    core::Key key;          // lookup, get, provide, find_providers
    std::string key_text;   // the key as the user wrote it
    std::string value;      // put
    std::string addr;       // provide: the provider address
    uint64_t ttl_secs = 0;  // provide (0: the node's ttl_secs)
    uint64_t timeout_ms = 15000;
    bool json = false;
};

// run_client runs |req| and returns the exit status: 0 found (or stored), 1 not found,
// not stored or unreachable, 2 the request itself was refused as invalid.
int run_client(const ClientRequest& req, const Config& cfg);

}  // namespace svcdht::daemon
