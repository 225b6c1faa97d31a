#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Reads meson's test logs and prints the closing line CI looks for: "N passed, N failed",
# counting every test case (each GoogleTest case and each TAP subtest, not just each
# binary). A binary that crashed before writing its own results counts as one failure.
# For each test that failed, it first prints what that test said about its failure (TAP
# "not ok" lines and the diagnostics after them, or the end of its output), so a CI log
# that keeps only the end of the run still shows why.
# Exit status: 0 if nothing failed, 1 otherwise.
import json
import pathlib
import sys
import xml.etree.ElementTree as ET

logdir = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "build") / "meson-logs"
passed = failed = 0
failed_suites = set()
junit = logdir / "testlog.junit.xml"
if junit.exists():
    for suite in ET.parse(junit).getroot().iter("testsuite"):
        for case in suite.iter("testcase"):
            bad = case.find("failure") is not None or case.find("error") is not None
            skipped = case.find("skipped") is not None
            if bad:
                failed += 1
                failed_suites.add(suite.get("name", "").split(".")[1] if "." in suite.get("name", "") else suite.get("name"))
            elif not skipped:
                passed += 1



def why(out, limit=40):
    """The lines of a test's output that explain its failure."""
    lines = out.splitlines()
    picked = []
    for i, line in enumerate(lines):
        if line.startswith("not ok") or "[  FAILED  ]" in line or "Failure" in line:
            picked.append(line)
            picked += [x for x in lines[i + 1:i + 12] if not x.startswith("ok ")]
    return (picked or lines[-limit:])[:limit]


names = []
tl = logdir / "testlog.json"
if tl.exists():
    for line in tl.read_text().splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        if r.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL"):
            names.append(r.get("name"))
            print(f"--- {r.get('name')}: {r.get('result')} (exit {r.get('returncode')})")
            for line in why(r.get("stdout") or ""):
                print("  " + line)
            if r.get("name") not in failed_suites:
                failed += 1  # crashed or timed out without reporting its cases
if names:
    print("failed: " + ", ".join(sorted(set(names))))
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
