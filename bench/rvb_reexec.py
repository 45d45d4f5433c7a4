#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""ringvisor-bench reexec: the live hand-over to a new binary, measured and
stressed (issue 17).  Installed as libexec/ringvisor/rvb-reexec and run by
`ringvisor-bench reexec`, which passes --ringvisor.

Two parts, both on every backend asked for:

  time    N sleeping services (--counts, default 1000,10000), `reexec`
          --repeat times each: the hand-over time the supervisor reports
          (from the quiesce to the new image's first turn, "ms" in the
          reply) and the client's round trip, p50 / max.
  stress  100 services (60 running, 10 in backoff with a 4 s delay, 10
          starting with readiness pending, 10 oneshots completed, 10
          flapping with restart_delay = 0), --clients connections (half
          `ringvisor events` followers, half status pollers), then
          --rounds reexecs back to back.  Checked afterwards: every
          running service kept its pid; every process a flapping service
          started (each writes its pid to a file) is reported by exactly
          one `exit` event; the supervisor holds as many descriptors as
          before; a backoff armed before a hand-over fired at its deadline
          (within --slack).

The driving is of other processes (the CLI, followers, /proc), so it is a
script, like rvb-http.  Exit status 0 when every check holds, 1 when one
failed, 2 for a usage or set-up error.
"""
import argparse
import collections
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def die(msg):
    print("rvb-reexec: " + msg, file=sys.stderr)
    sys.exit(2)


class Control:
    """One control connection: newline-delimited JSON both ways."""

    def __init__(self, path, timeout=60):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""

    def request(self, req):
        self.s.sendall(json.dumps(req).encode() + b"\n")
        return self.line()

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def close(self):
        self.s.close()


def ask(path, req, timeout=60, tries=500):
    """A request on a fresh connection, reconnecting while the supervisor
    is between images (it never closes its listening socket, but a
    connection it had accepted before the hand-over may be closed)."""
    for _ in range(tries):
        try:
            c = Control(path, timeout)
            try:
                rep = c.request(req)
            finally:
                c.close()
            if rep.get("retry"):
                time.sleep(0.01)
                continue
            return rep
        except (EOFError, ConnectionError, FileNotFoundError):
            time.sleep(0.01)
    raise RuntimeError("no answer to %s" % req)


def status(path):
    rep = ask(path, {"cmd": "status"})
    if not rep.get("ok"):
        raise RuntimeError("status: %s" % rep)
    return rep["status"]


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class Supervisor:
    def __init__(self, args, workdir, body, backend):
        self.dir = tempfile.mkdtemp(prefix="rvb-reexec-", dir=workdir)
        self.sock = os.path.join(self.dir, "control.sock")
        self.conf = os.path.join(self.dir, "ringvisor.conf")
        with open(self.conf, "w") as f:
            f.write("[supervisor]\ncontrol_socket = %s\nbackend = %s\n"
                    "max_restarts = infinity\n%s"
                    % (self.sock, backend, body))
        self.log = open(os.path.join(self.dir, "ringvisor.log"), "w+")
        self.proc = subprocess.Popen(
            [args.ringvisor, "run", "-c", self.conf],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait(self, pred, timeout, what):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("ringvisor exited (%s) while waiting for %s; "
                                   "log: %s" % (self.proc.returncode, what,
                                                self.log.name))
            try:
                st = status(self.sock)
                if pred(st):
                    return st
            except (RuntimeError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError("timed out waiting for %s" % what)

    def reexec(self):
        t0 = time.monotonic()
        rep = ask(self.sock, {"cmd": "reexec"}, timeout=120)
        wall = (time.monotonic() - t0) * 1e3
        if not rep.get("ok"):
            raise RuntimeError("reexec: %s" % rep.get("error", rep))
        return rep.get("ms"), wall

    def log_events(self, event):
        """key=value log lines of one event, as dicts."""
        self.log.flush()
        out = []
        with open(self.log.name, errors="replace") as f:
            for line in f:
                if ("event=%s " % event) not in line + " ":
                    continue
                kv = {}
                for tok in line.split():
                    if "=" in tok:
                        k, v = tok.split("=", 1)
                        kv[k] = v.strip('"')
                out.append(kv)
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def phases_p50(events):
    """The median of each *_ms phase of the reexec_done lines."""
    out = {}
    for k in sorted({k for e in events for k in e if k.endswith("_ms")}):
        xs = [float(e[k]) for e in events if k in e]
        out[k] = pct(xs, 50)
    return out


def part_time(args, backend, workdir):
    rows = []
    for n in args.counts:
        body = ("[service:s]\ncommand = sleep 1000000\ninstances = %d\n"
                "restart = always\n" % n)
        if args.output == "null":
            # no pipes (1 pidfd a service crosses): 10,000 fit the limit
            body += "stdout = null\nstderr = null\n"
        sv = Supervisor(args, workdir, body, backend)
        try:
            sv.wait(lambda st: sum(1 for s in st["services"]
                                   if s["state"] == "running") == n,
                    max(60, n / 50), "%d services running" % n)
            ms, wall = [], []
            for _ in range(args.repeat):
                m, w = sv.reexec()
                if m is not None:
                    ms.append(float(m))
                wall.append(w)
            rows.append({"backend": backend, "services": n,
                         "reexecs": args.repeat,
                         "handover_ms_p50": pct(ms, 50) if ms else None,
                         "handover_ms_max": max(ms) if ms else None,
                         "roundtrip_ms_p50": pct(wall, 50),
                         "roundtrip_ms_max": max(wall),
                         "output": args.output,
                         "phases_ms_p50": phases_p50(
                             sv.log_events("reexec_done"))})
        finally:
            sv.stop()
    return rows


STRESS = """
[service:run]
command = sleep 1000000
instances = 60
restart = always

