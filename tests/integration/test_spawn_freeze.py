#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A service's uid cannot freeze the supervisor (issue 13, item 1).

The supervisor runs as root; its services run as an unprivileged uid of
their own.  An attacker holding that uid SIGSTOPs every process it may
signal (kill(-1, SIGSTOP)) in a tight loop, so a child of the supervisor
is stopped the moment it has switched to the service's uid, before its
exec.  When the supervisor waits for that exec (clone with CLONE_VFORK),
it is frozen with it: no reaping, no signals, no control socket.  The
attacker holds each child it caught before its exec for HOLD seconds,
then kills it, and kills its services once they have exec'd and stopped,
so that they restart and the next start is attacked too.  Meanwhile a
client runs `ringvisor status` over and over: every answer must come
within 1 s, on each backend, for DURATION seconds.

The test also checks that the attack really reached its target (children
caught between the uid switch and exec), so that it cannot pass by
missing.  The uid is a bare number without a passwd entry, unused by any
process, so kill(-1) reaches nothing but this test's services.

Needs root (the uid switch): skipped otherwise."""

import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import RV_BIN, T, fixture  # noqa: E402

DURATION = 20.0		# seconds of attack per backend
HOLD = 3.0		# how long a caught child stays stopped
LIMIT = 1.0		# the longest a `status` may take

# Runs as the service's uid.  argv: supervisor pid, its comm (what a child
# is called until it execs), hold, duration.  Prints one JSON line.
ATTACKER = r"""
import json, os, signal, sys, time
sup, sup_comm = int(sys.argv[1]), sys.argv[2]
hold, duration = float(sys.argv[3]), float(sys.argv[4])
children = f"/proc/{sup}/task/{sup}/children"
me = os.getuid()
held = {}		# pid -> when first seen stopped before its exec
caught = released = killed = loops = 0
longest = 0.0
end = time.monotonic() + duration
next_scan = 0.0


def status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for ln in f:
                k, _, v = ln.partition(":")
                out[k] = v.strip()
    except OSError:
        return None
    return out


while True:
    now = time.monotonic()
    if now >= end:
        break
    loops += 1
    try:
        os.kill(-1, signal.SIGSTOP)	# every process of ours but us
    except OSError:
        pass
    if now < next_scan:
        continue
    next_scan = now + 0.01
    try:
        with open(children) as f:
            pids = [int(p) for p in f.read().split()]
    except OSError:
        continue
    for pid in pids:
        st = status(pid)
        if not st or int(st.get("Uid", "0").split()[0]) != me:
            continue	# not switched yet (still root), or gone
        if not st.get("State", "").startswith("T"):
            continue
        if st.get("Name") != sup_comm:
            try:
                os.kill(pid, signal.SIGKILL)	# exec'd: let it restart
                killed += 1
            except OSError:
                pass
            continue
        first = held.setdefault(pid, now)
        if first == now:
            caught += 1
        longest = max(longest, now - first)
        if now - first >= hold:
            try:
                os.kill(pid, signal.SIGKILL)
                released += 1
            except OSError:
                pass
            del held[pid]
print(json.dumps({"caught": caught, "released": released,
                  "killed": killed, "loops": loops,
                  "longest_hold": longest}), flush=True)
