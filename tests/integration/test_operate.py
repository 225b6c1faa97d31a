#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Operating real daemons: JSON logs are one object per line (every line of a run parses)
# and follow one operation by its corr_id (start, each RPC, the end, the HTTP line);
# warnings a flood triggers are rate-limited and their suppressed count is told; the
# one-shot clients (get, put, provide, find-providers) answer with the HTTP API's JSON and
# the documented exit statuses. Runs under Debian's /usr/bin/python3 (PyNaCl, cbor2). TAP.
import json
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hostile"))
from harness import Node, cluster, poll, run, test  # noqa: E402
from peer import DATA, PING, QUOTA, Peer, frame, msg  # noqa: E402

HEX64 = re.compile("[0-9a-f]{64}")


def json_lines(node):
    """Every line of |node|'s log, each parsed as one JSON object."""
    out = []
    for line in node.logs().splitlines():
        rec = json.loads(line)  # raises on any line that is not one JSON value
        assert isinstance(rec, dict) and {"ts", "level", "msg"} <= set(rec), line
        out.append(rec)
    return out


@test
def json_logs_follow_one_operation_by_its_corr_id():
    nodes = cluster(3, "--log-format", "json", "--log-level", "debug")
    poll(lambda: all(n.peers() >= 2 for n in nodes), 20, "tables")
    b = nodes[1]
    r = b.post("/dht/put", b"follow me", headers={"X-Correlation-Id": "op-put-1"})
    assert r.status == 200 and r.json()["corr_id"] == "op-put-1", r.body
    c = b.get("/dht/closest/" + r.json()["key"], headers={"X-Correlation-Id": "op-closest-1"})
    assert c.status == 200, c.body
    for n in nodes:
        assert n.stop() == 0
    for n in nodes:
        json_lines(n)  # every line of every node parses
    recs = json_lines(b)
    for corr, op in (("op-put-1", "put"), ("op-closest-1", "closest")):
        mine = [x for x in recs if x.get("corr_id") == corr]
        kinds = [x["msg"] for x in mine]
        assert kinds[0] == "request started" and mine[0]["op"] == op, mine
        rpcs = [x for x in mine if x["msg"] == "rpc"]
        assert rpcs, f"no RPC line carries {corr}: {kinds}"
        for x in rpcs:
            assert HEX64.fullmatch(x["peer_id"]) and x["op"] and x["code"] == "1000", x
            assert float(x["rtt_ms"]) >= 0, x
        done = [x for x in mine if x["msg"] == "request done"]
        assert len(done) == 1, kinds
        d = done[0]
        assert d["op"] == op and d["key"] == r.json()["key"] and d["outcome"] == "ok", d
        assert int(d["hops"]) >= 1 and int(d["rpcs"]) >= len(rpcs) and float(d["elapsed_ms"]) > 0, d
        http = [x for x in mine if x["msg"] == "http request"]
        assert len(http) == 1 and http[0]["status"] == "200", http


@test
def flood_warnings_are_rate_limited_and_their_count_is_told():
    n = Node("--log-format", "json", "--peer-rate", "1", "--peer-burst", "1")
    n.wait_ready()
    p = Peer("127.0.0.1", n.port, listen_port=40011).handshake()
    rids = [p.next_rid() for _ in range(60)]
    p.send(b"".join(frame(DATA, msg(PING, rid)) for rid in rids))
    refused = sum(1 for rid in rids if p.response(rid).get("code", 1000) == QUOTA)
    assert refused >= 50, refused
    warn = "peer over its request quota: 1429"
    lines = [x for x in json_lines(n) if x["msg"] == warn]
    assert 1 <= len(lines) <= 5, len(lines)
    assert HEX64.fullmatch(lines[0]["peer_id"]) and lines[0]["op"] == "ping", lines[0]
    # The window is 10 s; the next event after it tells how many lines were left out.
    time.sleep(10.5)
    p.send(frame(DATA, msg(PING, p.next_rid())))

    def summary():
        s = [x for x in json_lines(n) if x["msg"] == warn + " (repeated)"]
        return s[0] if s else None
    s = poll(summary, 10, "the suppressed-lines summary")
    assert int(s["suppressed"]) == refused - len(lines), (s, refused, len(lines))
    p.close()
    assert n.stop() == 0


