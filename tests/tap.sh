# TAP helpers for the shell integration tests: source it, call ok/is/has, end with done_testing.
# Each test gets its own temporary directory ($T), removed on exit whatever happens.
tap_n=0
tap_failed=0
T=$(mktemp -d "${TMPDIR:-/tmp}/c2w-test-XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT INT TERM

ok() { # ok STATUS DESCRIPTION: passes when STATUS is 0
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=$((tap_failed + 1))
	fi
}

is() { # is GOT WANT DESCRIPTION
	if [ "$1" = "$2" ]; then ok 0 "$3"; else ok 1 "$3"; echo "#   got '$1', want '$2'"; fi
}

has() { # has HAYSTACK NEEDLE DESCRIPTION
	case "$1" in
	*"$2"*) ok 0 "$3" ;;
	*) ok 1 "$3"; printf '#   "%s" does not contain "%s"\n' "$1" "$2" ;;
	esac
}

skip_all() { echo "1..0 # SKIP $1"; exit 0; }

skip() { # skip DESCRIPTION REASON: a test point not run here, and why
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1 # SKIP $2"
}

# waitfor SECONDS WHAT COMMAND...: runs COMMAND every 0.1 s until it succeeds (status 0), or
# until SECONDS have passed (status 1, saying what was waited for).
waitfor() {
	wf_end=$(($(date +%s) + $1))
	wf_what=$2
	shift 2
	until "$@"; do
		if [ "$(date +%s)" -ge "$wf_end" ]; then
			echo "# gave up waiting for $wf_what"
			return 1
		fi
		sleep 0.1
	done
}

done_testing() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}
