# fed: federation (merging by record id, the TAXII server's backend, peer polls,
# subscriptions and the one push loop), behind fed/fed.h; node/ links FED_LIBS.
noinst_LIBRARIES += fed/libfed.a
fed_libfed_a_SOURCES = fed/fed.h fed/fed_int.h fed/fed_merge.c fed/fed_server.c \
	fed/fed_prep.c fed/fed_peer.c fed/fed_push.c fed/fed_subs.c fed/fed_commitq.c
fed_libfed_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS) $(XML_CFLAGS) \
	$(MHD_CFLAGS) $(LMDB_CFLAGS) $(LZ4_CFLAGS)
FED_LIBS = fed/libfed.a $(ANALYSIS_LIBS) $(TAXII_LIBS) $(STIX_LIBS) $(CONF_LIBS) $(STORE_LIBS) \
	$(CURL_LIBS) $(XML_LIBS) $(MHD_LIBS) $(CRYPTO_LIBS) $(JANSSON_LIBS) $(LZ4_LIBS)

# Three nodes in one process federating over loopback TAXII; the push loop's policy.
check_PROGRAMS += tests/test_fed
TESTS += tests/test_fed
tests_test_fed_SOURCES = tests/test_fed.c tests/script.h tests/script.c
tests_test_fed_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS) $(XML_CFLAGS)
tests_test_fed_LDADD = $(FED_LIBS) -lpthread
