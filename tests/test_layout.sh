#!/bin/sh
# The module walls of doc/ARCHITECTURE.md, read from the #include lines of each module's
# sources: no forbidden arrow, no module reaching past another's public header, no cycle.
# The checker is run on the tree, then on small planted trees it must reject.
. "$TESTS_SRCDIR/tap.sh"

TOP=$(cd "$TESTS_SRCDIR/.." && pwd)
MODULES="util conf record store stix taxii observer fed analysis dash node"

# forbidden FROM TO: prints why FROM must not include TO, or nothing.
forbidden() {
	case "$1 $2" in
	"util "*) echo "util is a leaf: it includes no other module" ;;
	"observer taxii" | "observer stix" | "observer fed")
		echo "observer never includes taxii, stix or fed" ;;
	"stix store" | "taxii store" | "record store")
		echo "stix, taxii and record never include store" ;;
	"analysis taxii") echo "analysis never includes taxii" ;;
	*" node") [ "$1" != node ] && echo "nothing includes node" ;;
	esac
}

# check_tree DIR: one line per violation (FILE:LINE: what), nothing when the tree is clean.
check_tree() {
	edges=$(mktemp "$T/edges.XXXXXX")
	for m in $MODULES; do
		[ -d "$1/$m" ] || continue
		for f in "$1/$m"/*.c "$1/$m"/*.h; do
			[ -f "$f" ] || continue
			grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[a-z]*/[^"]*"' "$f" |
			sed 's/^\([0-9]*\):.*"\([a-z]*\)\/\([^"]*\)".*/\1 \2 \3/' |
			while read -r line to hdr; do
				[ "$to" = "$m" ] && continue
				case " $MODULES " in *" $to "*) ;; *) continue ;; esac
				rel=${f#"$1"/}
				why=$(forbidden "$m" "$to")
				[ -n "$why" ] && echo "$rel:$line: includes $to/$hdr: $why"
				# util's XML part has a header of its own, so that modules
				# without libxml2 never need its include path.
				[ "$hdr" != "$to.h" ] && [ "$to/$hdr" != util/util_xml.h ] &&
					echo "$rel:$line: includes $to/$hdr: only $to/$to.h is $to's interface"
				echo "$m $to" >>"$edges"
			done
		done
	done
	# Below node the arrows go one way: the module graph has no cycle.
	if [ -s "$edges" ] && ! sort -u "$edges" | tsort >/dev/null 2>"$edges.loop"; then
		echo "modules include each other in a loop: $(grep -v 'input contains a loop' \
			"$edges.loop" | sed 's/^tsort: //' | tr '\n' ' ')"
	fi
	rm -f "$edges" "$edges.loop"
}

out=$(check_tree "$TOP")
is "$out" "" "the tree keeps every arrow of doc/ARCHITECTURE.md"
[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/#   /'

n=$(grep -l '#include "' "$TOP"/*/*.c 2>/dev/null | wc -l)
ok $([ "$n" -gt 50 ] && echo 0 || echo 1) "the check read the sources ($n files with includes)"

# Planted trees: each forbidden arrow of the design is caught, with file and line.
plant() { # plant FROM-FILE INCLUDE: a tree of one file including one header
	rm -rf "$T/tree"
	mkdir -p "$T/tree/${1%/*}"
	printf '#include "config.h"\n#include "%s"\n' "$2" >"$T/tree/$1"
	check_tree "$T/tree"
}
has "$(plant observer/obs_x.c stix/stix.h)" "observer/obs_x.c:2: includes stix/stix.h" \
	"observer including stix is caught"
has "$(plant observer/obs_x.c fed/fed.h)" "observer never includes" "and fed"
has "$(plant observer/obs_x.c taxii/taxii.h)" "observer never includes" "and taxii"
has "$(plant stix/stix_x.c store/store.h)" "never include store" "stix including store"
has "$(plant taxii/taxii_x.c store/store.h)" "never include store" "taxii including store"
has "$(plant record/rec_x.c store/store.h)" "never include store" "record including store"
has "$(plant analysis/an_x.c taxii/taxii.h)" "analysis never includes taxii" \
	"analysis including taxii"
has "$(plant fed/fed_x.c node/node_daemon.h)" "nothing includes node" "fed including node"
has "$(plant util/util_x.c store/store.h)" "util is a leaf" "util including a module"
has "$(plant node/cli_x.c observer/obs_http.h)" "only observer/observer.h" \
	"a header past a module's interface"
ok $([ -z "$(plant node/cli_x.c fed/fed.h)" ] && echo 0 || echo 1) \
	"node including fed through fed.h is allowed"
rm -rf "$T/tree"
mkdir -p "$T/tree/fed" "$T/tree/taxii"
echo '#include "taxii/taxii.h"' >"$T/tree/fed/fed_x.c"
echo '#include "fed/fed.h"' >"$T/tree/taxii/taxii_x.c"
has "$(check_tree "$T/tree")" "in a loop" "a loop between two modules is caught"

done_testing
