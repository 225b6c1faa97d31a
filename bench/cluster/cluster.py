#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# The cluster workload (WORKLOAD, W1-W5) against real svc-dht processes on
# loopback, inside a network namespace whose only interface is lo, created and deleted here,
# under a flock so that two measured runs never share the cores. It prints one JSON object
# on stdout and a short table on stderr, and asserts nothing: figures are reported, never
# judged. Every wait polls with a deadline; every node is killed on exit (also on Ctrl-C).
#
#   bench/cluster/cluster.py --bin build-rel/svc-dht --load build-bench/bench/load \
#       --shim build-bench/bench/libsvcdht_alloc_count.so [--nodes 64,256] [--quick]
import argparse
import fcntl
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"
# Inside the namespace nothing else binds a port, so ports are fixed: peers from PEER_BASE,
# admin planes from ADMIN_BASE, both below the kernel's ephemeral range (32768 and up) that
# outbound connections draw from.
PEER_BASE = 10000
ADMIN_BASE = 20000
LOCK_PATH = "/tmp/svc-dht-bench.lock"
SETTLE_CAP_S = 15.0
CHURN_WAIT_S = 5.0
HTTP_TIMEOUT_S = 10.0


def say(*a):
    print(*a, file=sys.stderr, flush=True)


def pct(xs, p):
    """Nearest-rank percentile of |xs| (None when empty)."""
    if not xs:
        return None
    s = sorted(xs)
    i = max(1, min(len(s), int(p / 100.0 * len(s) + 0.999999)))
    return s[i - 1]


def lat_summary(ms):
    r = lambda v: None if v is None else round(v, 3)  # noqa: E731
    return {"p50": r(pct(ms, 50)), "p95": r(pct(ms, 95)), "p99": r(pct(ms, 99)), "max": r(max(ms) if ms else None)}


