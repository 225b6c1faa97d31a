#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Attacks that need source addresses other than loopback: the test re-runs itself inside a
# network namespace of its own (unshare -n), gives that namespace's lo documentation
# addresses (198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32), and attacks a daemon listening
# there. Nothing leaves the namespace. Where namespaces are not allowed, every test is
# skipped. Prints TAP.
import os
import socket
import subprocess
import time

from nacl.signing import SigningKey

from peer import ADD_PROVIDER, GET_PROVIDERS, HELLO, NODE_HELLO, OK, PUT_VALUE, QUOTA, Peer, blake3, record, still_serving

import harness
from harness import Node, test

def setup_addresses():
    cmds = [["ip", "link", "set", "lo", "up"]]
    addrs = ["198.51.100.1/32", "203.0.113.1/32", "203.0.113.2/32"]
    addrs += [f"198.51.100.{i}/32" for i in range(2, 20)]
    cmds += [["ip", "addr", "add", a, "dev", "lo"] for a in addrs]
    v6 = ["2001:db8:1::1/128", "2001:db8:3::1/128"] + [f"2001:db8:2::{i:x}/128" for i in range(1, 41)]
    cmds += [["ip", "-6", "addr", "add", a, "dev", "lo", "nodad"] for a in v6]
    for c in cmds:
        subprocess.run(c, check=True)


def hello_from(source, node_host, port):
    """A connection from |source| that reads the daemon's HELLO (True) or is closed (False)."""
    s = socket.socket(socket.AF_INET6 if ":" in source else socket.AF_INET)
    s.settimeout(5 * harness.SCALE)
    s.bind((source, 0))
    s.connect((node_host, port))
    got = b""
    try:
        while len(got) < 9:
            chunk = s.recv(9 - len(got))
            if not chunk:
                break
            got += chunk
    except OSError:
        pass
    return s, got == NODE_HELLO


@test
def ipv6_hosts_count_against_the_per_ip_cap_by_their_64():
    n = Node("--listen", "[2001:db8:1::1]:0", "--max-conns-per-ip", "16", "--handshake-timeout", "30000")
    n.wait_ready()
    # One host with a /64: 40 addresses, two connections each, against a cap of 16.
    held, served = [], 0
    for i in range(1, 41):
        for _ in range(2):
            s, ok = hello_from(f"2001:db8:2::{i:x}", "2001:db8:1::1", n.port)
            held.append(s)
            served += ok
    assert served == 16, f"{served} connections from one /64 were served (cap 16)"
    assert n.metric("rejected_total", {"reason": "conns_per_ip"}) >= 64
    # Another /64 is another host.
    s, ok = hello_from("2001:db8:3::1", "2001:db8:1::1", n.port)
    assert ok, "a connection from another /64 was refused"
    held.append(s)
    still_serving(n, "2001:db8:1::1")
    for s in held:
        s.close()
    assert n.stop() == 0
    # The prefix is a setting: by whole address, each of the 40 gets its two.
    m = Node("--listen", "[2001:db8:1::1]:0", "--max-conns-per-ip", "16", "--conns-v6-prefix", "128",
             "--handshake-timeout", "30000")
    m.wait_ready()
    held, served = [], 0
    for i in range(1, 41):
        for _ in range(2):
            s, ok = hello_from(f"2001:db8:2::{i:x}", "2001:db8:1::1", m.port)
            held.append(s)
            served += ok
    assert served == 80, served
    for s in held:
        s.close()
    assert m.stop() == 0


@test
def many_hosts_of_one_network_hold_only_that_networks_share():
    # 16 hosts of one /24 with 16 keys put values into a 4 MiB store: the /24 stops at its
    # share (25 %); a host on another network still stores. And 240 throwaway keys from that
    # /24, with timestamps as new as a holder accepts, cannot push a real provider from
    # another network out of a key's list or its answers.
    n = Node("--listen", "198.51.100.1:0", "--max-store-bytes", str(4 << 20))
    n.wait_ready()
    stored = 0
    attackers = [Peer("198.51.100.1", n.port, source=f"198.51.100.{i}").handshake() for i in range(2, 18)]
    for p in attackers:
        for _ in range(20):
            v = os.urandom(16384)
            code = p.request(PUT_VALUE, key=blake3(v), val=v).get("code", OK)
            stored += code == OK
            assert code in (OK, QUOTA), code
    assert stored <= 64, f"one /24 stored {stored} values of 16 KiB in a 4 MiB store"
    assert n.metric("rejected_total", {"reason": "store_prefix_quota"}) > 0
    other = Peer("198.51.100.1", n.port, source="203.0.113.1").handshake()
    v = os.urandom(16384)
    assert other.request(PUT_VALUE, key=blake3(v), val=v).get("code", OK) == OK
    still_serving(n, "198.51.100.1")
    for p in attackers + [other]:
        p.close()
    assert n.stop() == 0
    # The provider list of one key, on a fresh node.
    m = Node("--listen", "198.51.100.1:0")
    m.wait_ready()
    attackers = [Peer("198.51.100.1", m.port, source=f"198.51.100.{i}").handshake() for i in range(2, 18)]
    real = Peer("198.51.100.1", m.port, source="203.0.113.1").handshake()
    key = os.urandom(32)
    for i in range(40):
        rec = record(SigningKey(os.urandom(32)), key, ["tcp://198.51.100.9:4001"])
        assert attackers[i % 16].request(ADD_PROVIDER, rec=rec).get("code", OK) == OK
    assert real.request(ADD_PROVIDER, rec=record(real.sk, key, ["tcp://203.0.113.1:4001"])).get("code", OK) == OK
    for i in range(200):
        rec = record(SigningKey(os.urandom(32)), key, ["tcp://198.51.100.9:4001"], ts=int(time.time()) + 299)
        assert attackers[i % 16].request(ADD_PROVIDER, rec=rec).get("code", OK) == OK
    answer = real.request(GET_PROVIDERS, key=key)
    assert real.pk in {r["pk"] for r in answer.get("providers", [])}, "the real provider was censored"
    still_serving(m, "198.51.100.1")
    for p in attackers + [real]:
        p.close()
    assert m.stop() == 0


if __name__ == "__main__":
    harness.enter_netns(__file__)
    setup_addresses()
    harness.main()
