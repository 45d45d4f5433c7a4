#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`ringvisor reexec` (docs/reexec.md, issue 17): the running tree handed
to a new binary keeps every process, state, counter and deadline; an
exit during the hand-over is reported once, by the new image; a binary
that cannot take over, before or after the exec, leaves the old one
running the same tree.  What a service owns crosses too: its output
pipes (no line lost or split), held sockets (never bound again), fd
store, log ring; the config is the one the tree was built from.  The backend is the environment's (CI runs the
suite once per backend)."""

import json
import os
import subprocess
import signal
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402

# output that goes through no pipe: the output pipes' hand-over is not
# this test's
QUIET = "stdout = null\nstderr = null\nlog_buffer = 0\n"
# numbered lines, as fast as a shell forks
LOOP = ("/bin/sh -c 'i=0; while :; do echo line-$i; i=$((i+1)); "
        "sleep 0.001; done'")

# stores a memfd ("state") at its first start and says its inode; at the
# next start reads it back: "got CONTENT INODE NAMES"
PY_FDSTORE_INO = """\
import array, os, signal, socket, sys
out = sys.argv[1]
ns = os.environ["NOTIFY_SOCKET"]
addr = "\\0" + ns[1:] if ns[0] == "@" else ns
names = [n for n in os.environ.get("LISTEN_FDNAMES", "").split(":") if n]
tx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if "state" in names:
    fd = 3 + names.index("state")
    os.lseek(fd, 0, 0)
    with open(out, "a") as f:
        f.write("got %s %d %s\\n" % (os.read(fd, 100).decode(),
                                      os.fstat(fd).st_ino, ":".join(names)))
else:
    fd = os.memfd_create("state")
    os.write(fd, b"state-of-%d" % os.getpid())
    tx.sendmsg([b"FDSTORE=1\\nFDNAME=state"],
               [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))],
               0, addr)
    with open(out, "a") as f:
        f.write("stored %d\\n" % os.fstat(fd).st_ino)
tx.sendto(b"READY=1", addr)
signal.pause()
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(port):
    """Connects, reads to EOF."""
    with socket.create_connection(("127.0.0.1", port),
                                  timeout=rvtest.T(10)) as c:
        return c.makefile("rb").read().decode()


def socket_inode(pid, fd):
    link = os.readlink(f"/proc/{pid}/fd/{fd}")
    assert link.startswith("socket:["), link
    return int(link[8:-1])