def proc_cpu_us(pid):
    """(utime, stime) of a process in microseconds (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    hz = os.sysconf("SC_CLK_TCK")
    return int(rest[11]) * 1_000_000 // hz, int(rest[12]) * 1_000_000 // hz


def proc_run_ns(pid):
    """Time on a CPU in nanoseconds (/proc/PID/schedstat, first field): the scheduler's own
    clock, where /proc/PID/stat counts whole clock ticks (10 ms) per process."""
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def smaps_rollup(pid):
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                fields[parts[0][:-1]] = int(parts[1])
    return fields.get("Rss", 0), fields.get("Pss", 0)


class Node:
    """One svc-dht process with its own peer port, admin port and log file."""

    def __init__(self, cfg, index, args, env_extra=None):
        self.index = index
        self.port = PEER_BASE + index
        self.admin_port = ADMIN_BASE + index
        self.log_path = os.path.join(cfg.tmp, f"node-{index}.log")
        self.log = open(self.log_path, "wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RON_DHT_", "DHT_"))}
        env["RON_DHT_CONFIG"] = ""  # no installed default config file
        env.update(env_extra or {})
        cmd = [cfg.bin, "--listen", f"{HOST}:{self.port}", "--admin", f"{HOST}:{self.admin_port}",
               "--log-level", "warn"] + list(args)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.pid = self.proc.pid
        self.conn = None

    @property
    def addr(self):
        return f"{HOST}:{self.port}"

    def alive(self):
        return self.proc.poll() is None

    def request(self, method, path, body=None):
        """One HTTP request on a kept-alive connection: (status, body bytes)."""
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.admin_port, timeout=HTTP_TIMEOUT_S)
            try:
                self.conn.request(method, path, body=body,
                                  headers={"Content-Type": "application/octet-stream"} if body else {})
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, data
            except (OSError, http.client.HTTPException):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def kill(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.alive():
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.log.close()


class Cluster:
    def __init__(self, cfg):
        self.cfg = cfg
        self.nodes = []
        self.next_index = 0

    def spawn(self, args, env_extra=None):
        n = Node(self.cfg, self.next_index, args, env_extra)
        self.next_index += 1
        self.nodes.append(n)
        return n

    def kill_all(self):
        for n in self.nodes:
            n.kill()
        self.nodes = []


def poll(fn, seconds, what, interval=0.05):
    end = time.monotonic() + seconds
    last = None
    while True:
        try:
            last = fn()
            if last:
                return last
        except (OSError, ValueError, http.client.HTTPException) as e:
            last = e
        if time.monotonic() > end:
            raise RuntimeError(f"timed out after {seconds}s waiting for {what} (last: {last!r})")
        time.sleep(interval)


def ready(n):
    if not n.alive():
        raise RuntimeError(f"node {n.index} exited ({n.proc.returncode}); log {n.log_path}")
    return n.request("GET", "/readyz")[0] == 200


def table_size(n):
    return json.loads(n.request("GET", "/dht/peers")[1])["count"]


# Counters summed over the cluster around a phase, to explain its CPU figure: RPCs sent, and
# peer connections dialed (each one a TCP connect and an Ed25519 handshake on both sides).
PHASE_COUNTERS = {"rpcs_sent": ("dht_rpcs_total", None),
                  "conns_dialed": ("dht_peer_connections_total", 'direction="outbound"')}


def counter_sums(nodes):
    out = dict.fromkeys(PHASE_COUNTERS, 0.0)
    for n in nodes:
        for line in n.request("GET", "/metrics")[1].decode().splitlines():
            for k, (name, label) in PHASE_COUNTERS.items():
                if line.startswith(name) and line[len(name)] in "{ " and (label is None or label in line):
                    out[k] += float(line.rsplit(" ", 1)[1])
    return out


def per_op(before, after, count):
    return {k + "_per_op": round((after[k] - before[k]) / max(1, count), 2) for k in before}


def hops_hist(nodes, op):
    """dht_lookup_hops{op} summed over |nodes|: {le: cumulative count}, sum, count."""
    buckets, total, count = {}, 0.0, 0.0
    prefix = f'dht_lookup_hops_bucket{{op="{op}",le="'
    for n in nodes:
        text = n.request("GET", "/metrics")[1].decode()
        for line in text.splitlines():
            if line.startswith(prefix):
                le = line[len(prefix):].split('"', 1)[0]
                buckets[le] = buckets.get(le, 0.0) + float(line.rsplit(" ", 1)[1])
            elif line.startswith(f'dht_lookup_hops_sum{{op="{op}"}}'):
                total += float(line.rsplit(" ", 1)[1])
            elif line.startswith(f'dht_lookup_hops_count{{op="{op}"}}'):
                count += float(line.rsplit(" ", 1)[1])
    return buckets, total, count


def hops_delta(before, after):
    """Mean and bucket percentiles of the lookups between two hops_hist snapshots."""
    b0, s0, c0 = before
    b1, s1, c1 = after
    count = c1 - c0
    if count <= 0:
        return {"lookups": 0}
    out = {"lookups": int(count), "mean": round((s1 - s0) / count, 3)}
    les = sorted((float("inf") if k == "+Inf" else float(k), k) for k in b1)
    for p in (50, 95, 99):
        want = p / 100.0 * count
        for v, k in les:
            if b1[k] - b0.get(k, 0.0) >= want:
                out[f"p{p}_le"] = v if v != float("inf") else "+Inf"
                break
    return out


def footprint(nodes):
    rss, pss = [], []
    for n in nodes:
        r, p = smaps_rollup(n.pid)
        rss.append(r)
        pss.append(p)
    return {"rss_kib": {"median": statistics.median(rss), "max": max(rss)},
            "pss_kib": {"median": statistics.median(pss), "max": max(pss)}}


def cluster_cpu(nodes):
    """(utime + stime in us from /proc/PID/stat, on-CPU ns from schedstat, stime in us)
    summed over nodes."""
    stat = [proc_cpu_us(n.pid) for n in nodes]
    return (sum(u + s for u, s in stat), sum(proc_run_ns(n.pid) for n in nodes), sum(s for _, s in stat))


def start_cluster(cfg, c, n_nodes, extra_args):
    """Node 0 alone, then every other node bootstrapping off node 0 only; waits for every
    /readyz and for the tables to settle (>= min(N-1, 20) entries, or SETTLE_CAP_S)."""
    t0 = time.monotonic()
    first = c.spawn(extra_args)
    poll(lambda: ready(first), 30, "node 0's /readyz")
    for _ in range(n_nodes - 1):
        c.spawn(["--bootstrap", first.addr] + extra_args)
    nodes = list(c.nodes)
    for n in nodes:
        poll(lambda: ready(n), 60, f"node {n.index}'s /readyz")
    t_ready = time.monotonic()
    want = min(n_nodes - 1, 20)
    settled = False
    sizes = []
    while True:
        sizes = [table_size(n) for n in nodes]
        if min(sizes) >= want:
            settled = True
            break
        if time.monotonic() - t_ready > SETTLE_CAP_S:
            break
        time.sleep(0.1)
    t_settled = time.monotonic()
    return nodes, {
        "nodes": n_nodes,
        "all_ready_s": round(t_ready - t0, 3),
        "settle_s": round(t_settled - t0, 3),
        "settle_after_ready_s": round(t_settled - t_ready, 3),
        "settled": settled,
        "table_min": min(sizes), "table_median": statistics.median(sizes),
        "table_want": want,
    }


def healthz_floor(rng, nodes, count):
    """Cluster CPU (schedstat) per GET /healthz on a random node: what one HTTP round trip on
    loopback costs a node that does no DHT work, the floor under a get's figure."""
    before = cluster_cpu(nodes)
    for _ in range(count):
        nodes[rng.randrange(len(nodes))].request("GET", "/healthz")
    after = cluster_cpu(nodes)
    return round((after[1] - before[1]) / 1e3 / count, 1)


