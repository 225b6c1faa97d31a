#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Chaos and soak runs on real svc-dht processes (tools/chaos.sh is the entry point and owns
# the last-resort cleanup). It starts N daemons, each in a network namespace of its own on a
# bridge (or all on 127.0.0.1 with --loopback), kills and restarts them at a set rate,
# partitions two groups by bringing a veth link down and up, and reports what it measured:
# lookup success over time, /readyz red time, recovery time, RSS trends, lost writes.
# Every loop is bounded in count and time; nothing leaves the namespaces it creates.
import argparse
import ctypes
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait as wait_futures

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


# ---------------------------------------------------------------------------- churn phase

def churn_phase(run, opts, results):
    """Puts keys, then kills and restarts nodes for |duration| while sampling lookups every
    second on random ready nodes: GET of a key put earlier and FIND_NODE (/dht/closest)."""
    keys = {}
    live = run.live()
    for _ in range(opts.keys):
        v = random_value()
        key, stored_on = put_value(random.choice(live), v)
        if key:
            keys[key] = v
    log(f"churn phase: {len(keys)}/{opts.keys} keys put; {opts.duration}s, "
        f"{opts.churn}/min kills (non-seeds), {opts.down}s down each, {opts.samples} lookups/s")
    items = list(keys.items())
    t0 = time.monotonic()
    end = t0 + opts.duration
    churn = Churn(run, run.nodes[opts.seeds:], opts.churn, opts.down, end)
    churn.start()
    samples = []  # (second, kind, outcome, latency)
    lock = threading.Lock()

    def one(sec, kind, node):
        t = time.monotonic()
        if kind == "get":
            key, value = random.choice(items)
            out = get_ok(node, key, value)
        else:
            try:
                ids = closest_ids(node, os.urandom(32).hex())
                out = "ok" if ids else ("empty" if ids is not None else "http_err")
            except OSError:
                out = "down"
        if out == "down" or (out != "ok" and not node.alive()):
            out = "target_down"  # killed mid-request: not the lookup's failure
        with lock:
            samples.append((sec, kind, out, time.monotonic() - t))

    pool = ThreadPoolExecutor(max_workers=16)
    futures = []
    sec = 0
    while time.monotonic() < end and sec < opts.duration + 5:
        live = run.live()
        if live:
            for j in range(opts.samples):
                kind = "get" if j % 2 == 0 else "closest"
                futures.append(pool.submit(one, sec, kind, random.choice(live)))
        sec += 1
        if sec % 10 == 0:
            with lock:
                recent = [s for s in samples if sec - 10 <= s[0] < sec]
            ok = sum(1 for s in recent if s[2] == "ok")
            counted = sum(1 for s in recent if s[2] != "target_down")
            log(f"  t={sec:4d}s live {len(run.live()):3d}/{len(run.nodes)}  lookups ok {ok}/{counted}  "
                f"kills {churn.kills}")
        bounded_sleep(max(0.0, t0 + sec - time.monotonic()))
    churn.stop()
    wait_futures(futures, timeout=30)
    pool.shutdown(wait=False, cancel_futures=True)
    results["churn"] = summarize_samples(samples, opts.duration) | {"churn": churn.summary(),
                                                                    "keys_put": len(keys)}
    return keys


def summarize_samples(samples, duration):
    out = {}
    for kind in ("get", "closest"):
        ks = [s for s in samples if s[1] == kind]
        counted = [s for s in ks if s[2] != "target_down"]
        ok = [s for s in counted if s[2] == "ok"]
        outcomes = {}
        for s in ks:
            outcomes[s[2]] = outcomes.get(s[2], 0) + 1
        per_sec = {}
        for s in counted:
            a = per_sec.setdefault(s[0], [0, 0])
            a[0] += 1
            a[1] += s[2] == "ok"
        rates = [v[1] / v[0] for _, v in sorted(per_sec.items())]
        windows = []
        for w in range(0, int(duration) + 1, 30):
            ws = [s for s in counted if w <= s[0] < w + 30]
            if ws:
                windows.append({"from_s": w, "n": len(ws),
                                "ok_pct": round(100.0 * sum(1 for s in ws if s[2] == "ok") / len(ws), 2)})
        out[kind] = {
            "samples": len(ks), "counted": len(counted), "ok": len(ok),
            "ok_pct": round(100.0 * len(ok) / len(counted), 2) if counted else None,
            "outcomes": outcomes,
            "seconds": len(rates),
            "seconds_all_ok_pct": round(100.0 * sum(1 for r in rates if r == 1.0) / len(rates), 2) if rates else None,
            "worst_second_ok_pct": round(100.0 * min(rates), 2) if rates else None,
            "latency_ok_s": stats([s[3] for s in ok]),
            "per_30s": windows,
        }
    return out


