#!/bin/sh
# bench/phases.sh: where a failover's time goes, as the kernel sees it.
# Records scheduler events (fork, exec, exit, wake-up, switch, SIGKILL)
# with ftrace while `ringvisor-bench restart` runs, then splits every kill
# into steps per supervisor (bench/phases.py).  Root; tracefs is mounted
# if it is not.  Arguments go to `ringvisor-bench restart`, e.g.
#
#   ./bench/phases.sh --service bare --samples 20 --uptime 0.2s
#
# Tracing these few events costs ~1 us per event; the bench's own table
# (printed first) is taken under that load too.
set -eu
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
T=/sys/kernel/tracing
[ -e "$T/trace" ] || mount -t tracefs nodev "$T"
out=$(mktemp /tmp/rv-phases.XXXXXX)
trap 'echo 0 >"$T/tracing_on"; echo 0 >"$T/events/enable"; rm -f "$out"' EXIT

echo 0 >"$T/tracing_on"
echo >"$T/trace"
echo 40000 >"$T/buffer_size_kb"
for e in sched/sched_process_exit sched/sched_process_exec \
	sched/sched_waking sched/sched_wakeup sched/sched_switch \
	sched/sched_process_fork \
	signal/signal_generate; do
	echo 1 >"$T/events/$e/enable"
done
echo 1 >"$T/tracing_on"
"$BUILD_DIR/bench/ringvisor-bench" restart "$@"
echo 0 >"$T/tracing_on"
echo 0 >"$T/events/enable"
cat "$T/trace" >"$out"
python3 bench/phases.py "$out"
