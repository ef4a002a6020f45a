# Benchmarks are programs, not tests: each prints its figures as one JSON line.
noinst_PROGRAMS += bench/bench_store
bench_bench_store_SOURCES = bench/bench_store.c
bench_bench_store_LDADD = $(STORE_LIBS)

# One observation cycle over N farm targets against curl --parallel on the same URLs.
noinst_PROGRAMS += bench/bench_observe
bench_bench_observe_SOURCES = bench/bench_observe.c
bench_bench_observe_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS)
bench_bench_observe_LDADD = $(OBSERVER_LIBS) $(STORE_LIBS)
