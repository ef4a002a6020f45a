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

done_testing() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}
