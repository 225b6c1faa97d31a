#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The daemon against real processes on loopback: bootstrap and ping both ways, a 16-node
# cluster whose tables fill and whose lookups find the true closest nodes, OAP/1 behaviour
# seen by a raw-socket peer, SIGTERM under load, bad configuration (exit 2 naming the key)
# and a busy port (exit 3).
import os
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import harness
from harness import Node, cluster, poll, run, test

# ---- a tiny CBOR encoder and OAP/1 framing, for the raw peer --------------------------------


def cbor_head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    if n < 256:
        return bytes([major << 5 | 24, n])
    if n < 65536:
        return bytes([major << 5 | 25]) + struct.pack(">H", n)
    return bytes([major << 5 | 26]) + struct.pack(">I", n)


def cbor(x):
    if isinstance(x, bool):
        return bytes([0xf5 if x else 0xf4])
    if isinstance(x, int):
        return cbor_head(0, x)
    if isinstance(x, bytes):
        return cbor_head(2, len(x)) + x
    if isinstance(x, str):
        b = x.encode()
        return cbor_head(3, len(b)) + b
    if isinstance(x, list):
        return cbor_head(4, len(x)) + b"".join(cbor(i) for i in x)
    if isinstance(x, dict):
        return cbor_head(5, len(x)) + b"".join(cbor(k) + cbor(v) for k, v in x.items())
    raise TypeError(x)


HELLO = b"OAP1\x01\x00\x00\x00\x01"  # what these tests send: GOSSIP_V1 only
# What the node sends: GOSSIP_V1 and EARLY_REQUEST (docs/PROTOCOL.md 1.1).
NODE_HELLO = b"OAP1\x01\x00\x00\x00\x03"


def frame(kind, payload):
    return struct.pack(">IB", len(payload) + 1, kind) + payload


def ident():
    return frame(2, cbor({"t": "ident", "v": 1, "pk": os.urandom(32), "nonce": os.urandom(32), "net": "ron",
                          "port": 0}))


class Raw:
    """A raw TCP peer reading the daemon's HELLO and frames."""

    def __init__(self, node):
        self.s = socket.create_connection(("127.0.0.1", node.port), timeout=5 * harness.SCALE)
        self.buf = b""

    def send(self, b):
        self.s.sendall(b)

    def _fill(self, n, seconds):
        end = harness.deadline(seconds)
        while len(self.buf) < n:
            self.s.settimeout(max(0.01, end - time.monotonic()))
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("closed")
            self.buf += chunk

    def hello(self):
        self._fill(9, 5)
        h, self.buf = self.buf[:9], self.buf[9:]
        return h

    def frame(self, seconds=5):
        """The next (kind, payload) from the daemon."""
        self._fill(4, seconds)
        n = struct.unpack(">I", self.buf[:4])[0]
        self._fill(4 + n, seconds)
        kind, payload = self.buf[4], self.buf[5:4 + n]
        self.buf = self.buf[4 + n:]
        return kind, payload

    def closed_within(self, seconds):
        try:
            while True:
                self._fill(len(self.buf) + 1, seconds)
                self.buf = b""
        except EOFError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()


def ctrl_type(payload):
    # {"t": <type>, ...}: the first key of every Ctrl message the daemon writes is "t".
    assert payload[1:3] == b"at", payload[:8]
    n = payload[3] & 0x1f
    return payload[4:4 + n].decode()


def expect_auth(r):
    """Reads frames until the daemon's auth (its answer to our ident): the session is alive."""
    for _ in range(4):
        kind, payload = r.frame()
        if kind == 2 and ctrl_type(payload) == "auth":
            return True
    raise AssertionError("no auth frame from the daemon")


# ---- tests ----------------------------------------------------------------------------------


@test
def two_daemons_bootstrap_and_ping_both_ways():
    a = Node()
    a.wait_ready()
    b = Node("--bootstrap", a.addr)
    b.wait_ready()
    poll(lambda: a.peers() == 1 and b.peers() == 1, 10, "each node in the other's table")
    for src, dst in ((a, b), (b, a)):
        code, out, err = run(["ping", dst.addr])
        assert code == 0, err
        assert f"peer      {dst.id}" in out, out
        assert "rtt" in out
    code, _, err = run(["ping", f"127.0.0.1:{harness.free_port()}", "--timeout", "2000"])
    assert code == 1, "ping to a closed port fails"
    assert "failed" in err or "timed out" in err, err
    # --network reaches the client's handshake: a peer on "ron" refuses a client on "other".
    code, _, err = run(["ping", a.addr, "--network", "other", "--timeout", "5000"])
    assert code == 1 and "another network" in err, err
    assert a.stop() == 0 and b.stop() == 0