"""


def free_uid():
    """A uid with no passwd entry and no process (kill(-1) as that uid
    must reach only what this test starts)."""
    import pwd
    used = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                used.add(os.stat(f"/proc/{d}").st_uid)
            except OSError:
                pass
    base = 3000000 + (os.getpid() % 100000) * 10
    for uid in range(base, base + 1000):
        try:
            pwd.getpwuid(uid)
            continue
        except KeyError:
            pass
        if uid not in used:
            return uid
    raise AssertionError("no free uid")


# The attacker needs a python3 the uid can run (not one under /root).
SYSTEM_PYTHON = "/usr/bin/python3"


class SpawnFreeze(rvtest.Case):

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("needs root (services run as another uid)")
        if not os.access(SYSTEM_PYTHON, os.X_OK):
            self.skipTest(f"no {SYSTEM_PYTHON} for the attacker")
        if rvtest.sanitized(rvtest.RV_BIN):
            # 20 s of liveness per backend run; the sanitizer stage adds
            # nothing to it (unit/test_spawn_uid covers the forked path)
            self.skipTest("a liveness test: run on the plain builds")
        self.other_uid = True	# svc() gives a world-readable copy
        self.uid = free_uid()

    def as_uid(self, argv, **kw):
        return subprocess.Popen(argv, user=self.uid, group=self.uid,
                                extra_groups=[], cwd="/",
                                env={"PATH": "/usr/bin:/bin"}, **kw)

    def release_all(self):
        """SIGCONT then SIGKILL to every process of the uid, as the uid."""
        for sig in ("CONT", "KILL"):
            p = self.as_uid([SYSTEM_PYTHON, "-c",
                             f"import os, signal\ntry: os.kill(-1, "
                             f"signal.SIG{sig})\nexcept OSError: pass"])
            p.wait(T(20))

    def attack(self, backend):
        names = [f"s{i}" for i in range(3)]
        body = "".join(f"""
            [service:{n}]
            command = {self.svc("exit", 0, stamp=False, tag=n)}
            user = {self.uid}
            restart = always
            restart_delay = 10ms
            backoff = fixed
            backoff_jitter = 0
            max_restarts = infinity
            stop_timeout = 2s
            """ for n in names)
        cfg = self.config(body, max_restarts="infinity",
                          restart_window="1s")
        rv = self.start(cfg, f"--backend={backend}")
        self.wait_control(rv)
        for n in names:
            rv.wait_for("start", service=n, timeout=10)
        with open(f"/proc/{rv.pid}/comm") as f:
            comm = f.read().strip()
        script = self.write("attacker.py", ATTACKER)
        attacker = self.as_uid([SYSTEM_PYTHON, script, str(rv.pid), comm,
                                str(HOLD), str(DURATION)],
                               stdout=subprocess.PIPE, text=True)
        self.addCleanup(self.release_all)
        self.addCleanup(lambda: attacker.poll() is None and (
            attacker.kill(), attacker.wait()))
        worst, samples = 0.0, 0
        end = time.monotonic() + DURATION
        while time.monotonic() < end and attacker.poll() is None:
            t0 = time.monotonic()
            try:
                r = subprocess.run([RV_BIN, "status", "-s",
                                    self.control_path],
                                   stdin=subprocess.DEVNULL,
                                   capture_output=True, text=True,
                                   timeout=max(T(15), HOLD * 3),
                                   env=rvtest.rv_env())
                took = time.monotonic() - t0
                self.assertEqual(r.returncode, 0, r.stderr)
            except subprocess.TimeoutExpired:
                took = time.monotonic() - t0
            samples += 1
            worst = max(worst, took)
            if took >= LIMIT:
                break
            time.sleep(0.05)
        out, _ = attacker.communicate(timeout=T(30) + DURATION)
        stats = json.loads(out.strip().splitlines()[-1])
        restarts = len(rv.find("start"))
        print(f"  {backend}: status worst {worst * 1000:.0f} ms over "
              f"{samples} requests; attacker: {stats}; {restarts} starts",
              flush=True)
        self.assertLess(worst, LIMIT,
                        f"{backend}: `ringvisor status` took "
                        f"{worst:.2f} s while the service's uid stopped "
                        f"the supervisor's children ({stats})")
        self.assertGreaterEqual(
            stats["caught"], 2, f"{backend}: the attack never caught a "
            f"child between its uid switch and its exec ({stats}): "
            "this run proves nothing")
        self.assertGreaterEqual(stats["longest_hold"], LIMIT,
                                f"{backend}: no child was held stopped "
                                f"for {LIMIT} s ({stats})")
        self.release_all()
        self.assertEqual(rv.shutdown(timeout=20), 0)

    def backend_or_skip(self, backend):
        chosen = os.environ.get("RINGVISOR_BACKEND")
        if chosen and chosen != backend:
            self.skipTest(f"RINGVISOR_BACKEND={chosen}")
        if backend == "io_uring":
            ok, why = rvtest.io_uring_available()
            if not ok:
                self.skipTest(why)
        return backend

    def test_io_uring(self):
        self.attack(self.backend_or_skip("io_uring"))

    def test_epoll(self):
        self.attack(self.backend_or_skip("epoll"))


if __name__ == "__main__":
    rvtest.main()