def do_puts(rng, nodes, count):
    """|count| random 64-byte values, each POSTed to a random node."""
    items, lat, ok = [], [], 0
    for _ in range(count):
        val = rng.randbytes(64)
        putter = rng.randrange(len(nodes))
        t = time.perf_counter()
        try:
            status, body = nodes[putter].request("POST", "/dht/put", body=val)
        except (OSError, http.client.HTTPException):
            status, body = 0, b""
        lat.append((time.perf_counter() - t) * 1000)
        key = None
        if status == 200:
            ok += 1
            key = json.loads(body)["key"]
        items.append({"key": key, "val": val, "putter": putter})
    return items, {"puts": count, "ok": ok, "success": ok / count, "latency_ms": lat_summary(lat)}


def do_gets(rng, nodes, items, exclude_putter):
    """Gets every put key once from a random node of |nodes| (not its putter when asked)."""
    lat, ok, tried, wrong = [], 0, 0, 0
    for it in items:
        if it["key"] is None:
            continue
        tried += 1
        # Drawn again while it hits the putter; 64 misses in a row (odds 64^-64 at 64 nodes)
        # would fall back to the next node.
        for _ in range(64):
            g = rng.randrange(len(nodes))
            if not exclude_putter or g != it["putter"] or len(nodes) == 1:
                break
        else:
            g = (it["putter"] + 1) % len(nodes)
        t = time.perf_counter()
        try:
            status, body = nodes[g].request("GET", "/dht/get/" + it["key"])
        except (OSError, http.client.HTTPException):
            status, body = 0, b""
        lat.append((time.perf_counter() - t) * 1000)
        if status == 200 and body == it["val"]:
            ok += 1
        elif status == 200:
            wrong += 1
    return {"gets": tried, "ok": ok, "wrong_value": wrong,
            "success": ok / tried if tried else None, "latency_ms": lat_summary(lat)}


