#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Footprint benchmark (not a test): what one svc-dht binary costs an edge board. It reports
# the binary's size (as built and stripped) and its DT_NEEDED libraries; the idle RSS, PSS
# and USS (smaps_rollup) of a standalone node after --idle-seconds, with its wake-ups
# (context switches of every thread) and CPU ticks over that window; the RSS each stored
# provider record costs, published through the admin API and received from peers over OAP/1
# (10,000 of each, on fresh nodes); the RSS of 10,000 100-byte values put through the API;
# and the median and largest RSS of a 64-node loopback cluster. It prints one JSON line on
# stdout (progress on stderr) with the budgets met and missed, and exits 1 when a budget is
# missed (2 when a measurement could not be made).
#
#   tools/footprint.py --bin build-rel/svc-dht
#   tools/footprint.py --bin build-arm64/svc-dht --arch aarch64 --strip aarch64-linux-gnu-strip \
#       --wrapper "qemu-aarch64-static -L /usr/aarch64-linux-gnu"
#
# Under --wrapper (qemu-user) only the sizes and DT_NEEDED are measured: guest memory and
# wake-ups would be the emulator's. Loopback only; every daemon it starts is killed on exit.
# Runs under /usr/bin/python3 (tests/hostile/peer.py needs python3-cbor2 and python3-nacl).
import argparse
import hashlib
import http.client
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "hostile"))
import harness  # noqa: E402

RECORDS = 10000
VALUES = 10000
VALUE_BYTES = 100
CLUSTER = 64
BATCH = 200  # pipelined OAP/1 requests per round trip (a session queues at most 256 answers)
PEER_IDENTITIES = 20  # publishers the peer-received records come from (500 each)
PROVIDER_ADDR = "tcp://198.51.100.7:4001"  # the same address in API and peer records
# Request rates high enough that loading is bounded by the node's work, not its limiters.
FAST = ["--peer-rate", "1000000", "--peer-burst", "1000000", "--node-rate", "10000000"]
# Store shares: the loaded entries come from one host, so its shares must hold them all.
SHARES = ["--store-peer-share-pct", "100", "--store-prefix-share-pct", "100"]

MIB = 1 << 20
BUDGET_STRIPPED_BYTES = 1.5 * MIB
BUDGET_IDLE_RSS_KIB = 4 * 1024
BUDGET_BYTES_PER_RECORD = 320
BUDGET_IDLE_CPU_TICKS = 0
BUDGET_WAKEUPS_PER_MIN = 2

QEMU_NOTE = "run under qemu-user: guest memory and wake-ups are not the board's"

_nodes = []  # every harness.Node started here, killed in cleanup()


def say(*a):
    print("footprint:", *a, file=sys.stderr, flush=True)


# ---- the binary ---------------------------------------------------------------------------


def needed_libs(path):
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, timeout=60, check=True).stdout
    libs = []
    for line in out.splitlines():
        if "(NEEDED)" in line and "[" in line:
            libs.append(line[line.index("[") + 1:line.rindex("]")])
    return libs


def stripped_size(path, strip_tool):
    with tempfile.TemporaryDirectory(prefix="footprint-") as d:
        copy = os.path.join(d, "svc-dht")
        shutil.copyfile(path, copy)
        subprocess.run(shlex.split(strip_tool) + [copy], check=True, timeout=120, capture_output=True)
        return os.path.getsize(copy)


def version(path, wrapper):
    try:
        p = subprocess.run(wrapper + [path, "version"], capture_output=True, text=True, timeout=60,
                           env=harness.clean_env())
        return p.stdout.strip().splitlines()[0] if p.returncode == 0 and p.stdout.strip() else None
    except (OSError, subprocess.TimeoutExpired):
        return None


# ---- /proc --------------------------------------------------------------------------------


def smaps_rollup(pid):
    """Rss, Pss and USS (Private_Clean + Private_Dirty) of a process, in KiB."""
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                fields[parts[0][:-1]] = int(parts[1])
    return {"rss_kib": fields["Rss"], "pss_kib": fields["Pss"],
            "uss_kib": fields["Private_Clean"] + fields["Private_Dirty"]}


def rss_kib(pid):
    return smaps_rollup(pid)["rss_kib"]


