noinst_HEADERS += tests/tap.h

check_PROGRAMS += tests/test_util
TESTS += tests/test_util
tests_test_util_SOURCES = tests/test_util.c
tests_test_util_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS)
tests_test_util_LDADD = $(UTIL_LIBS) $(XML_LIBS)

# Integration tests: the built binary, in temporary directories.
TESTS += tests/test_cli.sh
EXTRA_DIST += tests/tap.sh tests/test_cli.sh tests/limit.sh

# The module walls of doc/ARCHITECTURE.md, from the sources' #include lines.
TESTS += tests/test_layout.sh
EXTRA_DIST += tests/test_layout.sh doc/ARCHITECTURE.md

# GET /metrics of real daemons, read by a strict parser of the text format.
check_PROGRAMS += tests/promparse
tests_promparse_SOURCES = tests/promparse.c
TESTS += tests/test_metrics.sh
EXTRA_DIST += tests/test_metrics.sh

# c2watch status: no daemon, a running one, one killed with -9.
TESTS += tests/test_status.sh
EXTRA_DIST += tests/test_status.sh

# The manual pages: mandoc lint, and every command, option and config key the build has.
TESTS += tests/test_man.sh
EXTRA_DIST += tests/test_man.sh

# The systemd unit: systemd-analyze verify and security, and ping with only CAP_NET_RAW.
TESTS += tests/test_unit.sh
EXTRA_DIST += tests/test_unit.sh

# The Debian package, built from a copy of the tree in a temporary directory.
TESTS += tests/test_deb.sh
EXTRA_DIST += tests/test_deb.sh debian/changelog debian/clean debian/control debian/c2watch.install \
	debian/copyright debian/postinst debian/postrm debian/rules debian/source/format

# contrib/on-change-sandbox against a stand-in of a Cuckoo or CAPE REST API.
check_PROGRAMS += tests/sandbox_api
tests_sandbox_api_SOURCES = tests/sandbox_api.c
tests_sandbox_api_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS)
tests_sandbox_api_LDADD = $(MHD_LIBS) -lpthread
TESTS += tests/test_sandbox_hook.sh
EXTRA_DIST += tests/test_sandbox_hook.sh contrib/on-change-sandbox
