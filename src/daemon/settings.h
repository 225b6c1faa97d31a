// SPDX-License-Identifier: MIT
// The one road from the configuration to the settings of each part: the engine (Node), the
// sessions, the peer network (together a Dht) and the admin plane. The daemon at start and on
// SIGHUP, and the one-shot clients (ping, lookup), all take their settings from here, so a key
// means the same wherever it is given.
#pragma once

#include "admin/routes.h"
#include "daemon/config.h"
#include "svcdht/dht.h"
#include "svcdht/node.h"
#include "svcdht/peers.h"
#include "svcdht/session.h"

namespace svcdht::daemon {

core::NodeConfig node_settings(const Config& c);
core::SessionConfig session_settings(const Config& c);
core::PeerLimits peer_limits(const Config& c);
// All of the node's settings for a Dht. |client|: a one-shot client has no listener (it
// advertises port 0). The log sink is the caller's to set.
DhtSettings dht_settings(const Config& c, bool client);
admin::AdminSettings admin_settings(const Config& c, bool admin_loopback);

}  // namespace svcdht::daemon
