#!/bin/sh
# SPDX-License-Identifier: MIT
#
# ringvisor under valgrind memcheck, in a busy scenario (issue 6, item 4):
#
#   tests/valgrind/scenario.sh [SECONDS]
#
#   1. `ringvisor run` under memcheck with 200 flapping services (the svc
#      fixture: they run ~2 s, exit 1, and are restarted after 100 ms), one
#      oneshot, one that ignores SIGTERM, and a nested supervisor;
#   2. SECONDS (default 20) of control clients polling status and metrics
#      on 4 connections (and one events follower), two reloads on the way
#      (the first adds a service and changes one, the second removes it);
#   3. SIGTERM and the shutdown.
#
# Fails (exit 1) on any memcheck error or definitely lost block (valgrind's
# --error-exitcode, --errors-for-leak-kinds=definite), on a wrong exit
# status, or when the clients were not answered; prints the summary.
# Environment: BUILD_DIR (default build; a build without sanitizers),
# BACKEND (default epoll; io_uring works too, but memcheck cannot see the
# kernel writing into buffers through the ring, so its reports there need
# a look before they are believed), SERVICES (default 200), KEEP=1 keeps
# the work directory.  valgrind runs the supervisor only: the services are
# native (no --trace-children).  Exit 77 without valgrind.
set -eu
cd "$(dirname "$0")/../.."
top=$(pwd)
secs=${1:-20}
build=${BUILD_DIR:-build}
backend=${BACKEND:-epoll}
n=${SERVICES:-200}
rv=$top/$build/ringvisor
svc=$top/$build/fixtures/svc

if ! command -v valgrind >/dev/null 2>&1; then
	echo "valgrind: not installed (apt-get install valgrind)" >&2
	exit 77
fi
if [ ! -x "$rv" ] || [ ! -x "$svc" ]; then
	echo "valgrind: build first: cmake -S . -B $build && cmake --build $build" >&2
	exit 2
fi
if nm -D "$rv" 2>/dev/null | grep -q __asan_init; then
	echo "valgrind: $rv is built with ASan; use a plain build (BUILD_DIR)" >&2
	exit 2
fi

work=$(mktemp -d /tmp/rv-valgrind-XXXXXX)
pid=""
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	if [ "${KEEP:-0}" = 1 ]; then
		echo "valgrind: kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT INT TERM

sock=$work/control.sock
cfg=$work/ringvisor.conf

# $1: "" | "reload1" | "reload2"; writes $cfg$1 ($cfg itself for "")
write_config() {
	{
		cat <<EOF
[supervisor]
control_socket = $sock
max_restarts = infinity
shutdown_timeout = 20s

[supervisor:pool]
strategy = one_for_all
max_restarts = infinity

[service:flap]
command = $svc --tag %i ms 2000 exit 1
instances = $n
restart = always
backoff = fixed
restart_delay = 100ms
backoff_jitter = 0.5
max_restarts = infinity
stdout = null

[service:once]
command = $svc exit 0
type = oneshot

[service:stubborn]
command = $svc ignore-term pause
stop_timeout = 1s
environment = A=1 B=%%i

[service:member1]
supervisor = pool
command = $svc ms 5000 exit 3
restart_delay = 200ms
max_restarts = infinity
stdout = prefix

[service:member2]
supervisor = pool
command = $svc pause
EOF
		case $1 in
		reload1)
			printf '\n[service:added]\ncommand = %s pause\n' "$svc"
			printf 'environment = RELOAD=1\n'
			;;
		esac
	} >"$cfg$1"
	if [ "$1" = reload1 ]; then
		# a changed service: restarted by the reload
		sed -i 's/^command = \(.*\) ignore-term pause$/command = \1 ignore-term ms 60000/' "$cfg$1"
	fi
}
write_config ""
write_config reload1
write_config reload2

echo "=== valgrind scenario: $n flapping services, ${secs}s of control clients, backend $backend"
RINGVISOR_BACKEND=$backend valgrind --tool=memcheck --error-exitcode=99 \
	--leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --num-callers=30 \
	--log-file="$work/valgrind.log" \
	"$rv" run -c "$cfg" --report "$work/report.json" \
	>"$work/stdout" 2>"$work/stderr" &
pid=$!

# The clients: python3 (stdlib), raw JSON lines on the control socket.
status=0
python3 - "$sock" "$secs" "$cfg" "$work" <<'EOF' || status=1
import json, os, shutil, socket, sys, threading, time
sock, secs, cfg, work = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]

