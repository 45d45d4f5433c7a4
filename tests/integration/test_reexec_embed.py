#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Live upgrade through the library (include/ringvisor.h, "Live upgrade";
issue 17): a program built on libringvisor (tests/embed/embed_reexec.c)
hands its tree over to itself with rv_supervisor_reexec(): the same
process, its service still running with the same pid, the new image
saying it resumed; a binary that cannot take over makes the call return
its error, the tree running on in the old image.  The backend is the
environment's."""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402

EMBED = os.path.join(os.path.dirname(rvtest.fixture("svc")), "embed_reexec")


class ReexecEmbed(rvtest.Case):

    def setUp(self):
        super().setUp()
        if not os.path.exists(EMBED):
            self.skipTest(f"{EMBED} not built")

    def lines(self, proc, text):
        return [ln for ln in proc.lines if text in ln]

    def wait_line(self, proc, text, n=1):
        return rvtest.wait_until(
            lambda: len(self.lines(proc, text)) >= n or (
                not proc.running() and self.fail(
                    f"embed_reexec exited waiting for {text!r}")),
            10, f"{n} x {text!r}")

    def trigger(self, trig, binary=""):
        with open(trig + ".tmp", "w") as f:
            f.write(binary)
        os.rename(trig + ".tmp", trig)
        # a request ends a loop turn: the hook sees the file (the
        # hand-over closes the connection: no reply then)
        try:
            self.ctl_status()
        except AssertionError:
            pass

    def test_reexec_itself(self):
        cfg = self.config(f"""
            [service:kid]
            command = {self.svc("pause", tag="kid")}
            stdout = null
            stderr = null
            log_buffer = 0
            """)
        trig = os.path.join(self.tmp, "trigger")
        p = rvtest.Proc(self, [EMBED, cfg, trig], label="embed")
        self.wait_control(p)
        kid = self.wait_state("kid", "running")["pid"]
        self.wait_line(p, f"embed_reexec: pid={p.pid} resumed=0")

        # a binary that cannot take over: the call returns, nothing moved
        self.trigger(trig, "/bin/false")
        self.wait_line(p, "embed_reexec: reexec failed:")
        self.assertIn("/bin/false", self.lines(p, "reexec failed")[0])
        self.assertEqual(self.status_of("kid")["pid"], kid)

        # itself: the same process resumes, the child is the same
        self.trigger(trig)
        self.wait_line(p, f"embed_reexec: pid={p.pid} resumed=1")
        done = p.wait_for("reexec_done")[0]
        # the phases (docs/log-events.md) were all measured and add up to
        # the pause; the dry run ran before it (check_ms)
        phases = ["quiesce_ms", "flush_ms", "take_ms", "write_ms",
                  "prepare_ms", "exec_ms", "read_ms", "load_ms", "apply_ms",
                  "arm_ms"]
        for k in phases + ["check_ms"]:
            self.assertGreaterEqual(done.num(k), 0, k)
        self.assertAlmostEqual(sum(done.num(k) for k in phases),
                               done.num("ms"), delta=1.0)
        st = self.wait_state("kid", "running")
        self.assertEqual(st["pid"], kid)
        self.assertEqual(st["restarts"], 0)
        self.assertTrue(rvtest.alive(kid))
        self.assertEqual(len(self.lines(p, "reexec failed")), 1)
        self.assertEqual(p.shutdown(), 0)


if __name__ == "__main__":
    rvtest.main()