# ---------------------------------------------------------------------------- partition

def partition_phase(run, opts, results):
    """Cuts group B (no seeds) off group A (the seeds) by bringing the trunk veth down; polls
    /readyz on B every 100 ms for the red time; writes on both sides while cut; heals and
    polls until every node reads the other side's writes and finds the true 3 closest nodes
    of probe ids."""
    topo = run.topo
    for n in run.nodes:
        if not n.alive():
            n.start()
    for n in run.nodes:
        n.wait_ready(60)
    for n in run.nodes:
        n.fetch_id()
    group_a = run.nodes[:topo.split]
    group_b = run.nodes[topo.split:]
    res = {"group_a": len(group_a), "group_b": len(group_b), "seeds_in_a": opts.seeds}
    # Before the cut, every B node's view.
    before = {}
    for n in group_b:
        _, body = n.http("GET", "/readyz")
        before[n.idx] = json.loads(body)["seeds"]
    log(f"partition: cutting {len(group_b)} nodes (B) from {len(group_a)} (A, with the {opts.seeds} seeds)")
    topo.cut()
    t_cut = time.monotonic()
    red_at = {}
    pool = ThreadPoolExecutor(max_workers=16)
    window_end = t_cut + opts.red_window
    while time.monotonic() < window_end and len(red_at) < len(group_b):
        t = time.monotonic()
        todo = [n for n in group_b if n.idx not in red_at]
        codes = list(pool.map(lambda n: n.readyz(timeout=1.0), todo))
        for n, code in zip(todo, codes):
            if code != 200:
                red_at[n.idx] = time.monotonic() - t_cut
        bounded_sleep(max(0.0, t + 0.1 - time.monotonic()))
    after = {}
    for n in group_b:
        try:
            _, body = n.http("GET", "/readyz", timeout=2)
            j = json.loads(body)
            after[n.idx] = {"ready": j["ready"], "seeds": j["seeds"],
                            "table": n.metric("dht_routing_table_size")}
        except OSError as e:
            after[n.idx] = {"error": repr(e)}
    res["red_window_s"] = opts.red_window
    res["red_after_cut_s"] = stats(list(red_at.values()))
    res["went_red"] = f"{len(red_at)}/{len(group_b)}"
    res["b_seeds_before"] = before[group_b[0].idx] if group_b else None
    res["b_after_window"] = after
    if len(red_at) < len(group_b):
        # Measured, not tuned here: in the daemon the bootstrap and routing_ready gates are
        # start-up gates. A seed's "up" means "authenticated at least once" (Node::Seed in
        # include/svcdht/node.h) and the join's "joined_" is never cleared
        # (Node::readiness() in src/core/node.cc), so losing every seed later leaves
        # /readyz at 200.
        res["why_not_red"] = ("bootstrap and routing_ready are start-up gates: seeds count as up once "
                              "authenticated and the join is never undone (Node::readiness)")
    log(f"  /readyz went red on {len(red_at)}/{len(group_b)} B nodes within {opts.red_window}s "
        f"({res['red_after_cut_s']})")
    # Writes on each side while cut: the other side can read them only after the heal.
    written = {"A": {}, "B": {}}
    for side, members in (("A", group_a), ("B", group_b)):
        for _ in range(opts.partition_keys):
            v = random_value()
            try:
                key, _ = put_value(random.choice(members), v)
            except OSError:
                key = None
            if key:
                written[side][key] = v
    res["written_while_cut"] = {s: len(w) for s, w in written.items()}
    # Lookups inside B while cut (information: the B side still serves itself).
    while time.monotonic() < t_cut + opts.partition_secs:
        bounded_sleep(min(1.0, t_cut + opts.partition_secs - time.monotonic()))
    tables_cut = {n.idx: n.metric("dht_routing_table_size") for n in run.nodes}
    res["table_sizes_before_heal"] = stats(list(tables_cut.values()))
    log(f"  healing after {opts.partition_secs}s cut; wrote {res['written_while_cut']} while cut")
    topo.heal()
    t_heal = time.monotonic()
    probes = [os.urandom(32).hex() for _ in range(4)]
    ids = {n.idx: n.id for n in run.nodes}
    recovered = {}
    last = {}
    rounds = 0

    def check(n, rnd):
        other = written["B" if n.idx < topo.split else "A"]
        if not other:
            return False, "nothing written"
        key = list(other)[rnd % len(other)]
        g = get_ok(n, key, other[key])
        if g != "ok":
            return False, f"get {g}"
        target = probes[rnd % len(probes)]
        try:
            got = closest_ids(n, target)
        except OSError:
            return False, "closest down"
        if got is None:
            return False, "closest error"
        truth = sorted((i for i in ids.values() if i != n.id), key=lambda i: xor_dist(i, target))[:opts.replica]
        mine = sorted((i for i in got if i != n.id), key=lambda i: xor_dist(i, target))[:opts.replica]
        return (mine == truth), ("closest matches" if mine == truth else "closest differs from the true set")

    recover_end = t_heal + opts.recover_window
    ready_all_at = None
    while time.monotonic() < recover_end and len(recovered) < len(run.nodes):
        t = time.monotonic()
        if ready_all_at is None and all(c == 200 for c in pool.map(lambda n: n.readyz(), run.nodes)):
            ready_all_at = time.monotonic() - t_heal
        todo = [n for n in run.nodes if n.idx not in recovered]
        outs = list(pool.map(lambda n: check(n, rounds), todo))
        for n, (ok, why) in zip(todo, outs):
            last[n.idx] = why
            if ok:
                recovered[n.idx] = time.monotonic() - t_heal
        rounds += 1
        bounded_sleep(max(0.0, t + 1.0 - time.monotonic()))
    pool.shutdown(wait=True)
    res["recover_window_s"] = opts.recover_window
    res["all_ready_after_heal_s"] = ready_all_at
    res["recovered"] = f"{len(recovered)}/{len(run.nodes)}"
    res["recovered_after_heal_s"] = stats(list(recovered.values()))
    res["not_recovered"] = {i: last.get(i) for i in ids if i not in recovered}
    log(f"  recovered {res['recovered']} nodes; after heal {res['recovered_after_heal_s']}")
    results["partition"] = res


