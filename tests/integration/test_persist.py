#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Persistence on real daemons (a macronode's LMDB store under data_dir/store): every write
# acknowledged before a SIGKILL is served after the restart, in both durability modes; a
# restart with every seed down is ready from its saved contacts; lifetimes run on while the
# node is down; a full disk refuses writes with a clear error and recovers without a
# restart; a micronode writes no file; a foreign store file or a second daemon on the same
# data_dir exits 2; the store commands read a running daemon's store. Runs under Debian's
# /usr/bin/python3 (the wire load signs provider records with PyNaCl). Prints TAP.
import json
import os
import random
import signal
import subprocess
import tempfile
import threading
import time

import sys

import cbor2

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hostile"))
from harness import SCALE, Node, Skip, poll, run, test  # noqa: E402
from peer import ADD_PROVIDER, BUSY, DATA, GET_PROVIDERS, GET_VALUE, OK, PUT_VALUE, Closed, Peer, blake3, \
    frame, msg, record  # noqa: E402

# The crash loop's length: 100 iterations per durability mode; sanitizer builds (a scaled
# timeout) run fewer, as each start there costs seconds.
ITERATIONS = int(os.environ.get("SVC_DHT_CRASH_ITERATIONS", "100" if SCALE == 1 else "15"))
# Writes come fast enough that a peer's request limits must not be what stops them.
# The loads here test durability, not admission: no rate limit may answer them. The node
# budget too: the check after the last kill sends every acknowledged write back at once,
# and a long run acknowledges more than node_rate's default burst of 20,000 (CI once saw a
# read answered 1501 there).
FAST = ("--peer-rate", "100000", "--peer-burst", "100000", "--node-write-rate", "100000",
        "--node-rate", "1000000")


def macronode(data_dir, *args, **kw):
    return Node("--profile", "macronode", "--data-dir", data_dir, *FAST, *args, **kw)


def b3(key):
    return "b3:" + key.hex()


class Acked:
    """The writes a daemon acknowledged: values (key -> bytes) and provider records
    (key -> the address the record carries)."""

    def __init__(self):
        self.values = {}
        self.records = {}
        self.lock = threading.Lock()

    def add_value(self, key, value):
        with self.lock:
            self.values[key] = value

    def add_record(self, key, addr):
        with self.lock:
            self.records[key] = addr

    def __len__(self):
        return len(self.values) + len(self.records)


def http_load(node, acked, stop):
    """POST /dht/put and /dht/provide in turn until |stop| is set or the daemon is gone;
    only a 200 counts as acknowledged."""
    i = 0
    while not stop.is_set():
        i += 1
        try:
            if i % 2:
                value = os.urandom(random.randint(1, 300))
                r = node.post("/dht/put", value, timeout=5)
                if r.status == 200:
                    assert r.json()["key"] == b3(blake3(value)), r.body
                    acked.add_value(blake3(value), value)
            else:
                key = os.urandom(32)
                addr = f"tcp://198.51.100.{i % 250}:{4000 + i % 1000}"
                r = node.post("/dht/provide", {"cid": b3(key), "node": addr, "ttl_secs": 3600}, timeout=5)
                if r.status == 200:
                    acked.add_record(key, addr)
        except OSError:
            return


def wire_load(node, acked, stop):
    """PUT_VALUE and ADD_PROVIDER over one authenticated session, two requests in flight;
    only a 1000 Ok counts as acknowledged."""
    try:
        p = Peer("127.0.0.1", node.port).handshake()
    except (OSError, Closed):
        return
    pending = {}
    i = 0
    try:
        while not stop.is_set():
            while len(pending) < 2:
                i += 1
                rid = p.next_rid()
                if i % 2:
                    value = os.urandom(random.randint(1, 300))
                    pending[rid] = ("value", blake3(value), value)
                    p.send(frame(DATA, msg(PUT_VALUE, rid, key=blake3(value), val=value)))
                else:
                    key = os.urandom(32)
                    addr = f"tcp://203.0.113.{i % 250}:{5000 + i % 1000}"
                    pending[rid] = ("record", key, addr)
                    p.send(frame(DATA, msg(ADD_PROVIDER, rid, rec=record(p.sk, key, [addr]))))
            kind, payload = p.frame(5)
            m = cbor2.loads(payload) if kind == DATA else {}
            if m.get("f") != 2 or m.get("rid") not in pending:
                continue
            what, key, data = pending.pop(m["rid"])
            if m.get("code", OK) == OK:
                (acked.add_value if what == "value" else acked.add_record)(key, data)
    except (OSError, Closed):
        pass
    finally:
        p.close()


