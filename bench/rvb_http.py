#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""ringvisor-bench http: lost requests of a real HTTP server (gunicorn, sync
workers, 4 instances) under wrk while its processes are killed, rolled and
reloaded, under ringvisor (held socket, and gunicorn's own --bind), runit
and supervisord, in the same run.  See bench/README.md ("http").

Run by `ringvisor-bench http` (bench/main.c execs it; installed in
libexec/ringvisor/rvb-http).  A script, not C: every part of it drives
external programs (gunicorn, wrk, the peers' control tools), and the numbers
come from wrk, not from this process's timing."""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SCENARIOS = {
    "kill-one": "SIGKILL of one instance every --kill-interval",
    "kill-all": "SIGKILL of all instances at once",
    "rolling": "rolling restart of all instances",
    "reload": "config reload (a changed environment value)",
}

APP = """\
import os
GEN = os.environ.get("BENCH_GEN", "0").encode()
def application(env, start):
    start("200 OK", [("Content-Type", "text/plain"),
                     ("Content-Length", str(len(GEN) + 1))])
    return [GEN + b"\\n"]
"""

# wrk: per-second 2xx and other responses in each thread (os.time() is a
# whole second), merged with the totals and percentiles as one JSON line
WRK_LUA = """\
local threads = {}
function setup(thread) table.insert(threads, thread) end
per_ok, per_bad = {}, {}
function response(status, headers, body)
  local s = os.time()
  if status >= 200 and status < 300 then
    per_ok[s] = (per_ok[s] or 0) + 1
  else
    per_bad[s] = (per_bad[s] or 0) + 1
  end
end
local function merge(into, t)
  for k, v in pairs(t) do into[k] = (into[k] or 0) + v end
end
function done(summary, latency, requests)
  local ok, bad = {}, {}
  for _, t in ipairs(threads) do
    merge(ok, t:get("per_ok")); merge(bad, t:get("per_bad"))
  end
  local nbad = 0
  for _, v in pairs(bad) do nbad = nbad + v end
  local parts = {}
  for k, v in pairs(ok) do
    table.insert(parts, string.format('"%d":[%d,%d]', k, v, bad[k] or 0))
  end
  for k, v in pairs(bad) do
    if not ok[k] then table.insert(parts, string.format('"%d":[0,%d]', k, v)) end
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"timeout":%d,"status":%d,"non2xx":%d,"p50_us":%d,' ..
    '"p90_us":%d,"p99_us":%d,"max_us":%d,"per_second":{%s}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write,
    e.timeout, e.status, nbad, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max,
    table.concat(parts, ",")))
end
"""


def log(msg):
    print(f"ringvisor-bench http: {msg}", file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def version(argv):
    """the first line a program prints about its version"""
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return ((r.stdout or r.stderr).splitlines() or [""])[0].strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as c:
            c.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
            return c.recv(64).split(b" ")[1:2] == [b"200"]
    except OSError:
        return False


def wait_until(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")


def become_subreaper():
    """orphans of what we start (a killed gunicorn master's workers) become
    our children, so kill_descendants() finds them: as ringvisor-bench does"""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def kill_descendants():
    """SIGKILL whatever we started that is still there, then reap it"""
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    st = f.read()
                parent[int(d)] = int(st[st.rindex(")") + 2:].split()[1])
            except (OSError, ValueError):
                pass
    ours, grew = {os.getpid()}, True
    while grew:
        more = {p for p, pp in parent.items() if pp in ours} - ours
        grew = bool(more)
        ours |= more
    ours.discard(os.getpid())
    for p in ours:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


class Supervisor:
    """One supervisor running gunicorn x instances; subclasses say how to
    start it, find the masters, roll and reload."""

    def __init__(self, opt, work, port):
        self.opt, self.port, self.gen = opt, port, 1
        self.dir = os.path.join(work, self.key)
        os.makedirs(self.dir)
        self.proc = None

    def gunicorn(self, bind):
        argv = [self.opt.gunicorn, "--chdir", self.opt.work, "-w",
                str(self.opt.workers), "--worker-class", "sync",
                "--log-level", "warning"]
        if bind:
            argv += ["--bind", f"127.0.0.1:{self.port}"]
            if self.opt.instances > 1:
                argv.append("--reuse-port")
        return argv + ["app:application"]

    def start(self):
        self.proc = subprocess.Popen(
            self.argv(), cwd=self.dir, stdin=subprocess.DEVNULL,
            stdout=open(os.path.join(self.dir, "out.log"), "w"),
            stderr=subprocess.STDOUT, start_new_session=True,
            env=dict(os.environ, BENCH_GEN="1"))
        self.settle()

    def settle(self):
        """All instances have a master and the port answers."""
        def up():
            if self.proc.poll() is not None:
                with open(os.path.join(self.dir, "out.log")) as f:
                    tail = f.read()[-1500:]
                raise RuntimeError(f"{self.label} exited with status "
                                   f"{self.proc.returncode}:\n{tail}")
            return (len(self.masters()) == self.opt.instances
                    and answers(self.port))
        wait_until(up, 60,
                   f"{self.label}: {self.opt.instances} gunicorn masters "
                   "answering")

    def kill(self, pids):
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.request_stop()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        # orphaned gunicorn workers (a killed master's) keep their session
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, TypeError, AttributeError):
            pass


class Ringvisor(Supervisor):
    def __init__(self, opt, work, port, held):
        self.held = held
        self.key = "ringvisor-held" if held else "ringvisor-bind"
        self.label = ("ringvisor (held socket)" if held
                      else "ringvisor (gunicorn --bind)")
        super().__init__(opt, work, port)
        self.conf = os.path.join(self.dir, "ringvisor.conf")
        self.sock = os.path.join(self.dir, "control.sock")
        self.write_conf()

    def write_conf(self):
        cmd = " ".join(self.gunicorn(bind=not self.held))
        text = (f"[supervisor]\ncontrol_socket = {self.sock}\n"
                "max_restarts = infinity\n\n"
                f"[service:web]\ncommand = {cmd}\ntype = notify\n"
                f"instances = {self.opt.instances}\nrestart_delay = 0\n"
                "backoff_jitter = 0\n"
                "max_restarts = infinity\nready_timeout = 30s\n"
                "restart_mode = rolling\n"
                f"environment = BENCH_GEN={self.gen}\n")
        if self.held:
            text += (f"\n[socket:http]\nlisten = tcp://127.0.0.1:{self.port}"
                     "\nservice = web\n")
        with open(self.conf, "w") as f:
            f.write(text)

    def argv(self):
        return [self.opt.ringvisor, "run", "-c", self.conf]

    def ctl(self, *args):
        r = subprocess.run([self.opt.ringvisor, args[0], "-s", self.sock,
                            *args[1:]], capture_output=True, text=True,
                           timeout=60)
        if r.returncode:
            raise RuntimeError(f"ringvisor {' '.join(args)}: {r.stderr}")
        return r.stdout

    def masters(self):
        try:
            st = json.loads(self.ctl("status", "--json"))
        except (RuntimeError, ValueError):
            return []
        return [s["pid"] for s in st["services"]
                if s["state"] == "running" and s.get("pid")]

    def roll(self):
        self.ctl("restart", "--rolling", "web")
        self.wait_roll()

    def wait_roll(self):
        def done():
            st = json.loads(self.ctl("status", "--json"))
            rolls = [s.get("roll") or {} for s in st["services"]]
            return all(r.get("state") in ("done", "stopped") for r in rolls)
        time.sleep(0.2)
        wait_until(done, 120, f"{self.label}: the roll's end")

    def reload(self):
        self.gen += 1
        self.write_conf()
        self.ctl("reload")
        self.wait_roll()

    def request_stop(self):
        self.proc.send_signal(signal.SIGTERM)


class Runit(Supervisor):
    key, label = "runit", "runit (gunicorn --bind)"

    def __init__(self, opt, work, port):
        super().__init__(opt, work, port)
        self.svdir = os.path.join(self.dir, "service")
        os.makedirs(self.svdir)
        for i in range(opt.instances):
            d = os.path.join(self.svdir, f"web{i}")
            os.makedirs(os.path.join(d, "env"))
            with open(os.path.join(d, "run"), "w") as f:
                f.write("#!/bin/sh\nexec chpst -e ./env "
                        + " ".join(self.gunicorn(bind=True)) + "\n")
            os.chmod(os.path.join(d, "run"), 0o755)
            os.utime(d, (time.time() - 60,) * 2)
        self.write_env()
        # runsvdir sleeps a second before scanning a directory modified in
        # the current second (see ../shared/peers/bench.py)
        os.utime(self.svdir, (time.time() - 60,) * 2)

    def write_env(self):
        for i in range(self.opt.instances):
            with open(os.path.join(self.svdir, f"web{i}", "env",
                                   "BENCH_GEN"), "w") as f:
                f.write(f"{self.gen}\n")

    def argv(self):
        return ["runsvdir", self.svdir]

    def dirs(self):
        return [os.path.join(self.svdir, f"web{i}")
                for i in range(self.opt.instances)]

    def masters(self):
        pids = []
        for d in self.dirs():
            try:
                with open(os.path.join(d, "supervise", "pid")) as f:
                    p = int(f.read().strip() or 0)
            except (OSError, ValueError):
                continue
            if p and alive(p):
                pids.append(p)
        return pids

    def sv(self, *args):
        subprocess.run(["sv", "-w", "30", *args], capture_output=True,
                       timeout=90)

    def roll(self):
        # runit has no rolling restart: one `sv restart` (waits for up)
        # after another, each once the port answers again
        for d in self.dirs():
            self.sv("restart", d)
            wait_until(lambda: answers(self.port), 30, "runit: answers")

    def reload(self):
        # no config reload in runit: the run script (and its envdir) is
        # read at the next start, so the change is applied by restarting
        self.gen += 1
        self.write_env()
        self.roll()

    def request_stop(self):
        self.proc.send_signal(signal.SIGHUP)


class Supervisord(Supervisor):
    key, label = "supervisord", "supervisord (gunicorn --bind)"

    def __init__(self, opt, work, port):
        super().__init__(opt, work, port)
        self.conf = os.path.join(self.dir, "supervisord.conf")
        self.sock = os.path.join(self.dir, "supervisor.sock")
        self.write_conf()

    def write_conf(self):
        with open(self.conf, "w") as f:
            f.write(f"""\
[supervisord]
nodaemon=true
user=root
loglevel=warn
logfile={self.dir}/supervisord.log
pidfile={self.dir}/supervisord.pid
childlogdir={self.dir}

[unix_http_server]
file={self.sock}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{self.sock}

[program:web]
command={" ".join(self.gunicorn(bind=True))}
process_name=web_%(process_num)d
numprocs={self.opt.instances}
environment=BENCH_GEN="{self.gen}"
autorestart=true
startsecs=0
startretries=1000000
stopsignal=TERM
stopwaitsecs=10
stdout_logfile=NONE
stderr_logfile={self.dir}/web_%(process_num)d.err
""")

    def argv(self):
        return ["supervisord", "-n", "-c", self.conf]

    def ctl(self, *args):
        return subprocess.run(["supervisorctl", "-c", self.conf, *args],
                              capture_output=True, text=True,
                              timeout=90).stdout

    def masters(self):
        pids = []
        for line in self.ctl("status").splitlines():
            w = line.split()
            if len(w) > 3 and w[1] == "RUNNING" and w[2] == "pid":
                pids.append(int(w[3].rstrip(",")))
        return pids

    def roll(self):
        # supervisorctl restart of one process (stop, then start) after
        # another, each once the port answers again
        for i in range(self.opt.instances):
            self.ctl("restart", f"web:web_{i}")
            wait_until(lambda: answers(self.port), 30,
                       "supervisord: answers")

    def reload(self):
        # reread + update: a changed program group is stopped and started
        # again as a whole (supervisord has no rolling update)
        self.gen += 1
        self.write_conf()
        self.ctl("reread")
        self.ctl("update")

    def request_stop(self):
        self.proc.send_signal(signal.SIGTERM)


def run_wrk(opt, port, lua):
    # runs until SIGINT (wrk then stops, prints and calls done()): the
    # window is sized around the disturbance, however long it takes
    return subprocess.Popen(
        [opt.wrk, "-t", str(opt.threads), "-c", str(opt.connections),
         "-d", "3600s", "--timeout", opt.wrk_timeout, "-s", lua,
         f"http://127.0.0.1:{port}/"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def scenario(opt, sup, name, lua):
    """wrk for a quarter of --duration, the disturbance (kill-one: half of
    --duration; the others: as long as they take), then wrk for the rest
    of --duration (at least a quarter of it) to see the recovery."""
    sup.settle()
    t0 = time.time()
    wrk = run_wrk(opt, sup.port, lua)
    time.sleep(opt.duration / 4)
    t_act = time.time()
    if name == "kill-one":
        end = t_act + opt.duration / 2
        i = 0
        while time.time() < end:
            m = sup.masters()
            if m:
                sup.kill([m[i % len(m)]])
                i += 1
            time.sleep(opt.kill_interval)
    elif name == "kill-all":
        sup.kill(sup.masters())
    elif name == "rolling":
        sup.roll()
    elif name == "reload":
        sup.reload()
    t_done = time.time()
    time.sleep(max(opt.duration - (t_done - t0), opt.duration / 4))
    wrk.send_signal(signal.SIGINT)
    out, _ = wrk.communicate(timeout=60)
    line = [ln for ln in out.splitlines() if ln.startswith("WRKJSON ")]
    if not line:
        raise RuntimeError(f"wrk printed no result:\n{out[-1500:]}")
    r = json.loads(line[0][8:])
    # wrk's own counts as they are; "connect" is every refused connection:
    # on loopback a non-blocking connect() says EINPROGRESS and the refusal
    # comes back from the request's write(), which wrk counts as a write
    # error (gunicorn's sync workers close after each response, so every
    # write is a connection's first)
    r["wrk_errors"] = {k: r.pop(k) for k in ("connect", "write", "read",
                                             "timeout", "status")}
    w = r["wrk_errors"]
    r.update(connect=w["connect"] + w["write"], read=w["read"],
             timeout=w["timeout"])
    per = sorted((int(k), v) for k, v in r.pop("per_second").items())
    r["series"] = [[k - int(t0), v[0], v[1]] for k, v in per]
    r.update(scenario=name, supervisor=sup.key, label=sup.label,
             action_at_s=round(t_act - t0, 2),
             action_s=round(t_done - t_act, 2),
             rps=round(r["requests"] / (r["duration_us"] / 1e6), 1))
    return r


def table(doc):
    head = ("scenario", "supervisor", "requests", "connect", "read",
            "timeout", "non-2xx", "p50 ms", "p99 ms", "action s")
    rows = [head]
    for r in doc["results"]:
        rows.append((r["scenario"], r["label"], str(r["requests"]),
                     str(r["connect"]), str(r["read"]), str(r["timeout"]),
                     str(r["non2xx"]), f"{r['p50_us'] / 1000:.2f}",
                     f"{r['p99_us'] / 1000:.2f}", f"{r['action_s']:.1f}"))
    w = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w[i]) if i < 2 else c.rjust(w[i])
                       for i, c in enumerate(r)) for r in rows]
    m = doc["machine"]
    lines.append(f"load average {m['loadavg_before']:.2f} -> "
                 f"{m['loadavg_after']:.2f} on {m['ncpu']} CPUs"
                 + (f"; DISTURBED: {m['disturbed']}" if m["disturbed"]
                    else ""))
    return "\n".join(lines)


def plot(doc, path, work):
    if not shutil.which("gnuplot"):
        log("no gnuplot: --plot skipped (apt-get install gnuplot-nox)")
        return
    sups = []
    for r in doc["results"]:
        if r["supervisor"] not in sups:
            sups.append(r["supervisor"])
    scen = [s for s in SCENARIOS if any(r["scenario"] == s
                                        for r in doc["results"])]
    g = [f"set terminal pngcairo size 1400,{420 * ((len(scen) + 1) // 2)}",
         f"set output '{path}'",
         f"set multiplot layout {(len(scen) + 1) // 2},2 title "
         f"'ringvisor-bench http: 2xx responses/s (load {doc['machine']['loadavg_before']:.2f}"
         f", {doc['machine']['ncpu']} CPUs)'",
         "set xlabel 's since wrk started'", "set ylabel '2xx/s'",
         "set key below horizontal maxrows 2", "set yrange [0:*]",
         "set grid"]
    for s in scen:
        g.append(f"set title '{s}: {SCENARIOS[s]}'")
        parts = []
        for sup in sups:
            r = [x for x in doc["results"]
                 if x["scenario"] == s and x["supervisor"] == sup]
            if not r:
                continue
            dat = os.path.join(work, f"{s}-{sup}.dat")
            with open(dat, "w") as f:
                # the first and last seconds are partial: left out
                for t, ok, bad in r[0]["series"][1:-1]:
                    f.write(f"{t} {ok} {bad}\n")
            parts.append(f"'{dat}' using 1:2 with linespoints "
                         f"title '{r[0]['label']}'")
        g.append("plot " + ", ".join(parts))
    g.append("unset multiplot")
    r = subprocess.run(["gnuplot"], input="\n".join(g), text=True,
                       capture_output=True)
    if r.returncode:
        log(f"gnuplot failed: {r.stderr.strip()}")
    else:
        log(f"plot written to {path}")


def disturbed(before, after, ncpu):
    # the run itself keeps wrk and gunicorn busy: about 2 CPUs
    ours = 2.0
    limit = ours + 0.5 * ncpu
    if after > limit and after > before + 0.5:
        return (f"load average rose {before:.2f} -> {after:.2f} on {ncpu} "
                f"CPUs (this run accounts for ~{ours:.0f})")
    if before > limit:
        return (f"machine busy: load average {before:.2f} -> {after:.2f} "
                f"on {ncpu} CPUs (this run accounts for ~{ours:.0f})")
    return None


def parse(argv):
    p = argparse.ArgumentParser(prog="ringvisor-bench http")
    p.add_argument("--helpers")  # used by ringvisor-bench to find us
    p.add_argument("--json", action="store_true")
    p.add_argument("--plot")
    p.add_argument("--ringvisor")
    p.add_argument("--no-ringvisor", action="store_true")
    p.add_argument("--workdir")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--duration", type=float, default=6.0)
    p.add_argument("--kill-interval", type=float, default=1.0)
    p.add_argument("--connections", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--instances", type=int, default=4)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--wrk-timeout", default="2s")
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--supervisors",
                   default="ringvisor-held,ringvisor-bind,runit,supervisord")
    opt = p.parse_args(argv)
    opt.scenarios = [s for s in opt.scenarios.split(",") if s]
    for s in opt.scenarios:
        if s not in SCENARIOS:
            p.error(f"--scenarios: unknown \"{s}\" (one of "
                    f"{', '.join(SCENARIOS)})")
    opt.supervisors = [s for s in opt.supervisors.split(",") if s]
    return opt


