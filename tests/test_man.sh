#!/bin/sh
# The manual pages against the built binary: both pass `mandoc -T lint`; every command that
# `c2watch --help` lists has its subsection in c2watch(8), with every option its own
# --help prints (and no other); every section and key that check-config prints has its
# entry in c2watch.conf(5), with the default it prints (and no other key); the example
# config names the same keys.
. "$TESTS_SRCDIR/tap.sh"
C=${C2WATCH:?}
DOC=$TESTS_SRCDIR/../doc
MAN8=$DOC/c2watch.8
MAN5=$DOC/c2watch.conf.5
EXAMPLE=$TESTS_SRCDIR/../conf/c2watch.conf.example
cd "$T" || exit 99

# The mdoc source between ".Ss NAME" and the next .Ss or .Sh, "\&" escapes removed.
block() { # block FILE NAME
	sed 's/\\&//g' "$1" | awk -v name="$2" '
		/^\.S[sh] / { if (on) exit; if ($0 == ".Ss " name) on = 1; next }
		on { print }'
}
# The subsection names under one .Sh.
subsections() { # subsections FILE SECTION
	sed 's/\\&//g' "$1" | awk -v sh="$2" '
		/^\.Sh / { on = ($0 == ".Sh " sh); next }
		on && /^\.Ss / { sub(/^\.Ss /, ""); print }'
}

# --- lint
if command -v mandoc > /dev/null; then
	for m in "$MAN8" "$MAN5"; do
		out=$(mandoc -T lint -W warning "$m" 2>&1); rc=$?
		is "$rc" 0 "mandoc -T lint: $(basename "$m") has no warning or error"
		[ -n "$out" ] && printf '#   %s\n' "$out"
	done
else
	ok 1 "mandoc is installed (tools/deps.sh installs it)"
fi

# --- c2watch(8): commands
"$C" --help > help.txt; rc=$?
is "$rc" 0 "c2watch --help exits 0"
sed -n '/^commands:/,/^$/{/^  [a-z]/{s/^  \([a-z-]*\).*/\1/;p;}}' help.txt > cmds.txt
n=$(wc -l < cmds.txt)
[ "$n" -ge 5 ]; ok $? "c2watch --help lists the commands ($n)"
subsections "$MAN8" COMMANDS > mancmds.txt
for cmd in $(cat cmds.txt); do
	grep -qx "$cmd" mancmds.txt; ok $? "c2watch(8) has a subsection for $cmd"
done
for cmd in $(cat mancmds.txt); do
	grep -qx "$cmd" cmds.txt; ok $? "c2watch(8) documents $cmd, which c2watch --help lists"
done

# --- c2watch(8): each command's options, and the choices its usage line lists
for cmd in $(cat cmds.txt); do
	"$C" "$cmd" --help > "h-$cmd.txt"; rc=$?
	is "$rc" 0 "c2watch $cmd --help exits 0"
	block "$MAN8" "$cmd" > "m-$cmd.txt"
	# "  -f, --format FMT   text" or "  --once  text": the short and long names.
	sed -n 's/^ \{1,\}\(-[A-Za-z0-9], \)\{0,1\}\(--[a-z][a-z-]*\).*/\1\2/p' "h-$cmd.txt" |
		sed 's/, / /' > "o-$cmd.txt"
	[ -s "o-$cmd.txt" ]; ok $? "c2watch $cmd --help lists options"
	while read -r a b; do
		if [ -n "$b" ]; then want=".It Fl ${a#-} , Fl ${b#-}"; long=$b; else want=".It Fl ${a#-}"; long=$a; fi
		# The whole name: "--json" must not be taken for "--jsonx".
		awk -v w="$want" 'BEGIN { r = 1 } $0 == w || index($0, w " ") == 1 { r = 0 }
			END { exit r }' "m-$cmd.txt"
		ok $? "c2watch(8) $cmd documents $a${b:+ $b}"
		echo "$long" >> "l-$cmd.txt"
	done < "o-$cmd.txt"
	# And nothing the command does not take.
	sed -n 's/^\.It Fl [A-Za-z0-9] , Fl \(-[a-z-]*\).*/-\1/p; s/^\.It Fl \(-[a-z-]*\).*/-\1/p' \
		"m-$cmd.txt" > "ml-$cmd.txt"
	while read -r long; do
		grep -qx -- "$long" "l-$cmd.txt"
		ok $? "c2watch(8) $cmd: $long is an option of c2watch $cmd --help"
	done < "ml-$cmd.txt"
	# "--format csv|stix|cuckoo": each choice is named in the page's synopsis of it.
	sed -n '1s/.*--format \([a-z|]*\).*/\1/p' "h-$cmd.txt" | tr '|' '\n' > "f-$cmd.txt"
	while read -r f; do
		[ -n "$f" ] || continue
		grep -q "Cm $f\( \|$\)" "m-$cmd.txt"
		ok $? "c2watch(8) $cmd names the format $f"
	done < "f-$cmd.txt"
