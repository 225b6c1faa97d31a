# SPDX-License-Identifier: MIT
# Integration test harness (python3 standard library only): starts real svc-dht processes on
# free loopback ports, talks HTTP with urllib and raw OAP/1 with sockets, never sleeps
# blindly (every wait polls with a deadline), kills whatever a test started, and prints TAP.
# Usage from a test file: @test-decorated functions, then harness.main().
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

BIN = os.environ.get("SVC_DHT_BIN") or (sys.argv[1] if len(sys.argv) > 1 else "build/svc-dht")
# Sanitizer builds run slower: scale every deadline (as libuv's test runner does).
SCALE = float(os.environ.get("SVC_DHT_TEST_TIMEOUT_MULTIPLIER", "1"))

_tests = []
_procs = []


def test(fn):
    _tests.append(fn)
    return fn


class Skip(Exception):
    """Raised by a test that cannot run on this machine; reported as a TAP skip."""


def deadline(seconds):
    return time.monotonic() + seconds * SCALE


def poll(fn, seconds, what="condition", interval=0.05):
    """Calls fn until it returns something truthy; fails after |seconds| (scaled)."""
    end = deadline(seconds)
    last = None
    while True:
        try:
            last = fn()
            if last:
                return last
        except (OSError, ValueError, urllib.error.URLError) as e:
            last = e
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {seconds}s waiting for {what} (last: {last!r})")
        time.sleep(interval)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def clean_env(env=None):
    """The environment for a svc-dht under test: none of the caller's RON_DHT_*/DHT_*
    settings, and no configuration file (an installed default one must not leak into a
    test), then |env| on top."""
    e = {k: v for k, v in os.environ.items() if not k.startswith(("RON_DHT_", "DHT_"))}
    e["RON_DHT_CONFIG"] = ""
    if env:
        e.update(env)
    return e


def run(args, env=None, timeout=30):
    """Runs svc-dht with |args| to completion; returns (exit code, stdout, stderr)."""
    e = clean_env(env)
    p = subprocess.run([BIN] + list(args), capture_output=True, text=True, env=e, timeout=timeout * SCALE)
    return p.returncode, p.stdout, p.stderr


def metric_value(text, name, labels=None):
    """The value of one sample in a /metrics page (0 if absent)."""
    want = name
    if labels:
        want += "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, val = line.rpartition(" ")
        if key == want:
            return float(val)
    return 0.0


class Http:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)


