#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Hostile peers on the OAP/1 port of a real daemon on loopback: each test attacks the way
# the defect was found, then checks that the attack is refused as DESIGN 3 says, that a
# legitimate peer's PING and /healthz still answer, and that the daemon's peak RSS stays
# under the suite's bound. Prints TAP.
import os
import socket
import struct
import threading
import time

import cbor2
from peer import (BAD_REQUEST, BUSY, CTRL, DATA, FIND_NODE, HELLO, NODE_HELLO, OK, PING, PUT_VALUE, QUOTA,
                  TOO_LARGE, Closed, Peer, assert_rss_under, blake3, frame, msg, still_serving)

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
    assert n.metric("dht_reassembly_bytes") < 64 * 1024
    for s in socks:
        s.close()
    assert n.stop() == 0


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
    for p in peers:
        p.close()
    poll(lambda: n.metric("dht_reassembly_bytes") == 0, 10, "the budget to be given back")
    assert n.stop() == 0


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
    assert "handshake evicted: max_handshakes reached" in small.logs(), "an eviction is a warning"
    # Authenticated peers beyond max_conns take the place of idle sessions, strangers to the
    # routing table first: the seed, a contact, stays.
    peers = [Peer("127.0.0.1", small.port).handshake() for _ in range(9)]
    poll(lambda: small.metric("dht_conns_evicted_total") >= 2, 10, "idle sessions evicted over max_conns")
    assert small.metric("dht_active_sessions") <= 8
    assert seed.metric("dht_active_sessions") >= 1, "the seed's session was evicted"
    assert "idle session evicted: max_conns reached" in small.logs()
    assert peers[-1].ping().get("code", 1000) == 1000
    still_serving(small)
    for s in held + [fifth]:
        s.close()
    for p in peers:
        p.close()


@test
def garbage_before_hello_and_a_slow_handshake_are_closed():
    n = Node("--handshake-timeout", "1000")
    n.wait_ready()
    junk = [socket.create_connection(("127.0.0.1", n.port), timeout=5 * harness.SCALE) for _ in range(20)]
    for s in junk:
        send_quietly(s, os.urandom(64))
    # Slowloris: one HELLO byte at a time, too slow for handshake_timeout.
    slow = [Peer("127.0.0.1", n.port) for _ in range(20)]
    for i in range(3):
        for p in slow:
            send_quietly(p.s, HELLO[i:i + 1])
        still_serving(n)
    for s in junk:
        assert closed_soon(s), "garbage instead of a HELLO must close"
    for p in slow:
        assert p.closed_within(5), "a handshake slower than handshake_timeout must close"
    assert n.stop() == 0


@test
def forged_replayed_and_self_claiming_auth_is_refused():
    n = Node()
    n.wait_ready()
    # A forged signature.
    p = Peer("127.0.0.1", n.port)
    p.send(HELLO + p.ident_frame())
    assert p.read_hello() == NODE_HELLO
    while True:
        kind, payload = p.frame()
        m = cbor2.loads(payload)
        if m["t"] == "ident":
            break
    p.send(frame(CTRL, cbor2.dumps({"t": "auth", "sig": os.urandom(64)})))
    assert p.closed_within(5), "a bad auth signature must close"
    # A valid auth recorded on one session, replayed on another: it signs the other
    # session's nonce, so it does not verify.
    honest = Peer("127.0.0.1", n.port)
    honest.send(HELLO + honest.ident_frame())
    honest.read_hello()
    while True:
        kind, payload = honest.frame()
        m = cbor2.loads(payload)
        if m["t"] == "ident":
            recorded = honest.auth_sig(m["nonce"], m["pk"])
            break
    replay = Peer("127.0.0.1", n.port, seed=bytes(honest.sk))
    replay.send(HELLO + replay.ident_frame())
    replay.read_hello()
    replay.frame()
    replay.send(frame(CTRL, cbor2.dumps({"t": "auth", "sig": recorded})))
    assert replay.closed_within(5), "a replayed auth must close"
    # Claiming the node's own identity.
    mirror = Peer("127.0.0.1", n.port)
    mirror.send(HELLO)
    mirror.read_hello()
    kind, payload = mirror.frame()
    their = cbor2.loads(payload)
    mirror.send(mirror.ident_frame(pk=their["pk"]))
    assert mirror.closed_within(5), "a peer claiming our id must close"
    for q in (p, honest, replay, mirror):
        q.close()
    assert n.metric("dht_active_sessions") == 0
    still_serving(n)
    assert n.stop() == 0


