#!/bin/sh
# Runs one test under a time limit, so that a hang fails the suite instead of stalling it:
# TEST_TIME_LIMIT seconds (default 300; the fuzzing test gets its fuzzing time on top). A
# test over its limit is killed with every process it started and fails, saying so.
limit=${TEST_TIME_LIMIT:-300}
case "$*" in
*test_fuzz.sh*) limit=$((limit + 5 * ${FUZZ_SECONDS:-20})) ;;
esac
timeout -k 10 "$limit" "$@"
rc=$?
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
	echo "Bail out! killed after its $limit s time limit: $*"
	exit 1
fi
exit $rc
