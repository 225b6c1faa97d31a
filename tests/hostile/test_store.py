#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Hostile peers against a real daemon's store, on loopback: throwaway keys trying to censor
# a content key by filling its provider list, and one host (many keys, many sessions) trying
# to fill the value store. Loopback addresses are each their own host (127.0.0.2 is another
# machine to the store's fairness rules), so the honest peer here connects from 127.0.0.2.
# Each test checks the refusal, that a legitimate peer and /healthz still answer, and the
# peak RSS. Prints TAP.
import os
import struct

from peer import ADD_PROVIDER, BAD_REQUEST, BAD_SIG, BUSY, DATA, GET_PROVIDERS, OK, PUT_VALUE, QUOTA, Peer, \
    blake3, frame, msg, record, still_serving

import harness
from harness import Node, test


def provide(node, key, seed=None, source=None):
    """A fresh publisher (its own key and session) stores its record for |key|."""
    p = Peer("127.0.0.1", node.port, seed=seed, source=source).handshake()
    try:
        rec = record(p.sk, key, [f"tcp://198.51.100.{p.pk[0]}:4001"])
        return p, p.request(ADD_PROVIDER, rec=rec).get("code", OK)
    finally:
        p.close()


def providers(node, key):
    p = Peer("127.0.0.1", node.port).handshake()
    try:
        r = p.request(GET_PROVIDERS, key=key)
        return {rec["pk"] for rec in r.get("providers", [])}
    finally:
        p.close()


@test
def throwaway_keys_cannot_lock_a_real_provider_out_of_a_key():
    n = Node()
    n.wait_ready()
    key = os.urandom(32)
    # 40 publishers with fresh keys, all from one host: the list holds 32, and the extra
    # ones replace the oldest of their own instead of being refused.
    for _ in range(40):
        _, code = provide(n, key)
        assert code == OK, code
    # The real provider, from another host, is admitted and answered.
    real, code = provide(n, key, source="127.0.0.2")
    assert code == OK, f"the real provider was refused with {code}"
    assert real.pk in providers(n, key)
    # However many more the throwaway keys send, the real provider stays.
    for _ in range(60):
        _, code = provide(n, key)
        assert code == OK, code
    got = providers(n, key)
    assert real.pk in got, "the real provider was pushed out of the list"
    assert len(got) <= 20
    assert n.metric("dht_provider_records") == 32
    assert n.metric("dht_provider_records_displaced_total") >= 68
    still_serving(n)
    assert n.stop() == 0


def put(p, value):
    return p.request(PUT_VALUE, key=blake3(value), val=value).get("code", OK)


def pipeline_puts(p, values):
    """Pipelines PUT_VALUEs and returns the codes of their answers."""
    rids = []
    frames = []
    for v in values:
        rid = p.next_rid()
        rids.append(rid)
        frames.append(frame(DATA, msg(PUT_VALUE, rid, key=blake3(v), val=v)))
    p.send(b"".join(frames))
    return [p.response(rid, seconds=30).get("code", OK) for rid in rids]


@test
def one_host_cannot_fill_the_value_store_and_keep_others_out():
    # Default micronode limits (a 64 MiB store). 16 sessions with 16 keys from one host put
    # 16 KiB values: each peer stops at its share (10 %), the host at its share (25 %), and
    # a peer on another host still stores. The node stays under the suite's RSS bound. (The
    # burst is raised so that the first peer meets its store share before its request rate.)
    n = Node("--peer-burst", "1000")
    n.wait_ready()
    attackers = [Peer("127.0.0.1", n.port).handshake() for _ in range(16)]
    codes = []
    for i, p in enumerate(attackers):
        codes += pipeline_puts(p, [os.urandom(16384) for _ in range(450 if i == 0 else 60)])
    stored = codes.count(OK)
    assert codes.count(QUOTA) > 0 and BUSY not in codes, {c: codes.count(c) for c in set(codes)}
    # 25 % of 64 MiB in 16 KiB values (plus overhead): at most 1024.
    assert stored <= 1024, f"one host stored {stored} values"
    assert n.metric("rejected_total", {"reason": "store_prefix_quota"}) > 0
    assert n.metric("rejected_total", {"reason": "store_peer_quota"}) > 0
    other = Peer("127.0.0.1", n.port, source="127.0.0.3").handshake()
    assert put(other, os.urandom(16384)) == OK, "another host's PUT was refused"
    other.close()
    still_serving(n)
    for p in attackers:
        p.close()
    assert n.stop() == 0
    print(f"# 16 KiB values: {stored} stored")
    # The item limit: tiny values, from a patient attacker (request rates raised so that only
    # the store's shares act). One host holds at most 25 % of the 100,000 items.
    m = Node("--peer-rate", "1000000", "--peer-burst", "1000000", "--node-rate", "1000000",
             "--node-write-rate", "1000000")
    m.wait_ready()
    small = [Peer("127.0.0.1", m.port).handshake() for _ in range(3)]
    codes = []
    for i, p in enumerate(small):
        # Batches of 200: a session queues at most 256 answers (DESIGN 3.1).
        for batch in range(50):
            codes += pipeline_puts(p, [struct.pack(">III", i, batch, j) for j in range(200)])
    stored = codes.count(OK)
    assert stored <= 25000 and codes.count(QUOTA) >= 5000, (stored, codes.count(QUOTA))
    still_serving(m)
    for p in small:
        p.close()
    assert m.stop() == 0
    print(f"# 12-byte values: {stored} stored")


@test
def require_pq_refuses_classical_records_and_counts_the_downgrade():
    n = Node("--require-pq")
    n.wait_ready()
    key = os.urandom(32)
    _, code = provide(n, key)
    assert code == BAD_SIG, f"an Ed25519-only record was not refused: {code}"
    assert n.metric("dht_pq_downgrade_attempts_total") == 1
    assert providers(n, key) == set()
    # A forged one is a bad signature, not a downgrade.
    p = Peer("127.0.0.1", n.port).handshake()
    rec = record(p.sk, key, ["tcp://198.51.100.1:4001"])
    rec["sig"] = bytes(64)
    assert p.request(ADD_PROVIDER, rec=rec).get("code") == BAD_SIG
    p.close()
    assert n.metric("dht_pq_downgrade_attempts_total") == 1
    still_serving(n)
    assert n.stop() == 0
    # Without require_pq: records without alg are Ed25519 as always, and an algorithm the
    # node has no verifier for is a 1400 (this build registers none besides Ed25519).
    m = Node()
    m.wait_ready()
    _, code = provide(m, key)
    assert code == OK
    q = Peer("127.0.0.1", m.port).handshake()
    alien = record(q.sk, key, ["tcp://198.51.100.1:4001"], alg=240)
    alien["apk"] = os.urandom(48)
    alien["pk"] = blake3(alien["apk"])
    alien["sig"] = os.urandom(80)
    assert q.request(ADD_PROVIDER, rec=alien).get("code") == BAD_REQUEST
    q.close()
    assert m.metric("dht_frames_rejected_total", {"reason": "unknown_sig_alg"}) + \
        m.metric("rejected_total", {"reason": "unknown_sig_alg"}) >= 1
    assert m.stop() == 0


if __name__ == "__main__":
    harness.main()
