# SPDX-License-Identifier: MIT
"""rvtest: the shared harness of ringvisor's black-box tests.

Each tests/integration/test_*.py is one CTest test, run as
``python3 test_x.py [unittest args]``.  It imports this module, subclasses
``Case`` and ends with ``rvtest.main()``.  Standard library only.

Environment (set by CTest, see tests/CMakeLists.txt):
  RV_BIN          the ringvisor binary (default: <repo>/build/ringvisor)
  RV_FIXTURES     the fixture directory (default: <dir of RV_BIN>/fixtures)
  RV_TIME_SCALE   multiplies every timeout (slow builds: ASan, valgrind)
  RV_KEEP_TMP=1   keep each test's temporary directory
  RV_WRAPPER      a command that runs ringvisor, prepended (split like a
                  shell) to every ringvisor the harness starts, e.g. the
                  seccomp launcher "build/fixtures/rv_seccomp"; it must
                  exec ringvisor (same pid).  Unset: ringvisor itself.
  RINGVISOR_BACKEND and the rest of the environment are passed through to
  ringvisor, so CI runs the whole tier once per backend.

Exit status of a test file: 0 passed, 1 failed, 77 skipped (every test in
the file skipped, or ``skip_file()`` called; the reason is printed).

What a test may rely on (the contract, see shared/CONTRACT.md and
docs/log-events.md): the log lines on ringvisor's stderr, one per event,
``ts=... level=... service=NAME event=... key=value``; the exit status; the
``--report FILE`` JSON; and what the fixture ``svc`` writes (its stamp file
lines ``<CLOCK_MONOTONIC ns> <pid> <ppid> <kind> <tag> <args...>``, see
tests/fixtures/svc.c).  Time is measured from stamps, log timestamps and
our own CLOCK_MONOTONIC (time.monotonic(), the clock the stamps use), never
with a fixed sleep where polling works.

The API (other test files use it: keep it stable):
  Case            a TestCase with .tmp, .stamp_path, .report_path and
                  config(body, **supervisor_keys) -> path, svc(*steps, tag=)
                  -> a `command =` value, svc_argv(), write(name, text),
                  start(config, *args, **popen) -> Proc (`run`),
                  start_exec(cmd, options) -> Proc, rv(*args) ->
                  CompletedProcess, report(proc) -> dict (shape checked),
                  stamps(tag, kind), wait_stamps(n, tag, kind), assertBetween
  Proc            find(event, since=, **kv), wait_for(event, count=, **kv),
                  mark(), service_pids(name), send_signal(sig),
                  shutdown(sig) -> rc, wait() -> rc, running(), kill(),
                  stderr_text(), tail(); .pid, .rc, .out_path (stdout)
  helpers         T(), fixture(), slurp(), rv_env(), wait_until(), alive(),
                  proc_stat(), read_stamps(), service(rep, name),
                  subsupervisor(rep, name), delays_ms(proc, name),
                  io_uring_available(), skip_file(), main(),
                  strays(case), cmdline(pid)
  interleavings   Case: status_of(name) -> status entry or None,
                  sup_state(), wait_state(name, states, timeout=),
                  wait_no_strays(timeout=)
  control plane   Case: .control_path (the config()'s control_socket),
                  ctl(cmd, *args, sock=) -> CompletedProcess of
                  `ringvisor CMD -s SOCK args...`, connect(path=) -> Control,
                  wait_control(proc, path=) -> Control (once it answers),
                  ctl_status(*names, path=) -> the status document;
                  Control (a raw AF_UNIX client, one JSON line each way):
                  request(obj|bytes) -> dict, send(obj|bytes), sendall(b),
                  line(timeout=) -> bytes (b"" at EOF), reply() -> dict,
                  close()
A process this test caused that is left over (ringvisor first, then what
reparented to us: the harness is a subreaper) is killed in cleanup; a failed
test prints the logs and keeps its directory.
"""

import collections
import ctypes
import datetime
import errno
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest
from typing import NamedTuple

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
RV_BIN = os.environ.get("RV_BIN") or os.path.join(REPO, "build", "ringvisor")
FIXTURES = os.environ.get("RV_FIXTURES") or os.path.join(
    os.path.dirname(os.path.abspath(RV_BIN)), "fixtures")
