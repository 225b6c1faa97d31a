#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The admin plane against running daemons: put on A / get on B, provide on A / find on C in a
# five-node cluster, TTL expiry (lookups and the debug list), readiness gates through
# bootstrap and SIGTERM, every error status of DESIGN 5 with its JSON, pipelined keep-alive
# requests, metrics that move, and promtool on a live node.
import json
import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import harness
from harness import Node, cluster, poll, test

B3_A = "b3:" + "ab" * 32


def error_of(r, status, code=None):
    assert r.status == status, (r.status, r.body)
    body = r.json()
    assert set(body) == {"error", "detail", "corr_id"}, body
    assert body["corr_id"] == r.headers["X-Correlation-Id"], (body, r.headers)
    if code:
        assert body["error"] == code, body
    assert body["detail"], body
    return body


def raw_http(node, data, read_until_close=False, seconds=10):
    s = socket.create_connection(("127.0.0.1", node.admin_port), timeout=seconds * harness.SCALE)
    s.sendall(data)
    out = b""
    end = harness.deadline(seconds)
    while time.monotonic() < end:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        out += chunk
        if not read_until_close and out.count(b"HTTP/1.1") >= data.count(b"HTTP/1.1") and b"\r\n\r\n" in out:
            # enough for the responses we expect: stop at the last complete body
            heads = out.split(b"HTTP/1.1 ")[1:]
            if all(b"\r\n\r\n" in h for h in heads):
                complete = True
                for h in heads:
                    head, _, body = h.partition(b"\r\n\r\n")
                    length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0]
                                 .split(b":")[1])
                    complete &= len(body) >= length
                if complete:
                    break
    s.close()
    return out


@test
def put_on_a_get_on_b():
    a, b = cluster(2)
    value = os.urandom(300)
    r = a.post("/dht/put", value)
    assert r.status == 200, r.body
    body = r.json()
    assert body["key"].startswith("b3:") and body["stored_on"] >= 1, body
    # elapsed_ms has microsecond precision: a float with three decimals, not whole ms.
    assert re.search(rb'"elapsed_ms":[0-9]+\.[0-9]{3}[,}]', r.body), r.body
    assert "hops" in body and body["corr_id"] == r.headers["X-Correlation-Id"], body
    g = b.get("/dht/get/" + body["key"], headers={"X-Correlation-Id": "trace-42.a:b_c"})
    assert g.status == 200 and g.body == value
    assert g.headers["Content-Type"] == "application/octet-stream"
    # The raw answer tells its hops and time in headers, and echoes the caller's id.
    assert g.headers["X-Correlation-Id"] == "trace-42.a:b_c", g.headers
    assert g.headers["X-Hops"].isdigit() and re.fullmatch(r"[0-9]+\.[0-9]{3}", g.headers["X-Elapsed-Ms"])
    # Asked for JSON, the same answer comes as an object, the value in base64.
    j = b.get("/dht/get/" + body["key"], headers={"Accept": "application/json"})
    jb = j.json()
    assert j.status == 200 and base64.b64decode(jb["value_b64"]) == value and jb["bytes"] == 300, jb
    assert jb["key"] == body["key"] and jb["complete"] is True and "hops" in jb, jb
    # A caller's id that could forge a log line is not taken: a fresh one replaces it.
    bad = b.get("/dht/closest/" + body["key"], headers={"X-Correlation-Id": "x y\tz"})
    assert re.fullmatch("[0-9a-f]{16}", bad.headers["X-Correlation-Id"]), bad.headers
    assert bad.json()["corr_id"] == bad.headers["X-Correlation-Id"]
    for n in (a, b):
        assert n.stop() == 0


@test
def provide_on_a_find_on_c_in_five_nodes():
    nodes = cluster(5)
    a, c = nodes[0], nodes[4]
    poll(lambda: all(n.peers() >= 4 for n in nodes), 20, "tables")
    r = a.post("/dht/provide", {"cid": B3_A, "node": "tcp://203.0.113.7:9444", "ttl_secs": 600})
    assert r.status == 200, r.body
    body = r.json()
    assert body["ok"] is True and body["ttl_secs_used"] == 600 and body["stored_on"] >= 1, body
    assert "elapsed_ms" in body
    f = c.get("/dht/find_providers/" + B3_A)
    assert f.status == 200, f.body
    fb = f.json()
    assert fb["cid"] == B3_A and "hops" in fb and "elapsed_ms" in fb, fb
    assert [p["node"] for p in fb["providers"]] == ["tcp://203.0.113.7:9444"], fb
    assert fb["providers"][0]["publisher"] == a.id
    assert 0 < fb["providers"][0]["ttl_secs_left"] <= 600
    for n in nodes:
        assert n.stop() == 0