class Node:
    """One svc-dht daemon on 127.0.0.1 with its own peer and admin ports.

    Unless the test names a port, the daemon binds port 0 and the harness reads the ports the
    kernel chose from its "svc-dht started" log line: a port picked in advance could be taken
    by another daemon's outbound connection before this one binds it."""

    def __init__(self, *args, env=None, admin_host="127.0.0.1", port=None):
        self._port = port
        self._admin_port = None
        self.admin_host = admin_host
        self.logfile = tempfile.NamedTemporaryFile(prefix="svc-dht-", suffix=".log", delete=False)
        e = clean_env(env)
        args = list(args)
        listen = f"127.0.0.1:{port or 0}"
        if "--listen" in args:  # the test chose its own listen address (e.g. [::]:0)
            i = args.index("--listen")
            listen = args[i + 1]
            self._port = int(listen.rsplit(":", 1)[1]) or None
            del args[i:i + 2]
        cmd = [BIN, "--listen", listen, "--admin", f"{admin_host}:0"] + args
        self.proc = subprocess.Popen(cmd, stdout=self.logfile, stderr=subprocess.STDOUT, env=e)
        _procs.append(self)
        self._id = None

    def _read_ports(self):
        def started():
            for line in self.logs().splitlines():
                if "svc-dht started" not in line:
                    continue
                if line.startswith("{"):
                    rec = json.loads(line)
                    return int(rec["port"]), int(rec["admin_port"])
                fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
                return int(fields["port"]), int(fields["admin_port"])
            if not self.alive():
                raise AssertionError(f"svc-dht exited early ({self.proc.returncode}):\n{self.logs()}")
            return None
        port, admin_port = poll(started, 15, "the 'svc-dht started' log line")
        self._port = self._port or port
        self._admin_port = admin_port

    @property
    def port(self):
        if self._port is None:
            self._read_ports()
        return self._port

    @property
    def admin_port(self):
        if self._admin_port is None:
            self._read_ports()
        return self._admin_port

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    def request(self, method, path, body=None, headers=None, timeout=10):
        req = urllib.request.Request(f"http://127.0.0.1:{self.admin_port}{path}", data=body, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout * SCALE) as r:
                return Http(r.status, dict(r.headers), r.read())
        except urllib.error.HTTPError as e:
            return Http(e.code, dict(e.headers), e.read())

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, headers=None, **kw):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = dict(headers or {}, **{"Content-Type": "application/json"})
        elif isinstance(body, str):
            body = body.encode()
        return self.request("POST", path, body=body, headers=headers, **kw)

    def wait_admin(self, seconds=10):
        poll(lambda: self.alive() and self.get("/healthz").status == 200, seconds, "the admin port")

    def wait_ready(self, seconds=15):
        def ready():
            if not self.alive():
                raise AssertionError(f"svc-dht exited early ({self.proc.returncode}):\n{self.logs()}")
            return self.get("/readyz").status == 200
        poll(ready, seconds, f"/readyz on {self.addr}")

    @property
    def id(self):
        if self._id is None:
            self._id = self.get("/dht/peers").json()["self"]["id"]
        return self._id

    def peers(self):
        return self.get("/dht/peers").json()["count"]

    def metric(self, name, labels=None):
        """The value of one sample in /metrics (0 if absent)."""
        return metric_value(self.get("/metrics").body.decode(), name, labels)

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, seconds=10):
        if self.alive():
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=seconds * SCALE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"svc-dht did not stop within {seconds}s after {sig!r}")

    def logs(self):
        self.logfile.flush()
        with open(self.logfile.name, errors="replace") as f:
            return f.read()


def enter_netns(script):
    """Re-executes |script| (with this process's arguments) in a network namespace of its
    own (unshare -n) and returns only when already in one. Where namespaces are not allowed,
    prints a TAP plan that skips everything and exits."""
    if os.environ.get("SVC_DHT_IN_NETNS"):
        return
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        print("1..0 # SKIP network namespaces are not allowed here: " + probe.stderr.decode().strip())
        sys.exit(0)
    os.environ["SVC_DHT_IN_NETNS"] = "1"
    os.execvp("unshare", ["unshare", "-n", "--", sys.executable, os.path.abspath(script)] + sys.argv[1:])


def cluster(n, *args, seeds_per_node=1):
    """Starts n nodes: the first standalone, each other one bootstrapping off the first."""
    first = Node(*args)
    first.wait_ready()
    nodes = [first]
    for _ in range(n - 1):
        nodes.append(Node("--bootstrap", first.addr, *args))
    for node in nodes:
        node.wait_ready()
    return nodes


def main():
    print(f"1..{len(_tests)}", flush=True)
    failed = 0
    for i, fn in enumerate(_tests, 1):
        started = len(_procs)
        try:
            fn()
            print(f"ok {i} - {fn.__name__}", flush=True)
        except Skip as e:
            print(f"ok {i} - {fn.__name__} # SKIP {e}", flush=True)
        except Exception:  # noqa: BLE001 -- a test failure of any kind
            failed += 1
            print(f"not ok {i} - {fn.__name__}", flush=True)
            for line in traceback.format_exc().splitlines():
                print("# " + line)
            for p in _procs[started:]:
                for line in p.logs().splitlines()[-15:]:
                    print("#   log: " + line)
        finally:
            for p in _procs[started:]:
                if p.alive():
                    p.proc.kill()
                    p.proc.wait()
                os.unlink(p.logfile.name)
            del _procs[started:]
    sys.exit(1 if failed else 0)