@test
def framing_violations_after_auth_are_answered_and_the_third_closes():
    n = Node()
    n.wait_ready()
    p = Peer("127.0.0.1", n.port).handshake()
    # Unknown kind: skipped, the session goes on.
    p.send(frame(0x7F, b"whatever"))
    assert p.ping().get("code", 1000) == 1000
    # Oversize: Ctrl 1413, the bytes are discarded as they stream, the session survives.
    big = (1 << 20) + 10
    p.send(struct.pack(">IB", big, DATA) + bytes(big - 1))
    kind, payload = p.frame()
    assert kind == CTRL and cbor2.loads(payload) == {"t": "err", "code": TOO_LARGE, "msg": "frame too large"}, payload
    assert p.ping().get("code", 1000) == 1000
    # Malformed CBOR: dropped and counted, no answer; a half-decodable request gets 1400.
    before = n.metric("dht_frames_rejected_total", {"reason": "unsupported_type"})
    p.send(frame(DATA, b"\xff\x00\xc0"))
    r = p.request(FIND_NODE, target=b"\x01\x02")
    assert r["code"] == BAD_REQUEST, r
    poll(lambda: n.metric("dht_frames_rejected_total", {"reason": "unsupported_type"}) > before, 5,
         "frames_rejected{reason=unsupported_type}")
    # An op this node does not know: 1400 with the op and rid echoed.
    p.send(frame(DATA, cbor2.dumps({"v": 1, "op": 99, "rid": 504, "f": 1})))
    r = p.response(504)
    assert r == {"v": 1, "op": 99, "rid": 504, "f": 2, "code": BAD_REQUEST}, r
    # Two more violations (empty frames) close it.
    p.send(b"\0\0\0\0" * 2)
    assert p.closed_within(5), "the third framing violation must close"
    still_serving(n)
    assert n.stop() == 0


def flood(p, count):
    """Pipelines |count| PINGs and returns how many answers came back with each code."""
    rids = [p.next_rid() for _ in range(count)]
    p.send(b"".join(frame(DATA, msg(PING, rid)) for rid in rids))
    codes = {}
    for rid in rids:
        c = p.response(rid).get("code", 1000)
        codes[c] = codes.get(c, 0) + 1
    return codes


@test
def request_floods_get_1429_per_peer_and_1501_node_wide_and_reconnecting_does_not_refill():
    # A slow refill (2 per second): the checks below allow about 2 s between floods, so
    # a loaded machine does not refill the bucket between them.
    n = Node("--peer-rate", "2", "--peer-burst", "50")
    n.wait_ready()
    p = Peer("127.0.0.1", n.port, listen_port=40001).handshake()
    codes = flood(p, 200)
    assert codes.get(QUOTA, 0) >= 100 and codes.get(1000, 0) <= 60, codes
    # The same key on a new session draws from the same bucket.
    again = Peer("127.0.0.1", n.port, seed=bytes(p.sk), listen_port=40001).handshake()
    p.close()
    codes = flood(again, 20)
    assert codes.get(QUOTA, 0) >= 15, f"a reconnect refilled the bucket: {codes}"
    again.close()
    # Clients (port 0) are counted by host: a fresh key from the same host does not help.
    c1 = Peer("127.0.0.1", n.port).handshake()
    flood(c1, 200)
    c1.close()
    c2 = Peer("127.0.0.1", n.port).handshake()
    codes = flood(c2, 20)
    assert codes.get(QUOTA, 0) >= 15, f"a fresh client key refilled the bucket: {codes}"
    c2.close()
    still_serving_after_quota(n)
    assert n.stop() == 0
    # Node-wide: many peers within their own quota still meet the node's rate: 1501 Busy.
    m = Node("--node-rate", "100", "--peer-burst", "400")
    m.wait_ready()
    busy = 0
    for _ in range(4):
        q = Peer("127.0.0.1", m.port, listen_port=40002).handshake()
        busy += flood(q, 100).get(BUSY, 0)
        q.close()
    assert busy > 0, "no 1501 at the node's rate"
    assert m.metric("rejected_total", {"reason": "busy"}) >= busy
    assert_rss_under(m)
    assert m.stop() == 0