@test
def ttl_expiry_removes_records_everywhere():
    a, b = cluster(2)
    cid = "b3:" + os.urandom(32).hex()
    r = a.post("/dht/provide", {"cid": cid, "node": "local://demo", "ttl_secs": 2})
    assert r.status == 200 and r.json()["ttl_secs_used"] == 2, r.body
    f = b.get("/dht/find_providers/" + cid)
    assert len(f.json()["providers"]) == 1, f.body
    entries = [e for e in a.get("/dht/_debug/list").json()["entries"] if e.get("cid") == cid]
    assert len(entries) == 1 and entries[0]["secs_left"] <= 2, entries
    poll(lambda: b.get("/dht/find_providers/" + cid).json()["providers"] == [], 6, "expiry on b")
    poll(lambda: not [e for e in a.get("/dht/_debug/list").json()["entries"] if e.get("cid") == cid], 6,
         "expiry in a's debug list")
    for n in (a, b):
        assert n.stop() == 0


@test
def readiness_follows_the_seed_and_drops_on_sigterm_before_exit():
    seed_port = harness.free_port()
    b = Node("--bootstrap", f"127.0.0.1:{seed_port}")
    b.wait_admin()
    r = b.get("/readyz")
    assert r.status == 503 and r.headers.get("Retry-After"), r.body
    body = r.json()
    assert body["ready"] is False and "bootstrap" in body["missing"] and "routing_ready" in body["missing"], body
    assert body["gates"]["listeners_bound"] is True
    # Lookups before routing is ready are refused.
    error_of(b.get("/dht/closest/" + B3_A), 503, "not_ready")
    a = Node(port=seed_port)
    a.wait_ready()
    b.wait_ready(seconds=30)  # the seed is redialed with backoff
    assert b.get("/readyz").json()["gates"]["bootstrap"] is True
    b.proc.send_signal(signal.SIGTERM)
    # The signal reaches the loop on its next turn, so a request already on its way may
    # still be answered ready (it was, under emulation). From that turn on /readyz is 503
    # for the drain's linger, before the node exits.
    r = poll(lambda: (lambda r: r if r.status == 503 else None)(b.get("/readyz")), 5, "readiness to drop")
    assert "not_draining" in r.json()["missing"] and r.headers.get("Retry-After"), r.body
    assert b.proc.wait(timeout=10 * harness.SCALE) == 0
    assert a.stop() == 0


