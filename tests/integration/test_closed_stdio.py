#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A supervisor started with fds 0-2 closed (issue 13, item 9).

Its own descriptors (config, signalfd, ring, sockets) must not land on
0-2: services would then start with no stdin, stdout or stderr at all
(the supervisor's are close-on-exec).  /dev/null goes onto each closed
one at startup, and services inherit it; descriptors that were open stay
what they were.
"""

import os
import signal

import rvtest
from rvtest import wait_until


def read_report(path):
    """svc's report: {"fds": [...], "fd": {n: target}}."""
    out = {"fds": [], "fd": {}}
    for ln in rvtest.slurp(path).splitlines():
        k, _, v = ln.partition(" ")
        if k == "fds":
            out["fds"] = [int(x) for x in v.split()]
        elif k == "fd":
            n, _, target = v.partition(" ")
            out["fd"][int(n)] = target
    return out


def closing(*fds):
    def pre():
        for fd in fds:
            os.close(fd)
    return pre


class ClosedStdio(rvtest.Case):

    def child_stdio(self, rv, rep):
        wait_until(lambda: os.path.exists(rep), 10, "the service's report")
        return read_report(rep)

    def test_run_with_0_1_2_closed_gives_services_dev_null(self):
        rep = os.path.join(self.tmp, "report")
        cfg = self.config(f"""
            [service:io]
            command = {self.svc('report', 'pause', report_file=rep)}
            ; the descriptors themselves: no pipe of ours for `logs`
            log_buffer = 0
            """)
        rv = self.start(cfg, preexec_fn=closing(0, 1, 2))
        r = self.child_stdio(rv, rep)
        self.assertEqual(r["fds"][:3], [0, 1, 2], r)
        for fd in (0, 1, 2):
            self.assertEqual(r["fd"][fd], "/dev/null", r)
        # the supervisor itself works: it answers and stops cleanly
        self.wait_control(rv)
        self.assertEqual(rv.shutdown(signal.SIGTERM), 0)

    def test_only_the_closed_ones_are_replaced(self):
        rep = os.path.join(self.tmp, "report")
        cfg = self.config(f"""
            [service:io]
            command = {self.svc('report', 'pause', report_file=rep)}
            ; the descriptors themselves: no pipe of ours for `logs`
            log_buffer = 0
            """)
        # stdout stays ringvisor's stdout file; 0 and 2 were closed
        rv = self.start(cfg, preexec_fn=closing(0, 2))
        r = self.child_stdio(rv, rep)
        self.assertEqual(r["fds"][:3], [0, 1, 2], r)
        self.assertEqual(r["fd"][0], "/dev/null", r)
        self.assertEqual(r["fd"][1], rv.out_path, r)
        self.assertEqual(r["fd"][2], "/dev/null", r)
        self.wait_control(rv)
        self.assertEqual(rv.shutdown(signal.SIGTERM), 0)

    def test_exec_with_0_1_2_closed_gives_the_child_dev_null(self):
        rep = os.path.join(self.tmp, "report")
        rv = self.start_exec(self.svc_argv("report", "pause",
                                           report_file=rep),
                             preexec_fn=closing(0, 1, 2))
        r = self.child_stdio(rv, rep)
        self.assertEqual(r["fds"][:3], [0, 1, 2], r)
        for fd in (0, 1, 2):
            self.assertEqual(r["fd"][fd], "/dev/null", r)
        self.assertEqual(rv.shutdown(signal.SIGTERM), 128 + 15)


if __name__ == "__main__":
    rvtest.main()
