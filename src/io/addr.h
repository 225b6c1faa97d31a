// SPDX-License-Identifier: MIT
// Addresses and the clock for the libuv side: numeric IP:PORT parsing, sockaddr <->
// PeerAddr, and the monotonic microsecond clock the engine runs on. The only clock reads
// of the peer network are here.
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>

#include "svcdht/types.h"

namespace svcdht::io {

// parse_addr turns "1.2.3.4:5", "[::1]:5" into a sockaddr; false if it is not numeric.
bool parse_addr(const std::string& s, sockaddr_storage* out);
// to_peer_addr converts a sockaddr (IPv4-mapped IPv6 becomes IPv4).
core::PeerAddr to_peer_addr(const sockaddr* sa);
void to_sockaddr(const core::PeerAddr& a, sockaddr_storage* out);
// now_us returns the monotonic clock in microseconds (the engine's time base).
core::Time now_us();
// unix_epoch_offset_us returns unix time minus now_us(), in microseconds: what a Node needs
// to read record timestamps (unix seconds) against its monotonic clock.
int64_t unix_epoch_offset_us();

}  // namespace svcdht::io
