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


def send_quietly(s, data):
    """Sends what the daemon takes; a close or reset part-way is what some attacks expect."""
    try:
        s.sendall(data)
        return True
    except OSError:
        return False


@test
def partial_frames_before_auth_are_capped_at_the_handshake_size():
    # 500 strangers each announce a 1 MiB frame and send all but 2 bytes of it. A stranger
    # may send only handshake-sized frames: each is closed at its frame header.
    n = Node()
    n.wait_ready()
    body = struct.pack(">IB", 1 << 20, DATA) + bytes((1 << 20) - 2)
    socks = []
    for _ in range(500):
        s = socket.create_connection(("127.0.0.1", n.port), timeout=5 * harness.SCALE)
        send_quietly(s, HELLO + body[:65536])
        socks.append(s)
    for s in socks:
        send_quietly(s, body[65536:])
    still_serving(n)
    peak = assert_rss_under(n)
    assert n.metric("dht_reassembly_bytes") < 64 * 1024
    for s in socks:
        s.close()
    assert n.stop() == 0
    print(f"# peak RSS {peak} KiB")


@test
def partial_frames_of_authenticated_peers_share_one_node_budget():
    # Keys are free: 64 authenticated port-0 peers each send most of a 1 MiB frame. The
    # node-wide reassembly budget (4 MiB by default) closes the sessions that would exceed
    # it and counts them; the peers within it hold their buffers, and nothing more.
    n = Node()
    n.wait_ready()
    body = struct.pack(">IB", 1 << 20, DATA) + bytes((1 << 20) - 2)
    peers = [Peer("127.0.0.1", n.port).handshake() for _ in range(64)]
    for p in peers:
        send_quietly(p.s, body)
    poll(lambda: n.metric("dht_frames_rejected_total", {"reason": "rx_budget"}) >= 1, 10,
         "sessions refused by the reassembly budget")
    assert n.metric("dht_reassembly_bytes") <= 4 << 20
    still_serving(n)
    peak = assert_rss_under(n)
    for p in peers:
        p.close()
    poll(lambda: n.metric("dht_reassembly_bytes") == 0, 10, "the budget to be given back")
    assert n.stop() == 0
    print(f"# peak RSS {peak} KiB")


@test
def a_trickled_frame_does_not_hold_its_buffer_past_idle_timeout():
    n = Node("--idle-timeout", "1000")
    n.wait_ready()
    p = Peer("127.0.0.1", n.port).handshake()
    frame_bytes = struct.pack(">IB", 100000, DATA) + bytes(3000)
    p.send(frame_bytes)
    poll(lambda: n.metric("dht_reassembly_bytes") > 0, 5, "a partial frame held")
    # One byte every 200 ms: the session is busy but the frame never completes.
    end = time.monotonic() + 10 * harness.SCALE
    closed = False
    while time.monotonic() < end:
        try:
            p.s.sendall(b"\0")
        except OSError:
            closed = True
            break
        if p.closed_within(0.2):
            closed = True
            break
    assert closed, "the trickling session was not closed"
    # Closed by its idle deadline (no whole frame since the handshake), or by the partial
    # frame's own deadline when the node was sending to it (unit test Session.Trickled...).
    poll(lambda: n.metric("dht_reassembly_bytes") == 0, 5, "the partial frame's buffer to be freed")
    still_serving(n)
    assert n.stop() == 0


@test
def silent_strangers_never_evict_authenticated_sessions():
    # 600 connections send HELLO and nothing else, and reconnect as soon as they are cut.
    # They compete among themselves for the handshake slots; the 20 authenticated peers
    # and the session to the seed stay, and a new peer still gets in.
    seed = Node()
    seed.wait_ready()
    n = Node("--bootstrap", seed.addr)
    n.wait_ready()
    legit = [Peer("127.0.0.1", n.port).handshake() for _ in range(20)]
    opened = n.metric("dht_active_sessions")
    assert opened >= 21, opened

    def stranger():
        s = socket.create_connection(("127.0.0.1", n.port), timeout=5 * harness.SCALE)
        send_quietly(s, HELLO)
        s.setblocking(False)
        return s

    flood = [stranger() for _ in range(600)]
    reopened = 0
    end = time.monotonic() + 6 * harness.SCALE
    newcomer_in = False
    while time.monotonic() < end:
        for i, s in enumerate(flood):
            try:
                gone = s.recv(65536) == b""
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            if gone:
                s.close()
                flood[i] = stranger()
                reopened += 1
        if not newcomer_in:
            try:
                newcomer_in = legit_ping_once(n)
            except (OSError, Closed):
                pass
    assert reopened > 0, "the flood was never cut: the handshake cap did not act"
    assert n.metric("dht_handshakes_evicted_total") > 0
    assert n.metric("dht_conns_evicted_total") == 0, "an open session was closed for a stranger"
    for p in legit:
        assert p.ping().get("code", 1000) == 1000
    assert seed.metric("dht_active_sessions") >= 1
    assert newcomer_in, "no new peer got in during the flood"
    still_serving(n)
    assert_rss_under(n)
    for s in flood:
        s.close()
    for p in legit:
        p.close()
    assert n.stop() == 0


@test
def max_conns_bounds_open_sessions_and_strangers_only_displace_strangers():
    seed = Node()
    seed.wait_ready()
    small = Node("--max-conns", "8", "--max-handshakes", "4", "--handshake-timeout", "30000",
                 "--bootstrap", seed.addr)
    small.wait_ready()
    # Four strangers fill the handshake pool; a fifth displaces the oldest of them.
    held = [socket.create_connection(("127.0.0.1", small.port), timeout=5 * harness.SCALE) for _ in range(4)]
    for s in held:
        assert read_hello(s)
    fifth = socket.create_connection(("127.0.0.1", small.port), timeout=5 * harness.SCALE)
    assert read_hello(fifth), "a newcomer is served at the handshake cap"
    assert closed_soon(held[0]), "the oldest stranger was not cut"
    assert small.metric("dht_handshakes_evicted_total") >= 1
    assert small.metric("dht_conns_evicted_total") == 0
    # Authenticated peers beyond max_conns take the place of idle sessions, strangers to the
    # routing table first: the seed, a contact, stays.
    peers = [Peer("127.0.0.1", small.port).handshake() for _ in range(9)]
    poll(lambda: small.metric("dht_conns_evicted_total") >= 2, 10, "idle sessions evicted over max_conns")
    assert small.metric("dht_active_sessions") <= 8
    assert seed.metric("dht_active_sessions") >= 1, "the seed's session was evicted"
    assert peers[-1].ping().get("code", 1000) == 1000
    for s in held + [fifth]:
        s.close()
    for p in peers:
        p.close()


def read_hello(s):
    got = b""
    try:
        while len(got) < 9:
            chunk = s.recv(9 - len(got))
            if not chunk:
                return False
            got += chunk
    except OSError:
        return False
    return got == HELLO


def closed_soon(s, seconds=5):
    s.settimeout(seconds * harness.SCALE)
    try:
        while True:
            if not s.recv(65536):
                return True
    except socket.timeout:
        return False
    except OSError:
        return True


def legit_ping_once(node):
    p = Peer("127.0.0.1", node.port, timeout=2).handshake()
    try:
        return p.ping().get("code", 1000) == 1000
    finally:
        p.close()


if __name__ == "__main__":
    harness.main()
