#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Log lines on a terminal (issue 15 item 9): the level and the service
name coloured when stderr is a tty, never when NO_COLOR is set, TERM is
dumb or unset, or stderr is not a tty (every other test reads plain lines
from a pipe)."""

import os
import pty
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402

ESC = b"\x1b["


class LogTty(rvtest.Case):

    def _once(self):
        return self.config("""
            [service:once]
            command = true
            restart = never
            """)

    def _run_on_pty(self, env):
        """Runs a one-shot config with stderr on a pseudo-terminal; returns
        what the terminal showed."""
        cfg = self._once()
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)
        p = subprocess.Popen([rvtest.RV_BIN, "run", "-c", cfg],
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=slave,
                             env=rvtest.rv_env(env))
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:		# EIO: every writer is gone
                break
            if not chunk:
                break
            out += chunk
        self.assertEqual(p.wait(rvtest.T(15)), 0, out)
        self.assertIn(b"event=completed", out)
        return out

    def test_level_and_service_coloured_on_a_tty(self):
        out = self._run_on_pty({"TERM": "xterm"})
        self.assertIn(b"level=" + ESC + b"32minfo" + ESC + b"0m", out)
        self.assertIn(b"service=" + ESC + b"1;36monce" + ESC + b"0m", out)
        self.assertIn(b"supervisor=" + ESC + b"1;35mmain", out)

    def test_no_colour_with_NO_COLOR(self):
        self.assertNotIn(ESC, self._run_on_pty({"TERM": "xterm",
                                                "NO_COLOR": "1"}))

    def test_no_colour_on_a_dumb_terminal(self):
        self.assertNotIn(ESC, self._run_on_pty({"TERM": "dumb"}))

    def test_no_colour_into_a_pipe(self):
        cfg = self._once()
        r = subprocess.run([rvtest.RV_BIN, "run", "-c", cfg],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           env=rvtest.rv_env({"TERM": "xterm"}),
                           timeout=rvtest.T(15))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"level=info", r.stderr)
        self.assertNotIn(ESC, r.stderr)


if __name__ == "__main__":
    rvtest.main()
