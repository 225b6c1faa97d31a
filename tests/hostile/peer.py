# SPDX-License-Identifier: MIT
# A real OAP/1 peer for the hostile-client suite: HELLO, the Ed25519 ident/auth handshake
# (PyNaCl), CBOR DhtMsg requests (cbor2), signed provider records and BLAKE3 content keys,
# written from DESIGN 3 and docs/PROTOCOL.md without any of the daemon's code. It can
# behave (a legitimate peer whose PING must keep answering during an attack) or misbehave
# (every attack in tests/hostile/ is built from its pieces). Runs under Debian's
# /usr/bin/python3, the interpreter that has python3-cbor2 and python3-nacl.
import os
import socket
import struct
import sys
import time

import cbor2
import nacl.signing

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402

HELLO = b"OAP1\x01\x00\x00\x00\x01"  # what these peers send: GOSSIP_V1 only
# What the node sends: GOSSIP_V1 and EARLY_REQUEST (docs/PROTOCOL.md 1.1).
NODE_HELLO = b"OAP1\x01\x00\x00\x00\x03"
DATA, CTRL = 1, 2
PING, FIND_NODE, GET_PROVIDERS, ADD_PROVIDER, PUT_VALUE, GET_VALUE = 1, 2, 3, 4, 5, 6
OK, BAD_REQUEST, NOT_FOUND, TOO_LARGE, QUOTA, BAD_SIG, STALE, NOT_READY, BUSY = (
    1000, 1400, 1404, 1413, 1429, 1440, 1441, 1450, 1501)

# ---- BLAKE3 (the hash only: content keys and node ids) -------------------------------------

_M32 = 0xFFFFFFFF
_IV = [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19]
_PERM = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8]
_CHUNK_START, _CHUNK_END, _PARENT, _ROOT = 1, 2, 4, 8


def _rotr(x, n):
    return ((x >> n) | (x << (32 - n))) & _M32


def _g(v, a, b, c, d, x, y):
    v[a] = (v[a] + v[b] + x) & _M32
    v[d] = _rotr(v[d] ^ v[a], 16)
    v[c] = (v[c] + v[d]) & _M32
    v[b] = _rotr(v[b] ^ v[c], 12)
    v[a] = (v[a] + v[b] + y) & _M32
    v[d] = _rotr(v[d] ^ v[a], 8)
    v[c] = (v[c] + v[d]) & _M32
    v[b] = _rotr(v[b] ^ v[c], 7)


def _compress(cv, m, counter, blen, flags):
    v = list(cv) + _IV[:4] + [counter & _M32, counter >> 32, blen, flags]
    for _ in range(7):
        _g(v, 0, 4, 8, 12, m[0], m[1])
        _g(v, 1, 5, 9, 13, m[2], m[3])
        _g(v, 2, 6, 10, 14, m[4], m[5])
        _g(v, 3, 7, 11, 15, m[6], m[7])
        _g(v, 0, 5, 10, 15, m[8], m[9])
        _g(v, 1, 6, 11, 12, m[10], m[11])
        _g(v, 2, 7, 8, 13, m[12], m[13])
        _g(v, 3, 4, 9, 14, m[14], m[15])
        m = [m[i] for i in _PERM]
    return [v[i] ^ v[i + 8] for i in range(8)]


def _words(block):
    block = block + bytes(64 - len(block))
    return list(struct.unpack("<16I", block))


def _chunk_output(data, index):
    """The last compression of one chunk, not yet done: (cv, words, counter, len, flags)."""
    blocks = [data[i:i + 64] for i in range(0, len(data), 64)] or [b""]
    cv = _IV
    for j, block in enumerate(blocks):
        flags = (_CHUNK_START if j == 0 else 0) | (_CHUNK_END if j == len(blocks) - 1 else 0)
        if j == len(blocks) - 1:
            return cv, _words(block), index, len(block), flags
        cv = _compress(cv, _words(block), index, 64, flags)


