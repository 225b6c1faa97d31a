#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The systemd unit as systemd itself reads it: `systemd-analyze security --offline=yes`
# must rate its exposure at most 1.5, and `systemd-analyze verify` must find nothing.
# verify needs the ExecStart binary to exist, so it reads a copy whose /usr/bin/svc-dht is
# the freshly built one (the packages' install test checks the real path). TAP.
#   check_unit.py UNIT SVC_DHT
import os
import re
import shutil
import subprocess
import sys
import tempfile

UNIT, BIN = sys.argv[1], os.path.abspath(sys.argv[2])
MAX_EXPOSURE = 1.5

print("1..3")
if not shutil.which("systemd-analyze"):
    for i in range(1, 4):
        print(f"ok {i} # SKIP systemd-analyze is not installed")
    sys.exit(0)
failed = False


def check(n, ok, what, detail=""):
    global failed
    failed = failed or not ok
    print(f"{'ok' if ok else 'not ok'} {n} - {what}")
    for line in detail.splitlines() if not ok else []:
        print(f"# {line}")


p = subprocess.run(["systemd-analyze", "security", "--offline=yes", UNIT], capture_output=True, text=True)
m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", p.stdout)
exposure = float(m.group(1)) if m else 99.0
bad = "\n".join(line for line in p.stdout.splitlines() if "✗" in line)
check(1, m is not None and exposure <= MAX_EXPOSURE,
      f"systemd-analyze security: exposure {exposure} (at most {MAX_EXPOSURE})", bad + p.stderr)

with tempfile.TemporaryDirectory() as d:
    copy = os.path.join(d, "svc-dht.service")
    with open(UNIT) as f, open(copy, "w") as out:
        out.write(f.read().replace("/usr/bin/svc-dht", BIN))
    p = subprocess.run(["systemd-analyze", "verify", "--man=no", copy], capture_output=True, text=True)
    # verify also reads the units this one names (network-online.target...); only its own
    # lines count.
    own = [line for line in (p.stdout + p.stderr).splitlines() if "svc-dht" in line]
    check(2, not own, "systemd-analyze verify: no complaint", "\n".join(own))

with open(UNIT) as f:
    text = f.read()
need = ["Type=notify", "WatchdogSec=", "ExecReload=", "User=svc-dht", "StateDirectory=svc-dht",
        "ConfigurationDirectory=svc-dht", "ProtectSystem=strict", "CapabilityBoundingSet=\n",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "SystemCallFilter=@system-service",
        "MemoryDenyWriteExecute=yes", "UMask=0077", "NoNewPrivileges=yes"]
missing = [n.strip() for n in need if n not in text]
check(3, not missing, "the unit holds what the daemon's contract needs", "missing: " + ", ".join(missing) if missing else "")
sys.exit(1 if failed else 0)
