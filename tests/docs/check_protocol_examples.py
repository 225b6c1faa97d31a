#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Every worked example in docs/PROTOCOL.md must decode with the real decoder:
#   ```hex dht    -> a DhtMsg           ```hex ctrl  -> a Ctrl message
#   ```hex frame  -> the 9-byte HELLO, or one frame whose payload decodes by its kind
# Prints TAP.
import json
import os
import re
import subprocess
import sys

doc = sys.argv[1]
# A cross build's programs run through SVC_DHT_EXE_WRAPPER (e.g. qemu-user; tools/cross-test.sh).
tool = os.environ.get("SVC_DHT_EXE_WRAPPER", "").split() + [sys.argv[2]]
blocks = re.findall(r"```hex (dht|ctrl|frame)\n(.*?)```", open(doc).read(), flags=re.S)


def decode(hexstr, ctrl):
    args = tool + ["decode", hexstr] + (["--ctrl"] if ctrl else [])
    return json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)


print(f"1..{len(blocks) + 1}")
failed = False
print(("ok" if len(blocks) >= 15 else "not ok") + f" 1 - {len(blocks)} examples found")
failed |= len(blocks) < 15
for i, (kind, body) in enumerate(blocks, 2):
    raw = bytes.fromhex("".join(body.split()))
    problem = None
    if kind == "frame":
        if raw[:4] == b"OAP1":
            if len(raw) != 9 or raw[4] != 1 or not raw[8] & 1:
                problem = "bad HELLO"
        else:
            n = int.from_bytes(raw[:4], "big")
            if n != len(raw) - 4 or raw[4] not in (1, 2):
                problem = f"frame length {n} does not match {len(raw) - 4} bytes"
            else:
                got = decode(raw[5:].hex(), raw[4] == 2)
                problem = got.get("error")
    else:
        got = decode(raw.hex(), kind == "ctrl")
        problem = got.get("error")
    if problem:
        failed = True
        print(f"not ok {i} - {kind} example #{i - 1}: {problem}")
    else:
        print(f"ok {i} - {kind} example #{i - 1} decodes")
sys.exit(1 if failed else 0)
