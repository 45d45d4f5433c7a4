#!/bin/sh
# libFuzzer targets, built with clang outside CMake and run for a while.
#
#   tests/fuzz/run.sh [SECONDS [TARGET...]]
#
# SECONDS (default $FUZZ_SECONDS, else 30) is per target; with no TARGET,
# every target listed in targets() runs.  Builds go to $FUZZ_BUILD
# (default build-fuzz); new corpus entries go to build-fuzz/corpus/NAME
# (the seeds in tests/fuzz/corpus/NAME are read, never written); crashes to
# build-fuzz/artifacts/.  Exit status: 0, or 1 if any target found a crash
# (reproduce with: build-fuzz/fuzz_NAME build-fuzz/artifacts/NAME-crash-...).
#
# Output: one line per target; the compiler's and libFuzzer's output go to
# build-fuzz/logs/NAME.log, and a target that fails prints that log's
# last lines (follow a run with tail -f build-fuzz/logs/NAME.log).
#
# Adding a target: tests/fuzz/fuzz_NAME.c defining LLVMFuzzerTestOneInput,
# seeds in tests/fuzz/corpus/NAME/, and one line in each function below.
set -eu
cd "$(dirname "$0")/../.."

targets() {
	echo notify_msg request config cmdline duration signal
}

# The project sources a target links besides its fuzz_NAME.c.
sources() {
	case $1 in
	notify_msg) echo src/control/notify_msg.c ;;
	request) echo src/control/request.c src/config/signals.c ;;
	# the whole parser: every file of src/config (it grows with each key)
	config) echo src/config/*.c ;;
	cmdline) echo src/config/cmdline.c ;;
	duration) echo src/config/duration.c ;;
	signal) echo src/config/signals.c ;;
	*) return 1 ;;
	esac
}

# Libraries a target links.
libs() {
	case $1 in
	request) echo -ljansson ;;
	config) echo -linih -lcap ;;
	*) echo ;;
	esac
}

# The largest input worth trying (what the real caller can hand over).
max_len() {
	case $1 in
	notify_msg) echo 4096 ;;	# RV_NOTIFY_MSG_MAX
	request) echo 70000 ;;		# past RV_REQUEST_MAX
	config) echo 4096 ;;
	cmdline) echo 4096 ;;
	duration | signal) echo 64 ;;
	*) echo 65536 ;;
	esac
}

secs=${1:-${FUZZ_SECONDS:-30}}
[ $# -gt 0 ] && shift
names=${*:-$(targets)}
out=${FUZZ_BUILD:-build-fuzz}
cc=${FUZZ_CC:-clang}

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "fuzz: $cc not found (apt-get install clang)" >&2
	exit 77
fi
mkdir -p "$out/artifacts" "$out/logs"

# fuzz_one NAME: builds and runs one target; its output on stdout
fuzz_one() {
	name=$1
	src=$(sources "$name")
	bin=$out/fuzz_$name
	echo "=== fuzz_$name: build"
	# shellcheck disable=SC2086 # $src is a list of files
	"$cc" -g -O1 -fno-omit-frame-pointer \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-Wall -Wextra -Werror -Wno-unused-parameter \
		-D_GNU_SOURCE -Isrc -Iuring -Iinclude \
		"tests/fuzz/fuzz_$name.c" $src -o "$bin" $(libs "$name") || return 1
	mkdir -p "$out/corpus/$name"
	echo "=== fuzz_$name: ${secs}s"
	"$bin" -max_total_time="$secs" -max_len="$(max_len "$name")" \
		-timeout=10 -print_final_stats=1 \
		-artifact_prefix="$out/artifacts/$name-" \
		"$out/corpus/$name" "tests/fuzz/corpus/$name"
}

status=0
for name in $names; do
	sources "$name" >/dev/null || { echo "fuzz: unknown target $name" >&2; exit 2; }
	log=$out/logs/$name.log
	if fuzz_one "$name" >"$log" 2>&1; then
		echo "fuzz_$name: ok, $(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1) runs in ${secs}s (log: $log)"
	else
		echo "=== fuzz_$name: FAILED (see $out/artifacts/; the last lines of $log:)" >&2
		tail -n 40 "$log" >&2
		status=1
	fi
done
exit $status
