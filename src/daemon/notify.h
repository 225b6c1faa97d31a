// SPDX-License-Identifier: MIT
// sd_notify without libsystemd: send "READY=1", "STOPPING=1", "RELOADING=1", "WATCHDOG=1"
// or "STATUS=..." to the datagram socket named by $NOTIFY_SOCKET, if it is set. Never
// blocks, never fails the caller.
#pragma once

#include <cstdint>

namespace svcdht::daemon {

// notify sends |state|; returns true if a notification socket was set and took it.
bool notify(const char* state);

// watchdog_usec returns the service manager's watchdog interval ($WATCHDOG_USEC) when it is
// meant for this process ($WATCHDOG_PID unset or our pid), else 0: no watchdog.
uint64_t watchdog_usec();

}  // namespace svcdht::daemon
