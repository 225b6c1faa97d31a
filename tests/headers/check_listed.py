#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Every header of the tree is in tests/headers/meson.build, so the self-containment check
# cannot quietly miss a new one. TAP.
#   check_listed.py SOURCE_ROOT
import pathlib
import re
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
listed = set(re.findall(r"'([\w/]+\.h)'", (ROOT / "tests/headers/meson.build").read_text()))
have = {p.name for p in (ROOT / "include/svcdht").glob("*.h")}
have |= {str(p.relative_to(ROOT / "src")) for p in (ROOT / "src").rglob("*.h")}
have |= {p.name for p in (ROOT / "sim").glob("*.h")}
missing = sorted(have - listed)
print("1..1")
if missing:
    print("not ok 1 - every header is checked for self-containment")
    for m in missing:
        print(f"# not in tests/headers/meson.build: {m}")
    sys.exit(1)
print(f"ok 1 - every header is checked for self-containment ({len(have)} headers)")
