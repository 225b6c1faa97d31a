#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# The processes and the network of tools/chaos.py: network namespaces on a bridge and the
# veth link that partitions them, svc-dht daemons and their restarts (HTTP to their admin
# port inside their namespace), the churn thread, and small statistics helpers. Nothing here
# decides what a run measures; chaos.py does.
import ctypes
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import threading
import time

CLONE_NEWNET = 0x40000000
LIBC = ctypes.CDLL(None, use_errno=True)
ROOT_NS_FD = os.open("/proc/self/ns/net", os.O_RDONLY)
NS_PREFIX = "svcdht-chaos-"
PEER_PORT = 9444
ADMIN_PORT = 5301
SUBNET = "10.77.0."  # private, inside the namespaces only; routing diversity exempts it


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sh(*cmd, check=True):
    p = subprocess.run(list(cmd), capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {p.stderr.strip()}")
    return p


def setns(fd):
    if LIBC.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"setns: {os.strerror(e)}")


# ---------------------------------------------------------------------------- topology

class Topology:
    """A hub namespace with two bridges (group A, group B) joined by a veth pair (the trunk),
    and one namespace per node whose eth0 is a veth into its group's bridge. All nodes share
    one /24, so the trunk down is a partition and the trunk up heals it."""

    def __init__(self, run_id, n, split):
        self.base = f"{NS_PREFIX}{run_id}-"
        self.hub = self.base + "hub"
        self.n = n
        self.split = split  # nodes [0, split) are group A
        self.made = []
        self.fds = {}

    def node_ns(self, i):
        return f"{self.base}n{i}"

    def create(self):
        hub = self.hub
        sh("ip", "netns", "add", hub)
        self.made.append(hub)
        sh("ip", "-n", hub, "link", "set", "lo", "up")
        for br in ("brA", "brB"):
            sh("ip", "-n", hub, "link", "add", br, "type", "bridge", "forward_delay", "0")
            sh("ip", "-n", hub, "link", "set", br, "up")
        sh("ip", "-n", hub, "link", "add", "trunkA", "type", "veth", "peer", "name", "trunkB")
        sh("ip", "-n", hub, "link", "set", "trunkA", "master", "brA", "up")
        sh("ip", "-n", hub, "link", "set", "trunkB", "master", "brB", "up")
        for i in range(self.n):
            ns = self.node_ns(i)
            sh("ip", "netns", "add", ns)
            self.made.append(ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "link", "add", f"v{i}", "netns", hub, "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "-n", ns, "addr", "add", f"{self.addr(i)}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", hub, "link", "set", f"v{i}", "master", "brA" if i < self.split else "brB", "up")
            self.fds[i] = os.open(f"/run/netns/{ns}", os.O_RDONLY)

    def addr(self, i):
        return f"{SUBNET}{i + 1}"

    def cut(self):
        sh("ip", "-n", self.hub, "link", "set", "trunkA", "down")

    def heal(self):
        sh("ip", "-n", self.hub, "link", "set", "trunkA", "up")

    def destroy(self):
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()
        for ns in reversed(self.made):
            sh("ip", "netns", "del", ns, check=False)
        self.made.clear()


# ---------------------------------------------------------------------------- nodes

class Node:
    """One svc-dht daemon and its incarnations (every restart is a new process with the same
    address, ports and, with persistence, the same data directory and identity)."""

    def __init__(self, run, idx, host, ns_fd, ns_name, args, data_dir=None):
        self.run = run
        self.idx = idx
        self.host = host
        self.ns_fd = ns_fd
        self.ns_name = ns_name
        self.args = list(args)
        self.data_dir = data_dir
        self.port = PEER_PORT if ns_name else 0
        self.admin_port = ADMIN_PORT if ns_name else 0
        self.proc = None
        self.ready = False
        self.incarnation = 0
        self.started_at = 0.0
        self.killed = False  # down on purpose (churn)
        self.logpath = os.path.join(run.dir, f"node{idx}.log")
        self.id = None

    @property
    def peer_addr(self):
        return f"{self.host}:{self.port}"

    def start(self):
        cmd = [self.run.bin, "--listen", f"{self.host}:{self.port}", "--admin", f"127.0.0.1:{self.admin_port}"]
        cmd += self.args
        if self.data_dir:
            cmd += ["--profile", "macronode", "--data-dir", self.data_dir]
        if self.ns_name:
            cmd = ["nsenter", f"--net=/run/netns/{self.ns_name}", "--"] + cmd
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RON_DHT_", "DHT_"))}
        env["RON_DHT_CONFIG"] = ""
        self.logpos = os.path.getsize(self.logpath) if os.path.exists(self.logpath) else 0
        with open(self.logpath, "ab") as f:
            f.write(f"--- incarnation {self.incarnation + 1} at {time.time():.3f}\n".encode())
            self.proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.incarnation += 1
        self.started_at = time.monotonic()
        self.killed = False
        self.ready = False
        self.run.note_pids()
        if not self.port or not self.admin_port:
            self._read_ports()

    def _read_ports(self):
        end = time.monotonic() + 15
        while time.monotonic() < end:
            with open(self.logpath, errors="replace") as f:
                f.seek(self.logpos)
                for line in f:
                    if "svc-dht started" in line:
                        fields = dict(x.split("=", 1) for x in line.split() if "=" in x)
                        self.port = self.port or int(fields["port"])
                        self.admin_port = self.admin_port or int(fields["admin_port"])
                        return
            if not self.alive():
                break
            time.sleep(0.05)
        raise RuntimeError(f"node {self.idx} did not start:\n{self.tail()}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        self.ready = False
        self.killed = True
        if self.alive():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def tail(self, n=15):
        try:
            with open(self.logpath, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def rss(self):
        """(VmRSS, RssAnon, RssFile) in KiB, or None when the process is gone."""
        out = {}
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in ("VmRSS", "RssAnon", "RssFile"):
                        out[k] = int(v.split()[0])
        except (OSError, AttributeError):
            return None
        return out.get("VmRSS"), out.get("RssAnon"), out.get("RssFile")

    def admin_socket(self, timeout):
        if self.ns_fd is None:
            return socket.create_connection(("127.0.0.1", self.admin_port), timeout)
        # A socket belongs to the namespace it was made in: make it there, go back at once.
        setns(self.ns_fd)
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        finally:
            setns(ROOT_NS_FD)
        s.settimeout(timeout)
        try:
            s.connect(("127.0.0.1", self.admin_port))
        except OSError:
            s.close()
            raise
        return s

    def http(self, method, path, body=None, timeout=10.0):
        """(status, body bytes); raises OSError when the daemon does not answer."""
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=timeout)
        conn.sock = self.admin_socket(timeout)
        try:
            headers = {"Content-Type": "application/octet-stream"} if body is not None else {}
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            return r.status, r.read()
        except http.client.HTTPException as e:
            raise OSError(str(e)) from e
        finally:
            conn.close()

    def readyz(self, timeout=2.0):
        try:
            status, _ = self.http("GET", "/readyz", timeout=timeout)
            return status
        except OSError:
            return None

    def wait_ready(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not self.alive():
                raise RuntimeError(f"node {self.idx} exited ({self.proc.returncode}):\n{self.tail()}")
            if self.readyz() == 200:
                self.ready = True
                return time.monotonic() - self.started_at
            time.sleep(0.1)
        raise RuntimeError(f"node {self.idx} not ready after {seconds}s:\n{self.tail()}")

    def fetch_id(self):
        status, body = self.http("GET", "/dht/peers?limit=1")
        if status == 200:
            self.id = json.loads(body)["self"]["id"]
        return self.id

    def metric(self, name, labels=""):
        status, body = self.http("GET", "/metrics")
        want = name + labels
        for line in body.decode().splitlines():
            k, _, v = line.rpartition(" ")
            if k == want:
                return float(v)
        return None


def loopback_port():
    """A free port on 127.0.0.1 below the kernel's ephemeral range (32768 and up here), so
    that a restarted node gets its port back: no outbound connection takes it meanwhile."""
    for _ in range(200):
        port = random.randrange(20000, 32000)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free loopback port in 20000-31999")


class Run:
    def __init__(self, opts):
        self.opts = opts
        self.bin = os.path.abspath(opts.bin)
        self.dir = opts.state
        os.makedirs(self.dir, exist_ok=True)
        self.nodes = []
        self.topo = None
        self.crashes = []  # daemons that exited without being killed by the run
        self.lock = threading.Lock()

    def note_pids(self):
        # The shell wrapper kills these if this helper dies before its own cleanup.
        tmp = os.path.join(self.dir, "pids.tmp")
        with open(tmp, "w") as f:
            for n in self.nodes:
                if n.proc is not None:
                    f.write(f"{n.proc.pid}\n")
        os.replace(tmp, os.path.join(self.dir, "pids"))

    def start_nodes(self, n, seeds, extra, persist):
        args = ["--log-level", "warn", "--bootstrap-required", "1"] + list(extra)
        for i in range(n):
            if self.topo:
                host, fd, ns = self.topo.addr(i), self.topo.fds[i], self.topo.node_ns(i)
            else:
                host, fd, ns = "127.0.0.1", None, None
            data_dir = os.path.join(self.dir, f"data{i}") if persist else None
            node = Node(self, i, host, fd, ns, args, data_dir)
            if not self.topo:
                node.port, node.admin_port = loopback_port(), loopback_port()
            self.nodes.append(node)
        first = self.nodes[:seeds]
        # Seeds first (each knows the seeds started before it), then everyone through them.
        for j, node in enumerate(first):
            node.args += sum((["--bootstrap", s.peer_addr] for s in first[:j]), [])
            node.start()
            node.wait_ready(30)
        boot = sum((["--bootstrap", s.peer_addr] for s in first), [])
        for node in self.nodes[seeds:]:
            node.args += boot
            node.start()
        for node in self.nodes:
            node.wait_ready(60)
        log(f"{n} nodes ready ({'namespaces' if self.topo else 'loopback'}, "
            f"{'persistent data dirs' if persist else 'amnesia'})")

    def live(self):
        return [n for n in self.nodes if n.ready and n.alive()]

    def check_crashes(self):
        for n in self.nodes:
            if n.proc is not None and not n.killed and n.proc.poll() is not None:
                with self.lock:
                    self.crashes.append({"node": n.idx, "incarnation": n.incarnation, "exit": n.proc.returncode,
                                         "log": n.tail()})
                n.killed = True
                n.ready = False
                log(f"node {n.idx} EXITED on its own (status {n.proc.returncode})")

    def stop_all(self):
        for n in self.nodes:
            if n.alive():
                n.proc.send_signal(signal.SIGTERM)
        end = time.monotonic() + 10
        for n in self.nodes:
            if n.proc is None:
                continue
            try:
                n.proc.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                n.proc.kill()
                n.proc.wait(timeout=10)


# ---------------------------------------------------------------------------- churn

class Churn(threading.Thread):
    """Kills one random up node (SIGKILL) every 60/per_min seconds (jittered) and restarts it
    after down_secs with the same address (and data dir). Records restart-to-ready times."""

    def __init__(self, run, eligible, per_min, down_secs, end_at):
        super().__init__(daemon=True)
        self.run_ = run
        self.eligible = eligible
        self.per_min = per_min
        self.down_secs = down_secs
        self.end_at = end_at
        self.stop_ev = threading.Event()
        self.kills = 0
        self.restarts = 0
        self.ready_secs = []
        self.not_ready = 0
        self.errors = []

    def stop(self):
        self.stop_ev.set()
        self.join(timeout=60)

    def run(self):
        try:
            self._loop()
        except Exception as e:  # noqa: BLE001 -- reported in the summary, not swallowed
            self.errors.append(repr(e))
            log(f"churn stopped: {e!r}")

    def _loop(self):
        if self.per_min <= 0 or not self.eligible:
            return
        gap = 60.0 / self.per_min
        next_kill = time.monotonic() + gap * random.uniform(0.5, 1.5)
        down = {}  # node -> restart time
        waiting = {}  # node -> give-up time for readiness
        while not self.stop_ev.is_set() and time.monotonic() < self.end_at:
            now = time.monotonic()
            if now >= next_kill:
                up = [n for n in self.eligible if n.alive() and n not in down and n not in waiting]
                if up:
                    victim = random.choice(up)
                    victim.kill()
                    self.kills += 1
                    down[victim] = now + self.down_secs
                next_kill = now + gap * random.uniform(0.5, 1.5)
            for n, at in list(down.items()):
                if now >= at:
                    del down[n]
                    n.start()
                    self.restarts += 1
                    waiting[n] = now + 60
            for n, give_up in list(waiting.items()):
                if not n.alive():
                    del waiting[n]
                    continue
                if n.readyz(timeout=1.0) == 200:
                    n.ready = True
                    self.ready_secs.append(time.monotonic() - n.started_at)
                    del waiting[n]
                elif now > give_up:
                    self.not_ready += 1
                    del waiting[n]
            self.run_.check_crashes()
            self.stop_ev.wait(0.2)
        # Leave nobody down: restart what is still waiting for its restart.
        for n in down:
            n.start()
            self.restarts += 1

    def summary(self):
        r = sorted(self.ready_secs)
        return {"kills": self.kills, "restarts": self.restarts, "restart_to_ready_s": stats(r),
                "restarts_not_ready_within_60s": self.not_ready, "errors": self.errors}


# ---------------------------------------------------------------------------- helpers

def stats(xs):
    xs = sorted(xs)
    if not xs:
        return {"n": 0}

    def q(p):
        return round(xs[min(len(xs) - 1, int(p * len(xs)))], 4)
    return {"n": len(xs), "min": round(xs[0], 4), "p50": q(0.5), "p90": q(0.9), "p99": q(0.99),
            "max": round(xs[-1], 4)}


def put_value(node, value):
    status, body = node.http("POST", "/dht/put", body=value, timeout=15)
    if status != 200:
        return None, status
    j = json.loads(body)
    return j["key"], j.get("stored_on")


def get_ok(node, key, value, timeout=15):
    """'ok', 'miss' (404), 'bad' (another status or body), or 'down' (no answer)."""
    try:
        status, body = node.http("GET", f"/dht/get/{key}", timeout=timeout)
    except OSError:
        return "down"
    if status == 200:
        return "ok" if body == value else "bad"
    return "miss" if status == 404 else f"http_{status}"


def closest_ids(node, target_hex, timeout=15):
    status, body = node.http("GET", f"/dht/closest/{target_hex}", timeout=timeout)
    if status != 200:
        return None
    return [x["id"] for x in json.loads(body)["nodes"]]


def xor_dist(a_hex, b_hex):
    return int(a_hex, 16) ^ int(b_hex, 16)


def linfit(ts, ys):
    """Least-squares slope (y per unit of t) and r squared."""
    n = len(ts)
    mt, my = sum(ts) / n, sum(ys) / n
    stt = sum((t - mt) ** 2 for t in ts)
    if stt == 0:
        return 0.0, 0.0
    sty = sum((t - mt) * (y - my) for t, y in zip(ts, ys))
    syy = sum((y - my) ** 2 for y in ys)
    slope = sty / stt
    r2 = (sty * sty) / (stt * syy) if syy else 0.0
    return slope, r2


def random_value(lo=64, hi=1024):
    return os.urandom(random.randint(lo, hi))


def bounded_sleep(seconds):
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.5))
