// SPDX-License-Identifier: MIT
// `svc-dht admin degraded on|off`: the operator's switches, sent to a running daemon's
// admin port over HTTP (svc-dht(8), COMMANDS).
#pragma once

#include <string>

namespace svcdht::daemon {

// run_admin_degraded sends POST /admin/degraded {"on": |on|} to the admin plane at
// |admin_addr| (a wildcard address means this host's loopback), with |token| as the bearer
// token when not empty, prints the answer and returns the exit status: 0 the node answered
// 200, 1 it refused or could not be reached.
int run_admin_degraded(bool on, const std::string& admin_addr, const std::string& token,
                       int timeout_ms);

}  // namespace svcdht::daemon
