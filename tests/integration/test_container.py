#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ringvisor as the PID 1 of a real container (issue 14, item 4): Debian's
podman, rootful, with runc.  No registry: the test imports a minimal image
once (`podman import` of a tar it writes: the built ringvisor and the
shared libraries ldd names, busybox-static for a shell and sleep, an
/etc/passwd with a non-root `app` 1000:1000) and runs each case in its own
container (`--network none`) from it.

* `exec` (tini-style): `podman stop` forwards SIGTERM, the child dies of
  it, the container exits 143 at once (not after podman's 10 s and a
  SIGKILL: 137); orphans left behind by the child are reaped (no `Z` in
  the container's /proc); `podman kill --signal SIGRTMIN+3` is passed on
  to the child unchanged, as tini does, and ends `--restart=always` with
  the child's status (sleep dies of it: 128+SIGRTMIN+3);
* `run`: `podman stop` is a graceful shutdown, exit 0 at once;
  SIGRTMIN+3 (systemd's "halt", what podman and docker send to an image
  whose STOPSIGNAL is systemd's) shuts down as gracefully, exit 0, as
  systemd treats it;
* the backend: Debian's default seccomp profile refuses io_uring with
  ENOSYS, and `backend = auto` falls back to epoll, saying so in the log;
  with `--security-opt seccomp=unconfined` it is io_uring (where the host
  has it);
* `ringvisor status --check` as the container's health command
  (`podman healthcheck run`): healthy while the critical service runs,
  unhealthy once it is stopped;
* a non-root USER (`--user 1000:1000`) on a read-only root file system
  (podman's `--read-only` gives tmpfs /tmp and /run): `run`, `status
  --check` through `podman exec`, `podman stop`.  Its config names its
  control_socket under /tmp; without it, the default for a non-root user
  ($XDG_RUNTIME_DIR/ringvisor/, else /tmp/ringvisor-$UID/) would apply.

Skips, with the reason, where podman, runc or busybox is missing or a
container cannot run (a probe container, once); under RV_WRAPPER
(valgrind cannot come into the image); and on the suite's epoll pass
(RINGVISOR_BACKEND=epoll): the container's ringvisor chooses its own
backend, which is what this test checks, so one pass is enough.
Environment: RV_PODMAN (default podman), RV_PODMAN_RUNTIME (default runc).
About 15-25 s of wall time on a loaded 2-core machine."""

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import RV_BIN, T  # noqa: E402

PODMAN = os.environ.get("RV_PODMAN", "podman")
RUNTIME = os.environ.get("RV_PODMAN_RUNTIME", "runc")
BUSYBOX = shutil.which("busybox") or "/bin/busybox"
IMAGE = f"localhost/ringvisor-test-{os.getpid()}:latest"
# crun refuses a hybrid cgroup layout, and root cannot raise its own
# limits on such machines: runc, and limits below the host's
RUN_FLAGS = ["--network", "none", "--log-driver", "k8s-file",
             "--ulimit", "nofile=20000:20000",
             "--ulimit", "nproc=32768:32768"]
APPLETS = ["sh", "true", "sleep", "cat", "wc"]
RTMIN3 = signal.SIGRTMIN + 3
# podman stop's own timeout (Docker's default too): past it, SIGKILL (137)
STOP_TIMEOUT = 10

# Leaves three orphans (sleep 0.3, each from a shell that exits at once)
# for PID 1 to reap, their pids in /tmp/orphans, then execs its arguments.
ORPHANS = b"""#!/bin/sh
for i in 1 2 3; do sh -c 'sleep 0.3 & echo $! >> /tmp/orphans'; done
exec "$@"
"""

ROOT_CONF = b"""[supervisor]
; below podman's and docker's 10 s stop timeout
shutdown_timeout = 8s

[service:web]
command = orphans sleep 1000
critical = true
"""

USER_CONF = b"""[supervisor]
shutdown_timeout = 8s
; a directory the user can create; without this key the non-root default
; ($XDG_RUNTIME_DIR/ringvisor/, else /tmp/ringvisor-$UID/) applies
control_socket = /tmp/ringvisor/control.sock

[service:web]
command = orphans sleep 1000
critical = true
"""


def podman(*args, check=True, timeout=60, **kw):
    """`podman --runtime RUNTIME ARGS...`, its output captured as text."""
    r = subprocess.run([PODMAN, "--runtime", RUNTIME, *args], text=True,
                       capture_output=True, timeout=T(timeout), **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: exit "
                             f"{r.returncode}: {r.stderr.strip()}")
    return r


def libraries(path):
    """The shared libraries ldd names for path (none for a static one)."""
    r = subprocess.run(["ldd", path], capture_output=True, text=True)
    libs = []
    for line in r.stdout.splitlines():
        words = [w for w in line.split() if w.startswith("/")]
        if words:
            libs.append(words[-1] if "=>" in line else words[0])
    return libs


def rootfs_tar():
    """The image's root file system as an uncompressed tar (bytes)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        dirs = set()

        def add(name, data=None, mode=0o755, uid=0, kind=tarfile.REGTYPE,
                link=""):
            parts = name.strip("/").split("/")
            for i in range(1, len(parts)):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    add(d, kind=tarfile.DIRTYPE)
            ti = tarfile.TarInfo(name.strip("/"))
            ti.type, ti.mode, ti.uid, ti.gid = kind, mode, uid, uid
            ti.linkname = link
            ti.size = len(data) if data is not None else 0
            tar.addfile(ti, io.BytesIO(data) if data is not None else None)

        def host(name, path):
            with open(path, "rb") as f:
                add(name, f.read())

        host("/usr/bin/ringvisor", RV_BIN)
        host("/bin/busybox", BUSYBOX)
        for lib in set(libraries(RV_BIN) + libraries(BUSYBOX)):
            host(lib, os.path.realpath(lib))
        for applet in APPLETS:
            add(f"/bin/{applet}", kind=tarfile.SYMTYPE, link="busybox")
        add("/bin/orphans", ORPHANS)
        add("/etc/ringvisor/ringvisor.conf", ROOT_CONF, 0o644)
        add("/etc/ringvisor/user.conf", USER_CONF, 0o644)
        add("/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"
            b"app:x:1000:1000:app:/home/app:/bin/sh\n", 0o644)
        add("/etc/group", b"root:x:0:\napp:x:1000:\n", 0o644)
        for d in ("proc", "sys", "dev", "run", "root", "home"):
            dirs.add(d)
            add(d, kind=tarfile.DIRTYPE)
        dirs.add("tmp")
        add("/tmp", kind=tarfile.DIRTYPE, mode=0o1777)
        add("/home/app", kind=tarfile.DIRTYPE, uid=1000)
    return buf.getvalue()


def setup_problem():
    """Why this test cannot run here (None: it can); imports IMAGE."""
    if os.environ.get("RINGVISOR_BACKEND") == "epoll":
        return ("the container's ringvisor chooses its own backend (what "
                "this test checks): run on the suite's other pass only")
    if rvtest.WRAPPER:
        return "RV_WRAPPER is set: the wrapper cannot come into the image"
    for prog in (PODMAN, RUNTIME):
        if not shutil.which(prog):
            return f"{prog} not found (apt-get install podman runc)"
    if not os.access(BUSYBOX, os.X_OK):
        return "busybox not found (apt-get install busybox-static)"
    try:
        p = subprocess.run([PODMAN, "import", "-", IMAGE],
                           input=rootfs_tar(), capture_output=True,
                           timeout=T(120))
        if p.returncode != 0:
            return f"podman import: {p.stderr.decode().strip()}"
        r = podman("run", "--rm", *RUN_FLAGS, IMAGE, "true", check=False)
    except subprocess.TimeoutExpired as e:
        return f"podman timed out: {e}"
    if r.returncode != 0:
        return (f"podman cannot run a container here (exit {r.returncode}): "
                f"{r.stderr.strip()}")
    return None


class Container(unittest.TestCase):
    """Each case runs its own container from IMAGE (imported once, by
    main below)."""

    def start(self, *cmd, flags=()):
        """A detached container from IMAGE running cmd; removed after."""
        name = f"rvtest-{os.getpid()}-{self._testMethodName}"[:60]
        podman("rm", "-f", "-t", "0", name, check=False)
        self.addCleanup(self.remove, name)
        podman("run", "-d", "--name", name, *RUN_FLAGS, *flags, IMAGE,
               *cmd)
        return name

    def run(self, result=None):
        """A failed test prints its containers' logs."""
        self.kept_logs = {}
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before:
            for name, log in self.kept_logs.items():
                sys.stderr.write(f"---- podman logs {name}\n{log}\n")
        return out

    def remove(self, name):
        self.kept_logs[name] = self.logs(name)
        podman("rm", "-f", "-t", "0", name, check=False)

    @staticmethod
    def logs(name):
        """What the container wrote (ringvisor's log is its stderr)."""
        return subprocess.run([PODMAN, "logs", name], text=True,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT).stdout

    def sh(self, name, script):
        """Runs a busybox shell script inside the container: its stdout."""
        return podman("exec", name, "sh", "-c", script).stdout

    def wait_log(self, name, text, timeout=20):
        return rvtest.wait_until(lambda: text in self.logs(name), timeout,
                                 f"{text!r} in the log of {name}", 0.1)

    def exit_code(self, name, timeout=20):
        r = podman("wait", name, timeout=timeout)
        return int(r.stdout.strip().splitlines()[-1])

    def stop(self, name):
        """`podman stop -t 10`: (exit code, seconds it took)."""
        t0 = time.monotonic()
        podman("stop", "-t", str(STOP_TIMEOUT), name,
               timeout=STOP_TIMEOUT + 30)
        took = time.monotonic() - t0
        code = self.exit_code(name)
        print(f"{self._testMethodName}: podman stop {took:.2f}s, "
              f"exit {code}", flush=True)
        # past podman's timeout it would be SIGKILL (137): well below it
        self.assertLess(took, STOP_TIMEOUT - 1, "podman stop waited for "
                        "its timeout: the stop signal did nothing")
        return code

    def assert_orphans_reaped(self, name):
        """The three orphans of /bin/orphans existed and are gone from
        /proc (a zombie stays there until its parent, PID 1 for an orphan,
        reaps it); then no zombie is left.  One `podman exec`: the
        polling runs inside the container."""
        tries = int(T(20) / 0.05)
        script = f"""
            n=0
            until [ "$(cat /tmp/orphans 2>/dev/null | wc -l)" -ge 3 ]; do
                n=$((n + 1)); [ $n -gt {tries} ] && exit 2; sleep 0.05
            done
            pids=$(cat /tmp/orphans); n=0
            while :; do
                left=; for p in $pids; do
                    [ -e /proc/$p ] && left="$left $p"; done
                [ -z "$left" ] && break
                n=$((n + 1)); [ $n -gt {tries} ] && break; sleep 0.05
            done
            echo orphans $pids, "not reaped:$left"
            cat /proc/[0-9]*/stat 2>/dev/null; true"""
        r = podman("exec", name, "sh", "-c", script, check=False,
                   timeout=60)
        self.assertEqual(r.returncode, 0, "no orphans in /tmp/orphans: "
                         "the child did not run " + r.stderr)
        head, _, stats = r.stdout.partition("\n")
        self.assertTrue(head.endswith("not reaped:"), head + "\n" + stats)
        zombies = [line for line in stats.splitlines()
                   if line[line.rindex(")") + 2:].startswith("Z")]
        self.assertEqual(zombies, [], "zombies in the container")
        self.assertIn("1 (ringvisor) ", stats, "ringvisor is PID 1")

    def backend(self, name):
        """The backend= of the event=backend log line."""
        line = self.wait_log(name, "event=backend") and next(
            ln for ln in self.logs(name).splitlines()
            if "event=backend" in ln)
        return rvtest.Event(line, 0, 0)

    # ------------------------------------------------------------ exec

    def test_exec_stop_reaps_and_ends_143(self):
        c = self.start("ringvisor", "exec", "--", "orphans", "sleep",
                       "1000")
        self.assert_orphans_reaped(c)
        self.assertEqual(self.stop(c), 128 + signal.SIGTERM)

    def test_exec_rtmin3_passed_on_ends_restart_always(self):
        c = self.start("ringvisor", "exec", "--restart=always", "--",
                       "orphans", "sleep", "1000",
                       flags=["-e", "RINGVISOR_LOG_LEVEL=info"])
        self.wait_log(c, "event=start")
        podman("kill", "--signal", "SIGRTMIN+3", c)
        self.assertEqual(self.exit_code(c), 128 + RTMIN3,
                         "the child's own status: sleep dies of it")
        log = self.logs(c)
        self.assertIn("signal=SIGRTMIN+3 action=stop", log)
        self.assertEqual(log.count("event=start"), 1, "restarted:\n" + log)

    # ------------------------------------------------------------- run

    def test_run_default_seccomp_epoll_health_stop(self):
        c = self.start("ringvisor", "run",
                       flags=["--health-cmd",
                              '["ringvisor", "status", "--check"]',
                              "--health-interval", "disable"])
        self.wait_log(c, "to=alive")
        be = self.backend(c)
        self.assertEqual(be["backend"], "epoll", be.raw)
        self.assertIn("Function not implemented", be["reason"], be.raw)
        st = json.loads(podman("exec", c, "ringvisor", "status",
                               "--json").stdout)
        self.assertEqual(st["supervisor"]["backend"], "epoll", st)
        self.assert_orphans_reaped(c)
        self.assertEqual(podman("healthcheck", "run", c,
                                check=False).returncode, 0, "healthy")
        podman("exec", c, "ringvisor", "stop", "web")
        r = podman("healthcheck", "run", c, check=False)
        self.assertEqual(r.returncode, 1, "unhealthy: web stopped: "
                         f"{r.stdout}{r.stderr}")
        self.assertEqual(self.stop(c), 0)
        self.assertIn("to=completed", self.logs(c))

    def test_run_rtmin3_unconfined_io_uring(self):
        c = self.start("ringvisor", "run",
                       flags=["--security-opt", "seccomp=unconfined"])
        self.wait_log(c, "to=alive")
        ok, why = rvtest.io_uring_available()
        be = self.backend(c)
        self.assertEqual(be["backend"], "io_uring" if ok else "epoll",
                         f"{be.raw} (host: {why or 'io_uring'})")
        self.assert_orphans_reaped(c)
        podman("kill", "--signal", "SIGRTMIN+3", c)
        self.assertEqual(self.exit_code(c), 0)
        log = self.logs(c)
        self.assertIn("signal=SIGRTMIN+3 action=shutdown", log)
        self.assertIn("service=web event=stop signal=SIGTERM", log)
        self.assertIn("to=completed", log)

    # -------------------------------------------------------- non-root

    def test_run_as_user_read_only(self):
        c = self.start("ringvisor", "run",
                       flags=["--user", "1000:1000", "--read-only", "-e",
                              "RINGVISOR_CONFIG=/etc/ringvisor/user.conf"])
        self.wait_log(c, "to=alive")
        self.assertIn("Uid:\t1000\t1000\t1000\t1000",
                      self.sh(c, "cat /proc/1/status"))
        self.assert_orphans_reaped(c)
        # the client finds the socket through $RINGVISOR_CONFIG's key
        r = podman("exec", c, "ringvisor", "status", "--check",
                   check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.stop(c), 0)


if __name__ == "__main__":
    t0 = time.monotonic()
    try:
        why = setup_problem()
        print(f"image {IMAGE}: {time.monotonic() - t0:.1f}s", flush=True)
        if why:
            rvtest.skip_file(why)
        # podman's conmon daemonizes: let it reparent to init, not to us
        rvtest.main(subreaper=False)
    finally:
        podman("rmi", "-f", IMAGE, check=False)
        print(f"wall time {time.monotonic() - t0:.1f}s", flush=True)
