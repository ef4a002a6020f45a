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
	tests/data/robots/bom-crlf.txt tests/data/robots/no-colon.txt \
	tests/data/robots/bom-truncated1.txt tests/data/robots/bom-truncated2.txt \
	tests/data/robots/bom-doubled.txt

# observer: the cycle (DNS, ping, robots.txt, GET under concurrency and host spacing) and
# change events, behind observer/observer.h; node/ links OBSERVER_LIBS.
noinst_LIBRARIES += observer/libobserver.a
observer_libobserver_a_SOURCES = observer/observer.h observer/obs_int.h observer/obs_cycle.c \
	observer/obs_target.c observer/obs_exclude.c observer/obs_rcache.c observer/obs_spacing.c \
	observer/obs_sched.c \
	observer/obs_events.c observer/obs_tally.c
observer_libobserver_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS) $(PSL_CFLAGS)
OBSERVER_LIBS = observer/libobserver.a observer/libobshttp.a observer/libobsbase.a $(RECORD_LIBS) \
	$(UTIL_LIBS) $(CURL_LIBS) $(CRYPTO_LIBS) $(MAGIC_LIBS) $(FUZZY_LIBS) $(CARES_LIBS) \
	$(JANSSON_LIBS) $(PSL_LIBS) -lpthread

check_PROGRAMS += tests/test_observer
TESTS += tests/test_observer
tests_test_observer_SOURCES = tests/test_observer.c tests/farm_run.h tests/farm_run.c
tests_test_observer_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS)
tests_test_observer_LDADD = $(OBSERVER_LIBS)

# Storing what a cycle observed, with its change events (node/ hands it the store).
observer_libobserver_a_SOURCES += observer/obs_store.c

# Integration: observe --once, probe and run through the built binary against the farm.
TESTS += tests/test_observe.sh
EXTRA_DIST += tests/test_observe.sh