def ctxt_switches(pid):
    """Voluntary plus involuntary context switches of every thread, by thread id."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        n = 0
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                        n += int(line.split()[1])
        except FileNotFoundError:  # the thread ended while we read
            continue
        out[tid] = n
    return out


def cpu_ticks(pid):
    """utime + stime of the whole process, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])  # fields 14 and 15 of proc(5)


# ---- nodes --------------------------------------------------------------------------------


def start_node(*args):
    n = harness.Node(*args)
    _nodes.append(n)
    return n


def kill_node(n):
    try:
        if n.alive():
            n.proc.kill()
        n.proc.wait(timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        pass
    try:
        os.unlink(n.logfile.name)
    except OSError:
        pass
    harness._procs[:] = [p for p in harness._procs if p is not n]


def stop_node(n):
    """SIGTERM, then SIGKILL if it does not stop within 10 s; removes its log."""
    try:
        n.stop(seconds=10)
    except AssertionError:
        pass
    kill_node(n)
    if n in _nodes:
        _nodes.remove(n)


def cleanup():
    while _nodes:
        kill_node(_nodes.pop())


class Admin:
    """One keep-alive HTTP/1.1 connection to a node's admin port."""

    def __init__(self, node):
        self.node = node
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        for attempt in range(3):  # a dropped keep-alive connection is reopened, at most twice
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.node.admin_port, timeout=30)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return r.status, data
            except (http.client.HTTPException, ConnectionError):
                self.close()
                if attempt == 2 or not self.node.alive():
                    raise
        raise AssertionError("unreachable")

    def metric(self, name):
        status, body = self.request("GET", "/metrics")
        assert status == 200, (status, body[:200])
        return harness.metric_value(body.decode(), name)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def fresh_node(*args):
    n = start_node(*args)
    n.wait_ready(30)
    return n


def per_record(before, after, count):
    delta = after - before
    return {"count": count, "rss_before_kib": before, "rss_after_kib": after, "rss_delta_kib": delta,
            "bytes_per_record": round(delta * 1024 / count, 1)}


# ---- measurements -------------------------------------------------------------------------


def measure_idle(seconds):
    say(f"idle: a standalone node for {seconds} s")
    n = fresh_node()
    pid = n.proc.pid
    time.sleep(1.0)  # let the readiness poll's admin connection close
    sw0, t0, c0 = ctxt_switches(pid), time.monotonic(), cpu_ticks(pid)
    time.sleep(seconds)
    sw1, t1, c1 = ctxt_switches(pid), time.monotonic(), cpu_ticks(pid)
    assert n.alive(), f"the idle node exited ({n.proc.returncode})"
    mem = smaps_rollup(pid)
    wakeups = sum(v - sw0.get(tid, 0) for tid, v in sw1.items())
    stop_node(n)
    return {"idle_rss_kib": mem["rss_kib"], "idle_pss_kib": mem["pss_kib"], "idle_uss_kib": mem["uss_kib"],
            "idle_wakeups_per_min": round(wakeups * 60.0 / (t1 - t0), 2), "idle_cpu_ticks": c1 - c0,
            "idle_threads": len(sw1)}


def load_through_api(path, content_type, bodies, count, gauge):
    """POSTs |count| bodies to |path| on a fresh node; returns the RSS it grew by, checking
    that every request was taken and that the |gauge| metric counts them all."""
    n = fresh_node(*FAST)
    a = Admin(n)
    a.metric(gauge)  # warm up the admin connection and the metrics page
    before = rss_kib(n.proc.pid)
    headers = {"Content-Type": content_type}
    failures = {}
    for i, body in enumerate(bodies):
        status, data = a.request("POST", path, body, headers)
        if status != 200:
            failures[status] = failures.get(status, 0) + 1
            if sum(failures.values()) == 1:
                say(f"{path} {i}: {status} {data[:200]!r}")
    stored = a.metric(gauge)
    after = rss_kib(n.proc.pid)
    a.close()
    stop_node(n)
    assert not failures, f"refused {path}: {failures}"
    assert stored == count, f"{gauge} is {stored}, expected {count}"
    r = per_record(before, after, count)
    r["stored"] = int(stored)
    return r


