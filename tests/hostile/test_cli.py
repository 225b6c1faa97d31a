#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# A local user's mistakes and tricks on the command line: key, token and config "files"
# that are /dev/zero, a FIFO or huge (refused at once with exit 2 naming the file, never
# read forever), and boolean flags and stray arguments (the same rules in every
# subcommand). Prints TAP.
import os
import tempfile

import peer  # noqa: F401 -- puts the integration harness on the path

import harness
from harness import run, test

# A run that would start the daemon if the file were accepted: ports the test never uses.
RUN = ["run", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"]


def refused_naming(args, name):
    code, out, err = run(args, timeout=10)
    assert code == 2, (args, code, err[-400:])
    assert name in err, (args, err[-400:])


@test
def key_token_and_config_files_are_read_bounded():
    with tempfile.TemporaryDirectory() as d:
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)
        huge = os.path.join(d, "huge")
        with open(huge, "wb") as f:
            f.truncate(3 << 20)  # sparse: 3 MiB of zeros without writing them
        for path in ("/dev/zero", fifo, huge):
            refused_naming(RUN + ["--identity", path], path)
            refused_naming(RUN + ["--admin-token-file", path], path)
            refused_naming(["config", "check", "--config", path], path)
            refused_naming(RUN + ["--config", path], path)


@test
def malformed_config_files_exit_two_instead_of_aborting():
    # fuzz_config found these: the TOML library asserts (or runs into undefined behaviour)
    # on a table header that does not start with a key, and on some non-ASCII code points
    # where it skips whitespace.
    with tempfile.TemporaryDirectory() as d:
        for i, text in enumerate(['[ = ""\n', "[&\n", "k = 8\n[[[a]]]\n", "  [ \t.x]\n", "\ufeff[[&\n",
                                  "k = 8\n\ufef7\n", 'network = """a\\\n\ufef7b"""\n']):
            path = os.path.join(d, f"bad{i}.toml")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            code, _, err = run(["config", "check", "--config", path])
            assert code == 2 and path in err and "line" in err, (text, code, err)
        # A float far out of integer range where a number or string is expected.
        path = os.path.join(d, "float.toml")
        with open(path, "w") as f:
            f.write("admin_bind = 999e94\n")
        code, _, err = run(["config", "check", "--config", path])
        assert code == 2 and "admin_bind" in err, (code, err)
        # Headers that name a key, bare or quoted, indented or not, still read.
        for i, text in enumerate(["k = 8\n  [diversity]\n  per_prefix_max = 3 # grüße\n",
                                  "[ 'diversity' ]\nper_prefix_max = 3\n"]):
            good = os.path.join(d, f"good{i}.toml")
            with open(good, "w", encoding="utf-8") as f:
                f.write(text)
            code, out, err = run(["config", "check", "--config", good])
            assert code == 0 and "diversity.per_prefix_max = 3" in out, (text, code, err)


@test
def boolean_flags_read_the_same_in_every_form_and_subcommand():
    for form in (["--diversity-exempt-private", "false"], ["--diversity-exempt-private=false"],
                 ["--diversity-exempt-private=no"]):
        code, out, err = run(["config", "check"] + form)
        assert code == 0, (form, err)
        assert "diversity.exempt_private = false" in out, (form, out)
    code, out, err = run(["config", "check", "--diversity-exempt-private", "--k", "5"])
    assert code == 0 and "diversity.exempt_private = true" in out and "k = 5 " in out, out
    code, _, err = run(["config", "check", "--diversity-exempt-private=maybe"])
    assert code == 2 and "--diversity-exempt-private" in err, err
    # `run` takes the same forms: a bad value is refused before anything starts.
    code, _, err = run(RUN + ["--strict-ready=perhaps"])
    assert code == 2 and "--strict-ready" in err, err
    # Stray arguments are refused everywhere.
    for args in (["config", "check", "garbage"], RUN + ["garbage"], ["keygen", "garbage"],
                 ["ping", "127.0.0.1:1", "extra"], ["version", "extra"]):
        code, _, err = run(args)
        assert code == 2, (args, code, err)


if __name__ == "__main__":
    harness.main()