def main(argv):
    opt = parse(argv)
    opt.gunicorn = shutil.which("gunicorn") or shutil.which("gunicorn3")
    opt.wrk = shutil.which("wrk")
    for what, path in (("gunicorn", opt.gunicorn), ("wrk", opt.wrk)):
        if not path:
            log(f"{what} is not installed (apt-get install {what})")
            return 1
    if not opt.ringvisor:
        here = os.path.dirname(os.path.abspath(__file__))
        for c in (os.path.join(here, "ringvisor"),
                  os.path.join(here, "..", "ringvisor"),
                  "/usr/bin/ringvisor", "/usr/sbin/ringvisor"):
            if os.access(c, os.X_OK):
                opt.ringvisor = c
                break
    work = opt.workdir or tempfile.mkdtemp(
        prefix="rvb-http-", dir="/dev/shm" if os.path.isdir("/dev/shm")
        else None)
    os.makedirs(work, exist_ok=True)
    opt.work = work
    with open(os.path.join(work, "app.py"), "w") as f:
        f.write(APP)
    lua = os.path.join(work, "report.lua")
    with open(lua, "w") as f:
        f.write(WRK_LUA)

    kinds = []
    for s in opt.supervisors:
        if s.startswith("ringvisor"):
            if opt.no_ringvisor:
                continue
            if not opt.ringvisor:
                log(f"{s}: no ringvisor binary (--ringvisor PATH)")
                continue
            kinds.append(lambda port, s=s: Ringvisor(
                opt, work, port, s == "ringvisor-held"))
        elif s == "runit":
            if shutil.which("runsvdir") and shutil.which("sv"):
                kinds.append(lambda port: Runit(opt, work, port))
            else:
                log("runit skipped: not installed (apt-get install runit)")
        elif s == "supervisord":
            if shutil.which("supervisord"):
                kinds.append(lambda port: Supervisord(opt, work, port))
            else:
                log("supervisord skipped: not installed "
                    "(apt-get install supervisor)")
        else:
            log(f"--supervisors: unknown \"{s}\"")
            return 2

    become_subreaper()
    ncpu = os.cpu_count() or 1
    before = loadavg()
    if before > 0.5 * ncpu:
        log(f"WARNING: the machine is busy before the run (load average "
            f"{before:.2f} on {ncpu} CPUs): counts and latencies will show "
            "others' work; prefer a quiet machine for results")
    results = []
    for make in kinds:
        sup = make(free_port())
        log(f"{sup.label}: starting")
        try:
            sup.start()
            for name in opt.scenarios:
                log(f"{sup.label}: {name} ({opt.duration:g}s)")
                results.append(scenario(opt, sup, name, lua))
        finally:
            sup.stop()
            kill_descendants()
    after = loadavg()
    doc = {"bench": "ringvisor-bench", "command": "http",
           "env": {"gunicorn": opt.gunicorn, "wrk": opt.wrk,
                   "gunicorn_version": version([opt.gunicorn, "--version"]),
                   "wrk_version": version([opt.wrk, "-v"]),
                   "loadavg": open("/proc/loadavg").read().strip(),
                   "ringvisor": opt.ringvisor, "host": os.uname().nodename,
                   "kernel": os.uname().release,
                   "date": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                         time.gmtime())},
           "params": {k: getattr(opt, k) for k in (
               "duration", "kill_interval", "connections", "threads",
               "instances", "workers", "wrk_timeout", "scenarios",
               "supervisors")},
           "machine": {"loadavg_before": before, "loadavg_after": after,
                       "ncpu": ncpu,
                       "disturbed": disturbed(before, after, ncpu)},
           "results": results}
    doc["machine"]["trustworthy"] = doc["machine"]["disturbed"] is None
    if opt.plot:
        plot(doc, opt.plot, work)
    text = table(doc)
    if opt.json:
        print(text, file=sys.stderr)
        json.dump(doc, sys.stdout, indent=1)
        print()
    else:
        print(text)
    if not opt.keep and not opt.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
