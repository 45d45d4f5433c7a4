#!/bin/sh
# Static analysis as CI runs it: cppcheck and clang-tidy over src/ and
# uring/ with the checked-in configuration (.clang-tidy; cppcheck options
# below).  Any finding fails.  A finding that is wrong is suppressed where
# it occurs, with the reason written beside the suppression.
set -eu
cd "$(dirname "$0")/../.."
build=${BUILD_DIR:-build-static}

cmake -S . -B "$build" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
status=0

echo "=== cppcheck"
# warning, performance, portability: real defects.  "style" is left out:
# it is mostly variable-scope advice that the kernel style (declarations
# first) contradicts.  unknownMacro: jansson's json_*_foreach iterators.
cppcheck --enable=warning,performance,portability --inline-suppr \
	--std=c11 -D_GNU_SOURCE -I include -I src -I uring -I "$build" \
	--suppress=missingIncludeSystem --suppress=unknownMacro \
	--error-exitcode=1 --quiet src uring || status=1

echo "=== clang-tidy"
# run-clang-tidy: one clang-tidy per core, over every src/ and uring/ file
# of the compile database; -quiet keeps only findings
run-clang-tidy -quiet -j "$(nproc)" -p "$build" \
	"$(pwd)/(src|uring)/.*\.c$" 2>&1 |
	grep -v "warnings\? generated\|^clang-tidy\|^Enabled checks\|^ *[a-z-]*\.[a-zA-Z.-]*$" |
	tee "$build/clang-tidy.log" >&2
grep -q "warning:\|error:" "$build/clang-tidy.log" && status=1
[ $status = 0 ] && echo "static analysis: no findings"
exit $status
