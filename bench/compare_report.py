#!/usr/bin/env python3
"""compare_report.py: bench/RESULTS.md from the JSON that compare.sh
collected in bench/results/ (one file per ringvisor-bench scenario).

    compare_report.py --results DIR --out FILE

DIR/meta.json (written by compare.sh) gives the command line, the
duration, the peers' package versions and the commit; options override it.

Every number in the report comes from those files; the hand-written
explanation of where ringvisor loses (bench/analysis.md) is appended as is.
"""
import argparse
import json
import os
import platform


def load(res, name):
    try:
        with open(os.path.join(res, name + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def cmd_of(res, name):
    """`command` of a scenario, and the machine's load when it ended
    (others' work on the machine shows in every number)"""
    try:
        with open(os.path.join(res, name + ".cmd")) as f:
            cmd = f.read().strip()
    except OSError:
        cmd = "?"
    d = load(res, name)
    load_avg = d and d.get("env", {}).get("loadavg")
    if load_avg:
        return "`%s` (load average 1/5/15 min when it ended: %s)" % (
            cmd, " ".join(load_avg.split()[:3]))
    return "`%s`" % cmd


def fmt(v, nd=1):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return "%.*f" % (nd, v)
    return str(v)


def ratio(a, b):
    if a is None or not b:
        return None
    return a / b


def rfmt(r):
    if r is None:
        return "n/a"
    return "%.2fx" % r if r >= 0.1 else "%.4fx" % r


def row(cells):
    return "| " + " | ".join(cells) + " |"


def by_label(rows, pred):
    for r in rows or []:
        if pred(r):
            return r
    return None


def mem_total():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return "%d MiB" % (int(line.split()[1]) // 1024)
    except OSError:
        pass
    return "?"


def os_name():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "?"


class Report:
    def __init__(self):
        self.lines = []
        self.targets = []      # (target, measured, verdict)

    def a(self, s=""):
        self.lines.append(s)

    def target(self, what, measured, ok, detail=""):
        v = "n/a" if ok is None else ("met" if ok else "**missed**")
        if detail:
            v += " (" + detail + ")"
        self.targets.append((what, measured, v))


def restart_section(R, res, name="restart", bare=False):
    d = load(res, name)
    if bare:
        R.a("### 1b. The same without the service's own start-up")
    else:
        R.a("## 1. Restart (failover) latency")
    R.a()
    if not d:
        R.a("No data (%s.json missing; see results/%s.log)." % (name, name))
        R.a()
        return
    p = d["params"]
    if bare:
        R.a("`--service bare`: `rvb-stamp-bare`, the same stamp taken at the "
            "program's first instruction, without a C library (x86_64). A "
            "static glibc program spends ~350 us in its own start-up on this "
            "VM (CPUID, a VM exit each), the same under every supervisor, "
            "which pulls every ratio above toward 1; this run shows the "
            "supervisors' own share. Peers left out (same program, same "
            "method; the run would not fit its time budget). %d kills each, "
            "%.1f s up before each." % (p["samples"], p["uptime_s"]))
    else:
        R.a("One `rvb-stamp` service per supervisor; it stamps CLOCK_MONOTONIC "
            "first thing in `main()`. Round robin over all supervisors (so VM "
            "noise hits all alike): wait until the instance has run %.1f s "
            "and the benchmark has slept at least 200 ms, "
            "t0 = CLOCK_MONOTONIC, SIGKILL through a pidfd, latency = the "
            "replacement's stamp - t0. %d kills each, after %d warm-up "
            "round(s). The *floor* is `rvb-cloop --floor`: blocked in "
            "`waitid(P_ALL)`, then `vfork()` + `execve()` and nothing else "
            "(no pidfd, no signal resets, no bookkeeping): kernel exit, one "
            "wake-up, clone and exec, the least any fork+exec supervisor "
            "can take." % (p["uptime_s"], p["samples"], p["warmup"]))
    R.a()
    R.a("Command: %s" % cmd_of(res, name))
    R.a()
    rows = d["results"]
    base = by_label(rows, lambda r: r.get("kind") == "baseline")
    floor = by_label(rows, lambda r: r.get("kind") == "floor")
    runit = by_label(rows, lambda r: r["label"] == "runit")
    R.a(row(["supervisor", "n", "min us", "p50 us", "p90 us", "p99 us",
             "max us", "p50 / C loop", "p50 / floor", "p50 / runit"]))
    R.a("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if not r.get("n"):
            R.a(row([r["label"], "0", "", "", "", "", "", "", "",
                     r.get("note", "no samples")]))
            continue
        R.a(row([r["label"], str(r["n"]), fmt(r["min_us"]), fmt(r["p50_us"]),
                 fmt(r["p90_us"]), fmt(r["p99_us"]), fmt(r["max_us"]),
                 rfmt(ratio(r["p50_us"], base and base.get("p50_us"))),
                 rfmt(ratio(r["p50_us"], floor and floor.get("p50_us"))),
                 rfmt(ratio(r["p50_us"], runit and runit.get("p50_us")))]))
    R.a()
    R.a("Percentiles are nearest-rank: with %d samples, p99 is the %s." % (
        p["samples"], "second largest" if p["samples"] >= 100 else "largest sample"))
    R.a()
    steps = [r for r in rows if r.get("step_kill_to_exit_logged")]
    if steps:
        R.a("Where ringvisor's time goes, from its own log lines (CLOCK_REALTIME, "
            "1 us resolution, mapped to the kill time): *kill -> exit logged* is "
            "kernel exit + wake-up up to the exit's completion being handled "
            "(the `event=exit` line carries that time, though it is written "
            "after the respawn); *exit -> start logged* is the restart "
            "decision, up to the moment the spawn begins (the time the "
            "`event=start` line carries); the rest of the latency is clone, "
            "exec and the new process starting up (the static binary's first "
            "instruction). `bench/phases.sh` splits the rest with ftrace.")
        R.a()
        R.a(row(["ringvisor step", "n", "p50 us", "p90 us", "max us"]))
        R.a("|---|---:|---:|---:|---:|")
        for r in steps:
            for k in ("step_kill_to_exit_logged", "step_exit_to_start_logged"):
                st = r[k]
                if st.get("n"):
                    R.a(row([st["label"], str(st["n"]), fmt(st["p50_us"]),
                             fmt(st["p90_us"]), fmt(st["max_us"])]))
        R.a()
    R.a("![restart latency CDF](results/%s.png)" % name)
    R.a()
    what = " (service without libc)" if bare else ""
    for r in rows:
        if r.get("kind") != "ringvisor" or not r.get("n"):
            continue
        refs = [(runit, 0.6, "runit"), (base, 0.75, "the C loop")]
        if bare:  # issue 16, item 6: the supervisors' own share
            refs.append((floor, 1.25, "the floor"))
        for ref, lim, who in refs:
            if ref and ref.get("n"):
                q = r["p50_us"] / ref["p50_us"]
                R.target("failover p50 of %s <= %.2fx %s's%s" % (r["label"], lim, who, what),
                         "%.0f us vs %.0f us = %.2fx" % (r["p50_us"], ref["p50_us"], q),
                         q <= lim, "" if q <= lim else "%.0f%% over the limit" % ((q / lim - 1) * 100))


def flap_section(R, res):
    d = load(res, "flap")
    R.a("## 2. Flap rate (service exits at once, zero backoff)")
    R.a()
    if not d:
        R.a("No data (flap.json missing; see results/flap.log).")
        R.a()
        return
    c = d["ceiling"]
    R.a("Service `rvb-flap`: stamp, `exit(1)`. The raw ceiling is "
        "ringvisor-bench itself running `vfork()` + `execve(rvb-flap)` + "
        "`waitpid()` in a loop: the least any supervisor can do per restart. "
        "The ceiling, ringvisor and the C loop are interleaved in %.0f ms "
        "slices (each supervisor SIGSTOPped outside its own slices) until each "
        "has had %.0f s, so the drift of a shared VM hits all three alike. s6, "
        "runit and supervisord throttle a crashing service to ~1 start/s "
        "(stopping them would distort that), so they run throughout and are "
        "counted over the whole phase. Supervisor CPU = utime+stime of the "
        "supervisor's own processes over its counted time." % (
            d["params"].get("slice_s", 0.25) * 1e3, d["params"]["duration_s"]))
    R.a()
    R.a("Command: %s" % cmd_of(res, "flap"))
    R.a()
    R.a(row(["supervisor", "starts", "starts/s", "of ceiling", "median gap ms",
             "supervisor CPU"]))
    R.a("|---|---:|---:|---:|---:|---:|")
    R.a(row(["raw spawn/reap ceiling", str(c["starts"]), fmt(c["per_s"]), "100%",
             "", ""]))
    for r in d["results"]:
        if r.get("error"):
            R.a(row([r["label"], "", "", "", "", r["error"]]))
            continue
        R.a(row([r["label"], str(r["starts"]), fmt(r["per_s"]),
                 "%.1f%%" % (100 * r["vs_ceiling"]), fmt(r["gap_p50_ms"], 3),
                 "%.0f%%" % (100 * r["sup_cpu_s"] / r["secs"])]))
        if r.get("kind") == "ringvisor":
            R.target("flap rate of %s >= 80%% of the raw ceiling" % r["label"],
                     "%.0f/s vs %.0f/s = %.1f%%" % (r["per_s"], c["per_s"],
                                                    100 * r["vs_ceiling"]),
                     r["vs_ceiling"] >= 0.8)
    R.a()
    R.a("![gaps between starts](results/flap.png)")
    R.a()


def scale_section(R, res):
    d = load(res, "scale")
    R.a("## 3. Scale: bring-up and memory")
    R.a()
    if not d:
        R.a("No data (scale.json missing; see results/scale.log).")
        R.a()
        return
    R.a("N services of `rvb-stamp` (stamps, then `pause()`) under one "
        "supervisor, each supervisor alone. Bring-up = last of the N start "
        "stamps - the instant before ringvisor-bench forked the supervisor; "
        "for ringvisor and the C loop, where one bring-up takes under 2 s, "
        "the median of 3 taken in alternating order (the VM drifts). "
        "Memory = Rss / Pss from `/proc/PID/smaps_rollup` summed over the "
        "supervisor's own processes (for s6 and runit: one per service), 1 s "
        "after the last start. 10,000 is run only for the one-process "
        "supervisors (runsvdir stops at 1,000 services; 10,000 s6-supervise "
        "processes would take ~15 GiB). ringvisor runs twice: with the "
        "fastest-restart config of every scenario and with a realistic one "
        "(each service with `max_restarts = 100`, `restart_window = 10m`, "
        "`stop_timeout = 20s` and one `environment` line).")
    R.a()
    R.a("Command: %s" % cmd_of(res, "scale"))
    R.a()
    rows = d["results"]
    R.a(row(["supervisor", "N", "processes", "bring-up ms", "vs C loop",
             "RSS MiB", "PSS MiB", "PSS KiB / service"]))
    R.a("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if r.get("error"):
            R.a(row([r["label"], str(r["n"]), "", "", "", "", "", r["error"]]))
            continue
        base = by_label(rows, lambda b: b.get("kind") == "baseline" and
                        b["n"] == r["n"] and not b.get("error"))
        R.a(row([r["label"], str(r["n"]), str(r["procs"]),
                 fmt(r["bringup_s"] * 1e3), rfmt(ratio(r["bringup_s"],
                                                       base and base["bringup_s"])),
                 fmt(r["rss_kib"] / 1024, 2), fmt(r["pss_kib"] / 1024, 2),
                 fmt(r["pss_kib"] / r["n"], 1)]))
        if r.get("kind") == "ringvisor":
            if r["n"] == 1000:
                R.target("%s PSS with 1,000 services < 2 MiB" % r["label"],
                         "%.2f MiB" % (r["pss_kib"] / 1024), r["pss_kib"] < 2048,
                         "" if r["pss_kib"] < 2048 else
                         "%.0f%% over the limit" % ((r["pss_kib"] / 2048 - 1) * 100))
                if base:
                    q = r["bringup_s"] / base["bringup_s"]
                    R.target("%s: 1,000 started within 1.2x the C loop's time"
                             % r["label"], "%.0f ms vs %.0f ms = %.2fx" % (
                                 r["bringup_s"] * 1e3, base["bringup_s"] * 1e3, q),
                             q <= 1.2, "" if q <= 1.2 else
                             "%.0f%% over the limit" % ((q / 1.2 - 1) * 100))
            if r["n"] == 10000:
                R.target("%s RSS with 10,000 services < 16 MiB" % r["label"],
                         "%.2f MiB" % (r["rss_kib"] / 1024),
                         r["rss_kib"] < 16384, "" if r["rss_kib"] < 16384 else
                         "%.0f%% over the limit" % ((r["rss_kib"] / 16384 - 1) * 100))
    R.a()
    R.a("## 4. Idle cost")
    R.a()
    R.a("The same runs, at the N where the idle window was measured: nothing "
        "happens for %.0f s; context switches (voluntary + involuntary, every "
        "thread, so io_uring workers count) and CPU ticks of the supervisor's "
        "processes over the window." % d["params"]["idle_s"])
    R.a()
    R.a(row(["supervisor", "N", "processes", "context switches", "wake-ups/s",
             "CPU ticks (1/100 s)"]))
    R.a("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        if "wakeups_per_s" not in r:
            continue
        R.a(row([r["label"], str(r["n"]), str(r.get("procs", "")),
                 str(r["idle_switches"]), fmt(r["wakeups_per_s"], 2),
                 str(r["idle_cpu_ticks"])]))
        if r.get("kind") == "ringvisor" and r["n"] == 1000:
            R.target("%s: zero wake-ups/s with 1,000 idle services" % r["label"],
                     "%.2f/s (%d switches in %.0f s)" % (
                         r["wakeups_per_s"], r["idle_switches"], r["idle_s"]),
                     r["idle_switches"] == 0)
    R.a()


def storm_section(R, res):
    d = load(res, "storm")
    R.a("## 5. Storm: 1,000 services killed at once")
    R.a()
    if not d:
        R.a("No data (storm.json missing; see results/storm.log).")
        R.a()
        return
    R.a("N = %d services that have all run 1.5 s; a pidfd is opened for each, "
        "then all are SIGKILLed in a tight loop. All back = last replacement's "
        "stamp - the first kill; per-service latency percentiles over the N "
        "replacements. Exactly once: ringvisor's log must hold exactly one "
        "`event=exit` line per killed pid and its exit report `restarts = 1` "
        "for every service; for everyone, exactly N new instances (one per "
        "service where the supervisor passes `STAMP_ID` on) and none extra in "
        "the second after." % d["params"]["n"])
    R.a()
    R.a("Command: %s" % cmd_of(res, "storm"))
    R.a()
    R.a(row(["supervisor", "kill loop ms", "all back ms", "p50 ms", "p99 ms",
             "restarted", "extra", "exits logged once", "report restarts=1",
             "verdict"]))
    R.a("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in d["results"]:
        if r.get("error"):
            R.a(row([r["label"]] + [""] * 8 + [r["error"]]))
            continue
        R.a(row([r["label"], fmt(r["kill_spread_ms"], 2), fmt(r["all_back_ms"]),
                 fmt(r["p50_us"] / 1e3), fmt(r["p99_us"] / 1e3),
                 str(r["restarted"]), str(r["extra_starts"]),
                 str(r.get("exits_once", "-")), str(r.get("report_restarts_1", "-")),
                 r["verdict"]]))
    R.a()
    R.a("![storm](results/storm.png)")
    R.a()


def timers_section(R, res):
    d = load(res, "timers")
    R.a("## 6. Timer lateness")
    R.a()
    if not d:
        R.a("No data (timers.json missing; see results/timers.log).")
        R.a()
        return
    p = d["params"]
    R.a("Periodic absolute deadlines every %.0f us, %d samples per mechanism, "
        "interleaved in blocks of %d; lateness = the clock read right after "
        "the wake-up (in the timer callback for ringvisor's loop) - the "
        "deadline. SCHED_OTHER, no pinning, default timer slack %d ns "
        "(shorter than `ringvisor-bench timers`' default of 20,000 samples, "
        "to keep compare.sh within its time budget)." % (
            p["period_us"], p["count"], p["block"], p["default_slack_ns"]))
    R.a()
    R.a("Command: %s" % cmd_of(res, "timers"))
    R.a()
    R.a(row(["mechanism", "n", "min us", "p50 us", "p90 us", "p99 us",
             "p99.9 us", "max us", "p50 / timerfd"]))
    R.a("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = d["results"]
    tfd = by_label(rows, lambda r: r["label"].startswith("timerfd"))
    for r in rows:
        R.a(row([r["label"], str(r["n"]), fmt(r["min_us"]), fmt(r["p50_us"]),
                 fmt(r["p90_us"]), fmt(r["p99_us"]), fmt(r["p999_us"]),
                 fmt(r["max_us"]), rfmt(r.get("p50_vs_timerfd"))]))
        if r["label"].startswith("ringvisor loop") and tfd:
            ok50 = r["p50_us"] <= tfd["p50_us"]
            ok99 = r["p99_us"] <= tfd["p99_us"]
            R.target("%s lateness p50 and p99 no worse than timerfd's" % r["label"],
                     "p50 %.1f vs %.1f us, p99 %.1f vs %.1f us" % (
                         r["p50_us"], tfd["p50_us"], r["p99_us"], tfd["p99_us"]),
                     ok50 and ok99)
        if r["label"].startswith("ringvisor precision"):
            R.target("%s p50 < 2 us" % r["label"], "%.2f us" % r["p50_us"],
                     r["p50_us"] < 2)
    R.a()
    R.a("![timer lateness CDF](results/timers.png)")
    R.a()


PRECISION_RUNS = (("precision_idle", "as is"),
                  ("precision_load", "`--load 2`"),
                  ("precision_fifo", "`--load 2 --fifo 50`"))


def tail(r, key):
    """A tail percentile, marked when the benchmark distrusts the run."""
    v = r.get(key)
    if v is None:
        return "-"
    return fmt(v) + ("!" if r.get("trustworthy") is False else "")


def precision_section(R, res):
    R.a("## 7. Timer precision in the tail, beside cyclictest")
    R.a()
    runs = [(name, what, load(res, name)) for name, what in PRECISION_RUNS]
    if not any(d for _, _, d in runs):
        R.a("No data (precision_*.json missing; see results/precision_*.log).")
        R.a()
        return
    R.a("The same 1 ms periodic deadlines, every row interleaved in blocks of "
        "500 with rt-tests' cyclictest (one thread, same period, priority and "
        "CPU, `--laptop`; its samples read from its histogram): on the machine "
        "as it is, with two busy loops the benchmark starts itself, and with "
        "both busy loops and SCHED_FIFO 50. `spin/dl` is the CPU spun per "
        "deadline. `!`: the benchmark found the run disturbed (load, steal "
        "time, stalls longer than a period) and says why in its log.")
    R.a()
    R.a(row(["run", "mechanism", "n", "p50 us", "p90 us", "p99 us",
             "p99.9 us", "p99.99 us", "max us", "spin/dl us"]))
    R.a("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, what, d in runs:
        if not d:
            R.a(row([what, "no data (see results/%s.log)" % name] + [""] * 8))
            continue
        m = d.get("machine", {})
        label = "%s (load %.1f -> %.1f)" % (what, m.get("loadavg_before", -1),
                                            m.get("loadavg_after", -1))
        for r in d["results"]:
            spin = r.get("spin_us_per_sample")
            R.a(row([label, r["label"], str(r["n"]), fmt(r["p50_us"]),
                     fmt(r["p90_us"]), tail(r, "p99_us"), tail(r, "p999_us"),
                     tail(r, "p9999_us"), tail(r, "max_us"),
                     "-" if spin is None else fmt(spin, 2)]))
            label = ""
        ct = by_label(d["results"], lambda r: r["label"].startswith("cyclictest"))
        loop = by_label(d["results"],
                        lambda r: r["label"].startswith("ringvisor loop"))
        if name == "precision_fifo" and ct and loop:
            R.target("loop p99.9 under contention with SCHED_FIFO no worse "
                     "than cyclictest's (same run)",
                     "%.1f vs %.1f us" % (loop["p999_us"], ct["p999_us"]),
                     loop["p999_us"] <= ct["p999_us"] * 1.1,
                     "within 10%")
        auto = by_label(d["results"], lambda r: "spin:auto" in r["label"])
        if name == "precision_idle" and auto:
            R.target("spin:auto p99 < 2 us on the machine as is",
                     "%.2f us, %.1f us spun per deadline" % (
                         auto["p99_us"], auto.get("spin_us_per_sample", 0)),
                     auto["p99_us"] < 2)
    R.a()
    for name, what, d in runs:
        if d:
            R.a("![precision %s](results/%s.png)" % (what.strip("`"), name))
            R.a()


CONFIGS = """## Configurations (each supervisor's fastest restart)

* **ringvisor** (`ringvisor run -c FILE --backend=B --report FILE`): one
  `[service:sNNNNN]` section per service with `restart = always`,
  `backoff = fixed`, `restart_delay = 0`, `backoff_jitter = 0`,
  `max_restarts = infinity`; `[supervisor] max_restarts = infinity`. Log
  lines go to a file on tmpfs (the default info level: 3 lines per restart).
* **C loop** (`bench/cloop.c`, `rvb-cloop N rvb-stamp`): the minimal
  supervisor: `posix_spawn` + `pidfd_open` + one epoll set; on an exit,
  `waitid(P_PIDFD)` and respawn at once. No throttle, no logging.
* **floor** (restart only; `rvb-cloop --floor 1 rvb-stamp`): blocked in
  `waitid(P_ALL)`, then `vfork()` + `execve()`. Not a usable supervisor
  (its child keeps its signal state); the least a fork+exec restart takes.
* **s6** (s6-svscan `-c N+100` over one service dir per service, `run` a
  symlink to the service, `notification-fd` = 3, which the service answers
  at start). s6-supervise restarts at `max(now, ready + 1 s)`: with readiness
  and 1.5 s up, at once; without it, always 1 s later. A flapping service is
  held to 1 start/s. Stopped with `s6-svscanctl -t`.
* **runit** (runsvdir over one dir per service, `run` a symlink to the
  service, dirs backdated 60 s so runsvdir's "mtime is now" 1 s sleep does
  not fire): runsv restarts at once if `run` lived more than 1 s, else
  sleeps 1 s first. Stopped with SIGHUP to runsvdir.
* **supervisord** (`autorestart=true`, `startsecs=0`,
  `startretries=1000000`, no log files): its main loop polls with a 1 s
  timeout and respawns on the pass after the reap, so a restart takes up
  to ~1 s. Stopped with SIGTERM.

All services are the same static `rvb-stamp` (or `rvb-flap`), stamp and
service directories are on tmpfs (`/dev/shm`), and RLIMIT_NOFILE is raised
to its hard limit for every supervisor.
"""


HTTP_SCENARIOS = (
    ("kill-one", "one instance SIGKILLed every second", True),
    ("kill-all", "all four SIGKILLed at once", False),
    ("rolling", "rolling restart of all four", True),
    ("reload", "config reload (a changed environment value)", True),
)


def http_section(R, res):
    """ringvisor-bench http: lost requests of gunicorn x4 under wrk"""
    d = load(res, "http")
    R.a("## 8. HTTP: lost requests while instances are killed, rolled and "
        "reloaded")
    R.a()
    if not d:
        R.a("No data (http.json missing; see results/http.log).")
        R.a()
        return
    p, m = d["params"], d["machine"]
    R.a("%s (a tiny WSGI app, `--workers %d` sync per instance), "
        "`instances = %d`, under `wrk -t%d -c%d --timeout %s` for each "
        "scenario: a quarter of the %g s window before the disturbance, "
        "then the disturbance (kill-one: half the window; a roll or reload: "
        "as long as it takes), then the rest. *ringvisor (held socket)*: one "
        "`[socket:http]` shared by every instance (gunicorn without `--bind`, "
        "`type = notify`, `restart_mode = rolling`); every other row: "
        "gunicorn binds the port itself (`--bind`, `--reuse-port`). Rolling "
        "under runit / supervisord: one `sv restart` / `supervisorctl "
        "restart` after another, each once the port answers; reload: runit "
        "rewrites the envdir and restarts in turn, supervisord `reread` + "
        "`update` (the group restarts at once). Counts are wrk's: connect "
        "errors are refused connections (wrk's connect + write errors: on "
        "loopback a refusal comes back from the request's write), read "
        "errors connections closed without a response (under ringvisor, a "
        "killed master's process group dies with it, and its sync worker's "
        "request in flight with it; elsewhere, orphaned workers that exit). "
        "A wrk connection whose connect() fails is not retried, so refusals "
        "also cost throughput for the rest of the window." % (
            d["env"].get("gunicorn_version") or "gunicorn", p["workers"],
            p["instances"], p["threads"], p["connections"], p["wrk_timeout"],
            p["duration"]))
    R.a()
    R.a("Command: %s; 1-minute load %.2f before, %.2f after, %s CPUs%s." % (
        cmd_of(res, "http"), m["loadavg_before"], m["loadavg_after"],
        m["ncpu"], ": **disturbed** (" + m["disturbed"] + ")"
        if m.get("disturbed") else ""))
    R.a()
    R.a(row(["scenario", "supervisor", "requests", "req/s", "connect errors",
             "read errors", "timeouts", "non-2xx", "p50 ms", "p99 ms",
             "action s"]))
    R.a("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = d["results"]
    for r in rows:
        R.a(row([r["scenario"], r["label"], str(r["requests"]),
                 fmt(r.get("rps")), str(r["connect"]), str(r["read"]),
                 str(r["timeout"]), str(r["non2xx"]),
                 fmt(r["p50_us"] / 1e3, 2), fmt(r["p99_us"] / 1e3, 2),
                 fmt(r["action_s"])]))
    R.a()
    for scen, what, strict in HTTP_SCENARIOS:
        r = [x for x in rows if x["scenario"] == scen
             and x["supervisor"] == "ringvisor-held"]
        if not r:
            continue
        r = r[0]
        ok = r["connect"] == 0 and (not strict or r["non2xx"] == 0)
        R.target("HTTP %s, ringvisor (held socket): zero connect errors%s"
                 % (what, " and zero non-2xx" if strict else ""),
                 "%d connect, %d non-2xx of %d requests" % (
                     r["connect"], r["non2xx"], r["requests"]), ok)
    R.a("![http](results/http.png)")
    R.a()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--command")
    ap.add_argument("--elapsed")
    ap.add_argument("--versions")
    ap.add_argument("--commit")
    args = ap.parse_args()
    res = args.results
    meta = load(res, "meta") or {}
    for k, dflt in (("command", "./bench/compare.sh"), ("elapsed", "?"),
                    ("versions", ""), ("commit", "?")):
        if getattr(args, k) is None:
            setattr(args, k, meta.get(k, dflt))

    env = {}
    for name in ("restart", "flap", "scale", "storm", "timers"):
        d = load(res, name)
        if d:
            env = d.get("env", {})
            break
    R = Report()
    body = Report()
    body.targets = R.targets
    restart_section(body, res)
    restart_section(body, res, "restart_bare", bare=True)
    flap_section(body, res)
    scale_section(body, res)
    storm_section(body, res)
    timers_section(body, res)
    precision_section(body, res)
    http_section(body, res)

    R.a("# ringvisor benchmark: side by side with s6, runit and supervisord")
    R.a()
    R.a("Generated by `%s` on %s; whole run %s s. Every "
        "number below comes from that one run on this machine; rerun it to "
        "get yours. Medians are what to compare on a noisy VM; tails are "
        "indicative." % (args.command, env.get("date", "?"), args.elapsed))
    R.a()
    R.a(row(["", ""]))
    R.a("|---|---|")
    for k, v in (("machine", "%s, %s CPUs, %s RAM" % (env.get("cpu", "?"),
                                                     env.get("ncpu", "?"), mem_total())),
                 ("kernel", "%s (%s)" % (env.get("kernel", platform.release()),
                                         env.get("kernel_version", ""))),
                 ("os", os_name()),
                 ("date", env.get("date", "?")),
                 ("ringvisor", "%s, commit %s" % (env.get("ringvisor", "?"),
                                                   args.commit)),
                 ("peers", args.versions),
                 ("command", "`%s`" % args.command)):
        R.a(row([k, v]))
    R.a()
    R.a("## Targets (issues 7 and 16)")
    R.a()
    R.a(row(["target", "measured", "verdict"]))
    R.a("|---|---|---|")
    for t in R.targets:
        R.a(row(list(t)))
    R.a()
    R.lines += body.lines
    R.a(CONFIGS)
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        with open(os.path.join(here, "analysis.md")) as f:
            R.a(f.read().rstrip())
            R.a()
    except OSError:
        pass
    R.a("## Raw data")
    R.a()
    R.a("`results/*.json` (ringvisor-bench `--json` output of each scenario, "
        "with its command line), `results/*.log` (progress and tables), "
        "`results/*.csv` (histograms), `results/*.png` (plots).")
    with open(args.out + ".tmp", "w") as f:
        f.write("\n".join(R.lines) + "\n")
    os.replace(args.out + ".tmp", args.out)


if __name__ == "__main__":
    main()