TIME_SCALE = float(os.environ.get("RV_TIME_SCALE", "1") or 1)
KEEP_TMP = os.environ.get("RV_KEEP_TMP") == "1"
WRAPPER = shlex.split(os.environ.get("RV_WRAPPER", ""))
SKIP = 77

# Environment variables that would change what ringvisor does behind our
# back (systemd notification, socket activation, a default config).
_SCRUB_ENV = ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
              "WATCHDOG_USEC", "WATCHDOG_PID", "RINGVISOR_CONFIG")

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_CHILD_SUBREAPER = 36


def T(seconds):
    """A timeout, scaled by RV_TIME_SCALE."""
    return seconds * TIME_SCALE


def slurp(path):
    """The text of path ("" when it does not exist)."""
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""




# A new pid namespace whose PID 1 is the command (ringvisor exec as a
# container's init); its processes die with the unshare.
UNSHARE_PID = ["unshare", "--pid", "--fork", "--mount-proc",
               "--kill-child=SIGKILL"]


def unshare_problem():
    """Why UNSHARE_PID cannot run here, or None."""
    try:
        r = subprocess.run(UNSHARE_PID + ["true"], capture_output=True,
                           text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unshare: {e}"
    if r.returncode != 0:
        return f"unshare --pid --fork --mount-proc: {r.stderr.strip()}"
    return None

def sanitized(path):
    """True when path is built with ASan (its own SEGV, BUS and FPE
    handlers before main(); everything slower)."""
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False

def fixture(name):
    return os.path.join(FIXTURES, name)


def skip_file(reason):
    """Skips the whole test file: prints why and exits 77."""
    print(f"SKIP: {reason}", flush=True)
    sys.exit(SKIP)


def rv_env(extra=None, drop=()):
    """The environment for ringvisor: ours, minus _SCRUB_ENV and drop."""
    env = {k: v for k, v in os.environ.items()
           if k not in _SCRUB_ENV and k not in drop}
    env.update(extra or {})
    return env


def become_subreaper():
    """Orphans of our services reparent to us, so cleanup can find them."""
    if _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("rvtest: PR_SET_CHILD_SUBREAPER failed:",
              os.strerror(ctypes.get_errno()), file=sys.stderr)


# ---------------------------------------------------------------- /proc

def proc_stat(pid):
    """(state, ppid, pgid, starttime) of pid, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    rest = data[data.rindex(")") + 2:].split()
    # fields after "(comm)": 3 state, 4 ppid, 5 pgrp, ..., 22 starttime
    return rest[0], int(rest[1]), int(rest[2]), int(rest[19])


def alive(pid):
    """True when pid exists and is not a zombie (a zombie is dead)."""
    st = proc_stat(pid)
    return st is not None and st[0] not in "ZXx"


def wait_until(pred, timeout, what="condition", interval=0.01):
    """Polls pred() until it returns a true value, which is returned;
    raises AssertionError naming `what` after timeout (scaled) seconds."""
    deadline = time.monotonic() + T(timeout)
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {T(timeout):.1f}s "
                                 f"waiting for {what}")
        time.sleep(interval)


def io_uring_available():
    """(True, "") when this process can set up an io_uring, else
    (False, reason).  Tries io_uring_setup(2) with one entry."""
    nr = {"x86_64": 425, "aarch64": 425}.get(os.uname().machine, 425)
    params = ctypes.create_string_buffer(120)
    fd = _libc.syscall(nr, 1, params)
    if fd >= 0:
        os.close(fd)
        return True, ""
    e = ctypes.get_errno()
    return False, f"io_uring_setup: {errno.errorcode.get(e, e)}"


# ----------------------------------------------------------------- logs

_KV = re.compile(r'([A-Za-z_][A-Za-z0-9_.@:-]*)=("(?:[^"\\]|\\.)*"|\S*)')


def _unquote(v):
    if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
        return re.sub(r'\\(.)', r'\1', v[1:-1])
    return v


class Event(dict):
    """One parsed log line: a dict of its key=value pairs (first occurrence
    of a key wins; all pairs are in .pairs), plus .raw, .index (line number
    in the run), .mono (time.monotonic() when we read it) and .t (the ts=
    timestamp as POSIX seconds, or None)."""

    def __init__(self, raw, index, mono):
        super().__init__()
        self.raw, self.index, self.mono = raw, index, mono
        self.pairs = [(m.group(1), _unquote(m.group(2)))
                      for m in _KV.finditer(raw)]
        for k, v in self.pairs:
            self.setdefault(k, v)
        self.t = None
        ts = self.get("ts")
        if ts:
            try:
                self.t = datetime.datetime.fromisoformat(
                    ts.replace("Z", "+00:00")).timestamp()
            except ValueError:
                pass

    @property
    def event(self):
        return self.get("event")

    def int(self, key):
        return int(self[key])

    def num(self, key):
        return float(self[key])

    def mentions(self, value):
        """True when any key has this exact value."""
        return any(v == value for _, v in self.pairs)


def _matches(ev, event, kv):
    if event is not None and ev.get("event") != event:
        return False
    for k, want in kv.items():
        k = k.rstrip("_")	# service_=..., for keys that are keywords
        got = ev.get(k)
        if callable(want):
            if got is None or not want(got):
                return False
        elif got != str(want):
            return False
    return True


class Proc:
    """A ringvisor process whose stderr is read line by line into events.

    stdout goes to a file in the test's directory (services inherit it);
    stdin is /dev/null.  Everything is kept for the failure dump."""

    def __init__(self, case, argv, env=None, pass_fds=(), preexec_fn=None,
                 restore_signals=True, label="ringvisor"):
        self.case, self.argv, self.label = case, list(argv), label
        self.lines = []
        self.events = []
        self._cond = threading.Condition()
        self._eof = False
        self.rc = None
        self.out_path = os.path.join(case.tmp,
                                     f"{label}.{len(case.procs)}.out")
        if env is None:
            env = rv_env()
        with open(self.out_path, "wb") as out:
            self.p = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.PIPE, env=env,
                pass_fds=pass_fds, preexec_fn=preexec_fn,
                restore_signals=restore_signals, close_fds=True)
        self.pid = self.p.pid
        self.started = time.monotonic()
        case.procs.append(self)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in iter(self.p.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            now = time.monotonic()
            with self._cond:
                ev = Event(line, len(self.lines), now)
                self.lines.append(line)
                if "event" in ev:
                    self.events.append(ev)
                self._cond.notify_all()
        self.p.stderr.close()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    # --- events

    def mark(self):
        """The current line count: pass as since= to see only later events."""
        with self._cond:
            return len(self.lines)

    def find(self, event=None, since=0, **kv):
        """Events so far matching event= and key=value (value may be a
        predicate on the string), in log order."""
        with self._cond:
            return [e for e in self.events
                    if e.index >= since and _matches(e, event, kv)]

    def wait_for(self, event=None, count=1, timeout=10, since=0, **kv):
        """Waits until count events match (see find) and returns the first
        count of them; AssertionError (with the log) on timeout or when
        ringvisor exits first."""
        deadline = time.monotonic() + T(timeout)
        with self._cond:
            while True:
                got = [e for e in self.events
                       if e.index >= since and _matches(e, event, kv)]
                if len(got) >= count:
                    return got[:count]
                left = deadline - time.monotonic()
                if left <= 0 or (self._eof and self.p.poll() is not None):
                    why = "timed out" if left <= 0 else "ringvisor exited"
                    raise AssertionError(
                        f"{why} waiting for {count} x event={event} {kv} "
                        f"(have {len(got)}); rc={self.p.poll()}\n"
                        + self.tail())
                self._cond.wait(min(left, 0.1))

    def service_pids(self, service):
        """Pids of the service's `event=start` lines, in order."""
        return [e.int("pid") for e in self.find("start", service=service)]

    def tail(self, n=60):
        with self._cond:
            lines = self.lines[-n:]
        return "\n".join(f"    | {ln}" for ln in lines)

    # --- process

    def send_signal(self, sig):
        if self.p.poll() is None:
            self.p.send_signal(sig)

    def shutdown(self, sig=signal.SIGTERM, timeout=15):
        """Sends sig and waits for the exit status."""
        self.send_signal(sig)
        return self.wait(timeout)

    def wait(self, timeout=15):
        """Waits for ringvisor to exit and returns its status (negative:
        killed by that signal, as subprocess reports it).  AssertionError
        with the log on timeout; ringvisor is then killed."""
        try:
            self.rc = self.p.wait(T(timeout))
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"{self.label} did not exit within {T(timeout):.1f}s\n"
                + self.tail()) from None
        # the reader ends at EOF; a leaked grandchild may hold the pipe
        self._reader.join(T(2))
        return self.rc

    def running(self):
        return self.p.poll() is None

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        try:
            self.rc = self.p.wait(5)
        except subprocess.TimeoutExpired:
            pass

    def stderr_text(self):
        with self._cond:
            return "\n".join(self.lines)