[service:back]
command = sh -c 'sleep 0.2; exit 3'
instances = 10
restart = always
backoff = fixed
restart_delay = 4s
backoff_jitter = 0
max_restarts = infinity

[service:notready]
command = sleep 1000000
type = notify
ready_timeout = 1h
instances = 10

[service:once]
command = true
type = oneshot
instances = 10

[service:flap]
command = sh -c 'echo $$ >> {pids}/flap-%i; echo run $$; sleep 0.05'
instances = 10
restart = always
restart_delay = 0
max_restarts = infinity
"""


def ts_seconds(ts):
    """The log's ts=2026-12-05T06:24:43.734185Z as seconds of the day."""
    hms = ts.split("T")[1].rstrip("Z")
    h, m, sec = hms.split(":")
    return int(h) * 3600 + int(m) * 60 + float(sec)


def backoff_lateness(sv):
    """For each backoff of a `back@` instance: when its start came, minus
    the moment it was scheduled plus its delay (seconds).  Both moments
    are the log's wall-clock stamps, taken when each event was handled,
    not the loop's monotonic time the deadline was computed from: on a
    busy machine a handler that ran late makes the next start look early
    by as much, with or without a hand-over.  So the check is symmetric
    (--slack either way): a timer the new image re-armed from its own
    start instead of the old deadline fires up to the whole 4 s late."""
    pending, late = {}, []
    sv.log.flush()
    # A deadline that falls while the tree is being handed over (from
    # reexec_begin, before the dry run, to reexec_done) cannot fire
    # before the new image's first turn: it counts from that turn.
    windows, begin = [], None
    with open(sv.log.name, errors="replace") as f:
        for line in f:
            kv = dict(tok.split("=", 1) for tok in line.split() if "=" in tok)
            if kv.get("event") == "reexec_begin":
                begin = ts_seconds(kv["ts"])
            elif kv.get("event") in ("reexec_done", "reexec_failed") and begin:
                windows.append((begin, ts_seconds(kv["ts"])))
                begin = None
            name = kv.get("service", "")
            if not name.startswith("back@"):
                continue
            if kv.get("event") == "restart_scheduled":
                pending[name] = ts_seconds(kv["ts"]) + float(kv["delay_ms"]) / 1e3
            elif kv.get("event") == "start" and name in pending:
                due, start = pending.pop(name), ts_seconds(kv["ts"])
                for b, e in windows[-3:]:
                    if b <= due <= e:
                        due = e
                late.append(start - due)
    return late


