#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Fails if anything in the sans-IO core (src/core, include/svcdht) includes uv.h, reads a
# clock or calls rand: the core takes time as an argument and randomness from Env.
# Prints TAP so the test runner counts each rule.
import pathlib
import re
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
FILES = sorted(list((ROOT / "src/core").rglob("*.cc")) + list((ROOT / "src/core").rglob("*.h"))
               + list((ROOT / "include/svcdht").rglob("*.h")))

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


print(f"1..{len(RULES) + 1}")
n = 0
n += 1
if FILES:
    print(f"ok {n} - found {len(FILES)} core files")
else:
    print(f"not ok {n} - no core files under {ROOT}")
failed = not FILES
for name, rx in RULES:
    n += 1
    hits = []
    for f in FILES:
        for i, line in enumerate(strip_comments(f.read_text()).splitlines(), 1):
            if rx.search(line):
                hits.append(f"{f.relative_to(ROOT)}:{i}: {line.strip()}")
    if hits:
        failed = True
        print(f"not ok {n} - {name}")
        for h in hits:
            print(f"# {h}")
    else:
        print(f"ok {n} - {name}")
sys.exit(1 if failed else 0)
