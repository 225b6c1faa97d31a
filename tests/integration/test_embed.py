#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# examples/put_get, a program on libsvcdht, joins a real svc-dht daemon, puts a value and
# gets it back; the daemon then serves that value on its own admin API.
#   test_embed.py SVC_DHT PUT_GET
import subprocess
import sys

import harness
from harness import Node, test

PUT_GET = sys.argv[2] if len(sys.argv) > 2 else "build/examples/put_get"


def put_get(*args):
    return subprocess.run([PUT_GET, *args], capture_output=True, text=True, timeout=30 * harness.SCALE)


@test
def example_puts_and_gets_through_a_daemon():
    daemon = Node()
    daemon.wait_ready()
    p = put_get(daemon.addr, "stored by the embedded example")
    assert p.returncode == 0, p.stdout + p.stderr
    put = [line for line in p.stdout.splitlines() if line.startswith("put ")]
    assert put and "stored on 1 nodes" in put[0], p.stdout
    cid = put[0].split()[1].rstrip(":")
    assert f"get {cid}: the same value" in p.stdout, p.stdout
    # The value lives on the daemon, not only in the example's own node.
    r = daemon.get("/dht/get/" + cid)
    assert r.status == 200 and r.body == b"stored by the embedded example", (r.status, r.body)
    assert daemon.metric("dht_sessions_opened_total") >= 1


@test
def example_without_a_reachable_seed_fails():
    port = harness.free_port()  # nothing listens there
    p = put_get(f"127.0.0.1:{port}")
    assert p.returncode == 1 and "put " not in p.stdout, p.stdout + p.stderr


@test
def example_refuses_a_missing_seed_argument():
    p = put_get()
    assert p.returncode == 2 and "usage: put_get" in p.stderr, p.stderr


if __name__ == "__main__":
    harness.BIN = sys.argv[1] if len(sys.argv) > 1 else harness.BIN
    harness.main()
