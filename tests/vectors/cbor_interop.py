#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Cross-checks our CBOR encoder and decoder with an independent implementation (Debian's
# python3-cbor2) and our record signatures with another Ed25519 (python3-nacl):
#  1. every sample our encoder writes decodes with cbor2 to exactly the expected values,
#     with the keys in the fixed writer order;
#  2. cbor2's encoding of each sample, keys reversed and an unknown key added, decodes
#     with our decoder to the same values;
#  3. the provider record's signature verifies with PyNaCl over signing bytes built here
#     with cbor2's canonical encoding.
# Prints TAP.
import json
import os
import subprocess
import sys

import cbor2
import nacl.exceptions
import nacl.signing

# A cross build's programs run through SVC_DHT_EXE_WRAPPER (e.g. qemu-user; tools/cross-test.sh).
TOOL = os.environ.get("SVC_DHT_EXE_WRAPPER", "").split() + [sys.argv[1]]
WRITER_ORDER = ["v", "op", "rid", "f", "code", "target", "key", "rec", "val", "obs", "providers", "nodes"]


def plain(x):
    """cbor2 value -> the JSON shape dht-vectors prints (bytes as {"$bytes": hex})."""
    if isinstance(x, bytes):
        return {"$bytes": x.hex()}
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [plain(v) for v in x]
    return x


def unplain(x):
    if isinstance(x, dict):
        if set(x) == {"$bytes"}:
            return bytes.fromhex(x["$bytes"])
        return {k: unplain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [unplain(v) for v in x]
    return x


lines = subprocess.run(TOOL + ["list"], check=True, capture_output=True, text=True).stdout.splitlines()
samples = [json.loads(l) for l in lines]
print(f"1..{3 * len(samples) + 1}")
n = 0
failed = False


def check(ok, what, detail=""):
    global n, failed
    n += 1
    print(("ok" if ok else "not ok") + f" {n} - {what}")
    if not ok:
        failed = True
        for line in str(detail).splitlines():
            print("# " + line)


record = None
for s in samples:
    raw = bytes.fromhex(s["hex"])
    decoded = cbor2.loads(raw)
    check(plain(decoded) == s["expect"], f"cbor2 decodes our {s['kind']} {s['name']}",
          f"got {plain(decoded)}\nwant {s['expect']}")
    if s["kind"] == "dht":
        keys = list(decoded.keys())
        check(keys == [k for k in WRITER_ORDER if k in decoded], f"{s['name']} keys in writer order", keys)
    else:
        check(list(decoded.keys())[0] == "t", f"{s['name']} starts with t", list(decoded.keys()))
    value = unplain(s["expect"])
    shuffled = dict(reversed(list(value.items())))
    shuffled["x-unknown"] = [1, {"nested": b"\x00"}]
    hexed = cbor2.dumps(shuffled).hex()
    args = TOOL + ["decode", hexed] + (["--ctrl"] if s["kind"] == "ctrl" else [])
    ours = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
    check(ours == s["expect"], f"we decode cbor2's {s['name']} (reordered, unknown key)",
          f"got {ours}\nwant {s['expect']}")
    if s["name"] == "add_provider_req":
        record = value["rec"]

if record is None:
    check(False, "add_provider_req sample present")
else:
    signed = b"svc-dht/provider/v1" + cbor2.dumps(
        [record["key"], record["pk"], record["addrs"], record["ttl"], record["ts"]], canonical=True)
    try:
        nacl.signing.VerifyKey(record["pk"]).verify(signed, record["sig"])
        check(True, "record signature verifies with PyNaCl over cbor2 canonical bytes")
    except nacl.exceptions.BadSignatureError as e:
        check(False, "record signature verifies with PyNaCl over cbor2 canonical bytes", e)
sys.exit(1 if failed else 0)