def part_stress(args, backend, workdir):
    pids_dir = tempfile.mkdtemp(prefix="flap-", dir=workdir)
    sv = Supervisor(args, workdir, STRESS.format(pids=pids_dir), backend)
    failures = []
    stop = threading.Event()
    threads = []
    try:
        st = sv.wait(lambda st: all(
            s["state"] == "running" for s in st["services"]
            if s["name"].startswith("run@")) and all(
            s["state"] == "completed" for s in st["services"]
            if s["name"].startswith("once@")),
            60, "the stress tree up")
        running = {s["name"]: s["pid"] for s in st["services"]
                   if s["name"].split("@")[0] in ("run", "notready")}
        fds0 = fd_count(sv.proc.pid)

        def follower():
            # reads the stream as bytes: parsing every event in Python
            # would make these threads, not the supervisor, the load
            while not stop.is_set():
                try:
                    c = Control(sv.sock, 5)
                    c.request({"cmd": "events"})
                    while not stop.is_set():
                        if not c.s.recv(65536):
                            break	# EOF: the hand-over; reconnect
                    c.close()
                except (EOFError, OSError, ValueError):
                    time.sleep(0.01)

        def poller():
            # a dashboard's pace, not a flood: a status every 10 ms
            while not stop.wait(0.01):
                try:
                    status(sv.sock)
                except (RuntimeError, OSError):
                    pass
        for i in range(args.clients):
            t = threading.Thread(target=follower if i % 2 else poller,
                                 daemon=True)
            t.start()
            threads.append(t)
        ms = []
        for _ in range(args.rounds):
            m, w = sv.reexec()
            ms.append(m if m is not None else w)
        stop.set()
        for t in threads:
            t.join(10)
        st = status(sv.sock)
        now = {s["name"]: s["pid"] for s in st["services"]}
        # descriptors: the followers and pollers are gone; their
        # connections close as the supervisor sees the hang-ups
        end = time.monotonic() + 10
        fds1 = fd_count(sv.proc.pid)
        while fds1 > fds0 and time.monotonic() < end:
            time.sleep(0.05)
            fds1 = fd_count(sv.proc.pid)
        if fds1 > fds0:
            failures.append("%d descriptors before, %d after" % (fds0, fds1))
        for name, pid in running.items():
            if now.get(name) != pid:
                failures.append("%s: pid %s before, %s after" %
                                (name, pid, now.get(name)))
        # every flapping process's exit reported exactly once
        sv.proc.send_signal(signal.SIGTERM)
        sv.proc.wait(60)
        started = []
        for fn in os.listdir(pids_dir):
            with open(os.path.join(pids_dir, fn)) as f:
                started += [int(x) for x in f.read().split()]
        def flap_pids(event):
            return collections.Counter(
                int(kv["pid"]) for kv in sv.log_events(event)
                if kv.get("service", "").startswith("flap@") and
                kv.get("pid", "").isdigit())
        exits = flap_pids("exit")
        # a pid may come back (pid_max is 32,768 here; a loaded CI run
        # starts ~10,000 flapping processes among everything else): each
        # start of it is one exit.  A start is what the pid files saw (a
        # process ran), or what the supervisor logged: the shutdown's
        # SIGTERM may end a run before its shell wrote its pid
        runs = collections.Counter(started)
        starts = flap_pids("start")
        lost = [p for p in runs if exits[p] < runs[p]]
        twice = [p for p, k in exits.items()
                 if k > max(runs[p], starts[p])]
        if lost:
            failures.append("%d flap exits never reported (of %d), e.g. %s"
                            % (len(lost), len(started), lost[:5]))
        if twice:
            failures.append("%d exits reported twice, e.g. %s"
                            % (len(twice), twice[:5]))
        late = backoff_lateness(sv)
        bad = [x for x in late if abs(x) > args.slack]
        if bad:
            failures.append("%d of %d backoffs fired off their deadline "
                            "(by %s s)" % (len(bad), len(late),
                                           ", ".join("%.3f" % x for x in bad[:5])))
        return {"backend": backend, "rounds": args.rounds,
                "clients": args.clients, "flap_runs": len(started),
                "handover_ms_p50": pct(ms, 50), "handover_ms_max": max(ms),
                "fds_before": fds0, "fds_after": fds1,
                "backoffs": len(late),
                "backoff_late_ms_max": max(late) * 1e3 if late else None,
                "failures": failures}
    finally:
        stop.set()
        sv.stop()