def measure_provider_records_api():
    say(f"provider_records_api: {RECORDS} POST /dht/provide on one node")
    bodies = (json.dumps({"cid": "b3:" + key_of(b"api", i).hex(), "node": PROVIDER_ADDR}).encode()
              for i in range(RECORDS))
    return load_through_api("/dht/provide", "application/json", bodies, RECORDS, "dht_provider_records")


def key_of(tag, i):
    """A 32-byte key, distinct per (tag, i): BLAKE3 is what content keys are, but any
    uniformly spread 32 bytes do here, and sha256 is much faster than peer.py's BLAKE3."""
    return hashlib.sha256(tag + struct.pack(">I", i)).digest()


def measure_provider_records_peers():
    import peer  # python3-cbor2 and python3-nacl
    say(f"provider_records_peers: {RECORDS} ADD_PROVIDER from {PEER_IDENTITIES} peers over OAP/1")
    n = fresh_node(*FAST, *SHARES)
    a = Admin(n)
    a.metric("dht_provider_records")
    # Warm up the session code (buffers, the handshake) with one peer, closed before the
    # baseline; the publishers then come one after another, each in its own session.
    w = peer.Peer("127.0.0.1", n.port).handshake()
    assert w.ping().get("code", peer.OK) == peer.OK
    w.close()
    time.sleep(0.5)
    before = rss_kib(n.proc.pid)
    codes = {}
    per_peer = RECORDS // PEER_IDENTITIES
    now = int(time.time())
    for p_i in range(PEER_IDENTITIES):
        p = peer.Peer("127.0.0.1", n.port, timeout=30).handshake()
        try:
            for start in range(0, per_peer, BATCH):
                rids, frames = [], []
                for j in range(start, min(per_peer, start + BATCH)):
                    key = key_of(b"peer", p_i * per_peer + j)
                    rec = peer.record(p.sk, key, [PROVIDER_ADDR], ttl=86400, ts=now)
                    rid = p.next_rid()
                    rids.append(rid)
                    frames.append(peer.frame(peer.DATA, peer.msg(peer.ADD_PROVIDER, rid, rec=rec)))
                p.send(b"".join(frames))
                for rid in rids:
                    c = p.response(rid, seconds=30).get("code", peer.OK)
                    codes[c] = codes.get(c, 0) + 1
        finally:
            p.close()
    time.sleep(0.5)  # the sessions' close is handled
    stored = a.metric("dht_provider_records")
    after = rss_kib(n.proc.pid)
    a.close()
    stop_node(n)
    assert set(codes) == {peer.OK}, f"answers: {codes}"
    assert stored == RECORDS, f"dht_provider_records is {stored}, expected {RECORDS}"
    r = per_record(before, after, RECORDS)
    r.update(stored=int(stored), peers=PEER_IDENTITIES)
    return r


def measure_values():
    say(f"values_100b: {VALUES} POST /dht/put of {VALUE_BYTES} bytes")
    bodies = ((key_of(b"value", i) * 4)[:VALUE_BYTES] for i in range(VALUES))
    r = load_through_api("/dht/put", "application/octet-stream", bodies, VALUES, "dht_values_stored")
    r["bytes_per_value"] = r.pop("bytes_per_record")
    return r


def measure_cluster():
    say(f"cluster64: {CLUSTER} nodes on loopback")
    seed = fresh_node()
    nodes = [seed]
    try:
        for _ in range(CLUSTER - 1):
            nodes.append(start_node("--bootstrap", seed.addr))
        end = time.monotonic() + 120
        for node in nodes:  # at most 120 s for all of them together
            node.wait_ready(max(1.0, end - time.monotonic()))
        time.sleep(2.0)  # the last joins' lookups settle
        rss = sorted(rss_kib(node.proc.pid) for node in nodes)
        tables = []
        for node in (nodes[0], nodes[-1]):
            a = Admin(node)
            tables.append(int(a.metric("dht_routing_table_size")))
            a.close()
    finally:
        for node in nodes:
            kill_node(node)
            if node in _nodes:
                _nodes.remove(node)
    return {"nodes": CLUSTER, "ready": CLUSTER, "median_rss_kib": statistics.median(rss), "max_rss_kib": rss[-1],
            "min_rss_kib": rss[0], "total_rss_kib": sum(rss), "table_sizes_seed_last": tables}


