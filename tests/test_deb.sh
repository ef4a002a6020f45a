#!/bin/sh
# The Debian package: built with dpkg-buildpackage from a copy of the source tree in a
# temporary directory (nothing is left in the tree), checked by lintian, unpacked into a
# throw-away root whose c2watch runs `version` and `check-config` of the installed
# example; its maintainer scripts run against stand-ins that record what they would do.
. "$TESTS_SRCDIR/tap.sh"
SRC=$(cd "$TESTS_SRCDIR/.." && pwd -P) || exit 99

command -v dpkg > /dev/null || skip_all "not a Debian system (no dpkg)"
# dpkg-buildpackage exports this to debian/rules: the package's own build runs the suite,
# and building the package again inside it would prove nothing.
[ -z "${DEB_RULES_REQUIRES_ROOT:-}" ] || skip_all "inside a Debian package build"
missing=
for t in dpkg-buildpackage dh lintian fakeroot; do
	command -v "$t" > /dev/null || missing="$missing $t"
done
is "$missing" "" "the packaging tools are installed (tools/deps.sh)"
[ -z "$missing" ] || { done_testing; exit 1; }

# --- a clean copy of the tree: the files git tracks, or a tarball's whole tree
mkdir "$T/src" || exit 99
# Only when the tree is a checkout's top: an unpacked tarball may sit inside another one.
top=$(git -C "$SRC" rev-parse --show-toplevel 2>/dev/null) && top=$(cd "$top" && pwd -P)
if [ "$top" = "$SRC" ]; then
	(cd "$SRC" && git ls-files -z | tar -c --null -T - -f -) |
		tar -x -C "$T/src"
else
	cp -R "$SRC/." "$T/src" && chmod -R u+w "$T/src"
	if [ -f "$T/src/Makefile" ]; then
		(cd "$T/src" && make -s distclean > /dev/null 2>&1)
	fi
fi
[ -x "$T/src/debian/rules" ]; ok $? "the copy has debian/rules"

# --- build (the suite is this test's caller: the package build does not run it again)
# What the tree and its parent hold before (dpkg-buildpackage writes to the parent).
state() { ls -d "$SRC"/../c2watch_* "$SRC"/../c2watch-* 2>/dev/null
	[ "$top" = "$SRC" ] && git -C "$SRC" status --porcelain; }