def check_served(node, acked):
    """Every acknowledged write is served over the wire with the right bytes (requests
    pipelined on one session)."""
    p = Peer("127.0.0.1", node.port).handshake()
    try:
        want = {}
        out = []
        for key, value in acked.values.items():
            rid = p.next_rid()
            want[rid] = ("value", key, value)
            out.append(frame(DATA, msg(GET_VALUE, rid, key=key)))
        for key, addr in acked.records.items():
            rid = p.next_rid()
            want[rid] = ("record", key, addr)
            out.append(frame(DATA, msg(GET_PROVIDERS, rid, key=key)))
        for i in range(0, len(out), 256):
            p.send(b"".join(out[i:i + 256]))
            got = 0
            while got < len(out[i:i + 256]):
                kind, payload = p.frame(30)
                m = cbor2.loads(payload) if kind == DATA else {}
                if m.get("f") != 2 or m.get("rid") not in want:
                    continue
                got += 1
                what, key, data = want.pop(m["rid"])
                assert m.get("code", OK) == OK, f"{what} {key.hex()} lost: {m}"
                if what == "value":
                    assert m.get("val") == data, f"value {key.hex()} served with other bytes"
                else:
                    addrs = [a for rec in m.get("providers", []) for a in rec.get("addrs", [])]
                    assert data in addrs, f"provider record {key.hex()} lost: {m}"
        assert not want
    finally:
        p.close()


def crash_loop(durability):
    acked = Acked()
    rng = random.Random(int.from_bytes(os.urandom(8), "big"))
    with tempfile.TemporaryDirectory(prefix="svc-dht-crash-", ignore_cleanup_errors=True) as d:
        for it in range(ITERATIONS):
            n = macronode(d, "--durability", durability)
            # It starts on its own files, every time, and serves what it acknowledged
            # before the last kill from its first requests.
            n.wait_admin(15)
            check_served(n, acked)
            stop = threading.Event()
            threads = [threading.Thread(target=http_load, args=(n, acked, stop)),
                       threading.Thread(target=wire_load, args=(n, acked, stop))]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.01, 0.25) * SCALE)
            n.proc.send_signal(signal.SIGKILL)
            n.proc.wait()
            stop.set()
            for t in threads:
                t.join(30)
                assert not t.is_alive(), "a load thread did not end after the kill"
        n = macronode(d, "--durability", durability)
        n.wait_admin(15)
        check_served(n, acked)
        print(f"# {durability}: {ITERATIONS} kills, {len(acked.values)} values and "
              f"{len(acked.records)} provider records acknowledged, all served", flush=True)
        assert len(acked) >= ITERATIONS, f"only {len(acked)} writes acknowledged"
        assert n.stop() == 0


@test
def crash_loop_batched_loses_no_acknowledged_write():
    crash_loop("batched")


@test
def crash_loop_sync_loses_no_acknowledged_write():
    crash_loop("sync")


def store_stats(d):
    """`svc-dht store stats` as a dict (field -> value)."""
    code, out, err = run(["store", "stats", "--data-dir", d])
    assert code == 0, err
    return dict(line.split(None, 1) for line in out.splitlines() if line.strip())


def saved_contacts(d):
    return int(store_stats(d)["contacts"])


def warm_restart(sig):
    seed = Node()
    seed.wait_ready()
    others = [Node("--bootstrap", seed.addr) for _ in range(4)]
    with tempfile.TemporaryDirectory(prefix="svc-dht-warm-", ignore_cleanup_errors=True) as d:
        m = macronode(d, "--bootstrap", seed.addr)
        m.wait_ready()
        for o in others:
            o.wait_ready()
        poll(lambda: m.peers() >= 5, 15, "the macronode to know every node")
        # The contacts are saved soon after start (and on a clean stop): wait for them on
        # disk, read by the store command while the daemon runs.
        poll(lambda: saved_contacts(d) >= 3, 15, "the contacts on disk")
        m.stop(sig)
        seed.stop()
        m = macronode(d, "--bootstrap", seed.addr)
        m.wait_ready(15)
        r = m.get("/readyz").json()
        # The only seed is not running at all: readiness came from saved contacts.
        assert r["seeds"]["up"] == 0 and r["gates"]["routing_ready"], r
        assert r["warm"]["up"] >= r["warm"]["required"] >= 3, r
        assert m.peers() >= 3
        assert m.stop() == 0
        if sig != signal.SIGKILL:
            return
        # Now every peer is down: a restart reaches nobody, and what it saves must not
        # replace the contacts of the last run with its empty table.
        saved = saved_contacts(d)
        for o in others:
            o.stop()
        m = macronode(d, "--bootstrap", seed.addr)
        m.wait_admin()
        poll(lambda: m.metric("dht_bootstrap_seeds_up") == 0 and "dialing contacts" in m.logs(), 10,
             "the restart to dial its saved contacts")
        time.sleep(2.5)  # past the first contacts check (every 2 s)
        assert m.stop() == 0
        assert saved_contacts(d) == saved, (saved, saved_contacts(d))


