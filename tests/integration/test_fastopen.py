#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# TCP Fast Open between real daemons. The kernel's switch (net.ipv4.tcp_fastopen) and its
# cookie cache belong to a network namespace, so the test re-runs itself inside one of its
# own (unshare -n) and sets the switch there; nothing outside changes. Where namespaces are
# not allowed, every test is skipped. Prints TAP.
import subprocess

import harness
from harness import Node, run, test

SYSCTL = "/proc/sys/net/ipv4/tcp_fastopen"


def kernel_fastopen(value):
    with open(SYSCTL, "w") as f:
        f.write(str(value))


def fastopen(node, side):
    return node.metric("dht_tcp_fastopen_total", {"side": side})


def ping(node):
    code, out, err = run(["ping", node.addr])
    assert code == 0, err
    return out


@test
def a_second_connection_to_a_host_carries_its_first_bytes_in_the_syn():
    kernel_fastopen(3)
    a = Node()
    a.wait_ready()
    # The first connection to the host fetches the kernel's cookie: a plain handshake.
    ping(a)
    assert fastopen(a, "accepted") == 0
    # From then on the dialer's HELLO, ident and early request ride the SYN.
    ping(a)
    assert fastopen(a, "accepted") == 1
    b = Node("--bootstrap", a.addr)
    b.wait_ready()
    assert fastopen(b, "dialed") >= 1
    assert fastopen(a, "accepted") >= 2
    # The sessions work as any other: a value put on one is read on the other.
    r = b.post("/dht/put", b"over fast open")
    assert r.status == 200, r.body
    assert a.get("/dht/get/" + r.json()["key"]).status == 200
    assert a.metric("dht_io_errors_total") == 0 and b.metric("dht_io_errors_total") == 0
    for n in (a, b):
        assert n.stop() == 0


@test
def a_listener_with_fast_open_off_takes_plain_handshakes_only():
    kernel_fastopen(3)
    warm = Node()
    warm.wait_ready()
    ping(warm)  # the kernel holds a cookie for 127.0.0.1 now
    c = Node("--tcp-fastopen", "false")
    c.wait_ready()
    ping(c)
    ping(c)
    d = Node("--bootstrap", c.addr)
    d.wait_ready()
    assert fastopen(c, "accepted") == 0
    assert fastopen(d, "dialed") == 0, "the data in the SYN was not taken: it went again after"
    r = d.post("/dht/put", b"plain")
    assert r.status == 200, r.body
    assert c.get("/dht/get/" + r.json()["key"]).status == 200
    for n in (warm, c, d):
        assert n.stop() == 0


@test
def a_fast_open_dial_to_a_closed_port_fails_as_unreachable():
    # A dial with a cookie completes at once and the SYN leaves with the first write; the
    # refusal then arrives as the first read. It must count as the dial failing (bootstrap
    # retries, "could not connect"), not as an I/O error of a connection.
    kernel_fastopen(3)
    warm = Node()
    warm.wait_ready()
    ping(warm)
    dead = f"127.0.0.1:{harness.free_port()}"
    code, _, err = run(["ping", dead])
    assert code == 1 and "could not connect" in err, (code, err)
    n = Node("--bootstrap", dead)
    harness.poll(lambda: n.metric("dht_bootstrap_dial_failures_total") >= 2, 30, "two failed seed dials")
    assert n.metric("dht_io_errors_total") == 0
    for m in (warm, n):
        assert m.stop() == 0


@test
def the_log_says_when_the_kernel_keeps_fast_open_from_the_listener():
    kernel_fastopen(1)  # the kernel's default: Fast Open dials only
    n = Node()
    n.wait_ready()
    harness.poll(lambda: "TCP Fast Open is partly off in the kernel" in n.logs(), 10, "the hint")
    line = next(x for x in n.logs().splitlines() if "TCP Fast Open is partly off" in x)
    assert "sysctl_tcp_fastopen=1" in line and "listener=off" in line, line
    assert n.stop() == 0
    kernel_fastopen(3)
    m = Node()
    m.wait_ready()
    assert "TCP Fast Open is partly off" not in m.logs()
    assert m.stop() == 0


if __name__ == "__main__":
    harness.enter_netns(__file__)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    harness.main()