done

# --- c2watch.conf(5): the keys of check-config, from a config with one peer
mkdir data
cat > min.conf <<'CONF'
[node]
id = n1
data_dir = data
[peer p]
url = http://127.0.0.1:1/taxii/poll
CONF
"$C" check-config -c min.conf > eff.txt; rc=$?
is "$rc" 0 "check-config of a minimal config exits 0"
# "SECTION<TAB>KEY<TAB>VALUE" for each key printed, the peer section as [peer NAME].
awk '/^\[/ { s = $0; sub(/^\[peer [^]]*\]$/, "[peer NAME]", s); next }
	/^[a-z_]+ =/ { k = $1; v = $0; sub(/^[^=]*= ?/, "", v); print s "\t" k "\t" v }' \
	eff.txt > keys.tsv
n=$(wc -l < keys.tsv)
[ "$n" -ge 30 ]; ok $? "check-config prints the keys ($n)"
cut -f1 keys.tsv | uniq > sects.txt
for s in $(cut -f1 keys.tsv | uniq | tr ' ' '@'); do
	s=$(echo "$s" | tr '@' ' ')
	block "$MAN5" "$s" > "sect.txt"
	[ -s sect.txt ]; ok $? "c2watch.conf(5) has a subsection for $s"
	grep "^$(printf '%s' "$s" | sed 's/[][]/\\&/g')	" keys.tsv > sk.tsv
	while IFS='	' read -r sec key val; do
		# The key's entry: from its .It line to the next .It or .El.
		awk -v k="$key" '/^\.(It|El)/ { on = ($0 ~ "^\\.It Cm " k " No =") } on' sect.txt \
			> entry.txt
		[ -s entry.txt ]; ok $? "c2watch.conf(5) $sec documents $key"
		# Required keys, vantage (the node id) and key_file (in data_dir) print this
		# config's values.
		case "$key" in id|data_dir|key_file|url|vantage) continue ;; esac
		if [ -n "$val" ]; then
			grep -qxE "\.Ql $(printf '%s' "$val" | sed 's/[][\\.*^$()+?{}|/]/\\&/g')( [.,;])?" \
				entry.txt
			ok $? "c2watch.conf(5) $sec $key: default $val"
		else
			grep -q '^Default: empty' entry.txt
			ok $? "c2watch.conf(5) $sec $key: default empty"
		fi
	done < sk.tsv
	# And no key the build does not take.
	sed -n 's/^\.It Cm \([a-z_]*\) No =.*/\1/p' sect.txt > mankeys.txt
	while read -r key; do
		cut -f2 sk.tsv | grep -qx "$key"
		ok $? "c2watch.conf(5) $s: $key is a key check-config prints"
	done < mankeys.txt
done
subsections "$MAN5" SECTIONS | while read -r s; do
	grep -qxF "$s" sects.txt || echo "$s"
done > extra.txt
[ ! -s extra.txt ]; ok $? "c2watch.conf(5) documents no section check-config does not print"
[ -s extra.txt ] && sed 's/^/#   /' extra.txt

# --- the example config: it loads, and names the same keys as check-config prints
"$C" check-config -c "$EXAMPLE" > ex-eff.txt 2> ex-err.txt; rc=$?
is "$rc" 0 "the example config passes check-config"
[ "$rc" -ne 0 ] && sed 's/^/#   /' ex-err.txt
awk '/^\[/ { s = $0; sub(/^\[peer [^]]*\]$/, "[peer NAME]", s); next }
	/^[a-z_]+ =/ { print s " " $1 }' "$EXAMPLE" | sort > ex-keys.txt
cut -f1,2 keys.tsv | tr '\t' ' ' | sort > eff-keys.txt
diff ex-keys.txt eff-keys.txt > ex.diff; rc=$?
is "$rc" 0 "the example config names every key, and only those"
[ "$rc" -ne 0 ] && sed 's/^/#   /' ex.diff

done_testing
