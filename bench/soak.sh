#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Soak (issue 6, item 5; a benchmark, not a test):
#
#   bench/soak.sh [SECONDS]          (default 600)
#
# ringvisor supervises SERVICES (200) services with zero backoff
# (restart_delay = 0, max_restarts = infinity); the script SIGKILLs a
# running one KILL_RATE (100) times a second -- each process at most once,
# so every kill is one exit -- while CLIENTS (20) control clients poll
# `status` (one request every 100 ms each).  It samples, every 10 s, the
# supervisor's RSS and open descriptors, and every ~20 ms its children in
# /proc (/proc/PID/task/PID/children) for zombies: a zombie of ringvisor is
# a child whose exit the loop has not reaped yet.  It lives until the loop
# turn that handles the exit; the log's `exit` line is written right after
# the reap, so kill -> `exit` ts is each zombie's whole life (the
# distribution is reported).  A zombie still there after ZOMBIE_MAX_S (1 s,
# far above any loop turn here: see the control clients' round trips,
# which include one) fails the run, as does one left at the end.
#
# At the end (SIGTERM, after the kills stop and the restarts settle) every
# exit must be accounted for: kills issued = `exit ... signal=SIGKILL` lines
# = restarts in the exit report = restarts the metrics counted; starts =
# services + restarts; the control clients saw no error.  Prints a markdown
# summary (and writes it, with the series, to $OUT, default
# bench/results/soak.md and soak.json).  Exit 0 when every check passed.
#
# Environment: BUILD_DIR (default build), BACKEND (default: auto),
# SERVICES, KILL_RATE, CLIENTS, OUT.  Run as root (or not): it only signals
# what it started.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
secs=${1:-600}
build=${BUILD_DIR:-build}
rv=$top/$build/ringvisor
helper=$top/$build/bench/rvb-stamp
[ -x "$rv" ] || { echo "soak: no $rv (build first)" >&2; exit 2; }
[ -x "$helper" ] || { echo "soak: no $helper (build first)" >&2; exit 2; }
out=${OUT:-$top/bench/results/soak}
mkdir -p "$(dirname "$out")"

exec python3 - "$rv" "$helper" "$secs" "$out" <<'EOF'
import datetime, json, os, random, re, signal, socket, subprocess, sys
import tempfile, threading, time

# log timestamps (CLOCK_REALTIME) -> CLOCK_MONOTONIC
mono_off = time.time() - time.monotonic()

rv_bin, helper, secs, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), \
    sys.argv[4]
n_svc = int(os.environ.get("SERVICES", 200))
kill_rate = float(os.environ.get("KILL_RATE", 100))
n_clients = int(os.environ.get("CLIENTS", 20))
backend = os.environ.get("BACKEND", "")

work = tempfile.mkdtemp(prefix="rv-soak-", dir="/dev/shm"
                        if os.path.isdir("/dev/shm") else None)
sock = os.path.join(work, "control.sock")
cfg = os.path.join(work, "ringvisor.conf")
with open(cfg, "w") as f:
    f.write(f"[supervisor]\ncontrol_socket = {sock}\n"
            "max_restarts = infinity\nshutdown_timeout = 30s\n\n")
    for i in range(n_svc):
        f.write(f"[service:s{i}]\ncommand = {helper}\n"
                f"environment = STAMP_FILE={work}/stamps STAMP_ID={i}\n"
                "restart = always\nrestart_delay = 0\n"
                "max_restarts = infinity\n\n")
env = dict(os.environ)
for k in ("NOTIFY_SOCKET", "RINGVISOR_CONFIG"):
    env.pop(k, None)
if backend:
    env["RINGVISOR_BACKEND"] = backend
log_path = os.path.join(work, "ringvisor.log")
logf = open(log_path, "wb")
t_start = time.monotonic()
proc = subprocess.Popen([rv_bin, "run", "-c", cfg, "--report",
                         os.path.join(work, "report.json")],
                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                        stderr=logf, env=env, start_new_session=True)
pid = proc.pid
stop = threading.Event()
lock = threading.Lock()


def children():
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def stat(p):
    """(state, starttime) or None."""
    try:
        with open(f"/proc/{p}/stat") as f:
            d = f.read()
    except OSError:
        return None
    rest = d[d.rindex(")") + 2:].split()
    return rest[0], int(rest[19])


def request(s, buf, obj):
    s.sendall(json.dumps(obj).encode() + b"\n")
    while b"\n" not in buf[0]:
        c = s.recv(1 << 20)
        if not c:
            raise EOFError
        buf[0] += c
    line, buf[0] = buf[0].split(b"\n", 1)
    return line


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(sock)
    return s


# wait for all services
deadline = time.monotonic() + 60
while True:
    try:
        s = connect()
        st = json.loads(request(s, [b""], {"cmd": "status"}))
        s.close()
        if sum(x["state"] == "running" for x in st["status"]["services"]) \
                == n_svc:
            break
    except (OSError, ValueError, EOFError, KeyError):
        pass
    if time.monotonic() > deadline or proc.poll() is not None:
        sys.exit("soak: the services never all came up")
    time.sleep(0.2)