@test
def restart_after_sigkill_with_every_seed_down_is_ready_from_saved_contacts():
    warm_restart(signal.SIGKILL)


@test
def restart_after_a_clean_stop_with_every_seed_down_is_ready_from_saved_contacts():
    warm_restart(signal.SIGTERM)


@test
def lifetimes_run_on_while_the_node_is_down():
    with tempfile.TemporaryDirectory(prefix="svc-dht-ttl-", ignore_cleanup_errors=True) as d:
        n = macronode(d)
        n.wait_ready()
        p = Peer("127.0.0.1", n.port).handshake()
        short, long_ = os.urandom(32), os.urandom(32)
        now = int(time.time())
        assert p.request(ADD_PROVIDER, rec=record(p.sk, short, ["tcp://198.51.100.1:1"], ttl=2)).get("code", OK) == OK
        assert p.request(ADD_PROVIDER, rec=record(p.sk, long_, ["tcp://198.51.100.2:2"], ttl=3600,
                                                  ts=now)).get("code", OK) == OK
        p.close()
        assert n.stop() == 0
        time.sleep(3)
        n = macronode(d)
        n.wait_admin()
        p = Peer("127.0.0.1", n.port).handshake()
        assert not p.request(GET_PROVIDERS, key=short).get("providers"), "the 2 s record outlived its ttl"
        assert p.request(GET_PROVIDERS, key=long_).get("providers"), "the 1 h record was lost"
        p.close()
        assert "expired=1" in n.logs(), n.logs()
        # Its remaining lifetime is what is left of ts + 3600, not a fresh hour.
        listing = n.get("/dht/_debug/list").json()
        entry = [e for e in listing["entries"] if e.get("cid") == b3(long_)]
        assert entry, listing
        left = entry[0]["secs_left"]
        assert now + 3600 - int(time.time()) - 2 <= left <= now + 3600 - (now + 3) + 1, (left, now)
        assert n.stop() == 0


@test
def a_full_disk_refuses_writes_clearly_and_recovers_without_a_restart():
    mnt = tempfile.mkdtemp(prefix="svc-dht-full-")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt], capture_output=True).returncode:
        os.rmdir(mnt)
        raise Skip("cannot mount a tmpfs here (needs root)")
    try:
        # Ballast the test frees later: what the operator deletes to make room.
        with open(os.path.join(mnt, "ballast"), "wb") as f:
            f.write(os.urandom(1 << 20))
        n = macronode(mnt, "--max-value-bytes", "16384")
        n.wait_ready()
        first = os.urandom(1000)
        assert n.post("/dht/put", first).status == 200
        status = 200
        for _ in range(2000):
            r = n.post("/dht/put", os.urandom(16384))
            status = r.status
            if status != 200:
                break
        assert status == 507, (status, r.body)
        assert r.json()["error"] == "store_unavailable", r.body
        # The wire says 1501 (busy); reads and routing go on.
        p = Peer("127.0.0.1", n.port).handshake()
        v = os.urandom(100)
        assert p.request(PUT_VALUE, key=blake3(v), val=v).get("code") == BUSY
        assert p.request(GET_VALUE, key=blake3(first)).get("val") == first
        assert p.ping().get("code", OK) == OK
        p.close()
        assert n.get("/healthz").status == 200
        assert n.get("/dht/get/" + b3(blake3(first))).status == 200
        assert n.metric("dht_store_persist_errors_total") >= 1
        assert n.metric("dht_store_writes_refused") == 1
        # A refused commit is not replayed on every loop turn (each PING below is one): the
        # disk is probed once a second.
        errors = n.metric("dht_store_persist_errors_total")
        p = Peer("127.0.0.1", n.port).handshake()
        for _ in range(100):
            assert p.ping().get("code", OK) == OK
        p.close()
        assert n.metric("dht_store_persist_errors_total") - errors < 50, "a failed commit retried per turn"
        assert n.post("/dht/provide", {"cid": b3(os.urandom(32)), "node": "tcp://198.51.100.9:1"}).status == 507
        # Logged once, not once per refused write.
        assert n.logs().count("a commit failed") == 1, n.logs()
        # Room again: writes work without a restart.
        os.unlink(os.path.join(mnt, "ballast"))
        poll(lambda: n.post("/dht/put", os.urandom(100)).status == 200, 15, "writes to work again")
        assert n.metric("dht_store_writes_refused") == 0
        assert n.stop() == 0
        n = macronode(mnt)
        n.wait_admin()
        assert n.get("/dht/get/" + b3(blake3(first))).status == 200
        assert n.stop() == 0
    finally:
        subprocess.run(["umount", mnt], capture_output=True)
        os.rmdir(mnt)