def socket_inodes(pid):
    """The inodes of pid's sockets, as a sorted list."""
    links = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            links.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except FileNotFoundError:
            pass
    return sorted(int(ln[8:-1]) for ln in links if ln.startswith("socket:["))


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def http_get(path, what):
    """A raw HTTP/1.1 GET on the unix socket path: its reader."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(rvtest.T(10))
    s.connect(path)
    s.sendall(f"GET {what} HTTP/1.1\r\nHost: rv\r\n\r\n".encode())
    return s.makefile("rb")


class Reexec(rvtest.Case):

    def tree(self, env=None, **supervisor):
        cfg = self.config(f"""
            [service:run]
            command = {self.svc("pause", tag="run")}
            {QUIET}
            [service:back]
            command = {self.svc("exit", 1, tag="back")}
            restart = always
            backoff = fixed
            restart_delay = 30s
            backoff_jitter = 0
            {QUIET}
            [service:once]
            type = oneshot
            command = {self.svc("exit", 0, tag="once")}
            {QUIET}
            [service:dies]
            command = {self.svc("pause", tag="dies")}
            restart = always
            backoff = fixed
            restart_delay = 50ms
            backoff_jitter = 0
            {QUIET}
            [service:slow]
            type = oneshot
            command = {self.svc("pause", tag="slow")}
            {QUIET}
            [service:gate]
            command = /bin/sh -c 'while [ ! -e {self.tmp}/open ]; do sleep 0.02; done; echo >&3; exec sleep 1000'
            ready_fd = 3
            {QUIET}""".replace("\n            ", "\n"), **supervisor)
        rv = self.start(cfg, env=rvtest.rv_env(env))
        self.wait_control(rv)
        self.wait_state("run", "running")
        self.wait_state("dies", "running")
        self.wait_state("back", "backoff")
        self.wait_state("once", "completed")
        self.wait_state("gate", "starting")
        return rv

    def snapshot(self):
        st = self.ctl_status()
        return st["supervisor"], {s["name"]: s for s in st["services"]}

    def test_tree_survives(self):
        kill_file = os.path.join(self.tmp, "kill.pid")
        http = os.path.join(self.tmp, "http.sock")
        rv = self.tree({"RINGVISOR_TEST_HANDOVER_KILL": kill_file},
                       http_listen=f"unix:{http}")
        # a second past the backoff's start: a reset deadline would show
        rvtest.wait_until(
            lambda: self.status_of("back")["next_restart_in_s"] < 29, 10,
            "a second of backoff")
        sup, before = self.snapshot()
        t_before = time.monotonic()
        dies = before["dies"]["pid"]
        with open(kill_file, "w") as f:
            f.write(str(dies))
        follower = self.connect()
        self.assertTrue(follower.request({"cmd": "events"})["ok"])
        sse = http_get(http, "/events")
        while sse.readline() != b": ringvisor events\n":
            pass
        # a request that waits (a oneshot that never completes)
        waiter = self.connect()
        waiter.send({"cmd": "start", "services": ["slow"], "wait": True})
        rvtest.wait_until(lambda: rv.find("control_command", cmd="start"),
                          10, "the waiting start")

        with self.connect() as c:
            reply = c.request({"cmd": "reexec"}, timeout=30)
        os.unlink(kill_file)	# the next image must not kill it again
        self.assertTrue(reply.get("ok"), reply)
        self.assertEqual(reply["from"], sup["version"])
        self.assertEqual(reply["to"], sup["version"])
        self.assertGreater(reply["ms"], 0)
        # the follower: a last event, then EOF (it reconnects)
        ev = json.loads(follower.line(timeout=5))
        self.assertEqual(ev, {"event": "reexec", "from": sup["version"]})
        self.assertEqual(follower.line(timeout=5), b"")
        self.assertEqual(waiter.reply(timeout=5),
                         {"ok": False, "retry": True,
                          "error": "supervisor re-executing"})
        # the SSE stream too (chunked): a last event, then its end
        rest = sse.read()
        self.assertIn(b"event: reexec\nretry: 100\ndata: " +
                      json.dumps(ev, separators=(",", ":")).encode() +
                      b"\n\n", rest)
        # the http socket crossed too
        with http_get(http, "/metrics") as m:
            self.assertIn(b"ringvisor_build_info", m.read(4096))

        # readiness in progress: its ready_fd pipe crossed
        self.assertEqual(self.status_of("gate")["state"], "starting")
        with open(os.path.join(self.tmp, "open"), "w"):
            pass
        self.wait_state("gate", "running")

        # the exit during the hand-over: reported once, by the new image
        self.wait_state("dies", "running")
        rv.wait_for("start", service="dies", count=2)
        sup2, after = self.snapshot()
        self.assertEqual(sup2["pid"], rv.pid)
        self.assertEqual(sup2["state"], sup["state"])
        self.assertEqual(sup2["version"], sup["version"])
        self.assertGreaterEqual(sup2["uptime_s"], sup["uptime_s"])
        self.assertEqual(len(rv.find("exit", service="dies", pid=dies)), 1)
        self.assertEqual(after["dies"]["restarts"],
                         before["dies"]["restarts"] + 1)
        self.assertNotEqual(after["dies"]["pid"], dies)
        for name in ("run", "back", "once", "slow", "gate"):
            keys = ("pid", "restarts", "last_exit") if name == "gate" else \
                   ("pid", "state", "restarts", "last_exit")
            for key in keys:
                self.assertEqual(after[name][key], before[name][key],
                                 f"{name} {key}")
        self.assertTrue(rvtest.alive(before["run"]["pid"]))
        # the backoff keeps its deadline (not 30 s from the hand-over)
        deadline = t_before + before["back"]["next_restart_in_s"]
        now_deadline = time.monotonic() + after["back"]["next_restart_in_s"]
        self.assertLess(abs(now_deadline - deadline), 0.5)
        self.assertEqual(len(rv.find("reexec_done")), 1)

        # twice more, by the CLI and by SIGUSR2: no descriptor leaks
        r = self.ctl("reexec")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^reexec: \S+ -> \S+ in [0-9.]+ ms")
        fds = fd_count(rv.pid)
        rv.send_signal(signal.SIGUSR2)
        rv.wait_for("reexec_done", count=3)
        self.assertEqual(self.snapshot()[1]["run"]["pid"],
                         before["run"]["pid"])
        # (a client's connection may take a turn to be closed: at most
        # as many as before, a leak would be one more each time)
        rvtest.wait_until(lambda: fd_count(rv.pid) <= fds, 5,
                          f"at most {fds} descriptors, as before")
        self.assertEqual(rv.shutdown(), 0)

    def test_failing_binaries_leave_the_tree(self):
        rv = self.tree()
        _, before = self.snapshot()
        refuses = self.write("refuses", "#!/bin/sh\necho 9 9\n", 0o755)
        broken = self.write("broken", "#!/bin/sh\n"
                            "[ \"$1\" = --handover-formats ] && "
                            "{ echo 1 1; exit 0; }\n"
                            "echo cannot read the state >&2; exit 1\n",
                            0o755)
        # passes the probe and the dry run, then is gone: execve fails
        vanishing = self.write("vanishing", "#!/bin/sh\n"
                               "[ \"$1\" = --handover-formats ] && "
                               "{ echo 1 1; exit 0; }\n"
                               "rm -f \"$0\"; exit 0\n", 0o755)
        cases = [("/bin/false", "--handover-formats: exit 1"),
                 (vanishing, "exec: No such file or directory"),
                 (os.path.join(self.tmp, "missing"),
                  "No such file or directory"),
                 (refuses, "reads hand-over formats 9..9"),
                 (broken, "--handover-check: cannot read the state")]
        for binary, why in cases:
            r = self.ctl("reexec", "--binary", binary)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn(f"reexec: {binary}: ", r.stderr)
            self.assertIn(why, r.stderr)
        _, after = self.snapshot()
        for name in before:
            self.assertEqual(after[name]["pid"], before[name]["pid"])
            self.assertEqual(after[name]["state"], before[name]["state"])
        self.assertEqual(len(rv.find("reexec_failed")), len(cases))
        # the loop watches the children again (unquiesced after the
        # failed execve): an exit now is handled as before
        os.kill(before["dies"]["pid"], signal.SIGKILL)
        rvtest.wait_until(lambda: self.status_of("dies")["restarts"] ==
                          before["dies"]["restarts"] + 1, 10,
                          "dies restarted")
        self.assertEqual(rv.shutdown(), 0)

    def test_older_binary_gets_the_format_it_reads(self):
        # ringvisor reads formats 1..3 and writes 3 (binary) to itself; a
        # binary one version back that reads JSON only gets the newest
        # JSON it knows, and that state carries the tree as well
        out = subprocess.run([rvtest.RV_BIN, "--handover-formats"],
                             capture_output=True, text=True, check=True)
        self.assertEqual(out.stdout, "1 3\n")
        rv = self.tree()
        _, before = self.snapshot()
        for fmt in (1, 2):
            state = os.path.join(self.tmp, f"state{fmt}")
            older = self.write(f"older{fmt}", f"""#!/bin/sh
