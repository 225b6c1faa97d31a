#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The operator scripts in tools/ work on a built tree: each answers --help, roundtrip.sh
# succeeds, ttl-demo.sh shows a record expiring, provide-and-check.sh finds what it provided.
import os
import subprocess

import harness
from harness import Node, test

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = ["roundtrip.sh", "ttl-demo.sh", "provide-and-check.sh", "run-local.sh", "chaos.sh"]


def script(name, *args, timeout=60):
    env = dict(os.environ, SVC_DHT_BIN=os.path.abspath(harness.BIN))
    return subprocess.run([os.path.join(ROOT, "tools", name), *args], capture_output=True, text=True, env=env,
                          timeout=timeout * harness.SCALE)


@test
def every_script_answers_help():
    for s in SCRIPTS:
        p = script(s, "--help")
        assert p.returncode == 0 and "usage:" in p.stdout, (s, p.stdout, p.stderr)


@test
def roundtrip_script_passes():
    p = script("roundtrip.sh")
    assert p.returncode == 0 and "round trip OK" in p.stdout, p.stdout + p.stderr


@test
def ttl_demo_shows_expiry():
    p = script("ttl-demo.sh", "--spawn", "--ttl", "1")
    assert p.returncode == 0, p.stdout + p.stderr
    assert '"secs_left":' in p.stdout and "expired as expected" in p.stdout, p.stdout


@test
def provide_and_check_against_a_node():
    n = Node()
    n.wait_ready()
    cid = "b3:" + "c4" * 32
    p = script("provide-and-check.sh", cid, "tcp://203.0.113.9:9444", "60", f"127.0.0.1:{n.admin_port}")
    assert p.returncode == 0 and "dht_provides_total 1" in p.stdout, p.stdout + p.stderr
    p = script("provide-and-check.sh", "b3:bad", "tcp://x:1", "60", f"127.0.0.1:{n.admin_port}")
    assert p.returncode == 1, p.stdout
    assert n.stop() == 0


if __name__ == "__main__":
    harness.main()