@test
def sixteen_node_cluster_fills_tables_and_lookup_finds_the_closest():
    nodes = cluster(16)
    poll(lambda: all(n.peers() >= 15 for n in nodes), 30, "every table to hold the 15 others")
    ids = {n.id: n for n in nodes}
    key = "b3:" + "5a" * 32
    r = nodes[9].post("/dht/provide", {"cid": key, "node": "tcp://198.51.100.9:9444", "ttl_secs": 300})
    assert r.status == 200, r.body
    code, out, err = run(["lookup", key, "--bootstrap", nodes[3].addr], timeout=30)
    assert code == 0, err
    found = [line.split()[0] for line in out.splitlines() if line.startswith("  ") and "distance_bits" in line]
    target = int(key[3:], 16)
    truth = sorted(ids, key=lambda i: int(i, 16) ^ target)
    assert found[:5] == truth[:5], f"lookup gave {found[:5]}, the true closest are {truth[:5]}"
    assert "hops" in out
    assert "providers 1" in out and "tcp://198.51.100.9:9444" in out, out
    # Every engine setting the client takes reaches its engine (the daemon's own mapping):
    # --k bounds the answer (--alpha: tests/hostile/test_wire.py, where it shows).
    code, out, err = run(["lookup", key, "--bootstrap", nodes[3].addr, "--k", "5"], timeout=30)
    assert code == 0 and "closest   5 nodes" in out, (err, out)
    for n in nodes:
        assert n.stop() == 0


@test
def raw_peer_sees_oap1_behaviour():
    node = Node()
    node.wait_ready()
    # Wrong magic: the daemon closes.
    r = Raw(node)
    assert r.hello() == NODE_HELLO
    r.send(b"XXXX\x01\x00\x00\x00\x01")
    assert r.closed_within(5), "wrong magic must close the connection"
    r.close()
    # A frame larger than the handshake needs, before authentication: Ctrl err 1413 and
    # the connection closes (after authentication the session survives it: tests/hostile).
    r = Raw(node)
    r.hello()
    kind, payload = r.frame()
    assert kind == 2 and ctrl_type(payload) == "ident"
    r.send(HELLO + struct.pack(">IB", 2000, 1) + b"\0" * 1999)
    kind, payload = r.frame()
    assert kind == 2 and ctrl_type(payload) == "err", payload
    assert b"\x19\x05\x85" in payload, "code 1413"
    assert r.closed_within(5), "an oversize frame before auth must close the connection"
    r.close()
    # Unknown kind: skipped, the session goes on.
    r = Raw(node)
    r.hello()
    r.frame()
    r.send(HELLO + frame(0x7f, b"whatever") + ident())
    expect_auth(r)
    r.close()
    # Data before authentication: dropped (no answer) and counted.
    before = node.metric("dht_frames_rejected_total", {"reason": "data_before_auth"})
    r = Raw(node)
    r.hello()
    r.frame()
    ping = cbor({"v": 1, "op": 1, "rid": 7, "f": 1})
    r.send(HELLO + frame(1, ping) + ident())
    expect_auth(r)
    try:
        kind, payload = r.frame(seconds=1)
        assert kind != 1, "a Data answer to a request sent before auth"
    except (socket.timeout, EOFError):
        pass
    poll(lambda: node.metric("dht_frames_rejected_total", {"reason": "data_before_auth"}) > before, 5,
         "the data_before_auth counter")
    r.close()
    assert node.stop() == 0


