#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Generates, from the config table (`svc-dht config keys`), the option list of svc-dht(8),
# the KEYS section of svc-dht.conf(5) and the whole of packaging/svc-dht.conf; with --check
# it changes nothing and exits 1 if any of them (or `svc-dht --help`) disagrees with the
# table.
#   tools/gen-config-docs.py [--check] PATH/TO/svc-dht [SOURCE_ROOT]
import os
import subprocess
import sys

FIELDS = ["key", "type", "default", "macro_default", "min", "max", "env", "aliases", "flag", "metavar",
          "reloadable", "choices", "unit", "help"]


def table(binary):
    out = subprocess.run(binary + ["config", "keys"], capture_output=True, text=True, check=True).stdout
    return [dict(zip(FIELDS, line.split("\t"))) for line in out.splitlines() if line]


def roff(s):
    return s.replace("\\", "\\\\").replace("-", "\\-")


def default_text(k):
    d = k["default"] if k["default"] else "(none)"
    if k["macro_default"]:
        d += f" (macronode: {k['macro_default']})"
    return d


def man8_options(keys):
    lines = []
    for k in keys:
        arg = f' " {k["metavar"]}"' if k["metavar"] and k["type"] != "bool" else ""
        if arg:
            lines.append(f'.BI {roff(k["flag"])}{arg}')
        else:
            lines.append(f'.B {roff(k["flag"])}')
        lines.insert(len(lines) - 1, ".TP")
        lines.append(f'{roff(k["help"])}. Key \\fB{roff(k["key"])}\\fR, environment \\fB{roff(k["env"])}\\fR, '
                     f'default {roff(default_text(k))}.')
    return lines


def man5_keys(keys):
    lines = []
    for k in keys:
        lines.append(".TP")
        lines.append(f'.B {roff(k["key"])}')
        typ = k["type"]
        if k["choices"]:
            typ += " (" + roff(k["choices"].replace("|", ", ")) + ")"
        if k["min"]:
            typ += f', {k["min"]}..{k["max"]}'
        if k["unit"]:
            typ += f' {roff(k["unit"])}'
        lines.append(f'{roff(k["help"])}.')
        lines.append(".br")
        lines.append(f'Type: {typ}. Default: {roff(default_text(k))}. '
                     f'Environment: \\fB{roff(k["env"])}\\fR'
                     + (f' (older name: {roff(k["aliases"])})' if k["aliases"] else "")
                     + f'. Flag: \\fB{roff(k["flag"])}\\fR. '
                     + ("Reloadable on SIGHUP." if k["reloadable"] == "yes" else "Needs a restart."))
    return lines


def conf_file(keys):
    out = ["# svc-dht configuration (TOML). Every key is shown with its default, commented out;",
           "# uncomment to change it. Flags override the environment (RON_DHT_*), which overrides",
           "# this file. `svc-dht config check --config FILE` shows the effective values.",
           "# Keys marked [reload] take effect on SIGHUP; the others need a restart.",
           "# Generated from the config table by tools/gen-config-docs.py; see svc-dht.conf(5).",
           ""]
    section = None
    for k in keys:
        key = k["key"]
        if "." in key:
            sec, name = key.split(".", 1)
            if sec != section:
                out += [f"[{sec}]", ""]
                section = sec
        else:
            name = key
        note = k["help"]
        extra = []
        if k["min"]:
            extra.append(f'{k["min"]}..{k["max"]}' + (f' {k["unit"]}' if k["unit"] else ""))
        elif k["unit"]:
            extra.append(k["unit"])
        if k["choices"]:
            extra.append(k["choices"])
        if k["reloadable"] == "yes":
            extra.append("reload")
        out.append(f"# {note}" + (f" [{'; '.join(extra)}]" if extra else ""))
        out.append(f'# env {k["env"]}, flag {k["flag"]}'
                   + (f'; macronode default {k["macro_default"]}' if k["macro_default"] else ""))
        if k["type"] == "address-list":
            val = "[" + ", ".join(f'"{v}"' for v in k["default"].split(",") if v) + "]"
        elif k["type"] in ("uint", "bool"):
            val = k["default"]
        else:
            val = f'"{k["default"]}"'
        out.append(f"#{name} = {val}")
        out.append("")
    return "\n".join(out)


def splice(text, lines):
    begin = text.index(".\\\" BEGIN KEYS\n") + len(".\\\" BEGIN KEYS\n")
    end = text.index(".\\\" END KEYS")
    return text[:begin] + "\n".join(lines) + "\n" + text[end:]


def main():
    args = [a for a in sys.argv[1:] if a != "--check"]
    check = "--check" in sys.argv
    # A cross build's daemon runs through SVC_DHT_EXE_WRAPPER (e.g. qemu-user;
    # tools/cross-test.sh).
    binary = os.environ.get("SVC_DHT_EXE_WRAPPER", "").split() + [args[0]]
    root = args[1] if len(args) > 1 else "."
    keys = table(binary)
    want = {
        f"{root}/man/svc-dht.8": splice(open(f"{root}/man/svc-dht.8").read(), man8_options(keys)),
        f"{root}/man/svc-dht.conf.5": splice(open(f"{root}/man/svc-dht.conf.5").read(), man5_keys(keys)),
        f"{root}/packaging/svc-dht.conf": conf_file(keys),
    }
    problems = []
    for path, text in want.items():
        try:
            have = open(path).read()
        except FileNotFoundError:
            have = None
        if have != text:
            if check:
                problems.append(f"{path} is out of date with the config table (run tools/gen-config-docs.py)")
            else:
                with open(path, "w") as f:
                    f.write(text)
    help_text = subprocess.run(binary + ["--help"], capture_output=True, text=True).stdout
    if check:
        # The default config file, every key uncommented, must load and equal the defaults.
        import tempfile
        text = want[f"{root}/packaging/svc-dht.conf"]
        lines = [l[1:] if l.startswith("#") and " = " in l and not l.startswith("# ") else l
                 for l in text.splitlines()]
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write("\n".join(lines) + "\n")
        p = subprocess.run(binary + ["config", "check", "--config", f.name], capture_output=True, text=True)
        if p.returncode != 0:
            problems.append("packaging/svc-dht.conf uncommented does not load: " + p.stderr.strip())
        else:
            for line in p.stdout.splitlines():
                if " = " in line and "# default" not in line and "# file" not in line:
                    problems.append("unexpected source in: " + line)
                if "# file" in line:
                    key = line.split(" = ")[0]
                    dflt = [k for k in keys if k["key"] == key][0]["default"]
                    val = line.split(" = ", 1)[1].split("#")[0].strip().strip('"')
                    if val != dflt and key != "identity_file":
                        problems.append(f"{key}: the file says {val}, the default is {dflt}")
    for k in keys:
        if k["flag"] not in help_text or k["env"] not in help_text:
            problems.append(f"--help does not show {k['flag']} ({k['env']})")
    if check:
        print(f"1..{1 + len(keys)}")
        print(("not ok" if problems else "ok") + f" 1 - man pages and packaging/svc-dht.conf match the table")
        for p in problems:
            print("# " + p)
        for i, k in enumerate(keys, 2):
            ok = k["flag"] in help_text and k["key"] in want[f"{root}/man/svc-dht.conf.5"]
            print(("ok" if ok else "not ok") + f" {i} - {k['key']} documented in --help and svc-dht.conf(5)")
        sys.exit(1 if problems else 0)


main()
