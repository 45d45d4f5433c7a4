#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Control socket abuse (issue 6, item 6; a benchmark, not a test).

    bench/abuse.py [--build DIR] [--kills N] [--baseline N] [--idle 1000]
                   [--slow 50] [--big 4] [--json FILE] [--md FILE]

ringvisor supervises a victim service (bench/rvb-stamp: it appends
"<CLOCK_MONOTONIC ns> <pid> <id>" to a stamp file, then sleeps) with
restart_delay = 0, plus 20 quiet services.  Once a second the script
SIGKILLs the victim and measures the failover latency: the replacement's
stamp minus the kill, both CLOCK_MONOTONIC (as bench/ringvisor-bench
restart does).  First --baseline kills with nothing else going on, then
--kills kills while the control socket is abused by:

* --idle connections (1000) that connect and say nothing; the supervisor
  hangs up on them after 10 s idle, and they reconnect at once, so about
  that many are always open;
* --slow clients (50) sending a request one byte a second (never
  finishing it: a 64 KiB line at that pace takes 18 hours); the
  supervisor hangs up on each after 10 s (a line is due 10 s after it
  starts waiting for it), and it reconnects;
* a client that connects, sends part of a request and disconnects, about
  200 times a second;
* --big clients (4) sending 10 MiB requests (one line, newline at the
  end) in a loop, reading the answer (an error: lines are at most 64 KiB);
* a well-behaved client asking `status` every 200 ms: every answer must
  come (ok), its latency is reported.