class Liar(threading.Thread):
    """A peer in the node's table that answers every FIND_NODE with contacts whose ids are
    made up: their address is a real daemon, which proves another id when dialed."""

    def __init__(self, node, real_port):
        super().__init__(daemon=True)
        self.p = Peer("127.0.0.1", node.port, listen_port=40100).handshake()
        self.real_port = real_port
        self.lies = 0
        self.stop = False
        self.start()

    def run(self):
        while not self.stop:
            try:
                kind, payload = self.p.frame(seconds=0.2)
            except socket.timeout:
                continue
            except (Closed, OSError):
                return
            m = cbor2.loads(payload) if kind == DATA else {}
            if m.get("f") != 1:
                continue
            fake = [{"id": os.urandom(32), "ip": bytes([127, 0, 0, 1]), "port": self.real_port} for _ in range(20)]
            answer = {"v": 1, "op": m["op"], "rid": m["rid"], "f": 2, "code": 1000}
            if m["op"] == FIND_NODE:
                answer["nodes"] = fake
                self.lies += 1
            elif m["op"] == PING:
                answer["obs"] = [bytes([127, 0, 0, 1]), 1]
            self.p.send(frame(DATA, cbor2.dumps(answer)))


@test
def a_lying_referrer_is_distrusted_then_dropped_and_lookups_still_end():
    honest = Node()
    honest.wait_ready()
    n = Node()
    n.wait_ready()
    liar = Liar(n, honest.port)
    poll(lambda: any(p["id"] == liar.p.id.hex() for p in n.get("/dht/peers").json()["peers"]), 10,
         "the liar in the routing table")
    r = n.get("/dht/closest/" + os.urandom(32).hex(), timeout=20)
    assert r.status == 200, (r.status, r.body)
    ids = {x["id"] for x in r.json()["nodes"]}
    assert ids <= {liar.p.id.hex(), honest.id}, "a made-up id was returned as a contact"
    assert liar.lies >= 1
    # The made-up contacts proved another id: the liar is charged for each (three bad
    # referrals remove a contact), and the rest of its list is never dialed.
    poll(lambda: not any(p["id"] == liar.p.id.hex() for p in n.get("/dht/peers").json()["peers"]), 10,
         "the liar dropped from the routing table")
    assert honest.metric("dht_sessions_opened_total") <= 3, "more made-up contacts dialed than one round"
    liar.stop = True
    liar.join()
    liar.p.close()
    still_serving(n)
    assert n.stop() == 0