# ---- budgets ------------------------------------------------------------------------------


def budgets(out, native):
    b = {}

    def check(name, value, limit, ok):
        b[name] = {"value": value, "limit": limit, "ok": bool(ok)}

    check("stripped_bytes", out["stripped_bytes"], int(BUDGET_STRIPPED_BYTES),
          out["stripped_bytes"] <= BUDGET_STRIPPED_BYTES)
    if native:
        if out["arch"] == "x86_64":
            check("idle_rss_kib", out["idle_rss_kib"], BUDGET_IDLE_RSS_KIB, out["idle_rss_kib"] <= BUDGET_IDLE_RSS_KIB)
        for k in ("provider_records_api", "provider_records_peers"):
            v = out[k]["bytes_per_record"]
            check(f"{k}_bytes_per_record", v, BUDGET_BYTES_PER_RECORD, v <= BUDGET_BYTES_PER_RECORD)
        check("idle_cpu_ticks", out["idle_cpu_ticks"], BUDGET_IDLE_CPU_TICKS,
              out["idle_cpu_ticks"] == BUDGET_IDLE_CPU_TICKS)
        check("idle_wakeups_per_min", out["idle_wakeups_per_min"], BUDGET_WAKEUPS_PER_MIN,
              out["idle_wakeups_per_min"] <= BUDGET_WAKEUPS_PER_MIN)
    return b


def main():
    ap = argparse.ArgumentParser(description="svc-dht footprint: sizes, idle memory and wake-ups, "
                                 "bytes per stored record, 64-node cluster RSS; one JSON line")
    ap.add_argument("--bin", required=True, help="the svc-dht binary")
    ap.add_argument("--arch", default=platform.machine(), help="the binary's architecture (default: this machine's)")
    ap.add_argument("--strip", default="strip", help="strip tool for the binary's architecture")
    ap.add_argument("--wrapper", default="", help="emulator command (qemu-user): sizes and DT_NEEDED only")
    ap.add_argument("--idle-seconds", type=float, default=60.0, help="length of the idle window")
    args = ap.parse_args()
    if not os.access(args.bin, os.X_OK):
        ap.error(f"{args.bin}: not an executable file")
    if not 1 <= args.idle_seconds <= 3600:
        ap.error("--idle-seconds: 1 to 3600")
    harness.BIN = os.path.abspath(args.bin)
    wrapper = shlex.split(args.wrapper)
    native = not wrapper

    # A SIGTERM (or SIGHUP) ends the run through the same cleanup as an exception.
    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    out = {"arch": args.arch, "binary": args.bin, "version": version(harness.BIN, wrapper),
           "binary_bytes": os.path.getsize(args.bin), "stripped_bytes": stripped_size(args.bin, args.strip),
           "needed": needed_libs(args.bin)}
    say(f"{args.arch}: {out['binary_bytes']} bytes, {out['stripped_bytes']} stripped, needs {out['needed']}")
    status = 0
    try:
        if native:
            out.update(measure_idle(args.idle_seconds))
            out["provider_records_api"] = measure_provider_records_api()
            out["provider_records_peers"] = measure_provider_records_peers()
            out["values_100b"] = measure_values()
            out["cluster64"] = measure_cluster()
        else:
            for k in ("idle_rss_kib", "idle_pss_kib", "idle_uss_kib", "idle_wakeups_per_min", "idle_cpu_ticks",
                      "provider_records_api", "provider_records_peers", "values_100b", "cluster64"):
                out[k] = None
            out["note"] = QEMU_NOTE
        out["budgets"] = budgets(out, native)
        out["over_budget"] = [k for k, v in out["budgets"].items() if not v["ok"]]
        status = 1 if out["over_budget"] else 0
    except Exception as e:  # noqa: BLE001 -- reported in the JSON line, exit status 2
        out["error"] = f"{type(e).__name__}: {e}"
        for n in _nodes:
            for line in n.logs().splitlines()[-10:]:
                say("log:", line)
        status = 2
    finally:
        cleanup()
    print(json.dumps(out), flush=True)
    return status


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        cleanup()
