#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Hostile HTTP clients on a real daemon's admin port: connections held idle at the cap (the
# probes must still answer), keep-alive connections left idle (closed silently, never a
# stale 408), slowloris requests, oversize URIs, headers and bodies, and bodies of the wrong
# media type. Each test checks the refusal, that a legitimate peer and /healthz still
# answer, and the peak RSS. Prints TAP.
import json
import socket
import time

from peer import still_serving

import harness
from harness import Node, poll, test


def connect(node):
    s = socket.create_connection(("127.0.0.1", node.admin_port), timeout=10 * harness.SCALE)
    s.settimeout(10 * harness.SCALE)
    return s


def exchange(node, request):
    """Sends one request on a new connection and reads until the daemon closes it."""
    s = connect(node)
    try:
        s.sendall(request)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    except ConnectionError:
        return out
    finally:
        s.close()


def status_of(raw):
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.1 ") else None


@test
def probes_answer_while_idle_clients_hold_every_admin_slot():
    n = Node()
    n.wait_ready()
    # 64 (the cap) plus 40 more idle connections: more than the probe reserve too.
    idle = []
    for _ in range(104):
        idle.append(connect(n))
    for path in (b"/healthz", b"/readyz", b"/metrics"):
        for _ in range(3):
            out = exchange(n, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            assert status_of(out) == 200, (path, out[:200])
    out = exchange(n, b"GET /dht/peers HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status_of(out) == 503 and b"too_many_connections" in out, out[:200]
    assert n.metric("rejected_total", {"reason": "admin_conns"}) >= 1
    still_serving(n)
    for s in idle:
        s.close()
    assert n.stop() == 0


@test
def an_idle_keep_alive_connection_is_closed_silently():
    n = Node()
    n.wait_ready()
    s = connect(n)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    first = s.recv(65536)
    assert status_of(first) == 200, first
    # Past the read timeout (5 s) the daemon closes the connection without writing a
    # 408 that a client reusing it would take for the answer to its next request.
    s.settimeout(15 * harness.SCALE)
    rest = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    s.close()
    assert rest == b"", f"unsolicited bytes on an idle keep-alive connection: {rest[:120]!r}"
    # A request that started and stalled still gets its 408.
    out = exchange(n, b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    assert status_of(out) == 408, out[:120]
    still_serving(n)
    assert n.stop() == 0


@test
def json_endpoints_refuse_other_media_types_with_415():
    n = Node()
    n.wait_ready()
    body = json.dumps({"cid": "b3:" + "ab" * 32, "node": "tcp://198.51.100.1:4001", "ttl_secs": 60}).encode()
    r = n.post("/dht/provide", body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 415 and r.json()["error"] == "unsupported_media_type", (r.status, r.body)
    r = n.post("/dht/provide", body, {"Content-Type": "Application/JSON; charset=utf-8"})
    assert r.status == 200, (r.status, r.body)
    still_serving(n)
    assert n.stop() == 0


@test
def slowloris_and_oversize_requests_are_cut_and_others_served():
    n = Node("--max-admin-conns", "16")
    n.wait_ready()
    # 30 clients each send half a request line, then one byte at a time.
    slow = [connect(n) for _ in range(30)]
    for s in slow:
        s.sendall(b"GET /heal")
    end = time.monotonic() + 3 * harness.SCALE
    while time.monotonic() < end:
        for s in slow:
            try:
                s.sendall(b"t")
            except OSError:
                pass
        assert n.get("/healthz").status == 200
        time.sleep(0.5)
    closed = 0
    for s in slow:
        s.settimeout(15 * harness.SCALE)
        try:
            while s.recv(65536):
                pass
            closed += 1
        except OSError:
            closed += 1
        s.close()
    assert closed == len(slow)
    # Oversize URI, headers and body: 414, 431, 413 and a close.
    assert status_of(exchange(n, b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")) == 414
    assert status_of(exchange(n, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20000 +
                              b"\r\n\r\n")) == 431
    assert status_of(exchange(n, b"POST /dht/put HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n" +
                              b"v" * 100000)) == 413
    poll(lambda: n.metric("http_requests_total", {"route": "other", "method": "OTHER", "status": "408"}) >= 1,
         10, "408s counted")
    still_serving(n)
    assert n.stop() == 0


@test
def concurrent_uploads_share_one_admin_input_budget():
    # 40 clients each start a 1 MiB upload and send 400 KB of it: 16 MB if every body were
    # held. The admin plane holds at most 4 MiB of request bytes; the rest get 503.
    n = Node("--max-admin-conns", "64")
    n.wait_ready()
    socks = []
    for _ in range(40):
        s = connect(n)
        try:
            s.sendall(b"POST /dht/put HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + b"v" * 400000)
        except OSError:
            pass
        socks.append(s)
    refused = 0
    for s in socks:
        s.settimeout(5 * harness.SCALE)
        try:
            out = s.recv(65536)
        except (socket.timeout, OSError):
            out = b""
        refused += status_of(out) == 503 and b"admin_busy" in out
    assert refused >= 20, f"only {refused} uploads were refused"
    still_serving(n)
    for s in socks:
        s.close()
    assert n.stop() == 0


if __name__ == "__main__":
    harness.main()