# ---------------------------------------------------------------------------- soak

def soak(run, opts, results):
    """Steady put/get load and churn on persistent nodes for |duration|; RSS of every daemon
    sampled every rss_interval; at the end every acknowledged put is read back."""
    acked = {}
    acked_lock = threading.Lock()
    counts = {"put_ok": 0, "put_fail": 0, "put_down": 0, "skipped_backlog": 0}
    gets = []  # (t, outcome)
    stop = threading.Event()
    t0 = time.monotonic()
    end = t0 + opts.duration
    rss = []  # (t, node, incarnation, rss, anon, file)
    store_bytes = []  # (t, node, incarnation, bytes in memory)

    def count(what):
        with acked_lock:
            counts[what] += 1

    def put_once():
        nodes = run.live()
        if not nodes:
            return
        n = random.choice(nodes)
        v = random_value()
        try:
            key, _ = put_value(n, v)
        except OSError:
            count("put_down")
            return
        if key:
            with acked_lock:
                acked[key] = v
            count("put_ok")
        elif n.alive():
            count("put_fail")
        else:
            count("put_down")

    def get_once():
        nodes = run.live()
        with acked_lock:
            if not acked or not nodes:
                return
            key = random.choice(list(acked))
            value = acked[key]
        n = random.choice(nodes)
        out = get_ok(n, key, value)
        if out != "ok" and not n.alive():
            out = "target_down"
        gets.append((time.monotonic() - t0, out))

    def pace(fn, rate):
        # Open loop at |rate| per second through a small pool; bounded by the soak's end and
        # by a backlog of 64 (a request not sent for want of a worker is counted, not queued).
        pool = ThreadPoolExecutor(max_workers=8)
        backlog = threading.BoundedSemaphore(64)

        def one():
            try:
                fn()
            finally:
                backlog.release()
        i = 0
        while not stop.is_set() and time.monotonic() < end:
            if backlog.acquire(blocking=False):
                pool.submit(one)
            else:
                count("skipped_backlog")
            i += 1
            stop.wait(max(0.0, t0 + i / rate - time.monotonic()))
        pool.shutdown(wait=True)

    def sampler():
        i = 0
        while not stop.is_set() and time.monotonic() < end:
            t = time.monotonic() - t0
            for n in run.nodes:
                if n.alive():
                    r = n.rss()
                    if r and r[0]:
                        rss.append((t, n.idx, n.incarnation, r[0], r[1], r[2], time.monotonic() - n.started_at))
            if i % 6 == 0:
                for n in run.live():
                    try:
                        b = n.metric("dht_store_bytes", '{medium="memory"}')
                        store_bytes.append((t, n.idx, n.incarnation, b, time.monotonic() - n.started_at))
                    except OSError:
                        pass
            i += 1
            stop.wait(max(0.0, t0 + i * opts.rss_interval - time.monotonic()))

    churn = Churn(run, run.nodes[opts.steady:], opts.churn, opts.down, end)
    threads = [threading.Thread(target=pace, args=(put_once, opts.put_rate), daemon=True),
               threading.Thread(target=pace, args=(get_once, opts.get_rate), daemon=True),
               threading.Thread(target=sampler, daemon=True)]
    log(f"soak: {len(run.nodes)} nodes, {opts.duration}s, {opts.put_rate} puts/s, {opts.get_rate} gets/s, "
        f"{opts.churn}/min kills (nodes {opts.steady}..{len(run.nodes) - 1}), RSS every {opts.rss_interval}s")
    churn.start()
    for t in threads:
        t.start()
    m = 0
    while time.monotonic() < end and m < opts.duration:
        bounded_sleep(min(60.0, end - time.monotonic()))
        m += 60
        recent = [g for g in gets if g[0] >= time.monotonic() - t0 - 60]
        ok = sum(1 for g in recent if g[1] == "ok")
        counted = sum(1 for g in recent if g[1] != "target_down")
        live_rss = [r[3] for r in rss if r[0] >= time.monotonic() - t0 - opts.rss_interval * 1.5]
        log(f"  t={int(time.monotonic() - t0):4d}s acked puts {len(acked)} gets ok {ok}/{counted} "
            f"kills {churn.kills} RSS KiB median {sorted(live_rss)[len(live_rss) // 2] if live_rss else '-'}")
    stop.set()
    for t in threads:
        t.join(timeout=60)
    churn.stop()
    run.check_crashes()
    # Everyone back, then read every acknowledged write from a random node (up to 3 nodes).
    for n in run.nodes:
        if not n.alive():
            n.start()
    for n in run.nodes:
        n.wait_ready(60)
    log(f"  verifying {len(acked)} acknowledged puts")
    lost, retried = [], 0

    def verify(item):
        key, value = item
        outs = []
        for n in random.sample(run.nodes, 3):
            out = get_ok(n, key, value)
            outs.append(out)
            if out == "ok":
                return len(outs) - 1, None
        return len(outs), (key, outs)

    with ThreadPoolExecutor(max_workers=8) as pool:
        for tries, miss in pool.map(verify, list(acked.items())):
            retried += tries > 0
            if miss:
                lost.append(miss)
    res = {"nodes": len(run.nodes), "duration_s": opts.duration, "put_rate": opts.put_rate,
           "get_rate": opts.get_rate, "puts": counts, "acked": len(acked), "lost": len(lost),
           "lost_examples": lost[:5], "verify_needed_another_node": retried, "churn": churn.summary()}
    counted = [g for g in gets if g[1] != "target_down"]
    outcomes = {}
    for g in gets:
        outcomes[g[1]] = outcomes.get(g[1], 0) + 1
    res["gets"] = {"counted": len(counted), "ok_pct": round(100.0 * sum(1 for g in counted if g[1] == "ok") /
                                                          len(counted), 3) if counted else None,
                   "outcomes": outcomes}
    res["rss"] = rss_report(rss, store_bytes, opts)
    results["soak"] = res
    log(f"  lost {len(lost)} of {len(acked)} acknowledged puts")


