#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The dht-sim command line: the JSON object it prints, the seed it reports and replays,
# the options it refuses, and its fuzz mode. Small networks, so each run takes a second.
import json
import subprocess
import sys

import harness
from harness import test

SIM = sys.argv[1] if len(sys.argv) > 1 else "build/tools/dht-sim"


def sim(*args, timeout=120):
    return subprocess.run([SIM, *args], capture_output=True, text=True, timeout=timeout * harness.SCALE)


def sim_json(*args):
    p = sim(*args, "--fast-crypto", "--json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout), p.stderr


@test
def prints_the_report_as_one_json_object():
    r, err = sim_json("--nodes", "60", "--lookups", "30", "--seed", "7")
    assert "dht-sim: seed 7" in err, err
    for key in ("nodes", "lookups", "success_rate", "hops", "latency_ms", "rpcs_per_lookup", "provide_success",
                "found_after_churn", "wall_s", "peak_rss_kb", "event_hash"):
        assert key in r, key
    assert set(r["hops"]) == {"p50", "p95", "p99", "max"}, r["hops"]
    assert set(r["latency_ms"]) == {"p50", "p95", "p99"}, r["latency_ms"]
    assert r["nodes"] == 60 and r["lookups"] == 30, r
    assert r["success_rate"] == 1, r
    assert 1 <= r["hops"]["p50"] <= r["hops"]["max"], r["hops"]
    assert r["rpcs_per_lookup"] > 0 and r["peak_rss_kb"] > 0, r
    # A lookup scenario has no provide phase: those two are null, not zero.
    assert r["provide_success"] is None and r["found_after_churn"] is None, r


@test
def the_same_seed_replays_the_same_run():
    a, _ = sim_json("--nodes", "40", "--lookups", "20", "--seed", "11")
    b, _ = sim_json("--nodes", "40", "--lookups", "20", "--seed", "11")
    c, _ = sim_json("--nodes", "40", "--lookups", "20", "--seed", "12")
    assert a["event_hash"] == b["event_hash"] and a["events"] == b["events"], (a, b)
    assert a["event_hash"] != c["event_hash"], (a, c)


@test
def progress_reports_each_tenth_of_the_joins():
    r, err = sim_json("--nodes", "50", "--lookups", "10", "--seed", "4", "--progress")
    lines = [line for line in err.splitlines() if "nodes started" in line]
    assert len(lines) == 10 and lines[-1].startswith("dht-sim: 50/50 nodes started"), err
    quiet, err = sim_json("--nodes", "50", "--lookups", "10", "--seed", "4")
    assert "nodes started" not in err and quiet["event_hash"] == r["event_hash"], err


@test
def a_provide_scenario_reports_its_success():
    r, _ = sim_json("--nodes", "50", "--lookups", "40", "--seed", "5", "--scenario", "provide")
    assert r["provide_success"] == 1, r
    assert r["success_rate"] == 1, r


@test
def publish_ops_report_their_accuracy_and_read_everything_back():
    for op in ("put", "provide"):
        r, _ = sim_json("--nodes", "60", "--lookups", "30", "--seed", "4", "--op", op, "--fast-crypto")
        assert r["success_rate"] == 1 and r["lookups"] == 30, r
        # Small and without loss: every publish reaches every one of the true 3 closest.
        assert r["exact_rate"] == 1, r
        assert r["read_success"] == 1 and r["read_p50_ms"] > 0, r
    r, _ = sim_json("--nodes", "60", "--lookups", "30", "--seed", "4", "--fast-crypto")
    assert 0 <= r["exact_rate"] <= 1, r


@test
def a_restart_scenario_reports_both_runs():
    args = ("--nodes", "60", "--lookups", "30", "--seed", "2", "--scenario", "restart")
    r, _ = sim_json(*args)
    for arm in ("_without_state", "_with_state"):
        for key in ("found_after_restart", "found_by_survivors", "held_after_restart", "ready_s_p50",
                    "refill_s_p50", "refill_s_p90", "refill_s_max", "not_refilled"):
            assert key + arm in r, key + arm
    # The restarted nodes come back holding every record they held, or none.
    assert r["held_before_crash"] > 0, r
    assert r["held_after_restart_with_state"] == r["held_before_crash"], r
    assert r["held_after_restart_without_state"] == 0, r
    assert r["unanswered"] == 0, r
    p = sim(*args, "--fast-crypto")
    assert p.returncode == 0, p.stderr
    assert "without_state found_after_restart" in p.stdout, p.stdout
    assert "with_state    found_after_restart" in p.stdout, p.stdout


@test
def join_interval_spaces_the_starts():
    # Nodes start one join interval apart (20 ms by default): 50 nodes 1 s apart take 49 s
    # of virtual time to start, where the default takes about one.
    r, err = sim_json("--nodes", "50", "--lookups", "10", "--seed", "4", "--progress", "--join-interval", "1000")
    lines = [line for line in err.splitlines() if "nodes started" in line]
    assert "50/50 nodes started, virtual 49 s" in lines[-1], err
    base, err = sim_json("--nodes", "50", "--lookups", "10", "--seed", "4", "--progress")
    lines = [line for line in err.splitlines() if "nodes started" in line]
    assert "50/50 nodes started, virtual 1 s" in lines[-1], err
    assert r["virtual_s"] > base["virtual_s"] + 45 and r["success_rate"] == 1, (r, base)


@test
def hedge_after_reaches_the_lookups():
    # With slow nodes and one hedge allowed, when hedges fire changes what is sent.
    common = ("--nodes", "80", "--lookups", "40", "--seed", "3", "--scenario", "slow", "--slow", "20", "--beta", "1")
    a, _ = sim_json(*common, "--hedge-after", "250")
    b, _ = sim_json(*common, "--hedge-after", "40")
    assert a["event_hash"] != b["event_hash"], (a, b)
    assert a["unanswered"] == 0 and b["unanswered"] == 0, (a, b)
    # Slow queries lend their slots six times sooner, so the slow nodes' tail is cut.
    assert b["latency_ms"]["p95"] < a["latency_ms"]["p95"], (a, b)
    # At the default every lookup finds the nearest node. A hedge delay of about one round
    # trip marks queries on new connections late before they can answer (2 round trips),
    # so lookups may end before the nodes that know the nearest have answered: success is
    # not a property of that setting (it moved between 1.0 and 0.95 with a few bytes more
    # or less in the handshake).
    assert a["success_rate"] == 1, a


@test
def refuses_bad_options_with_exit_code_2():
    for args in (["--nodes", "1"], ["--hedge-after", "0"], ["--hedge-after", "60001"], ["--op", "store"], ["--alpha"], ["--frobnicate"],
                 ["--k", "0"], ["--alpha", "0"], ["--hop-budget", "0"], ["--disjoint", "9"], ["--beta", "4"],
                 ["--join-interval", "0"], ["--join-interval", "60001"]):
        p = sim(*args)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert "dht-sim:" in p.stderr and "--help" in p.stderr, (args, p.stderr)
    p = sim("--help")
    assert p.returncode == 0 and "--hedge-after MS" in p.stdout, p.stdout
    assert "restart" in p.stdout.split("scenarios:")[1], p.stdout


@test
def a_partition_with_one_side_empty_ends():
    # The random mode found this seed looping forever: a partition scenario whose other side
    # had no live honest host to look up. Generated scenarios are satisfiable now, and each
    # has an event budget and (in --fuzz) a wall-clock bound naming its replay seed.
    r, _ = sim_json("--fuzz-one", "1032760506549807733")
    assert r["scenario"] == "partition" and r["unanswered"] == 0, r


@test
def fuzz_mode_runs_random_scenarios():
    p = sim("--fuzz", "--seconds", "2", "--seed", "9")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "no failing seed" in p.stderr, p.stderr


if __name__ == "__main__":
    harness.main()