Reports (markdown on stdout, and --json/--md files) failover latency
percentiles for both phases, the well-behaved client's latencies, how many
abusive operations ran, and the supervisor's CPU time, RSS, descriptors
and control connections.  Exit 1 when a well-behaved request failed or a
failover took longer than 1 s; 0 otherwise.  Root or not; raises its own
RLIMIT_NOFILE to the hard limit, and ringvisor's to 65536 (or the hard
limit) so that it is the connection cap (4096), not the descriptor limit,
that bounds it.
"""

import argparse
import json
import os
import random
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def pct(v, q):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * q / 100))]


def summary_ms(v):
    return {"n": len(v), "p50": pct(v, 50), "p90": pct(v, 90),
            "p99": pct(v, 99), "max": max(v) if v else float("nan")}


class Bench:

    def __init__(self, a):
        self.a = a
        self.work = tempfile.mkdtemp(prefix="rv-abuse-",
                                     dir="/dev/shm" if os.path.isdir(
                                         "/dev/shm") else None)
        self.sock = os.path.join(self.work, "control.sock")
        self.stamps = os.path.join(self.work, "stamps")
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.count = {"idle_connects": 0, "idle_hangups": 0,
                      "slow_bytes": 0, "slow_hangups": 0,
                      "partial": 0, "big": 0, "big_errors": 0,
                      "big_bytes": 0, "good": 0, "good_failed": 0,
                      "connect_errors": 0}
        self.good_ms = []
        self.big_s = []

    def bump(self, k, n=1):
        with self.lock:
            self.count[k] += n

    # --- ringvisor

    def start(self):
        helper = os.path.join(self.a.build, "bench", "rvb-stamp")
        rv = os.path.join(self.a.build, "ringvisor")
        for p in (helper, rv):
            if not os.access(p, os.X_OK):
                sys.exit(f"abuse: no {p} (build first)")
        cfg = os.path.join(self.work, "ringvisor.conf")
        with open(cfg, "w") as f:
            f.write(f"[supervisor]\ncontrol_socket = {self.sock}\n"
                    "max_restarts = infinity\n\n"
                    f"[service:victim]\ncommand = {helper}\n"
                    f"environment = STAMP_FILE={self.stamps} STAMP_ID=0\n"
                    "restart = always\nrestart_delay = 0\n"
                    "backoff_jitter = 0\nmax_restarts = infinity\n\n"
                    f"[service:quiet]\ncommand = {helper}\ninstances = 20\n"
                    f"environment = STAMP_FILE={self.work}/quiet\n")
        env = {k: v for k, v in os.environ.items()
               if k not in ("NOTIFY_SOCKET", "RINGVISOR_CONFIG")}
        if self.a.backend:
            env["RINGVISOR_BACKEND"] = self.a.backend
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        want = 65536 if hard == resource.RLIM_INFINITY else min(65536, hard)

        def limits():
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        self.log = open(os.path.join(self.work, "ringvisor.log"), "wb")
        self.proc = subprocess.Popen(
            [rv, "run", "-c", cfg], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self.log, env=env,
            preexec_fn=limits, start_new_session=True)
        deadline = time.monotonic() + 30
        while not self.good_request(record=False):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                sys.exit("abuse: ringvisor did not come up")
            time.sleep(0.1)
        self.rv_nofile = want

    def proc_sample(self):
        pid = self.proc.pid
        with open(f"/proc/{pid}/stat") as f:
            st = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/status") as f:
            rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        tck = os.sysconf("SC_CLK_TCK")
        return {"cpu_s": (int(st[11]) + int(st[12])) / tck, "rss_kib": rss,
                "fds": len(os.listdir(f"/proc/{pid}/fd"))}

    # --- clients

    def connect(self, timeout=10):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.sock)
        return s

    def good_request(self, record=True, cmd="status"):
        t0 = time.monotonic()
        try:
            with self.connect(10) as s:
                s.sendall(json.dumps({"cmd": cmd}).encode() + b"\n")
                buf = b""
                while b"\n" not in buf:
                    c = s.recv(1 << 20)
                    if not c:
                        break
                    buf += c
            ok = json.loads(buf.split(b"\n")[0]).get("ok") is True
        except (OSError, ValueError):
            ok, buf = False, b""
        if record:
            self.bump("good" if ok else "good_failed")
            if ok:
                with self.lock:
                    self.good_ms.append((time.monotonic() - t0) * 1000)
        return buf if ok else None

    def good_client(self):
        while not self.stop.is_set():
            self.good_request()
            self.stop.wait(0.2)

    def idle_holder(self):
        sel = selectors.DefaultSelector()
        socks = set()

        def fill():
            while len(socks) < self.a.idle and not self.stop.is_set():
                try:
                    s = self.connect(5)
                except OSError:
                    self.bump("connect_errors")
                    time.sleep(0.05)
                    return
                s.setblocking(False)
                sel.register(s, selectors.EVENT_READ)
                socks.add(s)
                self.bump("idle_connects")
        fill()
        while not self.stop.is_set():
            for key, _ in sel.select(0.2):
                s = key.fileobj
                try:
                    data = s.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(s)
                    socks.discard(s)
                    s.close()
                    self.bump("idle_hangups")
            fill()
        for s in socks:
            s.close()

    def slow_clients(self):
        line = b'{"cmd":"status","pad":"' + b"x" * 65000 + b'"}\n'
        conns = []
        for _ in range(self.a.slow):
            try:
                conns.append([self.connect(5), 0])
            except OSError:
                self.bump("connect_errors")
        while not self.stop.is_set():
            t0 = time.monotonic()
            for c in conns:
                s, off = c
                if s is None:
                    try:
                        c[0], c[1] = self.connect(5), 0
                    except OSError:
                        self.bump("connect_errors")
                    continue
                try:
                    s.send(line[off:off + 1])
                    c[1] += 1
                    self.bump("slow_bytes")
                except OSError:
                    s.close()
                    c[0] = None
                    self.bump("slow_hangups")
            self.stop.wait(max(0, 1 - (time.monotonic() - t0)))
        for s, _ in conns:
            if s:
                s.close()

    def partial_clients(self):
        req = json.dumps({"cmd": "status", "services": ["victim"]}).encode()
        while not self.stop.is_set():
            try:
                s = self.connect(5)
                s.sendall(req[:random.randrange(1, len(req))])
                s.close()
                self.bump("partial")
            except OSError:
                self.bump("connect_errors")
            self.stop.wait(0.005)

    def big_client(self):
        chunk = b"x" * (1 << 20)
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                with self.connect(30) as s:
                    s.sendall(b'{"cmd":"status","pad":"')
                    for _ in range(10):
                        s.sendall(chunk)
                    s.sendall(b'"}\n')
                    buf = b""
                    while b"\n" not in buf:
                        c = s.recv(65536)
                        if not c:
                            break
                        buf += c
                rep = json.loads(buf.split(b"\n")[0])
                if rep.get("ok") is False and "too large" in \
                        rep.get("error", ""):
                    self.bump("big")
                    self.bump("big_bytes", 10 * len(chunk))
                    with self.lock:
                        self.big_s.append(time.monotonic() - t0)
                else:
                    self.bump("big_errors")
            except (OSError, ValueError):
                self.bump("big_errors")

    # --- failover

    def last_stamp(self):
        try:
            with open(self.stamps) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return None
        if not lines:
            return None
        ns, pid, _ = lines[-1].split()
        return int(ns) / 1e9, int(pid), len(lines)

    def failovers(self, n):
        out = []
        for _ in range(n):
            t_next = time.monotonic() + 1.0
            st = self.last_stamp()
            if not st:
                time.sleep(0.1)
                continue
            _, pid, count = st
            t_kill = time.monotonic()
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            deadline = t_kill + 5
            while True:
                st = self.last_stamp()
                if st and st[2] > count:
                    out.append((st[0] - t_kill) * 1000)
                    break
                if time.monotonic() > deadline:
                    out.append(float("inf"))
                    break
                time.sleep(0.0005)
            time.sleep(max(0, t_next - time.monotonic()))
        return out

    def metric(self, name):
        buf = self.good_request(record=False, cmd="metrics")
        if not buf:
            return None
        text = json.loads(buf.split(b"\n")[0]).get("metrics", "")
        m = re.search(rf"^{name} (\S+)$", text, re.M)
        return float(m.group(1)) if m else None

    def run(self):
        self.start()
        print(f"abuse: baseline, {self.a.baseline} kills", flush=True)
        s0 = self.proc_sample()
        base = self.failovers(self.a.baseline)
        s1 = self.proc_sample()
        workers = [threading.Thread(target=self.good_client),
                   threading.Thread(target=self.idle_holder),
                   threading.Thread(target=self.slow_clients),
                   threading.Thread(target=self.partial_clients)]
        workers += [threading.Thread(target=self.big_client)
                    for _ in range(self.a.big)]
        for t in workers:
            t.daemon = True
            t.start()
        time.sleep(3)		# the idle connections pile up
        conns_peak = 0
        print(f"abuse: under abuse, {self.a.kills} kills", flush=True)
        s2 = self.proc_sample()
        abused = []
        for i in range(0, self.a.kills, 10):
            abused += self.failovers(min(10, self.a.kills - i))
            c = self.metric("ringvisor_control_connections")
            if c:
                conns_peak = max(conns_peak, c)
            print(f"  {len(abused)} kills, p50 "
                  f"{pct(abused, 50):.2f} ms, {int(c or 0)} connections, "
                  f"{self.count}", flush=True)
        s3 = self.proc_sample()
        self.stop.set()
        for t in workers:
            t.join(40)
        alive = self.proc.poll() is None
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(60)
        res = {
            "backend": self.backend(),
            "ringvisor_nofile": self.rv_nofile,
            "failover_ms_baseline": summary_ms(base),
            "failover_ms_abuse": summary_ms(abused),
            "good_client_ms": summary_ms(self.good_ms),
            "big_request_s": summary_ms(self.big_s),
            "counts": self.count,
            "control_connections_peak": conns_peak,
            "cpu_s_per_s_baseline": (s1["cpu_s"] - s0["cpu_s"]) /
            max(1, self.a.baseline),
            "cpu_s_per_s_abuse": (s3["cpu_s"] - s2["cpu_s"]) /
            max(1, self.a.kills),
            "rss_kib": [s0["rss_kib"], s3["rss_kib"]],
            "fds": [s0["fds"], s3["fds"]],
            "alive": alive, "rc": rc,
        }
        ok = (alive and rc == 0 and self.count["good_failed"] == 0 and
              self.count["good"] > 0 and
              max(base + abused, default=0) < 1000)
        res["ok"] = ok
        return res

    def backend(self):
        for ln in open(os.path.join(self.work, "ringvisor.log"),
                       errors="replace"):
            m = re.search(r" event=backend backend=(\S+)", ln)
            if m:
                return m.group(1)
        return "?"


def markdown(r, a):
    b, x, g = (r["failover_ms_baseline"], r["failover_ms_abuse"],
               r["good_client_ms"])
    c = r["counts"]
    row = ("| {} | {n} | {p50:.2f} | {p90:.2f} | {p99:.2f} | {max:.2f} |")
    out = [f"### Control socket abuse ({r['backend']})", "",
           f"{a.idle} idle connections (re-opened when hung up on), "
           f"{a.slow} clients sending one byte a second, a client "
           "disconnecting mid-request ~200 times a second, "
           f"{a.big} clients sending 10 MiB requests in a loop; the victim "
           "(restart_delay = 0) SIGKILLed once a second; failover = "
           "replacement's stamp - kill (CLOCK_MONOTONIC).", "",
           "| phase | kills | p50 ms | p90 ms | p99 ms | max ms |",
           "| --- | ---: | ---: | ---: | ---: | ---: |",
           row.format("quiet", **b), row.format("under abuse", **x), "",
           "| well-behaved `status` | requests | p50 ms | p90 ms | p99 ms "
           "| max ms |", "| --- | ---: | ---: | ---: | ---: | ---: |",
           row.format("connect + request + reply", **g), "",
           f"Abuse done: {c['idle_connects']} idle connects "
           f"({c['idle_hangups']} hung up on by the 10 s idle timeout), "
           f"{c['slow_bytes']} slow bytes ({c['slow_hangups']} slow "
           "clients hung up on by the 10 s line deadline, and "
           f"reconnected), {c['partial']} mid-request disconnects, "
           f"{c['big']} 10 MiB requests refused with an error "
           f"(p50 {r['big_request_s']['p50']:.2f} s each; "
           f"{c['big_errors']} other outcomes), {c['connect_errors']} "
           "connect errors. Well-behaved requests failed: "
           f"{c['good_failed']}.",
           f"Peak control connections (metrics): "
           f"{r['control_connections_peak']:.0f}; supervisor CPU "
           f"{r['cpu_s_per_s_baseline']:.3f} s/s quiet, "
           f"{r['cpu_s_per_s_abuse']:.3f} s/s under abuse; RSS "
           f"{r['rss_kib'][0]} -> {r['rss_kib'][1]} KiB; fds "
           f"{r['fds'][0]} -> {r['fds'][1]} (RLIMIT_NOFILE "
           f"{r['ringvisor_nofile']}). Exit status after SIGTERM: "
           f"{r['rc']}.", ""]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--backend", default="")
    ap.add_argument("--baseline", type=int, default=20)
    ap.add_argument("--kills", type=int, default=60)
    ap.add_argument("--idle", type=int, default=1000)
    ap.add_argument("--slow", type=int, default=50)
    ap.add_argument("--big", type=int, default=4)
    ap.add_argument("--json")
    ap.add_argument("--md")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    b = Bench(a)
    try:
        r = b.run()
    finally:
        if b.__dict__.get("proc") and b.proc.poll() is None:
            b.proc.kill()
        subprocess.run(["rm", "-rf", b.work])
    md = markdown(r, a)
    print(md)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(r, f, indent=1)
    if a.md:
        with open(a.md, "w") as f:
            f.write(md)
    sys.exit(0 if r["ok"] else 1)


if __name__ == "__main__":
    main()
