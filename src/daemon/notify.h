// SPDX-License-Identifier: MIT
// sd_notify without libsystemd: send "READY=1", "STOPPING=1", "RELOADING=1" or "STATUS=..."
// to the datagram socket named by $NOTIFY_SOCKET, if it is set. Never blocks, never fails
// the caller.
#pragma once

namespace svcdht::daemon {

// notify sends |state|; returns true if a notification socket was set and took it.
bool notify(const char* state);

}  // namespace svcdht::daemon
