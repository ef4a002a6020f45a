#!/bin/sh
# The libFuzzer harnesses for TAXII messages, STIX, the targets CSV, the INI config and
# Cuckoo reports (built with ./configure --enable-fuzzing CC=clang): each first runs every
# saved regression input under tests/data/fuzz/<harness>/, then fuzzes for
# $FUZZ_SECONDS (default 20) seconds from a corpus seeded with the official TAXII samples,
# third-party STIX, and this tree's own fixtures. Any crash, leak, timeout or memory blow-up
# fails the test and leaves the input in the log.
. "$TESTS_SRCDIR/tap.sh"
F="$TESTS_BUILDDIR/../fuzz"
[ -x "$F/fuzz_taxii" ] || skip_all "not configured with --enable-fuzzing"
secs=${FUZZ_SECONDS:-20}
D="$TESTS_SRCDIR/data"
if [ -n "$SHARED_DIR" ] && [ -d "$SHARED_DIR/schemas/taxii/samples" ]; then
	S=$SHARED_DIR
else
	S=
	echo "# SHARED_DIR unset or absent: seeding from this tree's fixtures only"
fi

# seed NAME DIR...: copies every regular file under the DIRs that exist into corpus NAME.
seed() {
	name=$1
	shift
	mkdir -p "$T/corpus/$name"
	for d in "$@"; do
		[ -d "$d" ] || continue
		find "$d" -type f -size -1024k | while read -r f; do
			cp "$f" "$T/corpus/$name/$(echo "$f" | cksum | cut -d' ' -f1)"
		done
	done
}

# fuzz NAME: regression inputs, then a bounded fuzzing run.
fuzz() {
	name=$1
	prog="$F/fuzz_$name"
	reg="$D/fuzz/$name"
	if [ -d "$reg" ] && [ -n "$(ls "$reg")" ]; then
		"$prog" -rss_limit_mb=2048 -timeout=10 "$reg"/* > "$T/$name.reg.log" 2>&1
		rc=$?
		ok $rc "$name: every saved regression input runs clean"
		[ $rc -eq 0 ] || tail -n 40 "$T/$name.reg.log" | sed 's/^/#   /'
	fi
	mkdir -p "$T/artifacts/$name"
	"$prog" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -max_len=262144 \
		-artifact_prefix="$T/artifacts/$name/" -print_final_stats=1 \
		"$T/corpus/$name" > "$T/$name.log" 2>&1
	rc=$?
	ok $rc "$name: ${secs} s of fuzzing without a crash, leak or hang"
	if [ $rc -ne 0 ]; then
		tail -n 60 "$T/$name.log" | sed 's/^/#   /'
		for a in "$T/artifacts/$name"/*; do
			[ -f "$a" ] && echo "#   input: $(od -An -c "$a" | head -n 20 | tr -d '\n')"
		done
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$T/$name.log")
	echo "# $name: ${runs:-?} inputs run"
}

seed taxii ${S:+"$S/schemas/taxii/samples"} "$D/taxii"
seed stix ${S:+"$S/testdata/stix"} "$D/stix" "$D/fuzz/seeds/stix"
seed targets "$D/fuzz/seeds/targets" "$TESTS_SRCDIR/../conf/demo"
seed conf "$D/fuzz/seeds/conf"
seed cuckoo ${S:+"$S/testdata/cuckoo"} "$D/cuckoo"
for n in taxii stix targets conf cuckoo; do
	fuzz $n
done
done_testing
