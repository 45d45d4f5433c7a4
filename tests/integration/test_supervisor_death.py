#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""When the supervisor dies (README "If the supervisor dies"): a SIGKILLed
ringvisor takes its services with it (PR_SET_PDEATHSIG(SIGKILL) on every
child, also after a switch to another user and under `exec`), so a second
instance never runs beside leftovers of the first; that second instance
starts cleanly with the same config (the stale control socket is removed
because nobody listens on it); and an instance started while another one
listens on the control socket refuses to start, exit 2, leaving the first
one alone."""

import os
import pwd
import signal
import sys
import textwrap
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import alive, service, wait_until  # noqa: E402


class SupervisorDeath(rvtest.Case):

    def config_for_death(self):
        """Five services: three instances, one that ignores SIGTERM, and
        one that runs as nobody when we are root (a user switch clears
        PR_SET_PDEATHSIG, so it is set after it)."""
        other = f"command = {self.svc('pause', tag='other')}\n"
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("nobody")
                self.other_uid = True
                # nobody cannot write our stamp file: no stamp
                other = ("command = " + self.svc("pause", stamp=False) +
                         "\nuser = nobody\n")
            except KeyError:
                pass
        return self.config(textwrap.dedent(f"""\
            [service:web]
            command = {self.svc("pause", tag="web")}
            instances = 3

            [service:ignores]
            command = {self.svc("ignore-term", "pause", tag="ignores")}
            stop_timeout = 500ms

            [service:other]
            """) + other)

    def services_up(self, rv, n=5):
        starts = rv.wait_for("start", count=n)
        return [e.int("pid") for e in starts]

    def test_sigkill_takes_the_services_along(self):
        cfg = self.config_for_death()
        rv = self.start(cfg, report=False)
        pids = self.services_up(rv)
        self.wait_control(rv)
        for pid in pids:
            self.assertTrue(alive(pid), pid)

        t0 = time.monotonic()
        rv.send_signal(signal.SIGKILL)
        rv.wait(5)
        wait_until(lambda: not any(alive(p) for p in pids), 1.0,
                   "every service to be gone within a second of the "
                   "supervisor's SIGKILL")
        print(f"  services gone {time.monotonic() - t0:.3f}s after the "
              "SIGKILL", flush=True)
        # the socket file stays behind: nobody removed it
        self.assertTrue(os.path.exists(self.control_path))

        # a new instance, same config: starts cleanly
        rv2 = self.start(cfg)
        pids2 = self.services_up(rv2)
        self.assertFalse(set(pids) & set(pids2))
        st = self.ctl_status()
        self.assertEqual(st["supervisor"]["pid"], rv2.pid)
        self.assertEqual(sorted(s["state"] for s in st["services"]),
                         ["running"] * 5)
        self.assertEqual(rv2.shutdown(), 0)
        rep = self.report(rv2)
        for name in ("web@0", "web@1", "web@2", "ignores", "other"):
            self.assertEqual(service(rep, name)["restarts"], 0)
        self.assertFalse(os.path.exists(self.control_path))

    def test_second_instance_refuses_to_start(self):
        cfg = self.config_for_death()
        rv = self.start(cfg, report=False)
        pids = self.services_up(rv)
        self.wait_control(rv)
        # every stamping service has written its stamp (other may not)
        self.wait_stamps(3, tag="web")
        self.wait_stamps(1, tag="ignores")
        time.sleep(0.1)
        stamps = len(self.stamps(kind=None))

        r = self.rv("run", "-c", cfg)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("another supervisor is listening", r.stderr)
        self.assertIn(self.control_path, r.stderr)
        # it started nothing and left the first one alone
        self.assertEqual(len(self.stamps(kind=None)), stamps)
        self.assertTrue(rv.running())
        self.assertTrue(all(alive(p) for p in pids))
        self.assertEqual(self.ctl_status()["supervisor"]["pid"], rv.pid)
        self.assertEqual(rv.shutdown(), 0)

    def test_stale_socket_of_a_dead_listener_is_removed(self):
        """A socket file nobody listens on (the leftover of a SIGKILL) is
        replaced; a file that is not a socket is never removed."""
        import socket
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.control_path)
        s.close()		# bound, never listened: connect is refused
        cfg = self.config(f"""
            [service:web]
            command = {self.svc("pause", tag="web")}
            """)
        rv = self.start(cfg)
        self.services_up(rv, 1)
        self.wait_control(rv)
        self.assertEqual(rv.shutdown(), 0)

        with open(self.control_path, "w") as f:
            f.write("not a socket\n")
        r = self.rv("run", "-c", cfg)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("not a socket", r.stderr)
        with open(self.control_path) as f:
            self.assertEqual(f.read(), "not a socket\n")

    def test_exec_child_dies_with_it(self):
        p = self.start_exec(self.svc_argv("pause", tag="x"),
                            ["--restart=always"])
        s, = self.wait_stamps(1, tag="x")
        self.assertTrue(alive(s.pid))
        p.send_signal(signal.SIGKILL)
        p.wait(5)
        wait_until(lambda: not alive(s.pid), 1.0,
                   "the exec'd child to be gone within a second")


if __name__ == "__main__":
    rvtest.main()