[ "$1" = --handover-formats ] && {{ echo 1 {fmt}; exit 0; }}
cat /proc/self/fd/$RINGVISOR_HANDOVER_FD > {state}
exec {rvtest.RV_BIN} "$@"
""", 0o755)
            mark = rv.mark()
            r = self.ctl("reexec", "--binary", older)
            self.assertEqual(r.returncode, 0, r.stderr)
            rv.wait_for("reexec_done", since=mark)
            with open(state) as f:
                doc = json.load(f)
            self.assertEqual(doc["format"], fmt)
            run = next(s for s in doc["services"]
                       if s["member"]["name"] == "run")
            # format 2 leaves zero fields out, format 1 writes them all
            self.assertEqual("kill_sent" in run, fmt == 1)
            _, after = self.snapshot()
            for name in ("run", "back", "gate"):
                self.assertEqual(after[name]["pid"], before[name]["pid"])
                self.assertEqual(after[name]["state"],
                                 before[name]["state"])
        # and back to ringvisor's own format (the binary it wrote is read)
        self.reexec_ok(rv)
        self.assertEqual(self.snapshot()[1]["run"]["pid"],
                         before["run"]["pid"])
        # a binary that reads no format this one writes is refused
        newer = self.write("newer", "#!/bin/sh\necho 4 5\n", 0o755)
        r = self.ctl("reexec", "--binary", newer)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("reads hand-over formats 4..5, this binary writes "
                      "1..3", r.stderr)
        self.assertEqual(rv.shutdown(), 0)

    def reexec_ok(self, rv):
        mark = rv.mark()
        r = self.ctl("reexec")
        self.assertEqual(r.returncode, 0, r.stderr)
        rv.wait_for("reexec_done", since=mark)
        return mark

    def metric(self, name):
        r = self.ctl("metrics")
        self.assertEqual(r.returncode, 0, r.stderr)
        return next(float(ln.split()[-1]) for ln in r.stdout.splitlines()
                    if ln.startswith(name + " "))

    def numbered(self, text, what):
        """text is line-0, line-1, ...: each number once, in order, each
        line whole.  Their count."""
        lines = text.split("\n")
        self.assertEqual(lines.pop(), "", f"{what}: a partial last line")
        bad = next((k for k, ln in enumerate(lines) if ln != f"line-{k}"),
                   None)
        self.assertIsNone(bad, f"{what}: line {bad} is "
                          f"{lines[bad] if bad is not None else ''!r}")
        return len(lines)

    def test_output_crosses(self):
        """Services writing numbered lines continuously into pipes of
        ours (inherit, captured for `logs`, and a file:) through two
        hand-overs: every line once, in order, whole; `logs` keeps the
        lines from before."""
        out = os.path.join(self.tmp, "file.out")
        rv = self.start(self.config(f"""
            [service:talk]
            command = {LOOP}
            log_buffer = 4M
            [service:file]
            command = {LOOP}
            stdout = file:{out}
            """))
        self.wait_control(rv)
        pids = [self.wait_state(n, "running")["pid"] for n in ("talk", "file")]

        def more_lines(after):
            def count():
                n = min(rvtest.slurp(p).count("\n")
                        for p in (rv.out_path, out))
                return n if n > after + 50 else None
            return rvtest.wait_until(count, 10, f"{after} lines and more")
        n = more_lines(0)
        first = n
        for _ in range(2):
            self.reexec_ok(rv)
            n = more_lines(n)
        self.assertEqual([self.status_of(n)["pid"] for n in ("talk", "file")],
                         pids)
        self.assertEqual(self.ctl("stop", "talk", "file").returncode, 0)
        self.wait_state("talk", "stopped")
        self.wait_state("file", "stopped")
        self.assertGreaterEqual(self.numbered(rvtest.slurp(rv.out_path),
                                         "inherit"), n)
        self.assertGreaterEqual(self.numbered(rvtest.slurp(out), "file:"), n)
        # the ring crossed: lines written before the first hand-over
        r = self.ctl("logs", "--json", "talk")
        self.assertEqual(r.returncode, 0, r.stderr)
        texts = [json.loads(x)["text"] for x in r.stdout.splitlines()]
        self.assertIn("line-0", texts)
        self.assertIn(f"line-{first}", texts)
        self.assertEqual(rv.shutdown(), 0)

    def test_held_socket_crosses(self):
        """A [socket:NAME] crosses as the same socket: the service keeps
        accepting on it, its next run gets the same inode, and nothing
        was bound again (a second bind of the port, reuse_port off,
        would fail and roll the hand-over back)."""
        exe = rvtest.fixture("listenfds")
        if not os.path.exists(exe):
            self.skipTest("fixtures/listenfds not built (no libsystemd)")
        port = free_port()
        path = os.path.join(self.tmp, "web.sock")
        rv = self.start(self.config(f"""
            [service:web]
            command = {exe}
            [socket:http]
            listen = tcp://127.0.0.1:{port}
            service = web
            [socket:local]
            listen = unix:{path}
            service = web
            """))
        self.wait_control(rv)
        pid = self.wait_state("web", "running")["pid"]
        self.assertEqual(fetch(port), f"listenfds {pid}\n")
        ino = socket_inode(pid, 3)
        self.assertIn(ino, socket_inodes(rv.pid))
        # a unix socket's file: neither the dry run nor the new image
        # unlinks or binds it again
        file_ino = os.stat(path).st_ino
        # a connection made before the hand-over, answered after it
        early = socket.create_connection(("127.0.0.1", port),
                                         timeout=rvtest.T(10))
        for _ in range(2):
            self.reexec_ok(rv)
            self.assertEqual(fetch(port), f"listenfds {pid}\n")
        self.assertEqual(early.makefile("rb").read(),
                         f"listenfds {pid}\n".encode())
        early.close()
        self.assertIn(ino, socket_inodes(rv.pid))
        self.assertEqual(socket_inode(pid, 3), ino)
        self.assertEqual(os.stat(path).st_ino, file_ino)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as u:
            u.connect(path)
        # the next run is given the crossed socket
        self.assertEqual(self.ctl("restart", "web").returncode, 0)
        new = rvtest.wait_until(
            lambda: (self.status_of("web")["pid"] or pid) != pid and
            self.status_of("web")["pid"], 10, "a new web")
        self.wait_state("web", "running")
        self.assertEqual(socket_inode(new, 3), ino)
        self.assertEqual(fetch(port), f"listenfds {new}\n")
        self.assertEqual(rv.shutdown(), 0)

    def test_fd_store_crosses(self):
        """A stored fd crosses: the service's next run, after the
        hand-over, gets the same file back."""
        out = os.path.join(self.tmp, "fdstore.out")
        app = self.write("store.py", PY_FDSTORE_INO)
        rv = self.start(self.config(f"""
            [service:st]
            command = {sys.executable} {app} {out}
            type = notify
            fd_store_max = 2
            restart = always
            restart_delay = 100ms
            """))
        self.wait_control(rv)
        rv.wait_for("fd_stored", service="st", name="state")
        first = self.wait_state("st", "running")["pid"]
        stored = rvtest.slurp(out).split()
        self.assertEqual(stored[0], "stored", stored)
        accepted = 'ringvisor_notify_datagrams_total{result="accepted"}'
        turns = "ringvisor_loop_iterations_total"
        before = self.metric(accepted), self.metric(turns)
        self.assertGreaterEqual(before[0], 2)	# FDSTORE=1, READY=1
        self.reexec_ok(rv)
        # the counters of the loop and the notify socket go on
        self.assertEqual(self.metric(accepted), before[0])
        self.assertGreater(self.metric(turns), before[1])
        mark = rv.mark()
        os.kill(first, signal.SIGKILL)
        rv.wait_for("start", service="st", since=mark)
        text = rvtest.wait_until(lambda: "got" in rvtest.slurp(out) and
                                 rvtest.slurp(out), 10, "read back")
        self.assertIn(f"got state-of-{first} {stored[1]} state\n", text)
        self.assertEqual(rv.shutdown(), 0)

    def test_config_changed_on_disk(self):
        """The new image runs the config the tree was built from, not
        the file edited meanwhile: it says so, and `reload` applies it."""
        def svc(name):
            return (f"[service:{name}]\n"
                    f"command = {self.svc('pause', tag=name)}\n{QUIET}")
        rv = self.start(self.config(svc("a")))
        self.wait_control(rv)
        pid = self.wait_state("a", "running")["pid"]
        self.config(svc("a") + svc("b"))
        mark = self.reexec_ok(rv)
        ev = rv.wait_for("config_changed", since=mark)[0]
        self.assertEqual(ev.get("detail"), "run ringvisor reload to apply")
        self.assertIn("changed", ev.get("what"))
        names = [s["name"] for s in self.ctl_status()["services"]]
        self.assertEqual(names, ["a"])
        self.assertEqual(self.status_of("a")["pid"], pid)
        self.assertEqual(self.ctl("reload").returncode, 0)
        self.wait_state("b", "running")
        self.assertEqual(self.status_of("a")["pid"], pid)
        self.assertEqual(rv.shutdown(), 0)

    def rolls_back(self, how, why):
        rv = self.tree({"RINGVISOR_TEST_RESUME_FAIL": how})
        _, before = self.snapshot()
        r = self.ctl("reexec")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn(why, r.stderr)
        rv.wait_for("reexec_failed")
        sup, after = self.snapshot()
        self.assertEqual(sup["pid"], rv.pid)
        for name in before:
            self.assertEqual(after[name]["pid"], before[name]["pid"])
            self.assertEqual(after[name]["restarts"],
                             before[name]["restarts"])
        self.assertEqual(rv.shutdown(), 0)

    def test_resume_failure_rolls_back(self):
        self.rolls_back("1", "resume failed")

    def test_resume_crash_rolls_back(self):
        self.rolls_back("crash", "crashed while resuming")

    def fake_supervisor(self, answers):
        """A control socket answering its n-th connection's request with
        answers[n] (None: EOF before any reply); the requests it got."""
        path = os.path.join(self.tmp, "fake.sock")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(4)
        srv.settimeout(rvtest.T(10))
        self.addCleanup(srv.close)
        got = []

        def serve():
            for answer in answers:
                try:
                    c, _ = srv.accept()
                except OSError:
                    return
                with c, c.makefile("rb") as f:
                    got.append(json.loads(f.readline()))
                    if answer is not None:
                        c.sendall(json.dumps(answer).encode() + b"\n")
        t = threading.Thread(target=serve, daemon=True)
        t.start()
        self.addCleanup(t.join, rvtest.T(10))
        return path, got

    def test_cli_retries_once(self):
        """The CLI sends a request once more after an EOF before any
        reply, or a {"retry": true} (a supervisor re-executing), and
        only once."""
        ok = {"ok": True, "metrics": "# the new image\n"}
        retry = {"ok": False, "retry": True,
                 "error": "supervisor re-executing"}
        for first in (None, retry):
            path, got = self.fake_supervisor([first, ok])
            r = self.rv("metrics", "-s", path)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, "# the new image\n")
            self.assertEqual(got, [{"cmd": "metrics"}] * 2)
            os.unlink(path)
        path, got = self.fake_supervisor([None, None])
        r = self.rv("metrics", "-s", path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no reply from the supervisor", r.stderr)
        self.assertEqual(len(got), 2)


if __name__ == "__main__":
    rvtest.main()
