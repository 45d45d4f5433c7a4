#!/usr/bin/env python3
"""Failover phases per supervisor, from an ftrace of scheduler events.

Reads the trace that bench/phases.sh records during `ringvisor-bench
restart` and splits every kill into kernel-observed steps:

  kill->exit   SIGKILL sent -> the victim starts exiting
  exit->waking -> the wake-up of its supervisor is issued (exit teardown +
                  notification, on the victim's CPU)
  waking->wake -> the supervisor is on a run queue (at once on the same
                  CPU; after an IPI when it slept on the other one)
  wake->run    -> the supervisor is on a CPU
  run->fork    -> clone/vfork has created the replacement
  fork->crun   -> the replacement is on a CPU
  crun->exec   -> its execve() has completed
  kill->exec   the whole

Supervisors are told apart by pid (the victim's parent); the tables are
printed in the order the supervisors first appear.

usage: phases.py TRACE
"""
import collections
import re
import statistics
import sys

EVENT = re.compile(r'^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+): (\w+): (.*)$')
PHASES = [("kill", "exit"), ("exit", "waking"), ("waking", "wake"),
          ("wake", "run"),
          ("run", "fork"), ("fork", "crun"), ("crun", "exec"),
          ("kill", "exec")]


def field(rest, name):
    m = re.search(r'\b%s=(\d+)' % name, rest)
    return int(m.group(1)) if m else None


def parse(path):
    parent, kills, cur, last_cpu = {}, [], None, {}
    with open(path) as f:
        for line in f:
            m = EVENT.match(line)
            if not m:
                continue
            pid, cpu = int(m.group(2)), int(m.group(3))
            ts, name, rest = float(m.group(4)) * 1e6, m.group(5), m.group(6)
            if name == "sched_process_fork":
                parent[field(rest, "child_pid")] = field(rest, "pid")
            if name == "sched_switch":
                last_cpu[field(rest, "prev_pid")] = cpu
            # the bench's kills (not a supervisor's own group kill)
            if (name == "signal_generate" and "sig=9 " in rest
                    and "comm=rvb-stamp" in rest
                    and m.group(1) == "ringvisor-bench"):
                victim = field(rest, "pid")
                cur = {"kill": ts, "victim": victim,
                       "sup": parent.get(victim, -1), "kill_cpu": cpu,
                       "victim_cpu": last_cpu.get(victim, -1)}
                kills.append(cur)
                continue
            if cur is None:
                continue
            if (name == "sched_process_exit" and pid == cur["victim"]
                    and "exit" not in cur):
                cur["exit"] = ts
                cur["exit_cpu"] = cpu
            elif (name == "sched_waking" and "exit" in cur
                  and "waking" not in cur
                  and field(rest, "pid") == cur["sup"]):
                cur["waking"] = ts
            elif (name == "sched_wakeup" and "waking" in cur
                  and "wake" not in cur and field(rest, "pid") == cur["sup"]):
                cur["wake"] = ts
                cur["wake_cpu"] = field(rest, "target_cpu")
            elif (name == "sched_switch" and "wake" in cur and "run" not in cur
                  and field(rest, "next_pid") == cur["sup"]):
                cur["run"] = ts
            elif (name == "sched_process_fork" and "run" in cur
                  and "fork" not in cur and pid == cur["sup"]):
                cur["fork"] = ts
                cur["child"] = field(rest, "child_pid")
            elif (name == "sched_switch" and "fork" in cur
                  and "crun" not in cur
                  and field(rest, "next_pid") == cur["child"]):
                cur["crun"] = ts
            elif (name == "sched_process_exec" and "fork" in cur
                  and "exec" not in cur and field(rest, "pid") == cur["child"]):
                cur["exec"] = ts
    return kills


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    kills = parse(sys.argv[1])
    order = []
    for k in kills:
        if k["sup"] not in order:
            order.append(k["sup"])
    for sup in order:
        ks = [k for k in kills if k["sup"] == sup]
        print("supervisor pid %d: %d kills, %d complete" % (
            sup, len(ks), sum(1 for k in ks if "exec" in k)))
        for a, b in PHASES:
            v = sorted(k[b] - k[a] for k in ks if a in k and b in k)
            if v:
                print("  %-11s n=%3d  p50 %7.1f us  p90 %7.1f us" % (
                    a + "->" + b, len(v), statistics.median(v),
                    v[max(0, int(len(v) * 0.9) - 1)]))
        woke = [k for k in ks if "wake_cpu" in k]
        if woke:
            same = sum(1 for k in woke if k["wake_cpu"] == k["exit_cpu"])
            print("  supervisor woken on the victim's CPU: %d of %d" % (
                same, len(woke)))
        # the victim slept on one CPU and exits on another: the exit
        # then flushes the TLB of the CPU it left (an IPI, bench/analysis.md)
        ex = [k for k in ks if "exit_cpu" in k and k["victim_cpu"] >= 0]
        if ex:
            print("  victim killed from its own CPU: %d of %d; "
                  "migrated by the kill: %d of %d" % (
                      sum(1 for k in ex if k["kill_cpu"] == k["victim_cpu"]),
                      len(ex),
                      sum(1 for k in ex if k["exit_cpu"] != k["victim_cpu"]),
                      len(ex)))


if __name__ == "__main__":
    main()