@test
def a_lookup_cut_by_its_deadline_says_so_in_http_cli_and_metrics():
    # A peer in the table that never answers, listening on a port that accepts and stays
    # silent: lookups through it run out of time. They must say so, not pass for complete.
    n = Node("--deadline", "300", "--rpc-timeout", "5000", "--hedge-after", "60000")
    n.wait_ready()
    quiet = socket.socket()
    quiet.bind(("127.0.0.1", 0))
    quiet.listen(16)
    silent = Peer("127.0.0.1", n.port, listen_port=quiet.getsockname()[1]).handshake()
    silent.ping()  # a request: the node learns the silent peer as a contact
    poll(lambda: n.get("/dht/peers").json()["count"] == 1, 10, "the silent peer in the table")
    r = n.get("/dht/closest/" + os.urandom(32).hex())
    # Nobody answered: 504 with what the lookup knows (a partial answer would be a 200).
    assert r.status == 504 and r.json()["complete"] is False and r.json()["reason"] == "deadline", r.body
    g = n.get("/dht/get/b3:" + os.urandom(32).hex())
    assert g.status == 504 and g.json()["error"] == "lookup_incomplete", (g.status, g.body)
    assert g.json()["reason"] == "deadline", g.body
    assert n.metric("dht_lookups_incomplete_total", {"op": "find_node", "reason": "deadline"}) >= 1
    assert n.metric("dht_lookups_incomplete_total", {"op": "get_value", "reason": "deadline"}) >= 1
    # The one-shot client: it learns the silent peer from the node, dials it, and its lookup
    # runs out of time there (beta 0: no soft timeout lets it end without the silent peer).
    code, out, err = harness.run(["lookup", "b3:" + os.urandom(32).hex(), "--bootstrap", n.addr,
                                  "--deadline", "500", "--beta", "0", "--handshake-timeout", "5000"],
                                 timeout=30)
    assert code == 0, err
    assert "complete  false reason=deadline" in out, out
    still_serving(n)
    silent.close()
    quiet.close()
    assert n.stop() == 0


@test
def the_lookup_clients_alpha_reaches_its_engine():
    # One query in flight (alpha 1, no hedges) waits on a silent peer that is the nearest
    # candidate; alpha 16 asks everyone at once. The RPC counts tell them apart, so
    # --alpha is not dropped on the way to the client's engine (it used to be).
    # The silent peer introduces itself to every node, so whichever node alpha 1 asks
    # first names it: alpha 1 spends at most 2 RPCs, whatever the client's table held
    # when its lookup began (when only the seed knew it, alpha 1 could walk every node).
    nodes = [Node()]
    nodes[0].wait_ready()
    nodes += [Node("--bootstrap", nodes[0].addr) for _ in range(3)]
    for n in nodes:
        n.wait_ready()
    quiet = socket.socket()
    quiet.bind(("127.0.0.1", 0))
    quiet.listen(16)
    seed = os.urandom(32)
    silent = []
    for n in nodes:
        p = Peer("127.0.0.1", n.port, seed=seed, listen_port=quiet.getsockname()[1]).handshake()
        p.ping()
        silent.append(p)
    sid = silent[0].id.hex()
    for n in nodes:
        poll(lambda: any(p["id"] == sid for p in n.get("/dht/peers").json()["peers"]), 10,
             "the silent peer in every node's table")

    def rpcs(*flags):
        code, out, err = harness.run(["lookup", sid, "--bootstrap", nodes[0].addr, "--deadline",
                                      "700", "--rpc-timeout", "60000", "--handshake-timeout", "60000",
                                      "--beta", "0"] + list(flags), timeout=30)
        assert code == 0, err
        return int(next(line.split()[1] for line in out.splitlines() if line.startswith("rpcs")))
    one, sixteen = rpcs("--alpha", "1"), rpcs("--alpha", "16")
    print(f"# rpcs: alpha 1 {one}, alpha 16 {sixteen}")
    assert one <= 2, f"--alpha 1 spent {one} RPCs: more than one in flight"
    assert one < sixteen, f"--alpha 1 spent {one} RPCs, --alpha 16 {sixteen}"
    for p in silent:
        p.close()
    quiet.close()
    for n in nodes:
        assert n.stop() == 0


def frames_until_data(p):
    """The frames |p| reads up to and including the first Data frame, as (kind, decoded)."""
    got = []
    while not got or got[-1][0] != DATA:
        kind, payload = p.frame()
        got.append((kind, cbor2.loads(payload)))
    return got


