# observer: probe building blocks without HTTP — robots.txt rules, ICMP echo, DNS
noinst_LIBRARIES += observer/libobsbase.a
observer_libobsbase_a_SOURCES = \
	observer/obs_robots.c observer/obs_robots.h \
	observer/obs_icmp.c observer/obs_icmp.h \
	observer/obs_dns.c observer/obs_dns.h
observer_libobsbase_a_CFLAGS = $(AM_CFLAGS) $(CARES_CFLAGS)

check_PROGRAMS += tests/test_robots
TESTS += tests/test_robots
tests_test_robots_SOURCES = tests/test_robots.c
tests_test_robots_LDADD = observer/libobsbase.a $(UTIL_LIBS)

check_PROGRAMS += tests/test_icmp
TESTS += tests/test_icmp
tests_test_icmp_SOURCES = tests/test_icmp.c
tests_test_icmp_LDADD = observer/libobsbase.a $(UTIL_LIBS)

check_PROGRAMS += tests/test_dns
TESTS += tests/test_dns
tests_test_dns_SOURCES = tests/test_dns.c
tests_test_dns_LDADD = observer/libobsbase.a $(UTIL_LIBS) $(CARES_LIBS)
EXTRA_DIST += tests/data/robots/cases.tsv tests/data/robots/rfc-simple.txt \
	tests/data/robots/rfc-longest.txt tests/data/robots/merged.txt \
	tests/data/robots/bom-crlf.txt