class Stamp(NamedTuple):
    t: float		# CLOCK_MONOTONIC seconds (time.monotonic() scale)
    pid: int
    ppid: int
    kind: str		# "start" or "gc"
    tag: str
    args: list


def read_stamps(path, tag=None, kind="start"):
    """The stamp lines of path (tests/fixtures/svc.c), filtered by tag and
    kind (None: any), in file order."""
    try:
        with open(path) as f:
            data = f.read()
    except FileNotFoundError:
        return []
    out = []
    for line in data.splitlines():
        parts = line.split(" ")
        if len(parts) < 5:
            continue
        s = Stamp(int(parts[0]) / 1e9, int(parts[1]), int(parts[2]),
                  parts[3], parts[4], parts[5:])
        if (tag is None or s.tag == tag) and (kind is None or s.kind == kind):
            out.append(s)
    return out


# ----------------------------------------------------------------- report

SUPERVISOR_KEYS = {"state", "pid", "uptime_s", "backend", "strategy",
                   "restarts_in_window", "exit_code"}
SERVICE_KEYS = {"name", "state", "pid", "restarts", "uptime_s", "ready",
                "last_exit", "next_restart_in_s"}
SERVICE_STATES = {"stopped", "starting", "running", "stopping", "backoff",
                  "completed", "failed"}


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_report(tc, rep, rc=None, pid=None):
    """Asserts the shape of an exit report (CONTRACT.md + the binary
    contract of the integration tier)."""
    tc.assertIsInstance(rep, dict)
    sup = rep.get("supervisor")
    tc.assertIsInstance(sup, dict, "report: no supervisor object")
    tc.assertLessEqual(SUPERVISOR_KEYS, set(sup),
                       f"report supervisor keys: {sorted(sup)}")
    tc.assertIn(sup["state"], ("completed", "failed"))
    tc.assertIn(sup["backend"], ("io_uring", "epoll"))
    tc.assertTrue(_num(sup["uptime_s"]) and sup["uptime_s"] >= 0)
    tc.assertIsInstance(sup["restarts_in_window"], int)
    if rc is not None:
        tc.assertEqual(sup["exit_code"], rc, "report exit_code != exit status")
        tc.assertEqual(sup["state"], "completed" if rc == 0 else "failed")
    if pid is not None:
        tc.assertEqual(sup["pid"], pid)
    tc.assertIsInstance(rep.get("services"), list, "report: no services list")
    for s in rep["services"]:
        tc.assertLessEqual(SERVICE_KEYS, set(s), f"service keys: {sorted(s)}")
        tc.assertIn(s["state"], SERVICE_STATES, s)
        tc.assertIsInstance(s["restarts"], int)
        tc.assertIsInstance(s["ready"], bool)
        tc.assertTrue(s["pid"] is None or isinstance(s["pid"], int))
        le = s["last_exit"]
        if le is not None:
            if "code" in le:
                tc.assertIsInstance(le["code"], int, le)
            else:
                tc.assertRegex(le.get("signal", ""), r"^SIG[A-Z0-9+]+$", le)
                tc.assertIsInstance(le.get("core_dumped"), bool, le)
    tc.assertIsInstance(rep.get("supervisors"), list,
                        "report: no supervisors list")
    for g in rep["supervisors"]:
        tc.assertLessEqual({"name", "state", "restarts",
                            "restarts_in_window"}, set(g), g)