@test
def a_micronode_writes_no_file():
    # The macronode's identity file lives elsewhere: the data dir must stay empty.
    with tempfile.TemporaryDirectory(prefix="svc-dht-amnesia-", ignore_cleanup_errors=True) as d, \
            tempfile.TemporaryDirectory(prefix="svc-dht-key-", ignore_cleanup_errors=True) as keys:
        for args in (("--profile", "micronode", "--data-dir", d),
                     ("--profile", "macronode", "--data-dir", d, "--amnesia", "true",
                      "--identity", os.path.join(keys, "identity.key"))):
            n = Node(*FAST, *args)
            n.wait_ready()
            acked = Acked()
            stop = threading.Event()
            t = threading.Thread(target=wire_load, args=(n, acked, stop))
            t.start()
            for i in range(50):
                assert n.post("/dht/put", os.urandom(64)).status == 200
                assert n.post("/dht/provide", {"cid": b3(os.urandom(32)), "node": "tcp://198.51.100.9:1"}).status == 200
            stop.set()
            t.join(30)
            assert len(acked) > 0
            assert n.metric("dht_store_persistent") == 0
            assert n.stop() == 0
            assert os.listdir(d) == [], os.listdir(d)


@test
def a_foreign_store_file_or_a_second_daemon_exits_2():
    with tempfile.TemporaryDirectory(prefix="svc-dht-foreign-", ignore_cleanup_errors=True) as d:
        n = macronode(d)
        n.wait_ready()
        assert n.post("/dht/put", b"kept").status == 200
        # A second daemon on the same data_dir: refused, the first goes on.
        code, _, err = run(["--profile", "macronode", "--data-dir", d, "--listen", "127.0.0.1:0",
                            "--admin", "127.0.0.1:0"], timeout=15)
        assert code == 2 and "svc-dht.lock" in err, (code, err)
        assert n.get("/dht/get/" + b3(blake3(b"kept"))).status == 200
        assert n.stop() == 0
        # A file that is not a store of this format.
        data = os.path.join(d, "store", "data.mdb")
        with open(data, "wb") as f:
            f.write(os.urandom(64 * 1024))
        code, _, err = run(["--profile", "macronode", "--data-dir", d, "--listen", "127.0.0.1:0",
                            "--admin", "127.0.0.1:0"], timeout=15)
        assert code == 2 and data in err and "mv " in err, (code, err)
        assert os.path.getsize(data) == 64 * 1024, "the foreign file was touched"


@test
def store_commands_read_a_running_daemons_store():
    with tempfile.TemporaryDirectory(prefix="svc-dht-cmd-", ignore_cleanup_errors=True) as d:
        n = macronode(d)
        n.wait_ready()
        assert n.post("/dht/put", b"one value").status == 200
        key = os.urandom(32)
        assert n.post("/dht/provide", {"cid": b3(key), "node": "tcp://198.51.100.7:7", "ttl_secs": 600}).status == 200
        stats = store_stats(d)
        assert stats["records"] == "1" and stats["values"] == "1", stats
        code, out, err = run(["store", "check", "--data-dir", d])
        assert code == 0, (code, out, err)
        code, out, err = run(["store", "dump", "--data-dir", d])
        assert code == 0, err
        lines = [json.loads(line) for line in out.splitlines()]
        assert any(e.get("kind") == "record" and e.get("key") == b3(key) for e in lines), out
        assert any(e.get("kind") == "value" and e.get("key") == b3(blake3(b"one value")) for e in lines), out
        assert n.stop() == 0


if __name__ == "__main__":
    import harness
    harness.main()
