#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The notify socket gives nothing to strangers (issue 13, item 2).

The socket is world-writable, so that services of any uid can report.  A
flood of well-formed datagrams from a process that is no service's must
cost a counter increment each (ringvisor_notify_datagrams_total
{result="unknown_sender"}), not a log line each, and must not keep the
supervisor from answering.  Real clients keep working: libsystemd's
sd_notify() from the main process (test_readiness.py), and systemd-notify,
a child of the main process in its process group.
"""

import os
import re
import shutil
import socket
import threading
import time
import unittest

import rvtest
from rvtest import T, wait_until

FLOOD = 20000


def notify_addr(path):
    return "\0" + path[1:] if path.startswith("@") else path


class NotifyStrangers(rvtest.Case):

    def metric(self, name, **labels):
        out = self.ctl("metrics")
        self.assertEqual(out.returncode, 0, out.stderr)
        sel = ",".join(f'{k}="{v}"' for k, v in labels.items())
        m = re.search(rf"^{re.escape(name)}\{{{re.escape(sel)}\}} (\d+)$",
                      out.stdout, re.M)
        return int(m.group(1)) if m else None

    def test_flood_from_an_unknown_pid_is_counted_not_logged(self):
        cfg = self.config(f"""
            [service:nt]
            command = {self.svc('pause')}
            type = notify
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        addr = notify_addr(self.control_path + ".notify")
        self.assertEqual(
            self.metric("ringvisor_notify_datagrams_total",
                        result="unknown_sender"), 0,
            "the metric exists from the start")

        sent = []

        def flood():
            # blocking: the queue (max_dgram_qlen) fills and drains
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                for i in range(FLOOD):
                    s.sendto(b"READY=1\nSTATUS=forged %d" % i, addr)
                    sent.append(i)

        t0 = time.monotonic()
        th = threading.Thread(target=flood, daemon=True)
        th.start()
        # the supervisor answers throughout the flood
        worst = 0.0
        while th.is_alive() or not sent:
            a = time.monotonic()
            st = self.ctl_status("nt")["services"][0]
            worst = max(worst, time.monotonic() - a)
            self.assertEqual(st["state"], "starting", st)
            if not th.is_alive():
                break
        th.join(T(30))
        self.assertEqual(len(sent), FLOOD)
        wait_until(lambda: self.metric(
            "ringvisor_notify_datagrams_total",
            result="unknown_sender") == FLOOD, 30,
            f"{FLOOD} unknown_sender datagrams counted")
        elapsed = time.monotonic() - t0
        self.assertLess(worst, T(2.0), "status latency during the flood")
        # at most one line per second of flood, and the count of the rest
        lines = rv.find("notify_unknown_sender")
        self.assertGreaterEqual(len(lines), 1)
        self.assertLessEqual(len(lines), 2 + int(elapsed),
                             f"{len(lines)} log lines in {elapsed:.1f}s")
        self.assertEqual(lines[0].int("pid"), os.getpid())
        suppressed = sum(e.int("suppressed") for e in lines)
        self.assertLessEqual(suppressed + len(lines), FLOOD)
        # nothing forged got through
        st = self.ctl_status("nt")["services"][0]
        self.assertEqual((st["state"], st["ready"]), ("starting", False), st)
        self.assertNotIn("forged", str(st.get("status_text")))
        self.assertEqual(self.metric("ringvisor_notify_datagrams_total",
                                     result="accepted"), 0)
        self.assertEqual(rv.shutdown(), 0)

    @unittest.skipUnless(shutil.which("systemd-notify"),
                                "systemd-notify is not installed")
    def test_systemd_notify_from_the_services_group_is_accepted(self):
        # systemd-notify is a child of the main process, in its process
        # group: NotifyAccess=all-like, as before
        cmd = (f"sh -c 'systemd-notify --ready --status=via-systemd-notify; "
               f"exec {self.svc('pause')}'")
        cfg = self.config(f"""
            [service:sn]
            command = {cmd}
            type = notify
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        st = wait_until(lambda: (lambda s: s if s["state"] == "running"
                                 else None)(self.ctl_status("sn")
                                            ["services"][0]),
                        10, "sn running")
        self.assertEqual(st.get("status_text"), "via-systemd-notify", st)
        self.assertEqual(self.metric("ringvisor_notify_datagrams_total",
                                     result="unknown_sender"), 0)
        self.assertGreaterEqual(self.metric(
            "ringvisor_notify_datagrams_total", result="accepted"), 1)
        self.assertEqual(rv.shutdown(), 0)


if __name__ == "__main__":
    rvtest.main()
