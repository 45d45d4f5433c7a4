#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`ringvisor check`: every problem printed as `FILE:LINE: error: MESSAGE`,
exit 0 valid / 1 invalid, nothing started; `run` with a bad config exits 2
and starts nothing; usage errors are one line and a non-zero exit."""

import glob
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import REPO  # noqa: E402

DIAG = re.compile(r"^(?P<file>.+?):(?P<line>\d+): error: (?P<msg>\S.*)$")


class Check(rvtest.Case):

    def diags(self, r, path):
        """{line: message} of the error lines about path (stdout+stderr);
        asserts every error line is well formed and names path."""
        out = {}
        for ln in (r.stdout + r.stderr).splitlines():
            if " error: " not in ln:
                continue
            m = DIAG.match(ln)
            self.assertIsNotNone(m, f"malformed diagnostic: {ln!r}")
            self.assertEqual(m["file"], path, ln)
            out.setdefault(int(m["line"]), []).append(m["msg"])
        return out

    def valid_config(self):
        return self.write("valid.conf", f"""\
# a comment
; another comment
[supervisor]
strategy = rest_for_one
max_restarts = 10
restart_window = 60s
shutdown_timeout = 30s
control_socket = {self.tmp}/control.sock
backend = auto

[supervisor:api]
strategy = one_for_all   ; trailing comment
max_restarts = 3
restart_window = 30s
critical = false
after = db

[service:db]
command = {self.svc("pause", tag="db")}
type = simple
restart = always
stop_signal = SIGINT
stop_timeout = 10s
kill_mode = group

[service:web]
supervisor = api
command = /bin/sh -c "exec sleep 1; true" 'arg with spaces'
instances = 2
restart = on-failure
success_exit_status = 0 3 SIGUSR1
backoff = exponential
restart_delay = 100ms
restart_delay_max = 30s
backoff_multiplier = 2.0
backoff_jitter = 0.1
backoff_reset_after = 10s
max_restarts = 5
restart_window = 60s
critical = false
after = db
environment = A=1 B="two words"
working_directory = /tmp
umask = 0022
limit_nofile = 1024:4096
nice = 5
stdout = inherit
stderr = stdout

[service:job]
command = /bin/true
type = oneshot
restart = never
backoff = fibonacci
""")

    def test_valid(self):
        path = self.valid_config()
        for args in (["check", "-c", path], ["check", path]):
            r = self.rv(*args)
            self.assertEqual(r.returncode, 0, f"{args}: {r.stdout}{r.stderr}")
            self.assertNotIn("error:", r.stdout + r.stderr)
        self.assertEqual(self.stamps(), [], "check started a service")
        self.assertFalse(os.path.exists(os.path.join(self.tmp,
                                                     "control.sock")))

    def test_shipped_examples_are_valid(self):
        examples = sorted(glob.glob(os.path.join(REPO, "examples", "*.conf")))
        if not examples:
            self.skipTest("no examples/*.conf yet")
        for path in examples:
            with self.subTest(example=os.path.basename(path)):
                r = self.rv("check", "-c", path)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_every_error_with_its_line(self):
        path = self.write("bad.conf", """\
[supervisor]
strategy = one_for_some
max_restarts = -1
restart_window = 10 parsecs

[service:web]
command = /bin/true
restart = sometimes
restart_delay = -5s
backoff = quadratic
stop_signal = SIGNOPE
bogus_key = 1
instances = 0
backoff_jitter = 2
critical = maybe
stop_timeout = 99999999999999999999s
max_restarts = 4294967296

[service:ok]
command = /bin/true
""")
        r = self.rv("check", "-c", path)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        d = self.diags(r, path)
        self.assertEqual(sorted(d), [2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15,
                                     16, 17], r.stdout + r.stderr)
        self.assertIn("bogus_key", " ".join(d[12]), "name the unknown key")

    def test_cross_reference_errors(self):
        path = self.write("refs.conf", """\
[supervisor]
max_restarts = 5

[service:a]
command = /bin/true
after = ghost

[service:b]
restart = always

[service:c]
command = /bin/true
supervisor = nowhere

[service:d]
command = /bin/true
after = e

[service:e]
command = /bin/true
after = d

[service:f]
command = "unterminated
""")
        r = self.rv("check", "-c", path)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        d = self.diags(r, path)
        text = r.stdout + r.stderr

        def some_error_in(lines, what):
            self.assertTrue(set(lines) & set(d),
                            f"no error for {what} on lines {lines}:\n{text}")

        some_error_in([4, 6], "after = ghost")
        self.assertIn("ghost", text)
        some_error_in([8, 9], "b without command")
        some_error_in([11, 13], "unknown supervisor nowhere")
        self.assertIn("nowhere", text)
        some_error_in([15, 17, 19, 21], "after cycle d <-> e")
        some_error_in([23, 24], "unterminated quote")
        self.assertEqual(set(d) - {4, 6, 8, 9, 11, 13, 15, 17, 19, 21, 23, 24},
                         set(), "errors on lines without a problem")

    def test_missing_file(self):
        path = os.path.join(self.tmp, "no-such.conf")
        r = self.rv("check", "-c", path)
        self.assertIn(r.returncode, (1, 2), r.stderr)
        self.assertIn(path, r.stdout + r.stderr)
        self.assertLessEqual(len((r.stdout + r.stderr).strip().splitlines()),
                             2, "one clear line, not a dump")

    def test_run_with_a_bad_config_exits_2_and_starts_nothing(self):
        path = self.write("bad-run.conf", f"""\
[supervisor]
control_socket = {self.tmp}/control.sock

[service:good]
command = {self.svc("pause", tag="good")}

[service:bad]
command = /bin/true
restart = sometimes
""")
        r = self.rv("run", "-c", path, "--report",
                    os.path.join(self.tmp, "report.json"), timeout=10)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(sorted(self.diags(r, path)), [9])
        self.assertEqual(self.stamps(), [], "run started a service")
        self.assertNotIn("event=start", r.stderr)

    def test_run_with_a_missing_config_exits_2(self):
        r = self.rv("run", "-c", os.path.join(self.tmp, "nope.conf"),
                    timeout=10)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertTrue(r.stderr.strip())

    def test_usage_errors(self):
        for args in (["run", "--no-such-option"],
                     ["check", "--no-such-option"],
                     ["run", "-c"],
                     ["run", "--backend=nope", "-c", self.valid_config()]):
            with self.subTest(args=args):
                r = self.rv(*args, timeout=10)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertTrue(r.stderr.strip(), "no message")
        for args in (["frobnicate"], ["exec"], ["exec", "--"]):
            with self.subTest(args=args):
                r = self.rv(*args, timeout=10)
                self.assertNotEqual(r.returncode, 0)
                self.assertLess(r.returncode, 126, "crash or exec status")
                self.assertTrue(r.stderr.strip(), "no message")
        self.assertEqual(self.stamps(), [])

    def test_help_and_version(self):
        for args in (["--help"], ["--version"], ["run", "--help"],
                     ["check", "--help"], ["exec", "--help"]):
            with self.subTest(args=args):
                r = self.rv(*args, timeout=10)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertTrue((r.stdout + r.stderr).strip())


if __name__ == "__main__":
    rvtest.main()