def run_load(cfg, node, op, seconds, depth):
    cmd = [cfg.load, "--addr", node.addr, "--pid", str(node.pid), "--op", op, "--seconds", str(seconds),
           "--sessions", "64", "--depth", str(depth), "--json"]
    if cfg.shim:
        cmd += ["--alloc-file", os.path.join(cfg.tmp, "alloc-counts")]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    if p.returncode != 0:
        return {"error": p.stderr.strip()[-500:]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def w3(cfg, c, seed_node):
    """One node with node_rate and peer_rate raised (so the limits measure nothing), joined to
    the cluster so its answers carry a full table, driven by bench/load."""
    args = ["--bootstrap", seed_node.addr, "--node-rate", "10000000", "--peer-rate", "1000000",
            "--peer-burst", "1000000"]
    env = {}
    if cfg.shim:
        env = {"LD_PRELOAD": os.path.abspath(cfg.shim),
               "SVCDHT_ALLOC_COUNT_FILE": os.path.join(cfg.tmp, "alloc-counts")}
    want = min(20, len(c.nodes))
    n = c.spawn(args, env)
    poll(lambda: ready(n), 30, "the W3 node's /readyz")
    poll(lambda: table_size(n) >= want, 15, f"the W3 node's table to reach {want}")
    out = {"table": table_size(n)}
    # Depth 1 is the workload's concurrency 64 taken literally (64 requests in flight, one
    # per session); a deeper pipeline shows what the node does when each wakeup brings more.
    for depth in cfg.depths:
        for op in ("find_node", "get_value"):
            say(f"  W3 {op}, 64 sessions x {depth} in flight: {cfg.load_seconds} s")
            out[f"depth_{depth}"] = out.get(f"depth_{depth}", {})
            out[f"depth_{depth}"][op] = run_load(cfg, n, op, cfg.load_seconds, depth)
    n.kill()
    c.nodes.remove(n)
    return out


def w4(cfg, c, seed_node, runs=5):
    """exec -> /readyz 200 for a node bootstrapping off |seed_node|, |runs| times."""
    times = []
    for _ in range(runs):
        n = c.spawn(["--bootstrap", seed_node.addr])
        t0 = n.started
        poll(lambda: ready(n), 30, "the W4 node's /readyz", interval=0.002)
        times.append((time.monotonic() - t0) * 1000)
        n.kill()
        c.nodes.remove(n)
    return {"runs": runs, "ready_ms": [round(t, 1) for t in times], "median_ms": round(statistics.median(times), 1)}


def w5(rng, nodes, items):
    """Kill 25 % of the nodes at random, wait CHURN_WAIT_S, get every key from survivors."""
    victims = set(rng.sample(range(len(nodes)), len(nodes) // 4))
    for i in sorted(victims):
        nodes[i].kill()
    time.sleep(CHURN_WAIT_S)
    survivors = [n for i, n in enumerate(nodes) if i not in victims]
    r = do_gets(rng, survivors, items, exclude_putter=False)
    r["killed"] = len(victims)
    return r


def binary_size(path):
    out = {"bytes": os.stat(path).st_size}
    with tempfile.NamedTemporaryFile() as t:
        if subprocess.run(["strip", "-o", t.name, path], capture_output=True).returncode == 0:
            out["stripped_bytes"] = os.stat(t.name).st_size
    return out


def run_size(cfg, n_nodes, replica):
    """One cluster of |n_nodes| at |replica|: W1, W2, then (replica 3 only) W3 and W4, then W5."""
    rng = random.Random(cfg.seed * 1000 + n_nodes + replica)
    c = Cluster(cfg)
    res = {"nodes": n_nodes, "replica": replica}
    try:
        extra = ["--replica", str(replica)]
        say(f"N={n_nodes} replica={replica}: starting")
        nodes, res["settle"] = start_cluster(cfg, c, n_nodes, extra)
        say(f"  settled in {res['settle']['settle_s']} s (tables min {res['settle']['table_min']})")
        res["w2_after_settle"] = footprint(nodes)
        if cfg.only == "w3":
            say("  W3")
            res["w3"] = w3(cfg, c, nodes[0])
            return res
        say(f"  W1 puts: {cfg.keys}")
        ctr0 = counter_sums(nodes)
        cpu0 = cluster_cpu(nodes)
        items, res["w1_put"] = do_puts(rng, nodes, cfg.keys)
        cpu1 = cluster_cpu(nodes)
        ctr1 = counter_sums(nodes)
        hops0 = hops_hist(nodes, "get_value")
        say(f"  W1 gets: {cfg.keys}")
        cpu2 = cluster_cpu(nodes)
        res["w1_get"] = do_gets(rng, nodes, items, exclude_putter=True)
        cpu3 = cluster_cpu(nodes)
        res["w1_put"].update(per_op(ctr0, ctr1, cfg.keys))
        res["w1_get"].update(per_op(ctr1, counter_sums(nodes), res["w1_get"]["gets"]))
        res["w1_get"]["hops"] = hops_delta(hops0, hops_hist(nodes, "get_value"))
        res["w2_after_gets"] = footprint(nodes)
        puts, gets = max(1, res["w1_put"]["puts"]), max(1, res["w1_get"]["gets"])
        # /proc/PID/stat is what the workload names; it counts 10 ms ticks per process, so
        # the schedstat figure (nanoseconds) is reported next to it as the finer one.
        res["w2_cpu"] = {
            "put_phase_cpu_s": (cpu1[0] - cpu0[0]) / 1e6,
            "cpu_us_per_put": round((cpu1[0] - cpu0[0]) / puts, 1),
            "get_phase_cpu_s": (cpu3[0] - cpu2[0]) / 1e6,
            "cpu_us_per_get": round((cpu3[0] - cpu2[0]) / gets, 1),
            "sched_cpu_us_per_put": round((cpu1[1] - cpu0[1]) / 1e3 / puts, 1),
            "sched_cpu_us_per_get": round((cpu3[1] - cpu2[1]) / 1e3 / gets, 1),
            "sys_share_of_get_cpu": round((cpu3[2] - cpu2[2]) / max(1, cpu3[0] - cpu2[0]), 3),
            "sched_cpu_us_per_healthz": healthz_floor(rng, nodes, cfg.keys),
        }
        if replica == 3 and not cfg.skip_w3:
            say("  W3")
            res["w3"] = w3(cfg, c, nodes[0])
        if replica == 3:
            say("  W4: 5 cold starts")
            res["w4"] = w4(cfg, c, nodes[0])
        say("  W5: kill 25 %")
        res["w5"] = w5(rng, nodes, items)
    finally:
        c.kill_all()
    return res


def w3_lines(r):
    lines = []
    for key, runs in r.get("w3", {}).items():
        if not key.startswith("depth_"):
            continue
        for op, w in runs.items():
            if "error" not in w:
                allocs = w["node_allocs_per_reply"]
                lines.append(f"  W3 {op} 64x{w['depth']}: {w['replies_per_s']:.0f}/s, "
                             f"{w['node_cpu_us_per_reply']:.2f} us CPU per reply ({100 * w['node_cpu_share']:.0f}% "
                             f"of a core), allocs/reply {'-' if allocs is None else f'{allocs:.2f}'}, "
                             f"refused {w['refused']}")
            else:
                lines.append(f"  W3 {op} {key}: error {w['error']}")
    return lines


def table(out):
    lines = []
    f = lambda v, d=2: "-" if v is None else (f"{v:.{d}f}" if isinstance(v, float) else str(v))  # noqa: E731
    for r in out["runs"]:
        s = r["settle"]
        lines.append(f"N={r['nodes']} replica={r['replica']}: settle {s['settle_s']} s "
                     f"(tables min {s['table_min']}, want {s['table_want']})")
        if "w1_put" not in r:
            lines += w3_lines(r)
            continue
        p, g = r["w1_put"], r["w1_get"]
        lines.append(f"  W1 put  success {f(p['success'], 3)}  ms p50/p95/p99/max "
                     + "/".join(f(p["latency_ms"][k]) for k in ("p50", "p95", "p99", "max")))
        lines.append(f"  W1 get  success {f(g['success'], 3)}  ms p50/p95/p99/max "
                     + "/".join(f(g["latency_ms"][k]) for k in ("p50", "p95", "p99", "max"))
                     + f"  hops mean {g['hops'].get('mean', '-')}, RPCs {g['rpcs_sent_per_op']}, "
                     f"dials {g['conns_dialed_per_op']} per get")
        a, b = r["w2_after_settle"], r["w2_after_gets"]
        lines.append(f"  W2 RSS KiB med/max {a['rss_kib']['median']}/{a['rss_kib']['max']} -> "
                     f"{b['rss_kib']['median']}/{b['rss_kib']['max']}; PSS {a['pss_kib']['median']}/"
                     f"{a['pss_kib']['max']} -> {b['pss_kib']['median']}/{b['pss_kib']['max']}; "
                     f"CPU us/get {f(r['w2_cpu']['cpu_us_per_get'], 0)} (stat), "
                     f"{f(r['w2_cpu']['sched_cpu_us_per_get'], 0)} (schedstat), "
                     f"{f(r['w2_cpu']['sys_share_of_get_cpu'])} of it in the kernel; "
                     f"{f(r['w2_cpu']['sched_cpu_us_per_healthz'], 0)} per /healthz")
        lines += w3_lines(r)
        if "w4" in r:
            lines.append(f"  W4 exec -> /readyz median {r['w4']['median_ms']} ms {r['w4']['ready_ms']}")
        w = r["w5"]
        lines.append(f"  W5 killed {w['killed']}: success {f(w['success'], 4)} ({w['ok']}/{w['gets']}) "
                     f"ms p50/p99 {f(w['latency_ms']['p50'])}/{f(w['latency_ms']['p99'])}")
    return "\n".join(lines)


def on_term(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def inner(cfg):
    """Runs in the namespace: every size at replica 3 and at replica 8."""
    cfg.tmp = tempfile.mkdtemp(prefix="svc-dht-bench-")
    out = {"workload": "W1-W5", "keys": cfg.keys, "seed": cfg.seed, "binary": binary_size(cfg.bin),
           "bin": cfg.bin, "cpus": os.cpu_count(), "runs": []}
    try:
        for n in cfg.nodes:
            for replica in cfg.replicas:
                out["runs"].append(run_size(cfg, n, replica))
    finally:
        subprocess.run(["rm", "-rf", cfg.tmp])
    text = json.dumps(out)
    print(text, flush=True)
    if cfg.out:
        with open(cfg.out, "w") as f:
            f.write(text + "\n")
    say(table(out))


def outer(cfg, argv):
    """Creates the namespace, takes the lock, runs inner() in it, and always cleans up."""
    ns = f"svcdht-bench-{os.getpid()}"
    lock = open(cfg.lock, "w")
    say(f"waiting for the lock {cfg.lock}")
    fcntl.flock(lock, fcntl.LOCK_EX)
    child = None
    try:
        subprocess.run(["ip", "netns", "add", ns], check=True)
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"], check=True)
        env = dict(os.environ, SVCDHT_BENCH_NETNS=ns)
        child = subprocess.Popen(["ip", "netns", "exec", ns, "/usr/bin/python3", os.path.abspath(__file__)]
                                 + argv, env=env)
        return child.wait()
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    finally:
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        # Whatever still runs in the namespace was started by this run: end it by pid.
        p = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
        for pid in p.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        subprocess.run(["ip", "netns", "delete", ns])
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


def main():
    ap = argparse.ArgumentParser(description="The cluster workload W1-W5 on loopback in a network namespace")
    ap.add_argument("--bin", default="build-rel/svc-dht")
    ap.add_argument("--load", default="build-bench/bench/load", help="the W3 driver (bench/load)")
    ap.add_argument("--shim", default="build-bench/bench/libsvcdht_alloc_count.so",
                    help="LD_PRELOAD allocation counter for the W3 node ('' for none)")
    ap.add_argument("--nodes", default="64", help="cluster sizes, comma-separated (e.g. 64,256)")
    ap.add_argument("--replicas", default="3,8", help="replica settings to run (W5 at each)")
    ap.add_argument("--keys", type=int, default=1000)
    ap.add_argument("--load-seconds", type=float, default=10.0)
    ap.add_argument("--depths", default="1,8", help="W3 requests in flight per session, one run each")
    ap.add_argument("--quick", action="store_true", help="100 keys, 3 s of W3 load")
    ap.add_argument("--skip-w3", action="store_true")
    ap.add_argument("--only", choices=["w3"], help="w3: settle a cluster, then only W3 (make bench-load)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lock", default=LOCK_PATH)
    ap.add_argument("--out", help="also write the JSON object to this file (make prints build lines too)")
    cfg = ap.parse_args()
    # Python leaves SIGINT ignored when it starts ignored (a background job of a shell
    # without job control): take it back, so that an interrupt always ends the run and its
    # cleanup runs.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # SIGTERM and SIGHUP end the run the same way, through every finally below.
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    if cfg.quick:
        cfg.keys = min(cfg.keys, 100)
        cfg.load_seconds = min(cfg.load_seconds, 3.0)
    if cfg.out:
        cfg.out = os.path.abspath(cfg.out)
    if os.environ.get("SVCDHT_BENCH_NETNS"):
        cfg.nodes = [int(x) for x in cfg.nodes.split(",")]
        cfg.depths = [int(x) for x in cfg.depths.split(",")]
        cfg.replicas = [3] if cfg.only else [int(x) for x in cfg.replicas.split(",")]
        for p in (cfg.bin, cfg.load):
            if not os.access(p, os.X_OK):
                sys.exit(f"cluster.py: {p} is not an executable (make release bench-build)")
        if cfg.shim and not os.path.exists(cfg.shim):
            sys.exit(f"cluster.py: {cfg.shim} is missing")
        inner(cfg)
        return 0
    if os.geteuid() != 0:
        sys.exit("cluster.py: creating a network namespace needs root")
    return outer(cfg, sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
