#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A control client has 10 s to send each whole request line (issue 6,
item 6, found by bench/abuse.py): the deadline runs from when the
supervisor starts waiting for the line, not from its last byte, so a
client trickling a byte a second (slowloris) is hung up on after 10 s
instead of holding one of the 4096 connections for ever.  A client that
sends whole requests, however far apart within 10 s, keeps its
connection."""

import os
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import T  # noqa: E402


class LineDeadline(rvtest.Case):

    def test_trickling_client_is_hung_up_on(self):
        cfg = self.config(f"""
            [service:web]
            command = {self.svc("pause", tag="web")}
            """)
        rv = self.start(cfg)
        chatty = self.wait_control(rv)
        slow = []
        for _ in range(3):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(self.control_path)
            self.addCleanup(s.close)
            slow.append(s)
        line = b'{"cmd":"status","pad":"' + b"x" * 1000 + b'"}\n'
        t0 = time.monotonic()
        sent = 0
        hung_up = None
        last_chat = t0
        while time.monotonic() - t0 < T(16) and hung_up is None:
            for s in slow:
                try:
                    s.send(line[sent:sent + 1])
                except OSError:
                    hung_up = time.monotonic() - t0
                    break
            sent += 1
            # an active, well-behaved client is answered all along and
            # keeps its connection: 2 s between requests
            if time.monotonic() - last_chat > 2:
                self.assertIs(chatty.request({"cmd": "status"}).get("ok"),
                              True)
                last_chat = time.monotonic()
            time.sleep(0.5)
        if hung_up is None:
            # the peer may still accept bytes into its buffer: look for EOF
            s = slow[0]
            s.settimeout(T(2))
            try:
                hung_up = (time.monotonic() - t0
                           if s.recv(1) == b"" else None)
            except socket.timeout:
                pass		# still open: never hung up on
            except OSError:
                hung_up = time.monotonic() - t0
        self.assertIsNotNone(hung_up, "a client sending a byte every "
                             "0.5 s was never hung up on")
        self.assertGreaterEqual(hung_up, 9.5)
        ev = rv.wait_for("control_timeout", count=3)
        self.assertEqual(len(ev), 3, ev)
        # the chatty client is still connected and answered
        self.assertIs(chatty.request({"cmd": "status"}).get("ok"), True)
        self.assertEqual(rv.shutdown(), 0)


if __name__ == "__main__":
    rvtest.main()
