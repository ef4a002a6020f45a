# Benchmarks are programs, not tests: each prints its figures as one JSON line.
noinst_PROGRAMS += bench/bench_store
bench_bench_store_SOURCES = bench/bench_store.c
bench_bench_store_LDADD = $(STORE_LIBS)
