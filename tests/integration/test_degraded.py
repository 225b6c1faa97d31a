#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Degraded (read-only) mode and write shedding on real daemons: POST /admin/degraded and
# `svc-dht admin degraded on|off` switch it, stores are refused over HTTP (503 degraded)
# and on the wire (1501) while reads serve, /readyz and /metrics show it, a configured
# token guards the switch; under a flood of writes on the wire, reads keep their share of
# the node's request budget. Runs under Debian's /usr/bin/python3 (PyNaCl, cbor2). TAP.
import os
import sys
import tempfile

import cbor2

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hostile"))
from harness import Node, run, test  # noqa: E402
from peer import BUSY, DATA, FIND_NODE, GET_VALUE, OK, PUT_VALUE, Peer, blake3, frame, msg  # noqa: E402


def b3(key):
    return "b3:" + key.hex()


def degraded(node, on, *extra):
    return run(["admin", "degraded", "on" if on else "off", "--admin", f"127.0.0.1:{node.admin_port}"]
               + list(extra), timeout=10)


@test
def degraded_mode_refuses_stores_and_serves_reads():
    n = Node()
    n.wait_ready()
    kept = b"stored before the switch"
    assert n.post("/dht/put", kept).status == 200
    code, out, err = degraded(n, True)
    assert code == 0 and '"degraded":true' in out, (code, out, err)
    r = n.get("/readyz")
    assert r.status == 200 and r.json()["degraded"] is True, r.body
    assert n.metric("dht_degraded") == 1
    r = n.post("/dht/put", b"refused")
    assert r.status == 503 and r.json()["error"] == "degraded", (r.status, r.body)
    r = n.post("/dht/provide", {"cid": b3(os.urandom(32)), "node": "tcp://198.51.100.9:1"})
    assert r.status == 503 and r.json()["error"] == "degraded", (r.status, r.body)
    p = Peer("127.0.0.1", n.port).handshake()
    v = os.urandom(64)
    assert p.request(PUT_VALUE, key=blake3(v), val=v).get("code") == BUSY
    assert p.request(GET_VALUE, key=blake3(kept)).get("val") == kept
    assert n.get("/dht/get/" + b3(blake3(kept))).body == kept
    assert "degraded mode on" in n.logs()
    code, out, err = degraded(n, False)
    assert code == 0 and '"degraded":false' in out, (code, out, err)
    assert p.request(PUT_VALUE, key=blake3(v), val=v).get("code", OK) == OK
    assert n.post("/dht/put", b"taken again").status == 200
    assert n.metric("dht_degraded") == 0
    p.close()
    assert n.stop() == 0


@test
def a_configured_token_guards_the_switch_even_on_loopback():
    with tempfile.NamedTemporaryFile("w", prefix="svc-dht-token-", delete=False) as f:
        f.write("s3cret-token\n")
    try:
        n = Node("--admin-token-file", f.name)
        n.wait_ready()
        r = n.post("/admin/degraded", {"on": True})
        assert r.status == 401, (r.status, r.body)
        r = n.post("/admin/degraded", {"on": True}, headers={"Authorization": "Bearer wrong"})
        assert r.status == 401, (r.status, r.body)
        assert n.get("/readyz").json()["degraded"] is False
        code, out, err = degraded(n, True)  # no token: refused, exit 1
        assert code == 1 and "401" in err, (code, out, err)
        code, out, err = degraded(n, True, "--admin-token-file", f.name)
        assert code == 0, (code, out, err)
        assert n.get("/readyz").json()["degraded"] is True
        r = n.post("/admin/degraded", {"on": "yes"}, headers={"Authorization": "Bearer s3cret-token"})
        assert r.status == 400, (r.status, r.body)
        assert n.stop() == 0
    finally:
        os.unlink(f.name)


@test
def under_a_write_flood_on_the_wire_reads_keep_their_budget():
    # A node budget of 200 requests per second (and burst): writes may take the first half.
    # One peer pipelines 400 PUT_VALUEs (in bursts of 100), then 50 FIND_NODEs: writes
    # beyond their half get 1501, every read is answered.
    n = Node("--node-rate", "200", "--node-write-rate", "100000", "--peer-rate", "100000",
             "--peer-burst", "100000")
    n.wait_ready()
    p = Peer("127.0.0.1", n.port).handshake()
    codes = {"write": [], "read": []}

    def burst(what, frames):
        """Pipelines |frames| (at most 100: a session's answers queue is bounded) and
        collects their codes under |what|."""
        rids = set()
        out = []
        for op, fields in frames:
            rid = p.next_rid()
            rids.add(rid)
            out.append(frame(DATA, msg(op, rid, **fields)))
        p.send(b"".join(out))
        while rids:
            kind, payload = p.frame(30)
            m = cbor2.loads(payload) if kind == DATA else {}
            if m.get("f") == 2 and m.get("rid") in rids:
                rids.discard(m["rid"])
                codes[what].append(m.get("code", OK))

    for _ in range(4):
        values = [os.urandom(32) for _ in range(100)]
        burst("write", [(PUT_VALUE, {"key": blake3(v), "val": v}) for v in values])
    burst("read", [(FIND_NODE, {"target": os.urandom(32)}) for _ in range(50)])
    p.close()
    shed = codes["write"].count(BUSY)
    print(f"# writes: {codes['write'].count(OK)} stored, {shed} shed; reads: "
          f"{codes['read'].count(OK)} of 50 answered", flush=True)
    assert shed > 0, "no write was shed"
    assert codes["read"].count(OK) == 50, codes["read"]
    assert n.metric("rejected_total", {"reason": "writes_shed"}) == shed
    assert n.stop() == 0


if __name__ == "__main__":
    import harness
    harness.main()
