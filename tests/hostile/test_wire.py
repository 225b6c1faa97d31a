#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Hostile peers on the OAP/1 port of a real daemon on loopback: each test attacks the way
# the defect was found, then checks that the attack is refused as DESIGN 3 says, that a
# legitimate peer's PING and /healthz still answer, and that the daemon's peak RSS stays
# under the suite's bound. Prints TAP.
import socket
import struct
import time

import cbor2
from peer import (BAD_REQUEST, CTRL, DATA, FIND_NODE, HELLO, PING, TOO_LARGE, Closed, Peer, assert_rss_under,
                  frame, msg, still_serving)  # noqa: F401

import harness
from harness import Node, poll, test


def abrupt_close(s):
    """Closes with a reset (SO_LINGER 0), as a peer that vanishes does."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


@test
def ident_then_close_does_not_kill_the_node_by_sigpipe():
    # The node answers an ident with its auth; when the peer is already gone, that write
    # hits a closed socket. Without SIGPIPE ignored, the process dies with status 141.
    n = Node()
    n.wait_ready()
    for _ in range(60):
        p = Peer("127.0.0.1", n.port)
        p.send(HELLO + p.ident_frame())
        abrupt_close(p.s)
    for _ in range(60):
        p = Peer("127.0.0.1", n.port)
        p.send(HELLO + p.ident_frame())
        p.close()
    # Every connection is processed (the node wrote its auth to each dead socket) ...
    poll(lambda: not n.alive() or n.metric("dht_connections") == 0, 10, "the attack connections to close")
    still_serving(n)
    assert_rss_under(n)
    assert n.stop() == 0


if __name__ == "__main__":
    harness.main()
