#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A 64-node cluster on loopback (one process per node, all bootstrapping off node 0): every
# table fills to at least 20 contacts, a put from one node is readable from another, and
# every node stops cleanly on SIGTERM with exit status 0. Under ASan/LSan (make asan) a leak
# or a handle left open makes a node's exit status non-zero, so this is also the leak check.
import os

import harness
from harness import Node, poll, test

N = int(os.environ.get("SVC_DHT_CLUSTER_NODES", "64"))


@test
def cluster_of_64_fills_tables_and_stops_cleanly():
    first = Node()
    first.wait_ready()
    nodes = [first] + [Node("--bootstrap", first.addr) for _ in range(N - 1)]
    for n in nodes:
        n.wait_ready(seconds=60)
    want = min(N - 1, 20)
    poll(lambda: all(n.peers() >= want for n in nodes), 60, f"every table to reach {want} contacts")
    r = nodes[7].post("/dht/put", b"sixty-four")
    assert r.status == 200 and r.json()["stored_on"] == 3, r.body
    g = nodes[N - 3].get("/dht/get/" + r.json()["key"])
    assert g.status == 200 and g.body == b"sixty-four"
    codes = [n.stop(seconds=20) for n in nodes]
    bad = [(i, c) for i, c in enumerate(codes) if c != 0]
    assert not bad, f"nodes that did not exit 0: {bad}\n{nodes[bad[0][0]].logs()[-3000:]}"


if __name__ == "__main__":
    harness.main()