@test
def sigterm_under_load_exits_zero_within_five_seconds():
    a = Node()
    a.wait_ready()
    b = Node("--bootstrap", a.addr)
    b.wait_ready()
    stop = threading.Event()
    errors = []

    def load(i):
        while not stop.is_set():
            try:
                b.post("/dht/put", os.urandom(64), timeout=2)
                b.get("/dht/closest/b3:" + os.urandom(32).hex(), timeout=2)
                Raw(b).close()
            except OSError:
                pass  # the node is going away: connections may be refused
            except Exception as e:  # noqa: BLE001
                errors.append(e)
    threads = [threading.Thread(target=load, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    poll(lambda: b.metric("dht_put_total") >= 20, 20, "load to build up")
    started = time.monotonic()
    b.proc.send_signal(signal.SIGTERM)
    code = b.proc.wait(timeout=10 * harness.SCALE)
    took = time.monotonic() - started
    stop.set()
    for t in threads:
        t.join()
    assert code == 0, f"exit {code}\n{b.logs()}"
    assert took < 5 * harness.SCALE, f"took {took:.1f}s"
    assert not errors, errors
    assert a.stop() == 0


@test
def bad_configuration_exits_two_naming_the_key():
    code, _, err = run(["config", "check", "--k", "abc"])
    assert code == 2 and "'k'" in err, (code, err)
    code, _, err = run(["config", "check"], env={"RON_DHT_ALPHA": "many"})
    assert code == 2 and "'alpha'" in err, (code, err)
    code, _, err = run(["config", "check", "--alpha", "2", "--beta", "3"])
    assert code == 2 and "'beta'" in err, (code, err)
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write('k = 16\nbogus = 1\n')
    try:
        code, _, err = run(["config", "check", "--config", f.name])
        assert code == 2 and "'bogus'" in err, (code, err)
    finally:
        os.unlink(f.name)
    code, _, err = run(["--listen", "127.0.0.1:notaport"])
    assert code == 2 and "'listen'" in err, (code, err)
    code, _, err = run(["--frobnicate"])
    assert code == 2 and "unknown option --frobnicate" in err and "--help" in err, (code, err)
    # Out of range is clamped with a warning, not fatal.
    code, out, err = run(["config", "check", "--k", "1000"])
    assert code == 0 and "outside" in err and "k = 64" in out, (code, err)
    # Older names still work, with a deprecation warning.
    code, out, err = run(["config", "check"], env={"DHT_ALPHA": "5"})
    assert code == 0 and "deprecated" in err and "alpha = 5" in out and "env DHT_ALPHA" in out, (code, out, err)


@test
def seed_names_with_another_meaning_are_refused_not_taken_as_aliases():
    # DHT_MIN_LEG_BUDGET_MS (the seeds' minimum hedge-leg budget, 50 ms there) used to set
    # rpc_timeout_ms, so a seed-era environment ran with 50 ms RPC timeouts; and
    # DHT_MAX_CONCURRENT_LEGS set max_inflight. Both are refused, for config check and for
    # the daemon itself, naming what to use instead.
    for name, value, instead in (("DHT_MIN_LEG_BUDGET_MS", "50", "RON_DHT_TIMEOUT_MS"),
                                 ("DHT_MAX_CONCURRENT_LEGS", "4", "RON_DHT_MAX_INFLIGHT")):
        code, out, err = run(["config", "check"], env={name: value})
        assert code == 2 and name in err and "not supported" in err and instead in err, (code, out, err)
        code, _, err = run(["run", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"], env={name: value})
        assert code == 2 and name in err, (code, err)
    code, out, _ = run(["config", "check"])
    assert code == 0 and "rpc_timeout_ms = 1500" in out and "max_inflight = 4096" in out, out


@test
def config_precedence_flag_over_env_over_file():
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write('k = 10\nalpha = 2\nreplica = 4\n[diversity]\nper_prefix_max = 3\n')
    try:
        code, out, err = run(["config", "check", "--k", "12"], env={"RON_DHT_CONFIG": f.name, "RON_DHT_K": "11",
                                                                   "RON_DHT_ALPHA": "4"})
        assert code == 0, err
        lines = {l.split(" = ")[0]: l for l in out.splitlines() if " = " in l}
        assert "k = 12" in lines["k"] and "flag --k" in lines["k"], lines["k"]
        assert "alpha = 4" in lines["alpha"] and "env RON_DHT_ALPHA" in lines["alpha"]
        assert "replica = 4" in lines["replica"] and "file" in lines["replica"]
        assert "diversity.per_prefix_max = 3" in lines["diversity.per_prefix_max"]
        assert "beta = 1" in lines["beta"] and "default" in lines["beta"]
    finally:
        os.unlink(f.name)


@test
def busy_port_exits_three():
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        code, _, err = run(["--listen", f"127.0.0.1:{port}", "--admin", f"127.0.0.1:{harness.free_port()}"])
        assert code == 3 and "cannot listen" in err, (code, err)
        code, _, err = run(["--listen", f"127.0.0.1:{harness.free_port()}", "--admin", f"127.0.0.1:{port}"])
        assert code == 3 and "admin" in err, (code, err)
    finally:
        blocker.close()


@test
def keygen_writes_a_private_key_file_the_daemon_uses():
    d = tempfile.mkdtemp()
    path = os.path.join(d, "id.key")
    code, out, err = run(["keygen", "--out", path])
    assert code == 0, err
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    node_id = out.split("id ")[1].strip()
    code, _, err = run(["keygen", "--out", path])
    assert code == 1 and "refusing" in err, err
    n = Node("--identity", path)
    n.wait_ready()
    assert n.id == node_id
    assert n.stop() == 0
    os.unlink(path)
    os.rmdir(d)


@test
def help_and_version_and_usage():
    code, out, _ = run(["--help"])
    assert code == 0 and "--bootstrap HOST:PORT" in out and "RON_DHT_K" in out
    for sub in ("ping", "lookup", "keygen", "config"):
        code, out, _ = run([sub, "--help"])
        assert code == 0 and "usage: svc-dht" in out, sub
    code, out, _ = run(["version"])
    assert code == 0 and out.startswith("svc-dht "), out
    code, _, err = run(["frobnicate"])
    assert code == 2 and "unknown command" in err


@test
def sighup_reloads_reloadable_keys_and_names_the_rest():
    d = tempfile.mkdtemp()
    conf = os.path.join(d, "svc-dht.conf")
    with open(conf, "w") as f:
        f.write("peer_rate = 200\nk = 20\n")
    n = Node("--config", conf)
    n.wait_ready()
    with open(conf, "w") as f:
        f.write("peer_rate = 10\nk = 30\nlog_level = \"debug\"\n")
    n.proc.send_signal(signal.SIGHUP)
    poll(lambda: "configuration reloaded" in n.logs(), 10, "the reload log line")
    logs = n.logs()
    assert "peer_rate: 200 -> 10" in logs, logs
    assert "log_level: info -> debug" in logs, logs
    assert "needs a restart" in logs and "k: 20 -> 30" in logs, logs
    # A broken file keeps the running configuration.
    with open(conf, "w") as f:
        f.write("k = \"many\"\n")
    n.proc.send_signal(signal.SIGHUP)
    poll(lambda: "keeping the running configuration" in n.logs(), 10, "the failed reload")
    assert n.get("/healthz").status == 200
    assert n.stop() == 0
    os.unlink(conf)
    os.rmdir(d)


@test
def notify_socket_gets_ready_and_stopping():
    d = tempfile.mkdtemp()
    path = os.path.join(d, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10 * harness.SCALE)
    try:
        n = Node(env={"NOTIFY_SOCKET": path})
        msg = sock.recv(4096).decode()
        assert "READY=1" in msg, msg
        assert n.get("/readyz").status == 200
        n.proc.send_signal(signal.SIGTERM)
        msg = sock.recv(4096).decode()
        assert "STOPPING=1" in msg, msg
        assert n.proc.wait(timeout=10 * harness.SCALE) == 0
    finally:
        sock.close()
        os.unlink(path)
        os.rmdir(d)


def notify_messages(env, until, limit=200):
    """Starts a daemon with |env| and a NOTIFY_SOCKET of its own; collects the datagrams it
    sends until |until(messages)| holds or none arrives for 3 s (bounded by |limit|)."""
    d = tempfile.mkdtemp()
    path = os.path.join(d, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(3 * harness.SCALE)
    msgs = []
    try:
        n = Node(env=dict(env, NOTIFY_SOCKET=path))
        while len(msgs) < limit and not until(msgs):
            try:
                msgs.append(sock.recv(4096).decode())
            except socket.timeout:
                break
        assert n.stop() == 0
    finally:
        sock.close()
        os.unlink(path)
        os.rmdir(d)
    return msgs


@test
def watchdog_is_pinged_from_the_loop_when_the_manager_asks():
    # WATCHDOG_USEC 200 ms: pings every 100 ms while the loop turns.
    msgs = notify_messages({"WATCHDOG_USEC": "200000"}, lambda m: m.count("WATCHDOG=1") >= 3)
    assert msgs and "READY=1" in msgs[0], msgs
    assert msgs.count("WATCHDOG=1") >= 3, msgs
    # A watchdog meant for another process (WATCHDOG_PID) is not ours: no ping in 3 s.
    msgs = notify_messages({"WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"}, lambda m: False)
    assert msgs and "READY=1" in msgs[0], msgs
    assert "WATCHDOG=1" not in msgs, msgs
    # No WATCHDOG_USEC: no watchdog.
    msgs = notify_messages({}, lambda m: False)
    assert "WATCHDOG=1" not in msgs, msgs


@test
def the_installed_default_config_file_is_read_when_present():
    # The default path is compiled in (the install prefix's sysconfdir); --help names it.
    code, out, _ = run(["--help"])
    default = next(line.split("either, ")[1].split(" if it exists")[0] for line in out.splitlines()
                   if "if it exists" in line)
    etc = os.path.dirname(os.path.dirname(default))
    if not os.path.isdir(etc) or os.geteuid() != 0:
        raise harness.Skip(f"needs root and {etc} to mount a private tmpfs over")
    # A private mount namespace: a tmpfs over that directory, seen by this test alone.
    script = (f"mount -t tmpfs none {etc} && mkdir -p {os.path.dirname(default)} && "
              f"printf 'k = 9\\n' > {default} && : > {etc}/other.conf && "
              f"env -u RON_DHT_CONFIG {harness.BIN} config check && "
              f"RON_DHT_CONFIG= {harness.BIN} config check && "
              f"env -u RON_DHT_CONFIG {harness.BIN} config check --config {etc}/other.conf")
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0 and "unshare" in p.stderr:
        raise harness.Skip("no mount namespaces here: " + p.stderr.strip())
    checks = p.stdout.split("# effective configuration")
    assert p.returncode == 0 and len(checks) == 4, p.stdout + p.stderr
    assert f"(file {default})" in checks[1] and "k = 9" in checks[1], checks[1]
    assert "(no configuration file)" in checks[2] and "k = 20" in checks[2], checks[2]
    assert f"(file {etc}/other.conf)" in checks[3] and "k = 20" in checks[3], checks[3]


@test
def strict_ready_exits_four_when_the_seed_never_answers():
    dead = f"127.0.0.1:{harness.free_port()}"
    code, _, err = run(["--listen", f"127.0.0.1:{harness.free_port()}", "--admin", f"127.0.0.1:{harness.free_port()}",
                        "--bootstrap", dead, "--strict-ready", "--bootstrap-timeout", "1500"], timeout=30)
    assert code == 4, (code, err)
    assert "strict_ready" in err, err


@test
def dual_stack_listener_takes_ipv4_and_ipv6():
    n = Node("--listen", "[::]:0")
    n.wait_ready()
    port = n.port
    for target in (f"127.0.0.1:{port}", f"[::1]:{port}"):
        code, out, err = run(["ping", target])
        assert code == 0, (target, err)
        assert n.id in out
    # An IPv4 peer reaches an [::] node and is seen with its IPv4 address.
    b = Node("--bootstrap", f"127.0.0.1:{port}")
    b.wait_ready()
    peers = n.get("/dht/peers").json()["peers"]
    assert peers and peers[0]["addr"].startswith("127.0.0.1:"), peers
    assert b.stop() == 0 and n.stop() == 0


def host_address():
    """A non-loopback IPv4 address of this machine (the source of a route outwards), or None."""
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.connect(("198.51.100.1", 9))  # UDP connect sends nothing; it only picks a route
        ip = u.getsockname()[0]
    except OSError:
        return None
    finally:
        u.close()
    return None if ip.startswith("127.") or ip == "0.0.0.0" else ip


def dial(host, port):
    """A raw TCP connection to a daemon's peer port that will never authenticate."""
    s = socket.create_connection((host, port), timeout=5 * harness.SCALE)
    s.settimeout(5 * harness.SCALE)
    return s


def read_hello(s):
    """True once the daemon's 9-byte HELLO arrived; False if it closed or reset instead."""
    got = b""
    try:
        while len(got) < 9:
            chunk = s.recv(9 - len(got))
            if not chunk:
                return False
            got += chunk
    except ConnectionError:
        return False
    return True


@test
def per_ip_connection_cap_refuses_the_extra_and_counts_it():
    # Loopback peers are exempt from the cap, so this connects to the machine's own
    # non-loopback address: the connection then comes from that address too. The raw
    # connections never authenticate: a long handshake timeout keeps them in place.
    ip = host_address()
    if ip is None:
        raise harness.Skip("no non-loopback IPv4 address on this machine")
    n = Node("--listen", "0.0.0.0:0", "--max-conns-per-ip", "3", "--handshake-timeout", "30000")
    n.wait_ready()
    held = [dial(ip, n.port) for _ in range(3)]
    for s in held:
        assert read_hello(s), "a connection within the cap gets HELLO"
    extra = dial(ip, n.port)
    assert not read_hello(extra), "the fourth connection from one address is closed"
    extra.close()
    poll(lambda: n.metric("rejected_total", {"reason": "conns_per_ip"}) >= 1, 10,
         "rejected_total{reason=conns_per_ip}")
    # A closed connection frees its place.
    held.pop().close()

    def accepted_again():
        s = dial(ip, n.port)
        ok = read_hello(s)
        s.close()
        return ok
    poll(accepted_again, 10, "a connection accepted once another one closed")
    for s in held:
        s.close()


if __name__ == "__main__":
    harness.main()
