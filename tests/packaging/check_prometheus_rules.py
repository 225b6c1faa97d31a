#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The Prometheus rules shipped in packaging/prometheus: promtool accepts them (check rules)
# and their unit tests pass (test rules); every alert has a test that fires and one that
# does not; every dht_ metric they read is one the node exports. TAP. The promtool steps
# are skipped, saying so, when promtool is not installed.
#   check_prometheus_rules.py SOURCE_ROOT
import pathlib
import re
import shutil
import subprocess
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
DIR = ROOT / "packaging/prometheus"
RULES = DIR / "svc-dht-rules.yml"
TESTS = DIR / "svc-dht-rules.test.yml"

rules = RULES.read_text()
tests = TESTS.read_text()
results = []


def promtool_step(name, args):
    promtool = shutil.which("promtool")
    if promtool is None:
        results.append((True, f"{name} # SKIP promtool not found "
                              "(tools/install-deps.sh installs the prometheus package)", []))
        return
    p = subprocess.run([promtool, *args], cwd=DIR, capture_output=True, text=True)
    results.append((p.returncode == 0, name, (p.stdout + p.stderr).splitlines()))


promtool_step("promtool check rules", ["check", "rules", RULES.name])
promtool_step("promtool test rules", ["test", "rules", TESTS.name])

# Every alert is tested, with a case where it fires and one where it does not.
alerts = re.findall(r"^\s*- alert: (\w+)", rules, re.M)
cases = re.findall(r"alertname: (\w+)\n\s*exp_alerts:(.*)", tests)
bad = []
for a in alerts:
    mine = [rest.strip() for name, rest in cases if name == a]
    if "[]" not in mine:
        bad.append(f"{a}: no case where it must not fire")
    if not any(m != "[]" for m in mine):
        bad.append(f"{a}: no case where it fires")
results.append((bool(alerts) and not bad, f"each of {len(alerts)} alerts fires and stays quiet in a test", bad))

# Every dht_ metric the rules read is exported (recording rules are named dht:...).
exported = (ROOT / "src/admin/metrics.cc").read_text() + (ROOT / "include/svcdht/counters.h").read_text()
names = sorted(set(re.findall(r"\bdht_[a-z0-9_]+", rules)))
unknown = []
for n in names:
    base = re.sub(r"_(bucket|sum|count)$", "", n)
    if f'"{n}"' not in exported and f'"{base}"' not in exported:
        unknown.append(f"{n} is not exported by src/admin/metrics.cc")
results.append((bool(names) and not unknown, f"the {len(names)} dht_ metrics the rules read are exported", unknown))

print(f"1..{len(results)}")
failed = False
for i, (ok, name, detail) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    if not ok:
        failed = True
        for line in detail:
            print(f"# {line}")
sys.exit(1 if failed else 0)