t_up = time.monotonic()
print(f"soak: {n_svc} services up in {t_up - t_start:.2f}s; "
      f"{secs:.0f}s of {kill_rate:g} kills/s and {n_clients} clients",
      flush=True)

# --- the control clients
client_stats = {"requests": 0, "errors": 0, "max_s": 0.0, "sum_s": 0.0}


def client(i):
    s, buf = None, [b""]
    time.sleep(i * 0.1 / max(n_clients, 1))
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            if s is None:
                s, buf = connect(), [b""]
            line = request(s, buf, {"cmd": "status"})
            ok = line.startswith(b'{"ok":true') or \
                json.loads(line).get("ok") is True
        except (OSError, ValueError, EOFError):
            ok = False
            if s:
                s.close()
            s = None
        dt = time.monotonic() - t0
        with lock:
            client_stats["requests"] += 1
            client_stats["errors"] += not ok
            client_stats["sum_s"] += dt
            client_stats["max_s"] = max(client_stats["max_s"], dt)
        time.sleep(0.1)
    if s:
        s.close()


# --- the killer: each process at most once
kills = 0
killed = set()		# (pid, starttime)
kill_t = {}		# pid -> CLOCK_MONOTONIC of the kill (last one)


def killer():
    global kills
    period = 1.0 / kill_rate
    nxt = time.monotonic()
    while not stop.is_set():
        nxt += period
        cands = []
        for c in children():
            st = stat(c)
            if st and st[0] in "SR" and (c, st[1]) not in killed:
                cands.append((c, st[1]))
        if cands:
            c, start = random.choice(cands)
            try:
                t = time.monotonic()
                os.kill(c, signal.SIGKILL)
                killed.add((c, start))
                kill_t[c] = t
                kills += 1
            except ProcessLookupError:
                pass
        d = nxt - time.monotonic()
        if d > 0:
            time.sleep(d)
        else:
            nxt = time.monotonic()


# --- the zombie watcher
zombie = {"samples": 0, "seen": 0, "twice": 0, "max_age_s": 0.0}


def watcher():
    prev = {}
    while not stop.is_set():
        now = time.monotonic()
        cur = {}
        for c in children():
            st = stat(c)
            if st and st[0] == "Z":
                key = (c, st[1])
                first = prev.get(key, now)
                cur[key] = first
                zombie["seen"] += key not in prev
                if key in prev:
                    zombie["twice"] += 1
                    zombie["max_age_s"] = max(zombie["max_age_s"],
                                              now - first)
        prev = cur
        zombie["samples"] += 1
        time.sleep(0.02)


def sample():
    with open(f"/proc/{pid}/status") as f:
        rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
    return {"t_s": round(time.monotonic() - t_up, 1), "rss_kib": rss,
            "fds": len(os.listdir(f"/proc/{pid}/fd")),
            "kills": kills, "requests": client_stats["requests"]}


threads = [threading.Thread(target=client, args=(i,), daemon=True)
           for i in range(n_clients)]
threads += [threading.Thread(target=killer, daemon=True),
            threading.Thread(target=watcher, daemon=True)]
series = [sample()]
for t in threads:
    t.start()
end = t_up + secs
while time.monotonic() < end and proc.poll() is None:
    time.sleep(min(10, max(0, end - time.monotonic())))
    if proc.poll() is None:
        series.append(sample())
        s = series[-1]
        print(f"  t={s['t_s']:6.0f}s rss={s['rss_kib']} KiB "
              f"fds={s['fds']} kills={s['kills']}", flush=True)
stop.set()
for t in threads:
    t.join(10)
alive_during = proc.poll() is None
time.sleep(2)			# the last restarts
final = sample() if proc.poll() is None else None
metrics = ""
try:
    s = connect()
    s.sendall(b'{"cmd":"metrics"}\n')
    buf = b""
    while b"\n" not in buf:
        c = s.recv(1 << 20)
        if not c:
            break
        buf += c
    s.close()
    metrics = json.loads(buf.split(b"\n")[0]).get("metrics", "")
except (OSError, ValueError):
    pass
left_zombies = [c for c in children() if (stat(c) or ("?",))[0] == "Z"]
proc.send_signal(signal.SIGTERM)
rc = proc.wait(60)
logf.close()

# --- accounting
rep = json.load(open(os.path.join(work, "report.json")))
starts = exits = exits_kill = exits_term = other = 0
running = set()		# started, not exited yet (pids are reused)
dup = 0
reap_ms = []		# kill -> the `exit` line, for each killed pid
for line in open(log_path, errors="replace"):
    if " event=start " in line:
        starts += 1
        p = int(re.search(r" pid=(\d+)", line).group(1))
        dup += p in running
        running.add(p)
    elif " event=exit " in line:
        exits += 1
        p = int(re.search(r" pid=(\d+)", line).group(1))
        dup += p not in running
        running.discard(p)
        if "signal=SIGKILL" in line:
            exits_kill += 1
            ts = re.match(r"ts=(\S+)", line).group(1)
            t = datetime.datetime.fromisoformat(
                ts.replace("Z", "+00:00")).timestamp() - mono_off
            if p in kill_t:
                reap_ms.append((t - kill_t[p]) * 1000)
        elif "signal=SIGTERM" in line:
            exits_term += 1
        else:
            other += 1