def main():
    ap = argparse.ArgumentParser(prog="ringvisor-bench reexec")
    ap.add_argument("--ringvisor", default=shutil.which("ringvisor"))
    ap.add_argument("--counts", default="1000,10000")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--slack", type=float, default=0.25,
                    help="seconds a backoff's start may be off its deadline, "
                         "as the log's stamps see it")
    ap.add_argument("--backend", default="both",
                    choices=("io_uring", "epoll", "both"))
    ap.add_argument("--only", choices=("time", "stress"))
    ap.add_argument("--output", choices=("capture", "null"),
                    default="capture",
                    help="the time part's services: default output "
                    "capture (4 pipe fds a service) or stdout/stderr = null")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--helpers")  # taken by ringvisor-bench itself
    args = ap.parse_args()
    if not args.ringvisor:
        die("no ringvisor binary (--ringvisor PATH)")
    args.counts = [int(x) for x in args.counts.split(",") if x]
    workdir = args.workdir or tempfile.mkdtemp(prefix="rvb-reexec-")
    os.makedirs(workdir, exist_ok=True)
    backends = ["io_uring", "epoll"] if args.backend == "both" else [args.backend]
    res = {"command": " ".join(["ringvisor-bench", "reexec"] + sys.argv[1:]),
           "time": [], "stress": []}
    for b in backends:
        if args.only in (None, "time"):
            res["time"] += part_time(args, b, workdir)
        if args.only in (None, "stress"):
            res["stress"].append(part_stress(args, b, workdir))
    if args.json:
        json.dump(res, sys.stdout, indent=1)
        print()
    else:
        print("hand-over time (ms: the supervisor's own measure; round trip: the client's)")
        print("%-9s %8s %8s %10s %10s %12s %12s" % (
            "backend", "services", "reexecs", "p50 ms", "max ms",
            "rt p50 ms", "rt max ms"))
        for r in res["time"]:
            print("%-9s %8d %8d %10s %10s %12.1f %12.1f" % (
                r["backend"], r["services"], r["reexecs"],
                "%.1f" % r["handover_ms_p50"] if r["handover_ms_p50"] is not None else "-",
                "%.1f" % r["handover_ms_max"] if r["handover_ms_max"] is not None else "-",
                r["roundtrip_ms_p50"], r["roundtrip_ms_max"]))
            print("  output %s, phases p50: %s" % (r["output"], " ".join(
                "%s=%g" % (k[:-3], v)
                for k, v in r["phases_ms_p50"].items())))
        for r in res["stress"]:
            print("stress %s: %d reexecs, %d clients, %d flapping runs, "
                  "%d backoffs (latest %.1f ms after its deadline), "
                  "hand-over p50 %.1f ms max %.1f ms: %s" % (
                      r["backend"], r["rounds"], r["clients"], r["flap_runs"],
                      r["backoffs"], r["backoff_late_ms_max"] or 0,
                      r["handover_ms_p50"], r["handover_ms_max"],
                      "; ".join(r["failures"]) or "every check holds"))
    return 1 if any(r["failures"] for r in res["stress"]) else 0


if __name__ == "__main__":
    sys.exit(main())