before=$(state)
# The package's make must not join the make check that runs this test (its jobserver).
(cd "$T/src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL DEB_BUILD_OPTIONS=nocheck \
	dpkg-buildpackage -us -uc -b) > "$T/build.log" 2>&1
rc=$?
is "$rc" 0 "dpkg-buildpackage -us -uc -b"
[ "$rc" -ne 0 ] && tail -20 "$T/build.log" | sed 's/^/#   /'
deb=$(ls "$T"/c2watch_*.deb 2>/dev/null | head -n1)
[ -f "$deb" ]; ok $? "it made c2watch_*.deb"
after=$(state)
is "$after" "$before" "nothing was written in or beside the source tree"
[ -f "$deb" ] || { done_testing; exit 1; }

# --- lintian: no error (warnings are allowed and shown)
lintian --fail-on error "$deb" > "$T/lintian.log" 2>&1; rc=$?
is "$rc" 0 "lintian finds no error"
grep -E '^[EW]: ' "$T/lintian.log" | sed 's/^/#   /'

# --- contents
dpkg-deb -c "$deb" | awk '{ print $1, $2, $6 }' > "$T/contents"
for f in ./usr/bin/c2watch ./usr/share/man/man8/c2watch.8.gz \
	./usr/share/man/man5/c2watch.conf.5.gz ./etc/c2watch/c2watch.conf.example \
	./lib/systemd/system/c2watch.service; do
	grep -q " $f\$" "$T/contents"; ok $? "the package holds $f"
done
grep -q '^-rwxr-xr-x root/root ./usr/bin/c2watch$' "$T/contents"
ok $? "the binary is root's, mode 0755"
grep -q '^-rwxr-xr-x root/root ./usr/libexec/c2watch/on-change-sandbox$' "$T/contents"
ok $? "the sandbox hook is in /usr/libexec/c2watch, mode 0755"
dpkg-deb -f "$deb" Depends | grep -q 'adduser'
ok $? "it depends on adduser, which postinst uses"
mkdir "$T/ctl" && dpkg-deb -e "$deb" "$T/ctl"
grep -qx /etc/c2watch/c2watch.conf.example "$T/ctl/conffiles"
ok $? "the example config is a conffile"

# --- the installed files in a throw-away root
mkdir "$T/root" && dpkg-deb -x "$deb" "$T/root"
R=$T/root
out=$("$R/usr/bin/c2watch" version); rc=$?
is "$rc" 0 "the installed c2watch version exits 0"
has "$out" "c2watch " "and prints its version"
"$R/usr/bin/c2watch" check-config -c "$R/etc/c2watch/c2watch.conf.example" \
	> "$T/eff.conf" 2> "$T/eff.err"; rc=$?
is "$rc" 0 "check-config of the installed example config exits 0"
[ "$rc" -ne 0 ] && sed 's/^/#   /' "$T/eff.err"
grep -q '^data_dir = /var/lib/c2watch$' "$T/eff.conf"
ok $? "the example's data_dir is the package's /var/lib/c2watch"
unit=$R/lib/systemd/system/c2watch.service
grep -q '^ExecStart=/usr/bin/c2watch run -c /etc/c2watch/c2watch.conf$' "$unit"
ok $? "the packaged unit runs /usr/bin/c2watch"
grep -q '/usr/local' "$unit"; rc=$?
is "$rc" 1 "and names nothing under /usr/local"
zcat "$R/usr/share/man/man8/c2watch.8.gz" | grep -q '^\.Dt C2WATCH 8'
ok $? "c2watch(8) is installed compressed"

# --- maintainer scripts, against stand-ins that only log: PATH holds nothing else, so a
# command without a stand-in fails the script instead of touching this machine.
stub=$T/stub
mkdir "$stub"
for c in adduser chown chmod mkdir rm deb-systemd-helper deb-systemd-invoke systemctl; do
	printf '#!/bin/sh\necho "%s $*" >> "%s"\n' "$c" "$T/calls" > "$stub/$c"
	chmod +x "$stub/$c"
done
printf '#!/bin/sh\nexit 2\n' > "$stub/getent"              # no such user yet
printf '#!/bin/sh\nexit 1\n' > "$stub/dpkg-statoverride"   # no override
chmod +x "$stub/getent" "$stub/dpkg-statoverride"
: > "$T/calls"
(PATH=$stub DPKG_ROOT='' /bin/sh "$T/ctl/postinst" configure) > "$T/postinst.log" 2>&1; rc=$?
is "$rc" 0 "postinst configure runs"
[ "$rc" -ne 0 ] && sed 's/^/#   /' "$T/postinst.log"
grep -q '^adduser --system --group .*--home /var/lib/c2watch .* c2watch$' "$T/calls"
ok $? "postinst makes the c2watch system user and group"
grep -qx 'chown c2watch:c2watch /var/lib/c2watch' "$T/calls"
ok $? "postinst gives /var/lib/c2watch to c2watch"
grep -qx 'chmod 0700 /var/lib/c2watch' "$T/calls"
ok $? "with mode 0700"
printf '#!/bin/sh\necho c2watch:x:999:999::/var/lib/c2watch:/usr/sbin/nologin\n' > "$stub/getent"
: > "$T/calls"
(PATH=$stub DPKG_ROOT='' /bin/sh "$T/ctl/postinst" configure 0.1.0) > "$T/postinst.log" 2>&1
grep -q '^adduser' "$T/calls"; rc=$?
is "$rc" 1 "an existing c2watch user is kept on upgrade"
: > "$T/calls"
(PATH=$stub DPKG_ROOT='' /bin/sh "$T/ctl/postrm" remove) > "$T/postrm.log" 2>&1; rc=$?
is "$rc" 0 "postrm remove runs"
grep -q '^rm .*/var/lib/c2watch' "$T/calls"; rc=$?
is "$rc" 1 "and keeps the data"
: > "$T/calls"
(PATH=$stub DPKG_ROOT='' /bin/sh "$T/ctl/postrm" purge) > "$T/postrm.log" 2>&1; rc=$?
is "$rc" 0 "postrm purge runs"
grep -qx 'rm -rf /var/lib/c2watch' "$T/calls"
ok $? "and removes /var/lib/c2watch"

done_testing