def service(rep, name):
    for s in rep["services"]:
        if s["name"] == name:
            return s
    raise AssertionError(f"report: no service {name!r}: "
                         f"{[s['name'] for s in rep['services']]}")


def subsupervisor(rep, name):
    for g in rep["supervisors"]:
        if g["name"] == name:
            return g
    raise AssertionError(f"report: no supervisor {name!r}")


# ------------------------------------------------------------------ Case

class Case(unittest.TestCase):
    """A test with its own temporary directory, stamp file, control socket
    and cleanup of every process it caused (ringvisor first, then what
    reparented to us)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="rvtest-")
        self.stamp_path = os.path.join(self.tmp, "stamps")
        self.report_path = os.path.join(self.tmp, "report.json")
        self.procs = []
        self.other_uid = False	# set: svc() fixtures run as another uid
        self.addCleanup(self._cleanup)

    def run(self, result=None):
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        failed = len(result.failures) + len(result.errors) > before
        if failed:
            self._dump()
        if not KEEP_TMP and not failed:
            shutil.rmtree(getattr(self, "tmp", "/nonexistent"),
                          ignore_errors=True)
        return out

    def _dump(self):
        w = sys.stderr.write
        w(f"\n---- {self.id()}: kept {getattr(self, 'tmp', '?')}\n")
        for p in getattr(self, "procs", []):
            w(f"---- {' '.join(p.argv)} (rc={p.p.poll()})\n")
            w(p.tail(200) + "\n")
        for s in read_stamps(getattr(self, "stamp_path", ""), kind=None)[-40:]:
            w(f"    stamp {s}\n")
        sys.stderr.flush()

    def _cleanup(self):
        for p in self.procs:
            p.kill()
        # what is left reparented to us (we are a subreaper): kill it,
        # then its children reparent to us too, so go round a few times
        me = os.getpid()
        for _ in range(5):
            mine = []
            for d in os.listdir("/proc"):
                if d.isdigit():
                    st = proc_stat(int(d))
                    if st and st[1] == me and st[0] not in "ZXx":
                        mine.append(int(d))
            for pid in mine:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self._reap()
            if not mine:
                break
            time.sleep(0.05)
        for p in self.procs:
            p._reader.join(2)

    @staticmethod
    def _reap():
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    # --- config and commands

    def write(self, name, text, mode=0o644):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def public_copy(self, path):
        """A copy of the executable path in our directory, which becomes
        world-searchable: for what runs under another uid (setpriv, user =)
        when the build directory may not be reachable by it (a clone under
        /root, mode 0700).  Binaries link the project statically."""
        os.chmod(self.tmp, os.stat(self.tmp).st_mode | 0o755)
        dest = os.path.join(self.tmp, os.path.basename(path))
        if not os.path.exists(dest):
            shutil.copy(path, dest)
            os.chmod(dest, 0o755)
        return dest

    def config(self, body="", name="ringvisor.conf", **supervisor):
        """Writes a config: a [supervisor] section with test defaults (a
        control socket in our directory, a top-level intensity high enough
        not to interfere) updated by supervisor= keys (None drops a key),
        then body (dedented).  Returns its path."""
        keys = {"control_socket": os.path.join(self.tmp, "control.sock"),
                "max_restarts": 10000, "restart_window": "60s"}
        keys.update(supervisor)
        text = "[supervisor]\n" + "".join(
            f"{k} = {v}\n" for k, v in keys.items() if v is not None)
        body = textwrap.dedent(body)
        for ln in body.splitlines():
            # an indented line would continue the previous value (inih)
            if ln[:1].isspace() and ln.strip():
                raise ValueError(f"indented config line: {ln!r}")
        return self.write(name, text + "\n" + body)

    def svc(self, *steps, tag=None, stamp=True, report_file=None,
            sig_file=None):
        """A `command =` value running the svc fixture with these steps
        (a public_copy when self.other_uid is set: it runs as someone
        else)."""
        exe = fixture("svc")
        argv = [self.public_copy(exe) if self.other_uid else exe]
        if stamp:
            argv += ["--stamp", self.stamp_path]
        if tag is not None:
            argv += ["--tag", str(tag)]
        if report_file:
            argv += ["--report-file", report_file]
        if sig_file:
            argv += ["--sig-file", sig_file]
        argv += [str(s) for s in steps]
        return " ".join(shlex.quote(a) for a in argv)

    def svc_argv(self, *steps, **kw):
        return shlex.split(self.svc(*steps, **kw))

    def start(self, config, *extra, report=True, **kw):
        """Starts `ringvisor run -c config [--report R] extra...`."""
        argv = [*WRAPPER, RV_BIN, "run", "-c", config]
        if report:
            argv += ["--report", self.report_path]
        return Proc(self, argv + list(extra), **kw)

    def start_exec(self, cmd, options=(), **kw):
        """Starts `ringvisor exec options... -- cmd...`."""
        return Proc(self, [*WRAPPER, RV_BIN, "exec", *options, "--", *cmd],
                    label="exec", **kw)

    def rv(self, *args, timeout=20, env=None, **kw):
        """Runs ringvisor to completion: CompletedProcess with text output."""
        try:
            return subprocess.run([*WRAPPER, RV_BIN, *args],
                                  stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True,
                                  errors="replace", timeout=T(timeout),
                                  env=env if env is not None else rv_env(),
                                  **kw)
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"ringvisor {' '.join(args)} did not exit "
                                 f"within {T(timeout):.0f}s; stderr: "
                                 f"{e.stderr!r}") from None

    # --- results

    def report(self, proc=None):
        """Loads the exit report and checks its shape (against proc's exit
        status and pid when given)."""
        self.assertTrue(os.path.exists(self.report_path),
                        "ringvisor wrote no --report file")
        with open(self.report_path) as f:
            rep = json.load(f)
        check_report(self, rep, rc=proc.rc if proc else None,
                     pid=proc.pid if proc else None)
        return rep

    def stamps(self, tag=None, kind="start"):
        return read_stamps(self.stamp_path, tag, kind)

    def wait_stamps(self, n, tag=None, kind="start", timeout=10):
        """Waits for at least n stamps of tag; returns all of them.  Fails
        at once when every process this test started has exited."""
        def enough():
            s = self.stamps(tag, kind)
            if len(s) >= n:
                return s
            if self.procs and all(not p.running() for p in self.procs):
                s = self.stamps(tag, kind)	# it may have just ended
                if len(s) >= n:
                    return s
                raise AssertionError(
                    f"waiting for {n} stamps tag={tag} kind={kind} (have "
                    f"{len(s)}), but ringvisor exited: rc="
                    f"{[p.p.poll() for p in self.procs]}")
            return None
        return wait_until(enough, timeout,
                          f"{n} stamps tag={tag} kind={kind} "
                          f"(have {len(self.stamps(tag, kind))})")

    # --- control plane

    @property
    def control_path(self):
        """The control socket that config() puts in our directory."""
        return os.path.join(self.tmp, "control.sock")

    def ctl(self, cmd, *args, sock=None, **kw):
        """Runs the client `ringvisor CMD -s SOCK args...` to completion."""
        return self.rv(cmd, "-s", sock or self.control_path, *args, **kw)

    def connect(self, path=None, timeout=5):
        """A raw Control connection (closed in cleanup)."""
        c = Control(path or self.control_path, timeout)
        self.addCleanup(c.close)
        return c

    def wait_control(self, proc=None, path=None, timeout=10):
        """Waits until the control socket answers a status request (and
        proc, when given, still runs); returns that open connection."""
        def up():
            if proc is not None and not proc.running():
                raise AssertionError("ringvisor exited before its control "
                                     f"socket answered\n{proc.tail()}")
            try:
                c = Control(path or self.control_path, 2)
            except OSError:
                return None
            try:
                if c.request({"cmd": "status"}).get("ok"):
                    self.addCleanup(c.close)
                    return c
            except (OSError, AssertionError):
                pass
            c.close()
            return None
        return wait_until(up, timeout, "the control socket")

    def ctl_status(self, *names, path=None):
        """The status document ({"supervisor":..., "services": [...]}),
        over a raw connection; AssertionError on an error reply."""
        req = {"cmd": "status"}
        if names:
            req["services"] = list(names)
        with Control(path or self.control_path) as c:
            rep = c.request(req)
        if not rep.get("ok"):
            raise AssertionError(f"status: {rep}")
        return rep["status"]

    # --- state of the running supervisor (polled, never slept for)

    def status_of(self, name, path=None):
        """name's entry in the status document (a service, else a nested
        supervisor), or None when the document has no such member."""
        st = self.ctl_status(path=path)
        for s in st["services"] + st.get("supervisors", []):
            if s["name"] == name:
                return s
        return None

    def sup_state(self, path=None):
        """The top-level supervisor's state (starting, alive, ...)."""
        return self.ctl_status(path=path)["supervisor"]["state"]

    def wait_state(self, name, states, timeout=10, path=None):
        """Polls until name's state is one of states (a str or several)
        and returns its status entry; AssertionError naming the state it
        had when time ran out."""
        want = (states,) if isinstance(states, str) else tuple(states)
        last = [None]

        def settled():
            s = self.status_of(name, path=path)
            last[0] = s and s["state"]
            return s if s and s["state"] in want else None
        try:
            return wait_until(settled, timeout, f"{name} in {want}")
        except AssertionError as e:
            raise AssertionError(f"{e} (it is {last[0]})") from None

    def wait_no_strays(self, timeout=3):
        """Waits until nothing this test caused is left but its ringvisor
        processes (see strays()); AssertionError listing what is."""
        left = []

        def none_left():
            left[:] = strays(self)
            return not left
        try:
            wait_until(none_left, timeout, "no process left over")
        except AssertionError as e:
            raise AssertionError(f"{e}: " + "; ".join(
                f"{p} {cmdline(p)!r}" for p in left)) from None

    def assertBetween(self, value, lo, hi, msg=""):
        self.assertTrue(lo <= value <= hi,
                        f"{value:.3f} not in [{lo:.3f}, {hi:.3f}] {msg}")


