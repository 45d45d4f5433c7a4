#!/bin/sh
# The whole test suite, as CI runs it (README: "run the tests"):
#   1. a -Werror build, then every test on the io_uring backend and again on
#      the epoll backend (RINGVISOR_BACKEND forces the loop's choice);
#   2. an ASan+UBSan build, every test once more.
# Options via environment: BUILD_DIR (default build), JOBS, SKIP_SANITIZE=1,
# SKIP_VALGRIND=1.
set -eu
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$jobs"

status=0
for backend in io_uring epoll; do
	echo "=== tests on the $backend backend ==="
	RINGVISOR_BACKEND=$backend ctest --test-dir "$build" -j "$jobs" \
		--output-on-failure || status=1
done

if [ "${SKIP_SANITIZE:-0}" != 1 ]; then
	echo "=== tests under ASan+UBSan (io_uring backend) ==="
	cmake -S . -B "$build-asan" -DCMAKE_BUILD_TYPE=Debug -DRV_SANITIZE=ON >/dev/null
	cmake --build "$build-asan" -j "$jobs"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	RINGVISOR_BACKEND=io_uring ctest --test-dir "$build-asan" -j "$jobs" \
		--output-on-failure || status=1
fi
# 200 flapping services, reloads and control clients under valgrind
# memcheck (~40 s): no error, no definite leak.  SKIP_VALGRIND=1 skips.
if [ "${SKIP_VALGRIND:-0}" != 1 ]; then
	echo "=== valgrind memcheck scenario (epoll backend) ==="
	BUILD_DIR="$build" sh tests/valgrind/scenario.sh 20 || [ $? = 77 ] || status=1
fi
echo "=== static analysis (cppcheck, clang-tidy) ==="
BUILD_DIR="$build-static" ./tests/static/run.sh || status=1

# Fuzz targets (every parser, listed in tests/fuzz/run.sh; about a minute
# in all): a short bounded run; any crash input is kept in
# build-fuzz/artifacts to add to the corpus.
echo "=== fuzzing, ${FUZZ_SECONDS:-5}s per target ==="
sh tests/fuzz/run.sh "${FUZZ_SECONDS:-5}" || status=1
exit $status
