# Benchmarks are programs, not tests: each prints its figures as one JSON line.
noinst_PROGRAMS += bench/bench_store
bench_bench_store_SOURCES = bench/bench_store.c
bench_bench_store_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
bench_bench_store_LDADD = $(RECORD_LIBS) $(STORE_LIBS)

noinst_LIBRARIES += bench/libbench.a
bench_libbench_a_SOURCES = bench/bench_common.h bench/bench_common.c
bench_libbench_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS) $(XML_CFLAGS)

noinst_PROGRAMS += bench/bench_poll
bench_bench_poll_SOURCES = bench/bench_poll.c
bench_bench_poll_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(XML_CFLAGS)
bench_bench_poll_LDADD = bench/libbench.a $(NODE_LIBS) -lpthread

noinst_PROGRAMS += bench/bench_federate
bench_bench_federate_SOURCES = bench/bench_federate.c
bench_bench_federate_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(XML_CFLAGS) $(JANSSON_CFLAGS)
bench_bench_federate_LDADD = bench/libbench.a $(NODE_LIBS)

# One observation cycle over N farm targets against curl --parallel on the same URLs.
noinst_PROGRAMS += bench/bench_observe
bench_bench_observe_SOURCES = bench/bench_observe.c
bench_bench_observe_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS)
bench_bench_observe_LDADD = $(OBSERVER_LIBS) $(RECORD_LIBS) $(STORE_LIBS)

# A node's store filled with synthetic records, for the integration tests.
check_PROGRAMS += tests/c2fill
tests_c2fill_SOURCES = tests/fill.c
tests_c2fill_LDADD = bench/libbench.a $(NODE_LIBS)

# What wrong passwords cost a correct client: alone, then under 8 attackers (one source,
# then eight).
noinst_PROGRAMS += bench/bench_auth
bench_bench_auth_SOURCES = bench/bench_auth.c
bench_bench_auth_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(XML_CFLAGS)
bench_bench_auth_LDADD = $(TAXII_LIBS) $(CONF_LIBS) $(CURL_LIBS)

# The first study's scale imported with import --format json, then reported on.
noinst_PROGRAMS += bench/bench_report
bench_bench_report_SOURCES = bench/bench_report.c
bench_bench_report_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
bench_bench_report_LDADD = bench/libbench.a $(NODE_LIBS) -lpthread

noinst_PROGRAMS += bench/bench_dashboard
bench_bench_dashboard_SOURCES = bench/bench_dashboard.c
bench_bench_dashboard_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS) $(XML_CFLAGS)
bench_bench_dashboard_LDADD = bench/libbench.a $(NODE_LIBS)