# -------------------------------------------------------- control socket

class Control:
    """A raw client of the control socket: one JSON request per line out,
    one JSON reply (or, for a follower, one event) per line in."""

    def __init__(self, path, timeout=5):
        self.path = path
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(T(timeout))
        self.buf = b""		# an incomplete line
        self.lines = collections.deque()	# complete ones, not yet read
        self.eof = False
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise

    def sendall(self, data):
        self.sock.sendall(data)

    def send(self, req):
        """Sends req (a dict, serialized as one line, or raw bytes as is)."""
        if not isinstance(req, (bytes, bytearray)):
            req = json.dumps(req).encode() + b"\n"
        self.sock.sendall(req)

    def line(self, timeout=None):
        """The next line, without its newline; b"" at EOF; socket.timeout
        (an OSError) when nothing came in time (scaled)."""
        self.sock.settimeout(T(timeout if timeout is not None
                               else self.timeout))
        while not self.lines and not self.eof:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.eof = True
                break
            parts = (self.buf + chunk).split(b"\n")
            self.buf = parts.pop()
            self.lines.extend(parts)
        if self.lines:
            return self.lines.popleft()
        ln, self.buf = self.buf, b""
        return ln

    def reply(self, timeout=None):
        """The next line as JSON (AssertionError at EOF or on bad JSON)."""
        ln = self.line(timeout)
        if not ln:
            raise AssertionError(f"control socket {self.path}: EOF, no "
                                 "reply")
        try:
            return json.loads(ln)
        except ValueError:
            raise AssertionError(f"reply is not JSON: {ln[:300]!r}") \
                from None

    def request(self, req, timeout=None):
        self.send(req)
        return self.reply(timeout)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def cmdline(pid):
    """pid's command line, space-separated ("" when it is gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def strays(case):
    """Live processes that reparented to this test (the harness is a
    subreaper) other than the ringvisor processes it started: once those
    have exited, whatever they left running, as roots of its trees."""
    me, ours = os.getpid(), {p.pid for p in case.procs}
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) not in ours:
            st = proc_stat(int(d))
            if st and st[1] == me and st[0] not in "ZXx":
                out.append(int(d))
    return out


def delays_ms(proc, service_name):
    """The delay_ms= values of a service's restart_scheduled lines."""
    return [round(e.num("delay_ms"))
            for e in proc.find("restart_scheduled", service=service_name)]


def main(subreaper=True):
    """Runs the calling module's tests; exits 0, 1, or 77 (all skipped).
    subreaper=False: orphans reparent to init as usual, not to us (a
    test whose tools daemonize, as podman's conmon does)."""
    if not (os.path.isfile(RV_BIN) and os.access(RV_BIN, os.X_OK)):
        print(f"FAIL: no ringvisor binary at {RV_BIN} (set RV_BIN)",
              flush=True)
        sys.exit(1)
    if not os.access(fixture("svc"), os.X_OK):
        print(f"FAIL: no fixture {fixture('svc')} (set RV_FIXTURES)",
              flush=True)
        sys.exit(1)
    if subreaper:
        become_subreaper()
    prog = unittest.main(module="__main__", exit=False, verbosity=2)
    res = prog.result
    if not res.wasSuccessful():
        sys.exit(1)
    if res.testsRun and len(res.skipped) == res.testsRun:
        print("SKIP: every test skipped:",
              "; ".join(sorted({r for _, r in res.skipped})), flush=True)
        sys.exit(SKIP)
    sys.exit(0)