def cli(*args, stdin=None):
    return run(list(args), timeout=30) if stdin is None else run_stdin(list(args), stdin)


def run_stdin(args, data):
    import subprocess
    import harness
    p = subprocess.run([harness.BIN] + args, input=data, capture_output=True, env=harness.clean_env(),
                       timeout=30 * harness.SCALE)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


@test
def one_shot_clients_answer_like_the_api():
    nodes = cluster(3)
    poll(lambda: all(n.peers() >= 2 for n in nodes), 20, "tables")
    seed = ["--bootstrap", nodes[0].addr]
    with tempfile.NamedTemporaryFile("wb", suffix=".bin") as f:
        f.write(b"a value put from the command line")
        f.flush()
        code, out, err = cli("put", f.name, "--json", *seed)
        assert code == 0, err
        put = json.loads(out)
        api_put = nodes[1].post("/dht/put", b"the same shape").json()
        assert set(put) == set(api_put), (put, api_put)
        assert put["stored_on"] >= 1 and re.fullmatch("[0-9a-f]{16}", put["corr_id"]), put
        key = put["key"]
    # get writes the bytes themselves; --json is GET /dht/get's JSON answer.
    code, out, err = cli("get", key, *seed)
    assert code == 0 and out == "a value put from the command line", (code, out, err)
    code, out, err = cli("get", key, "--json", *seed)
    got = json.loads(out)
    api_get = nodes[2].get("/dht/get/" + key, headers={"Accept": "application/json"}).json()
    assert code == 0 and set(got) == set(api_get) and got["bytes"] == 33, (got, api_get)
    # Standard input works as the value.
    code, out, err = cli("put", "-", *seed, stdin=b"from stdin")
    assert code == 0 and "stored_on" in out, (code, out, err)
    # Not found: exit 1, and --json prints the API's 404 body.
    absent = "b3:" + "ab" * 32
    code, out, err = cli("get", absent, "--json", *seed)
    assert code == 1 and json.loads(out)["error"] == "not_found", (code, out, err)
    code, out, err = cli("find-providers", absent, *seed)
    assert code == 1 and "providers 0" in out, (code, out, err)
    # provide, then find-providers from the command line and over HTTP alike.
    code, out, err = cli("provide", absent, "tcp://203.0.113.9:9444", "--ttl", "120", "--json", *seed)
    prov = json.loads(out)
    assert code == 0 and prov["ok"] is True and prov["ttl_secs_used"] == 120, (code, out, err)
    code, out, err = cli("find-providers", absent, "--json", *seed)
    fp = json.loads(out)
    api_fp = nodes[2].get("/dht/find_providers/" + absent).json()
    assert code == 0 and set(fp) == set(api_fp), (fp, api_fp)
    assert [p["node"] for p in fp["providers"]] == ["tcp://203.0.113.9:9444"], fp
    # lookup --json: the two API answers it is made of.
    code, out, err = cli("lookup", absent, "--json", *seed)
    lk = json.loads(out)
    assert code == 0 and set(lk) == {"closest", "find_providers"} and lk["closest"]["nodes"], lk
    # Usage errors: exit 2, before any network traffic.
    assert cli("get", "b3:1234", *seed)[0] == 2
    assert cli("get", key)[0] == 2  # no --bootstrap
    assert cli("provide", absent, "ftp://x", *seed)[0] == 2
    assert cli("put", "/nonexistent/file", *seed)[0] == 2
    assert cli("put", "-", *seed, stdin=b"")[0] == 2
    # Unreachable seed: exit 1 after the timeout.
    code, _, err = cli("get", key, "--bootstrap", "127.0.0.1:1", "--timeout", "1500")
    assert code == 1 and "timed out" in err, (code, err)
    for n in nodes:
        assert n.stop() == 0


if __name__ == "__main__":
    from harness import main
    main()