def connect(timeout=30):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock)
    return s

def request(s, obj, buf):
    s.sendall(json.dumps(obj).encode() + b"\n")
    while b"\n" not in buf[0]:
        chunk = s.recv(1 << 20)
        if not chunk:
            raise EOFError("control socket closed")
        buf[0] += chunk
    line, buf[0] = buf[0].split(b"\n", 1)
    return json.loads(line)

deadline = time.monotonic() + 120	# valgrind starts slowly
while True:
    try:
        s = connect()
        if request(s, {"cmd": "status"}, [b""]).get("ok"):
            s.close()
            break
    except OSError:
        pass
    if time.monotonic() > deadline:
        sys.exit("the control socket never answered")
    time.sleep(0.2)

stop = threading.Event()
counts = {"status": 0, "metrics": 0, "errors": 0}
lock = threading.Lock()

def poller(i):
    s, buf = connect(), [b""]
    while not stop.is_set():
        cmd = "status" if i % 2 == 0 else "metrics"
        try:
            r = request(s, {"cmd": cmd}, buf)
            ok = r.get("ok") is True
        except (OSError, ValueError, EOFError) as e:
            print("client", i, "error:", e, flush=True)
            ok = False
            s, buf = connect(), [b""]
        with lock:
            counts[cmd if ok else "errors"] += 1
        time.sleep(0.05)
    s.close()

def follower():
    s = connect()
    s.sendall(b'{"cmd":"events"}\n')
    s.settimeout(1)
    while not stop.is_set():
        try:
            if not s.recv(65536):
                break
        except socket.timeout:
            pass
    s.close()

threads = [threading.Thread(target=poller, args=(i,)) for i in range(4)]
threads.append(threading.Thread(target=follower))
for t in threads:
    t.start()

def reload(which):
    shutil.copy(cfg + which, cfg + ".new")
    os.rename(cfg + ".new", cfg)
    s = connect(60)
    r = request(s, {"cmd": "reload"}, [b""])
    s.close()
    print(f"reload ({which}):", json.dumps({k: r.get(k) for k in
          ("ok", "restarted", "started", "stopped", "error")}), flush=True)
    return r.get("ok") is True

ok = True
time.sleep(secs / 3)
ok &= reload("reload1")
time.sleep(secs / 3)
ok &= reload("reload2")
time.sleep(secs / 3)
# enough answers to mean something: under valgrind on a loaded machine a
# reply can take a second, so poll on until there are, not for a fixed time
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    with lock:
        if counts["status"] >= 10 and counts["metrics"] >= 10:
            break
    time.sleep(0.2)
stop.set()
for t in threads:
    t.join(30)
print("answered:", counts, flush=True)
if counts["errors"] or counts["status"] < 10 or counts["metrics"] < 10:
    ok = False
sys.exit(0 if ok else 1)
EOF

kill -TERM "$pid" 2>/dev/null || true
rc=0
wait "$pid" || rc=$?
pid=""

echo "=== ringvisor under valgrind exited $rc"
grep -E "ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable|All heap blocks" \
	"$work/valgrind.log" | sed 's/^==[0-9]*== */  /'
python3 - "$work/report.json" "$work/stderr" <<'EOF' || status=1
import json, sys
rep = json.load(open(sys.argv[1]))
log = open(sys.argv[2]).read().splitlines()
exits = sum(" event=exit " in ln for ln in log)
starts = sum(" event=start " in ln for ln in log)
fails = sum(" event=spawn_failed " in ln for ln in log)
restarts = sum(s["restarts"] for s in rep["services"])
print(f"  {starts} starts, {exits} exits, {fails} failed starts, "
      f"{restarts} restarts in the report, exit_code "
      f"{rep['supervisor']['exit_code']}")
EOF
if [ "$rc" = 99 ]; then
	echo "valgrind: memcheck found errors or definite leaks:" >&2
	sed -n '/^==[0-9]*== [A-Z].*\(Invalid\|uninitialised\|definitely lost\|Mismatched\|overlap\|Syscall param\)/,/^==[0-9]*== $/p' \
		"$work/valgrind.log" | head -150 >&2
	status=1
elif [ "$rc" != 0 ]; then
	echo "valgrind: ringvisor exited $rc (expected 0 after SIGTERM)" >&2
	tail -20 "$work/stderr" >&2
	status=1
fi
[ $status = 0 ] && echo "=== valgrind scenario: OK" || echo "=== valgrind scenario: FAILED" >&2
exit $status