def rss_report(rss, store_bytes, opts):
    """Per incarnation that lived at least min_span after its warm-up: the slope of a linear
    fit of RSS (and anonymous RSS, and the store's bytes in memory) in KiB per minute."""
    series = {}
    for t, node, inc, r, anon, fil, age in rss:
        if age >= opts.warmup:
            series.setdefault((node, inc), []).append((t, r, anon, fil))
    sb = {}
    for t, node, inc, b, age in store_bytes:
        if age >= opts.warmup:
            sb.setdefault((node, inc), []).append((t, b))
    fits = []
    for (node, inc), pts in sorted(series.items()):
        span = pts[-1][0] - pts[0][0]
        if span < opts.min_span or len(pts) < 5:
            continue
        ts = [p[0] / 60.0 for p in pts]
        slope, r2 = linfit(ts, [p[1] for p in pts])
        aslope, ar2 = linfit(ts, [p[2] for p in pts])
        fslope, _ = linfit(ts, [p[3] for p in pts])
        bs = sb.get((node, inc), [])
        bslope = linfit([b[0] / 60.0 for b in bs], [b[1] / 1024.0 for b in bs])[0] if len(bs) >= 3 else None
        fits.append({"node": node, "incarnation": inc, "span_min": round(span / 60.0, 2), "samples": len(pts),
                     "rss_kib_first": pts[0][1], "rss_kib_last": pts[-1][1],
                     "rss_kib_per_min": round(slope, 1), "r2": round(r2, 2),
                     "anon_kib_per_min": round(aslope, 1), "anon_r2": round(ar2, 2),
                     "file_kib_per_min": round(fslope, 1),
                     "store_mem_kib_per_min": round(bslope, 1) if bslope is not None else None})
    steady = [f for f in fits if f["node"] < opts.steady]
    slopes = [f["rss_kib_per_min"] for f in fits]
    anon = [f["anon_kib_per_min"] for f in fits]
    excess = [f["anon_kib_per_min"] - f["store_mem_kib_per_min"] for f in fits
              if f["store_mem_kib_per_min"] is not None]
    return {"warmup_s": opts.warmup, "min_span_s": opts.min_span, "fitted_incarnations": len(fits),
            "rss_kib_per_min": stats(slopes), "anon_kib_per_min": stats(anon),
            "anon_minus_store_kib_per_min": stats(excess),
            "steady_nodes": steady,
            "max_rss_kib": max((r[3] for r in rss), default=None),
            "samples": len(rss)}


