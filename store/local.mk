noinst_LIBRARIES += store/libstore.a
store_libstore_a_SOURCES = store/store.h store/store_int.h store/store.c store/store_ops.c \
	store/store_sum.c store/store_feed.c store/store_idt.c
store_libstore_a_CFLAGS = $(AM_CFLAGS) $(LMDB_CFLAGS) $(JANSSON_CFLAGS)
STORE_LIBS = store/libstore.a $(UTIL_LIBS) $(LMDB_LIBS) $(JANSSON_LIBS) $(FUZZY_LIBS) -lpthread

check_PROGRAMS += tests/test_store
TESTS += tests/test_store
tests_test_store_SOURCES = tests/test_store.c
tests_test_store_CFLAGS = $(AM_CFLAGS) $(LMDB_CFLAGS) $(JANSSON_CFLAGS)
tests_test_store_LDADD = $(RECORD_LIBS) $(STORE_LIBS)

check_PROGRAMS += tests/test_store_sum
TESTS += tests/test_store_sum
tests_test_store_sum_SOURCES = tests/test_store_sum.c
tests_test_store_sum_CFLAGS = $(AM_CFLAGS) $(LMDB_CFLAGS) $(JANSSON_CFLAGS)
tests_test_store_sum_LDADD = $(RECORD_LIBS) $(STORE_LIBS)
