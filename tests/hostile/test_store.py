#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Hostile peers against a real daemon's store, on loopback: throwaway keys trying to censor
# a content key by filling its provider list, and one host (many keys, many sessions) trying
# to fill the value store. Loopback addresses are each their own host (127.0.0.2 is another
# machine to the store's fairness rules), so the honest peer here connects from 127.0.0.2.
# Each test checks the refusal, that a legitimate peer and /healthz still answer, and the
# peak RSS. Prints TAP.
import os

from peer import ADD_PROVIDER, BAD_REQUEST, BAD_SIG, BUSY, GET_PROVIDERS, OK, PUT_VALUE, QUOTA, Peer, assert_rss_under, \
    blake3, record, still_serving

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
    assert_rss_under(n)
    assert n.stop() == 0


def put(p, value):
    return p.request(PUT_VALUE, key=blake3(value), val=value).get("code", OK)


@test
def one_host_cannot_fill_the_value_store_and_keep_others_out():
    # 16 sessions with 16 keys from one host put 16 KiB values as fast as they can into a
    # 4 MiB store. Each peer stops at its share (10 %), the host at its share (25 %), and
    # a peer on another host still stores.
    n = Node("--max-store-bytes", str(4 << 20))
    n.wait_ready()
    attackers = [Peer("127.0.0.1", n.port).handshake() for _ in range(16)]
    refused = {}
    stored = 0
    for p in attackers:
        for _ in range(40):
            code = put(p, os.urandom(16384))
            if code == OK:
                stored += 1
            else:
                refused[code] = refused.get(code, 0) + 1
    assert refused.get(QUOTA, 0) > 0 and BUSY not in refused, refused
    # 25 % of 4 MiB in 16 KiB values (plus overhead): at most 64.
    assert stored <= 64, f"one host stored {stored} values"
    assert n.metric("rejected_total", {"reason": "store_prefix_quota"}) > 0
    assert n.metric("rejected_total", {"reason": "store_peer_quota"}) > 0
    other = Peer("127.0.0.1", n.port, source="127.0.0.3").handshake()
    assert put(other, os.urandom(16384)) == OK, "another host's PUT was refused"
    other.close()
    # A single key alone gets its 10 % and no more.
    n2 = Node("--max-store-bytes", str(4 << 20))
    n2.wait_ready()
    one = Peer("127.0.0.1", n2.port).handshake()
    codes = [put(one, os.urandom(16384)) for _ in range(60)]
    assert codes.count(OK) <= 26 and codes[-1] == QUOTA, codes
    still_serving(n)
    assert_rss_under(n)
    for p in attackers + [one]:
        p.close()
    assert n.stop() == 0 and n2.stop() == 0


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
