noinst_HEADERS += tests/tap.h

check_PROGRAMS += tests/test_util
TESTS += tests/test_util
tests_test_util_SOURCES = tests/test_util.c
tests_test_util_LDADD = $(UTIL_LIBS)

# Integration tests: the built binary, in temporary directories.
TESTS += tests/test_cli.sh
EXTRA_DIST += tests/tap.sh tests/test_cli.sh tests/limit.sh
