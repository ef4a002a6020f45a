noinst_HEADERS += tests/tap.h

check_PROGRAMS += tests/test_util
TESTS += tests/test_util
tests_test_util_SOURCES = tests/test_util.c
tests_test_util_LDADD = $(UTIL_LIBS)

# Integration tests: the built binary, in temporary directories.
TESTS += tests/test_cli.sh
EXTRA_DIST += tests/tap.sh tests/test_cli.sh

# The manual pages: mandoc lint, and every command, option and config key the build has.
TESTS += tests/test_man.sh
EXTRA_DIST += tests/test_man.sh

# The systemd unit: systemd-analyze verify and security, and ping with only CAP_NET_RAW.
TESTS += tests/test_unit.sh
EXTRA_DIST += tests/test_unit.sh

# The Debian package, built from a copy of the tree in a temporary directory.
TESTS += tests/test_deb.sh
EXTRA_DIST += tests/test_deb.sh debian/changelog debian/clean debian/control \
	debian/copyright debian/postinst debian/postrm debian/rules debian/source/format
