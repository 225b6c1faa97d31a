#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Fails if anything in the sans-IO core (src/core, include/svcdht) includes uv.h, reads a
# clock or calls rand: the core takes time as an argument and randomness from Env. Given
# the core's archive too, it fails if the core holds a mutable static (a namespace-scope
# variable, a static member or a function-local static that is not const): the core's
# state lives in its objects, so two Nodes in one process (the simulator runs thousands)
# never share any. Prints TAP so the test runner counts each rule.
#
#   check_core_purity.py SOURCE_ROOT [libsvcdht_core.a]
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
ARCHIVE = sys.argv[2] if len(sys.argv) > 2 else None
# include/svcdht/dht.h is libsvcdht's libuv-facing API (src/embed), not the core.
FILES = sorted(f for f in list((ROOT / "src/core").rglob("*.cc"))
               + list((ROOT / "src/core").rglob("*.h"))
               + list((ROOT / "include/svcdht").rglob("*.h"))
               if f.name != "dht.h" or f.parent.name != "svcdht")

RULES = [
    ("no libuv", re.compile(r'#\s*include\s*[<"]uv\.h[>"]|\buv_[a-z_]+\(')),
    ("no clock reads", re.compile(
        r'\b(time|clock|clock_gettime|gettimeofday|timespec_get)\s*\(|'
        r'std::chrono::(system_clock|steady_clock|high_resolution_clock)|<ctime>|<chrono>')),
    ("no global rng", re.compile(
        r'\b(rand|srand|random|srandom|drand48|arc4random|getrandom|randombytes_buf)\s*\(|'
        r'std::random_device|<random>')),
    ("no sodium or sockets", re.compile(r'#\s*include\s*[<"](sodium\.h|sys/socket\.h|netdb\.h)[>"]')),
]


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def mutable_statics(archive):
    """Data objects of |archive| in writable sections (.data, .bss, thread-local ones).
    Constant tables sit in .rodata, or in .data.rel.ro when they hold pointers."""
    out = subprocess.run(["objdump", "-t", "-C", archive], check=True, capture_output=True,
                         text=True).stdout
    hits = []
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+\s+.{7}\s+(\S+)\s+[0-9a-f]+\s+(.*)$", line)
        if not m or " O " not in line:
            continue
        section, name = m.group(1), m.group(2)
        if section.startswith((".rodata", ".data.rel.ro")):
            continue
        # What sanitizer instrumentation adds (source locations, global descriptors).
        if name.startswith(("__unnamed_", "___asan_gen", "__asan", "__ubsan", "__sancov")):
            continue
        if section.startswith((".data", ".bss", ".tdata", ".tbss")):
            hits.append(f"{section}: {name}")
    return hits


def source_hits(rx):
    hits = []
    for f in FILES:
        for i, line in enumerate(strip_comments(f.read_text()).splitlines(), 1):
            if rx.search(line):
                hits.append(f"{f.relative_to(ROOT)}:{i}: {line.strip()}")
    return hits


checks = [(name, lambda rx=rx: source_hits(rx)) for name, rx in RULES]
if ARCHIVE:
    checks.append(("no mutable statics in the core", lambda: mutable_statics(ARCHIVE)))
print(f"1..{len(checks) + 1}")
failed = not FILES
print(f"ok 1 - found {len(FILES)} core files" if FILES else f"not ok 1 - no core files under {ROOT}")
for n, (name, run) in enumerate(checks, 2):
    hits = run()
    failed = failed or bool(hits)
    print(f"{'not ok' if hits else 'ok'} {n} - {name}")
    for h in hits:
        print(f"# {h}")
sys.exit(1 if failed else 0)