@test
def every_error_status_with_json():
    n = Node()
    n.wait_ready()
    # 400: the field and what was expected.
    body = error_of(n.get("/dht/find_providers/b3:1234"), 400, "bad_cid")
    assert "64 lowercase hex" in body["detail"]
    error_of(n.get("/dht/get/" + "B3:" + "00" * 32), 400, "bad_key")
    error_of(n.post("/dht/provide", b"{not json", {"Content-Type": "application/json"}), 400, "bad_json")
    error_of(n.post("/dht/provide", {"cid": B3_A}), 400, "bad_node")
    error_of(n.post("/dht/provide", {"cid": B3_A, "node": "ftp://x"}), 400, "bad_node")
    error_of(n.post("/dht/provide", {"cid": B3_A, "node": "tcp://x:1", "ttl_secs": -1}), 400, "bad_ttl_secs")
    error_of(n.post("/dht/put", b""), 400, "bad_body")
    # 404 and 405 (with Allow).
    error_of(n.get("/nope"), 404, "not_found")
    r = n.request("DELETE", "/dht/put")
    error_of(r, 405, "method_not_allowed")
    assert r.headers["Allow"] == "POST"
    error_of(n.get("/dht/get/b3:" + "00" * 32), 404, "not_found")
    # 413: over max_value_bytes, and over the 1 MiB body limit.
    error_of(n.post("/dht/put", b"x" * 20000), 413, "value_too_large")
    out = raw_http(n, b"POST /dht/put HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", read_until_close=True)
    assert out.startswith(b"HTTP/1.1 413"), out[:80]
    # 414 and 431.
    out = raw_http(n, b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", read_until_close=True)
    assert out.startswith(b"HTTP/1.1 414"), out[:80]
    out = raw_http(n, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20000 + b"\r\n\r\n", read_until_close=True)
    assert out.startswith(b"HTTP/1.1 431"), out[:80]
    # 408: a request that never completes.
    started = time.monotonic()
    out = raw_http(n, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", read_until_close=True, seconds=15)
    assert out.startswith(b"HTTP/1.1 408") and b"request_timeout" in out, out[:120]
    assert time.monotonic() - started >= 4.5
    # 503: a standalone node has nobody to ask.
    error_of(n.get("/dht/closest/" + B3_A), 503, "no_peers")
    assert n.stop() == 0


@test
def bearer_token_required_when_admin_is_not_loopback():
    d = tempfile.mkdtemp()
    tok = os.path.join(d, "token")
    with open(tok, "w") as f:
        f.write("s3cret\n")
    n = Node("--admin-token-file", tok, admin_host="0.0.0.0")
    n.wait_ready()
    body = {"cid": B3_A, "node": "tcp://203.0.113.1:1"}
    r = n.post("/dht/provide", body)
    error_of(r, 401, "unauthorized")
    assert r.headers.get("WWW-Authenticate") == "Bearer"
    error_of(n.post("/dht/provide", body, {"Authorization": "Bearer wrong"}), 401, "unauthorized")
    assert n.post("/dht/provide", body, {"Authorization": "Bearer s3cret"}).status == 200
    assert n.get("/healthz").status == 200, "reads need no token"
    assert n.stop() == 0
    os.unlink(tok)
    os.rmdir(d)


@test
def pipelined_keep_alive_requests_answer_in_order():
    n = Node()
    n.wait_ready()
    req = (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
           b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
           b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
    out = raw_http(n, req)
    parts = out.split(b"HTTP/1.1 ")[1:]
    assert [p[:3] for p in parts] == [b"200", b"404", b"200"], out[:300]
    assert b"Connection: keep-alive" in parts[0]
    assert b'"service":"svc-dht"' in parts[2]
    assert n.stop() == 0


@test
def metrics_move_as_operations_happen():
    a, b = cluster(2)
    before = {m: b.metric(m) for m in ("dht_put_total", "dht_get_total", "dht_found_total")}
    hops_before = b.metric("dht_lookup_hops_count", {"op": "find_node"})
    r = b.post("/dht/put", b"metrics!")
    key = r.json()["key"]
    assert a.get("/dht/get/" + key).status == 200
    assert b.get("/dht/get/" + key).status == 200
    assert b.metric("dht_put_total") == before["dht_put_total"] + 1
    assert b.metric("dht_get_total") == before["dht_get_total"] + 1
    assert b.metric("dht_found_total") >= before["dht_found_total"] + 1
    assert b.metric("dht_lookup_hops_count", {"op": "find_node"}) > hops_before
    assert a.metric("http_requests_total", {"route": "/dht/get/{key}", "method": "GET", "status": "200"}) >= 1
    text = a.get("/metrics").body.decode()
    for name in ("dht_timeout_total", "dht_error_total", "dht_lookups_total", "dht_rpcs_total",
                 "dht_hedge_spawned_total", "dht_hedge_canceled_total", "dht_peer_dropped_total",
                 "dht_frames_rejected_total", "dht_route_updates_total", "rejected_total", "http_requests_total",
                 "dht_get_latency_seconds", "dht_put_latency_seconds", "dht_lookup_latency_seconds",
                 "dht_lookup_hops", "dht_routing_table_size", "dht_active_sessions", "dht_pending_queries",
                 "dht_rpcs_inflight", "dht_provider_records", "dht_values_stored", "dht_bootstrap_seeds_up",
                 "dht_bucket_prefix_max_pct", "dht_ready", "dht_build_info", "process_resident_memory_bytes",
                 "process_cpu_seconds_total", "process_open_fds", "process_start_time_seconds",
                 "dht_store_records", "dht_store_bytes", "dht_store_persistent", "dht_store_writes_refused",
                 "dht_store_persist_errors_total", "dht_store_persist_dropped_total", "dht_store_commit_seconds",
                 "dht_degraded"):
        assert f"# TYPE {name} " in text, name
    # b dialed a (its seed) and a accepted it: the connection counters saw both sides.
    assert b.metric("dht_peer_connections_total", {"direction": "outbound"}) >= 1
    assert a.metric("dht_peer_connections_total", {"direction": "inbound"}) >= 1
    assert a.metric("dht_io_errors_total") == 0
    # Both timed the other (a only ever accepted: its sample is the inbound handshake's or
    # an answer on that session); loopback round trips are far below rpc_timeout_ms.
    for n in (a, b):
        assert n.metric("dht_rtt_smoothed_seconds") > 0
        assert n.metric("dht_rpc_timeout_seconds") == 1.5
    for n in (a, b):
        assert n.stop() == 0


@test
def warm_sessions_outlive_the_idle_timeout_and_others_close():
    """With a 2 s idle timeout, the session between a node and its seed stays open through
    several timeouts while each keeps it warm with pings (warm_sessions, the default), and
    closes after one without them."""
    for warm in ("32", "0"):
        args = ("--idle-timeout", "2000", "--warm-sessions", warm)
        a, b = cluster(2, *args)
        if warm == "0":
            poll(lambda: a.metric("dht_active_sessions") == 0 and b.metric("dht_active_sessions") == 0,
                 20, "the idle session to close on both sides")
            assert a.metric("dht_keepalive_pings_total") == 0 and b.metric("dht_keepalive_pings_total") == 0
        else:
            # A ping per 1.5 s of quiet: 6 of them take at least 9 s, four idle timeouts.
            poll(lambda: a.metric("dht_keepalive_pings_total") + b.metric("dht_keepalive_pings_total") >= 6,
                 40, "six keepalive pings")
            for n in (a, b):
                assert n.metric("dht_active_sessions") == 1, n.logs()[-2000:]
                assert n.metric("dht_warm_sessions") == 1
            assert b.metric("dht_peer_connections_total", {"direction": "outbound"}) == 1, "never redialed"
        for n in (a, b):
            assert n.stop() == 0


@test
def promtool_accepts_live_metrics():
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing (tools/install-deps.sh installs the prometheus package)"
    a, b = cluster(2)
    b.post("/dht/put", b"for promtool")
    b.get("/dht/closest/" + B3_A)
    b.get("/nope")
    text = b.get("/metrics").body
    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    for n in (a, b):
        assert n.stop() == 0



@test
def admin_connection_cap_keeps_room_for_probes_and_refuses_the_rest():
    n = Node("--max-admin-conns", "2")
    # No HTTP request before the held connections: a closed request's connection still
    # counts until its close completes. The admin port is bound once the log names it.
    assert n.admin_port
    held = [socket.create_connection(("127.0.0.1", n.admin_port), timeout=5 * harness.SCALE)
            for _ in range(2)]
    # Both held connections are accepted before the third arrives: a request on each answers.
    for s in held:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        got = s.recv(65536)
        assert got.startswith(b"HTTP/1.1 200"), f"a connection within the cap is not served: {got!r}"
    # Past the cap, the probes are still answered (and the connection closed after) ...
    for probe in (b"/healthz", b"/readyz", b"/metrics"):
        out = raw_http(n, b"GET " + probe + b" HTTP/1.1\r\nHost: x\r\n\r\n", read_until_close=True)
        assert out.startswith(b"HTTP/1.1 200"), (probe, out[:200])
    # ... while anything else gets 503.
    out = raw_http(n, b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n", read_until_close=True)
    assert out.startswith(b"HTTP/1.1 503"), out
    assert b"too_many_connections" in out, out
    for s in held:
        s.close()
    poll(lambda: n.metric("rejected_total", {"reason": "admin_conns"}) >= 1, 10,
         "rejected_total{reason=admin_conns}")



@test
def a_client_that_shuts_its_write_side_still_gets_its_answers():
    n = Node()
    n.wait_admin()
    s = socket.create_connection(("127.0.0.1", n.admin_port), timeout=10 * harness.SCALE)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /version HTTP/1.1\r\nHost: x\r\n\r\n")
    s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    s.close()
    assert out.count(b"HTTP/1.1 200") == 2, out
    assert out.rstrip().endswith(b"}"), out



@test
def a_write_our_own_store_refuses_answers_503_store_full():
    # The node republishes what it published from its own store, so a provide or put that
    # the store refuses is not published at all: the caller learns why.
    n = Node("--max-records", "16")
    n.wait_ready()
    keys = []
    for i in range(16):
        r = n.post("/dht/put", f"value {i}".encode())
        assert r.status == 200, (i, r.status, r.body)
        keys.append(r.json()["key"])
    body = error_of(n.post("/dht/put", b"one too many"), 503, "store_full")
    assert "limit" in body["detail"], body
    error_of(n.post("/dht/provide", {"cid": B3_A, "node": "tcp://198.51.100.7:4001"}), 503, "store_full")
    r = n.get("/dht/get/" + keys[3])
    assert r.status == 200 and r.body == b"value 3", (r.status, r.body)
    assert n.stop() == 0


if __name__ == "__main__":
    harness.main()