# ---------------------------------------------------------------------------- main

def main():
    p = argparse.ArgumentParser(description="chaos and soak runs on real svc-dht processes")
    p.add_argument("--bin", required=True)
    p.add_argument("--state", required=True, help="run directory (logs, pids, data dirs)")
    p.add_argument("--run-id", required=True)
    p.add_argument("--mode", choices=["chaos", "soak"], default="chaos")
    p.add_argument("--loopback", action="store_true", help="all nodes on 127.0.0.1, no namespaces (no partition)")
    p.add_argument("--nodes", type=int, default=16)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--duration", type=int, default=150)
    p.add_argument("--churn", type=float, default=12.0, help="kills per minute")
    p.add_argument("--down", type=float, default=5.0, help="seconds a killed node stays down")
    p.add_argument("--samples", type=int, default=8, help="lookups per second (chaos)")
    p.add_argument("--keys", type=int, default=64, help="keys put before the churn (chaos)")
    p.add_argument("--no-partition", action="store_true")
    p.add_argument("--red-window", type=float, default=20.0)
    p.add_argument("--partition-secs", type=float, default=30.0)
    p.add_argument("--partition-keys", type=int, default=8)
    p.add_argument("--recover-window", type=float, default=120.0)
    p.add_argument("--replica", type=int, default=3)
    p.add_argument("--put-rate", type=float, default=10.0)
    p.add_argument("--get-rate", type=float, default=20.0)
    p.add_argument("--steady", type=int, default=4, help="soak: nodes 0..steady-1 are never killed")
    p.add_argument("--rss-interval", type=float, default=5.0)
    p.add_argument("--warmup", type=float, default=60.0)
    p.add_argument("--min-span", type=float, default=180.0)
    p.add_argument("--json", help="write the results here too")
    opts = p.parse_args()
    if opts.nodes < 2 or opts.nodes > 200 or opts.seeds < 1 or opts.seeds >= opts.nodes:
        p.error("--nodes must be 2..200 and --seeds 1..nodes-1")
    if opts.duration < 1 or opts.duration > 24 * 3600:
        p.error("--duration must be 1..86400 seconds")

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)

    run = Run(opts)
    results = {"mode": opts.mode, "nodes": opts.nodes, "cpus": os.cpu_count(),
               "binary": run.bin, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    status = 0
    try:
        if not opts.loopback:
            split = opts.nodes // 2 if opts.mode == "chaos" else opts.nodes
            run.topo = Topology(opts.run_id, opts.nodes, max(split, opts.seeds))
            run.topo.create()
        persist = opts.mode == "soak"
        run.start_nodes(opts.nodes, opts.seeds, [], persist)
        if opts.mode == "chaos":
            churn_phase(run, opts, results)
            if run.topo and not opts.no_partition:
                partition_phase(run, opts, results)
        else:
            soak(run, opts, results)
        run.check_crashes()
    except KeyboardInterrupt as e:
        log(f"interrupted ({e}); cleaning up")
        status = 130
    except Exception as e:  # noqa: BLE001 -- printed, then the cleanup runs
        log(f"FAILED: {e!r}")
        status = 1
    finally:
        run.stop_all()
        if run.topo:
            run.topo.destroy()
    results["unexpected_exits"] = run.crashes
    text = json.dumps(results, indent=1, default=str)
    print(text)
    if opts.json:
        with open(opts.json, "w") as f:
            f.write(text + "\n")
    if run.crashes:
        status = status or 1
    sys.exit(status)


if __name__ == "__main__":
    main()
