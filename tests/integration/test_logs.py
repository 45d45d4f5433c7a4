#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`ringvisor logs` (issue 15 item 4): each instance's recent stdout and
stderr, kept by the supervisor whatever stdout/stderr say (inherit: passed
on to ringvisor's own stdout/stderr too; prefix; file), merged by time,
-n N, -f through the follower mechanism of `events`; log_buffer = 0 and
null output are not kept; a service flooding its output does not stall
the supervisor."""

import json
import os
import resource
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import T, wait_until  # noqa: E402


def lines(r):
    return [json.loads(x) for x in r.stdout.splitlines()]


class Logs(rvtest.Case):

    def logs(self, *args):
        return self.ctl("logs", "--json", *args)

    def wait_lines(self, name, n):
        """The JSON lines of `logs NAME` once there are at least n."""
        def enough():
            r = self.logs(name)
            self.assertEqual(r.returncode, 0, r.stderr)
            got = lines(r)
            return got if len(got) >= n else None
        return wait_until(enough, 10, f"{n} lines of {name}")

    def test_inherit_kept_and_still_passed_on(self):
        cfg = self.config("""
            [service:web]
            instances = 2
            command = sh -c 'echo "out %i"; echo "err %i" >&2; sleep 0.2; echo "two %i"; exec sleep 100'
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        got = self.wait_lines("web", 6)
        self.assertEqual(len(got), 6, got)
        times = [x["time"] for x in got]
        self.assertEqual(times, sorted(times), "merged by time")
        for i in (0, 1):
            # in order within a stream; across its two pipes, as read
            mine = [(x["stream"], x["text"]) for x in got
                    if x["service"] == f"web@{i}"]
            self.assertEqual(sorted(mine), [("stderr", f"err {i}"),
                                            ("stdout", f"out {i}"),
                                            ("stdout", f"two {i}")])
            self.assertLess(mine.index(("stdout", f"out {i}")),
                            mine.index(("stdout", f"two {i}")))
        one = lines(self.logs("web@1", "-n", "1"))
        self.assertEqual([(x["service"], x["text"]) for x in one],
                         [("web@1", "two 1")])
        # plain text: time, name, stream, text
        r = self.ctl("logs", "web@0", "-n", "1")
        self.assertEqual([ln.split(" ", 1)[1] for ln in
                          r.stdout.splitlines()], ["web@0 stdout two 0"])
        # inherit still reaches ringvisor's own stdout and stderr
        wait_until(lambda: "two 1" in rvtest.slurp(rv.out_path), 10,
                   "output passed on to ringvisor's stdout")
        self.assertIn("err 0", rv.stderr_text())
        self.assertEqual(rv.shutdown(), 0)

    def test_prefix_and_file_kept_null_and_zero_not(self):
        path = os.path.join(self.tmp, "f.log")
        cfg = self.config(f"""
            [service:pre]
            command = sh -c 'echo p; exec sleep 100'
            stdout = prefix
            [service:file]
            command = sh -c 'echo f >&2; exec sleep 100'
            stderr = file:{path}
            [service:null]
            command = sh -c 'echo n; exec sleep 100'
            stdout = null
            stderr = null
            [service:off]
            command = sh -c 'echo o; exec sleep 100'
            log_buffer = 0
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        self.assertEqual([x["text"] for x in self.wait_lines("pre", 1)],
                         ["p"])
        got = self.wait_lines("file", 1)
        self.assertEqual([(x["stream"], x["text"]) for x in got],
                         [("stderr", "f")])
        self.assertEqual(rvtest.slurp(path), "f\n")
        for name in ("null", "off"):
            r = self.logs(name)
            self.assertEqual(r.returncode, 1, r)
            self.assertIn(f"output of {name} is not kept", r.stderr)
        r = self.ctl("logs", "nosuch")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("nosuch", r.stderr)
        self.assertEqual(rv.shutdown(), 0)

    def test_follow_sees_new_lines_then_the_supervisor_ending(self):
        trigger = os.path.join(self.tmp, "go")
        cfg = self.config(f"""
            [service:tick]
            command = sh -c 'echo first; while [ ! -e {trigger} ]; do sleep 0.05; done; echo second; echo third >&2; exec sleep 100'
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        self.wait_lines("tick", 1)
        f = subprocess.Popen([rvtest.RV_BIN, "logs", "-s",
                              self.control_path, "-f", "--json", "tick"],
                             stdout=subprocess.PIPE, text=True,
                             env=rvtest.rv_env())
        self.addCleanup(f.kill)
        self.assertEqual(json.loads(f.stdout.readline())["text"], "first")
        with open(trigger, "w"):
            pass
        self.assertEqual(json.loads(f.stdout.readline())["text"], "second")
        third = json.loads(f.stdout.readline())
        self.assertEqual((third["stream"], third["text"]),
                         ("stderr", "third"))
        self.assertEqual(rv.shutdown(), 0)
        self.assertEqual(f.wait(T(10)), 0, "follower ends with ringvisor")
        f.stdout.close()

    def test_a_flood_does_not_stall_the_supervisor(self):
        # issue 13: no unprivileged process may stall the loop
        cfg = self.config("""
            [service:flood]
            command = yes flooding
            stdout = file:/dev/null
            log_buffer = 8K
            [service:calm]
            command = sleep 100
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        got = self.wait_lines("flood", 1)
        self.assertEqual(got[-1]["text"], "flooding")
        t0 = time.monotonic()
        for _ in range(5):
            st = self.ctl("status", "--json")
            self.assertEqual(st.returncode, 0, st.stderr)
        # kept bounded: 8K of records, each line 8 bytes + header
        self.assertLess(len(lines(self.logs("flood"))), 8192 // 16 + 1)
        self.assertLess(time.monotonic() - t0, T(20))
        self.assertEqual(rv.shutdown(), 0)

    def test_few_descriptors_inherit_as_is_instead_of_failing(self):
        # 4 descriptors per kept instance: where RLIMIT_NOFILE leaves no
        # room, the service gets ringvisor's stdout itself, and runs
        body = "".join(f"[service:s{i}]\ncommand = sh -c 'echo hi{i}; "
                       f"exec sleep 100'\n" for i in range(30))
        cfg = self.config(body)
        rv = self.start(cfg, preexec_fn=lambda: resource.setrlimit(
            resource.RLIMIT_NOFILE, (160, 160)))
        self.wait_control(rv)
        for i in range(30):
            self.wait_state(f"s{i}", "running")
        self.assertFalse(rv.find("spawn_failed"), rv.tail())
        self.assertTrue(rv.find("output_not_kept"), rv.tail())
        wait_until(lambda: "hi29" in rvtest.slurp(rv.out_path), 10,
                   "the output, passed on as is")
        r = self.logs("s29")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("output_not_kept", r.stderr)
        self.assertEqual(rv.shutdown(), 0)


if __name__ == "__main__":
    rvtest.main()