@test
def an_early_request_is_answered_once_as_to_a_stranger_and_a_store_never():
    # The node's HELLO offers early requests (EARLY_REQUEST): one read right behind a dialer's
    # ident is answered before the dialer's auth. A stranger that never authenticates tries
    # to get more from that: a store sent early, then a second request, then a flood of
    # early-request connections that each claim the same id and a listening port.
    n = Node()
    n.wait_ready()
    before = {k: n.metric(k) for k in ("dht_early_requests_served_total", "dht_early_requests_refused_total")}
    dropped = n.metric("dht_frames_rejected_total", {"reason": "data_before_auth"})
    value = b"stored before auth?"
    p = Peer("127.0.0.1", n.port, listen_port=9999)
    p.send(HELLO + p.ident_frame() + frame(DATA, msg(PUT_VALUE, 1, key=blake3(value), val=value)) +
           frame(DATA, msg(PING, 2)))
    assert p.read_hello() == NODE_HELLO
    got = frames_until_data(p)
    kinds = [(k, m.get("t")) for k, m in got]
    assert kinds == [(CTRL, "ident"), (CTRL, "auth"), (DATA, None)], kinds
    answer = got[-1][1]
    assert (answer["rid"], answer.get("code")) == (1, BAD_REQUEST), answer
    # The second request got nothing, and nothing was stored.
    try:
        kind, payload = p.frame(seconds=1)
        raise AssertionError(f"a second answer before auth: {kind} {cbor2.loads(payload)}")
    except (socket.timeout, Closed, EOFError):
        pass
    p.close()
    poll(lambda: n.metric("dht_frames_rejected_total", {"reason": "data_before_auth"}) > dropped, 5,
         "the second early frame counted as data before auth")
    assert n.metric("dht_early_requests_refused_total") == before["dht_early_requests_refused_total"] + 1
    assert n.metric("dht_values_stored") == 0
    # A read is answered, behind the node's auth, as to a client; finishing the handshake
    # then gives an ordinary session.
    p = Peer("127.0.0.1", n.port)
    p.send(HELLO + p.ident_frame() + frame(DATA, msg(PING, 3)))
    assert p.read_hello() == NODE_HELLO
    got = frames_until_data(p)
    assert [m.get("t") for _, m in got] == ["ident", "auth", None], got
    assert (got[-1][1]["rid"], got[-1][1].get("code", OK)) == (3, OK), got[-1][1]
    peer_ident = got[0][1]
    p.send(frame(CTRL, cbor2.dumps({"t": "auth", "sig": p.auth_sig(peer_ident["nonce"], peer_ident["pk"])})))
    assert p.ping().get("code", OK) == OK
    p.close()
    assert n.metric("dht_early_requests_served_total") == before["dht_early_requests_served_total"] + 1
    # 200 strangers claiming one id and a listening port, each with an early FIND_NODE and
    # no auth: each is answered, none reaches the routing table.
    claimed = os.urandom(32)
    for i in range(200):
        p = Peer("127.0.0.1", n.port, seed=claimed, listen_port=9999, timeout=5)
        p.send(HELLO + p.ident_frame() + frame(DATA, msg(FIND_NODE, 10 + i, target=os.urandom(32))))
        assert p.read_hello() == NODE_HELLO
        answer = frames_until_data(p)[-1][1]
        assert answer["rid"] == 10 + i and answer.get("code", OK) in (OK, QUOTA), answer
        p.close()
    assert n.get("/dht/peers").json()["count"] == 0
    still_serving(n)
    assert n.stop() == 0


def still_serving_after_quota(node):
    # Clients from 127.0.0.1 share one bucket, so the legitimate probe here comes as a
    # peer that takes sessions (its own bucket).
    p = Peer("127.0.0.1", node.port, listen_port=40009).handshake()
    assert p.ping().get("code", 1000) == 1000
    p.close()
    assert node.get("/healthz").status == 200


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
    return got == NODE_HELLO


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