def _subtree(data, first_chunk):
    n = max(1, (len(data) + 1023) // 1024)
    if n == 1:
        return _chunk_output(data, first_chunk)
    left_chunks = 1 << ((n - 1).bit_length() - 1)  # the largest power of two below n
    left = _subtree(data[:left_chunks * 1024], first_chunk)
    right = _subtree(data[left_chunks * 1024:], first_chunk + left_chunks)
    lcv = _compress(*left)
    rcv = _compress(*right)
    return _IV, lcv + rcv, 0, 64, _PARENT


def blake3(data):
    cv, words, counter, blen, flags = _subtree(bytes(data), 0)
    return struct.pack("<8I", *_compress(cv, words, counter, blen, flags | _ROOT))


# ---- framing and CBOR ------------------------------------------------------------------------


def frame(kind, payload):
    return struct.pack(">IB", len(payload) + 1, kind) + payload


def msg(op, rid, f=1, **fields):
    m = {"v": 1, "op": op, "rid": rid, "f": f}
    m.update(fields)
    return cbor2.dumps(m)


def record(sk, key, addrs, ttl=3600, ts=None, alg=None):
    """A provider record signed by |sk| (a nacl SigningKey) as DESIGN 3.2 specifies."""
    ts = int(time.time()) if ts is None else ts
    pk = bytes(sk.verify_key)
    body = [key, pk, addrs, ttl, ts]
    signed = b"svc-dht/provider/v1" + cbor2.dumps(body, canonical=True)
    rec = {"key": key, "pk": pk, "addrs": addrs, "ttl": ttl, "ts": ts,
           "sig": sk.sign(signed).signature}
    if alg is not None:
        rec["alg"] = alg
    return rec


class Closed(Exception):
    """The daemon closed or reset the connection."""


class Peer:
    """One TCP connection to a daemon's peer port, driven step by step."""

    def __init__(self, host, port, seed=None, listen_port=0, network="ron", timeout=5, source=None):
        self.sk = nacl.signing.SigningKey(seed or os.urandom(32))
        self.pk = bytes(self.sk.verify_key)
        self.id = blake3(self.pk)
        self.listen_port = listen_port
        self.network = network
        self.timeout = timeout * harness.SCALE
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.s = socket.socket(family, socket.SOCK_STREAM)
        self.s.settimeout(self.timeout)
        if source is not None:
            self.s.bind((source, 0))
        self.s.connect((host, port))
        self.buf = b""
        self.nonce = os.urandom(32)
        self.rid = 0
        self.peer_pk = None

    # -- bytes --
    def send(self, b):
        try:
            self.s.sendall(b)
        except OSError as e:
            raise Closed(str(e)) from e

    def _fill(self, n, seconds=None):
        end = time.monotonic() + (self.timeout if seconds is None else seconds * harness.SCALE)
        while len(self.buf) < n:
            left = end - time.monotonic()
            if left <= 0:
                raise socket.timeout(f"waited for {n} bytes, have {len(self.buf)}")
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(65536)
            except ConnectionError as e:
                raise Closed(str(e)) from e
            if not chunk:
                raise Closed("EOF")
            self.buf += chunk

    def read_hello(self):
        self._fill(9)
        h, self.buf = self.buf[:9], self.buf[9:]
        return h

    def frame(self, seconds=None):
        """The next (kind, payload) the daemon sent."""
        self._fill(4, seconds)
        n = struct.unpack(">I", self.buf[:4])[0]
        self._fill(4 + n, seconds)
        kind, payload = self.buf[4], self.buf[5:4 + n]
        self.buf = self.buf[4 + n:]
        return kind, payload

    def closed_within(self, seconds):
        """True if the daemon closes (EOF or reset) within |seconds|; frames are skipped."""
        end = time.monotonic() + seconds * harness.SCALE
        try:
            while time.monotonic() < end:
                self.s.settimeout(max(0.01, end - time.monotonic()))
                chunk = self.s.recv(65536)
                if not chunk:
                    return True
        except ConnectionError:
            return True
        except socket.timeout:
            return False
        return False

    def close(self):
        self.s.close()

    # -- handshake --
    def ident_frame(self, pk=None, nonce=None, net=None, port=None):
        return frame(CTRL, cbor2.dumps({"t": "ident", "v": 1, "pk": pk or self.pk, "nonce": nonce or self.nonce,
                                        "net": self.network if net is None else net,
                                        "port": self.listen_port if port is None else port}))

    def auth_sig(self, peer_nonce, peer_pk):
        return self.sk.sign(b"svc-dht/auth/v1" + peer_nonce + peer_pk + self.pk).signature

    def handshake(self):
        """HELLO, ident, auth both ways; raises if the daemon refuses or its auth is bad."""
        self.send(HELLO + self.ident_frame())
        assert self.read_hello() == NODE_HELLO
        got_auth = False
        while not got_auth or self.peer_pk is None:
            kind, payload = self.frame()
            if kind != CTRL:
                continue
            m = cbor2.loads(payload)
            if m["t"] == "ident":
                self.peer_pk = m["pk"]
                self.send(frame(CTRL, cbor2.dumps({"t": "auth", "sig": self.auth_sig(m["nonce"], m["pk"])})))
            elif m["t"] == "auth":
                nacl.signing.VerifyKey(self.peer_pk).verify(
                    b"svc-dht/auth/v1" + self.nonce + self.pk + self.peer_pk, m["sig"])
                got_auth = True
            elif m["t"] == "err":
                raise Closed(f"daemon error {m.get('code')}: {m.get('msg')}")
        return self

    # -- requests --
    def next_rid(self):
        self.rid += 1
        return self.rid

    def send_request(self, op, **fields):
        rid = self.next_rid()
        self.send(frame(DATA, msg(op, rid, **fields)))
        return rid

    def response(self, rid, seconds=None):
        """The daemon's response to |rid| (a dict); requests the daemon sends us are skipped."""
        while True:
            kind, payload = self.frame(seconds)
            if kind != DATA:
                continue
            m = cbor2.loads(payload)
            if m.get("f") == 2 and m.get("rid") == rid:
                return m

    def request(self, op, **fields):
        return self.response(self.send_request(op, **fields))

    def ping(self):
        return self.request(PING)


def legit_ping(node, host="127.0.0.1"):
    """A well-behaved peer connects, authenticates and gets PING answered 1000 Ok."""
    p = Peer(host, node.port).handshake()
    try:
        r = p.ping()
        assert r.get("code", OK) == OK, r
        return True
    finally:
        p.close()


def rss_kib(pid, field="VmRSS"):
    """VmRSS (or VmHWM, the peak) of a process, in KiB, from /proc."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


# Under sanitizers a process's RSS is mostly shadow memory and quarantine; the sanitizer run
# raises the bound through this variable rather than skipping the check.
RSS_LIMIT_MIB = float(os.environ.get("SVC_DHT_RSS_LIMIT_MIB", "32"))


def assert_rss_under(node, mib=None):
    """The daemon's peak RSS so far (VmHWM) is below |mib| MiB (default: the suite's bound)."""
    limit = (mib or RSS_LIMIT_MIB) * 1024
    peak = rss_kib(node.proc.pid, "VmHWM")
    print(f"# peak RSS {peak} KiB (bound {limit:.0f} KiB)", flush=True)
    assert peak < limit, f"peak RSS {peak} KiB is over the bound of {limit:.0f} KiB"
    return peak


def still_serving(node, host="127.0.0.1"):
    """During an attack: a legitimate peer's PING and /healthz both answer, and the peak RSS
    is under the suite's bound."""
    assert node.alive(), f"the daemon died ({node.proc.returncode}):\n{node.logs()[-2000:]}"
    assert legit_ping(node, host)
    assert node.get("/healthz").status == 200
    return assert_rss_under(node)