restarts = sum(x["restarts"] for x in rep["services"])
m_restarts = sum(int(v) for v in re.findall(
    r'^ringvisor_service_restarts_total\{[^}]*\} (\d+)$', metrics, re.M))
m_turns = re.search(r"^ringvisor_loop_iterations_total (\d+)$", metrics,
                    re.M)
lat = {}
for le, v in re.findall(r'^ringvisor_restart_latency_seconds_bucket'
                        r'\{le="([^"]+)"\} (\d+)$', metrics, re.M):
    lat[le] = int(v)

def pct(v, q):
    v = sorted(v)
    return round(v[min(len(v) - 1, int(len(v) * q / 100))], 3)


checks = {
    "supervisor alive throughout": alive_during,
    "exit status 0 after SIGTERM": rc == 0,
    "kills = SIGKILL exits": kills == exits_kill,
    "SIGKILL exits = restarts (report)": exits_kill == restarts,
    "restarts (report) = restarts (metrics)": restarts == m_restarts,
    "starts = services + restarts": starts == n_svc + restarts,
    "exits = starts (all stopped at the end)": exits == starts,
    "each start has one exit (per pid, in order)": dup == 0 and
    not running,
    "no other exits": other == 0,
    "every service stopped by SIGTERM": exits_term == n_svc,
    "no zombie older than ZOMBIE_MAX_S": zombie["max_age_s"] <
    float(os.environ.get("ZOMBIE_MAX_S", 1)) and
    (not reap_ms or max(reap_ms) < 1000 *
     float(os.environ.get("ZOMBIE_MAX_S", 1))),
    "no zombie left at the end": not left_zombies,
    "control clients: no error": client_stats["errors"] == 0,
}
warm = [s for s in series if s["t_s"] >= 60] or series
rss = [s["rss_kib"] for s in warm]
fds = [s["fds"] for s in warm]
res = {
    "duration_s": secs, "services": n_svc, "kill_rate": kill_rate,
    "clients": n_clients, "backend": rep["supervisor"]["backend"],
    "kills": kills, "exits_sigkill": exits_kill, "restarts": restarts,
    "metrics_restarts": m_restarts, "starts": starts, "exits": exits,
    "loop_turns": int(m_turns.group(1)) if m_turns else None,
    "zombies": zombie, "clients_stats": client_stats,
    "series": series, "final": final, "rc": rc,
    "restart_latency_buckets": lat, "checks": checks,
    "kill_to_reap_ms": {} if not reap_ms else {
        "n": len(reap_ms), "p50": pct(reap_ms, 50), "p99": pct(reap_ms, 99),
        "p999": pct(reap_ms, 99.9), "max": max(reap_ms)},
}
with open(out + ".json", "w") as f:
    json.dump(res, f, indent=1)

req = client_stats["requests"]
md = [f"### Soak: {secs:.0f} s, {n_svc} services, {kill_rate:g} kills/s, "
      f"{n_clients} status pollers ({res['backend']})", "",
      "| t (s) | RSS (KiB) | open fds | kills so far |",
      "| ---: | ---: | ---: | ---: |"]
md += [f"| {s['t_s']:.0f} | {s['rss_kib']} | {s['fds']} | {s['kills']} |"
       for s in series]
md += ["", f"After warm-up (t >= 60 s): RSS {min(rss)}..{max(rss)} KiB, "
       f"fds {min(fds)}..{max(fds)}.", "",
       f"Kills issued {kills}; exits by SIGKILL in the log {exits_kill}; "
       f"restarts in the report {restarts} (metrics: {m_restarts}); "
       f"starts {starts} = {n_svc} + {restarts}; exits {exits} "
       f"({exits_term} by the final SIGTERM).",
       f"Zombies: {zombie['seen']} seen in {zombie['samples']} samples "
       f"(~20 ms apart), {zombie['twice']} seen twice "
       f"(max age {zombie['max_age_s'] * 1000:.0f} ms), "
       f"{len(left_zombies)} left at the end.",
       "Kill -> reaped (`exit` line), every killed process: " + (
           "p50 {p50} ms, p99 {p99} ms, p99.9 {p999} ms, max {max:.1f} ms "
           "(n = {n}).".format(**res["kill_to_reap_ms"])
           if reap_ms else "none."),
       f"Control: {req} status requests, {client_stats['errors']} errors, "
       f"mean {client_stats['sum_s'] / max(req, 1) * 1000:.1f} ms, "
       f"max {client_stats['max_s'] * 1000:.0f} ms.", ""]
md += [f"* {'PASS' if v else 'FAIL'}: {k}" for k, v in checks.items()]
text = "\n".join(md) + "\n"
with open(out + ".md", "w") as f:
    f.write(text)
print(text)
if os.environ.get("KEEP") != "1":
    subprocess.run(["rm", "-rf", work])
else:
    print("soak: kept", work)
sys.exit(0 if all(checks.values()) else 1)
EOF
