// SPDX-License-Identifier: MIT
// The one road from the configuration to the settings of each part: the engine (Node), the
// sessions, the peer network and the admin plane. The daemon at start and on SIGHUP, and
// the one-shot clients (ping, lookup), all take their settings from here, so a key means
// the same wherever it is given.
#pragma once

#include "admin/routes.h"
#include "daemon/config.h"
#include "io/net.h"
#include "svcdht/node.h"
#include "svcdht/peers.h"
#include "svcdht/session.h"

namespace svcdht::daemon {

core::NodeConfig node_settings(const Config& c);
core::SessionConfig session_settings(const Config& c);
core::PeerLimits peer_limits(const Config& c);
// |client|: a one-shot client has no listener and advertises port 0.
io::NetOptions net_options(const Config& c, bool client);
admin::AdminSettings admin_settings(const Config& c, bool admin_loopback);

}  // namespace svcdht::daemon
