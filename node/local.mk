# node/ is a library too, so tests can wire real modules together the way the binary does.
noinst_LIBRARIES += node/libnode.a
node_libnode_a_SOURCES = node/cli.h node/cli_util.c node/cli_config.c \
	node/cli_import.c node/cli_targets.c node/cli_export.c node/cli_user.c \
	node/cli_poll.c node/node_obs.h node/node_observe.c node/cli_observe.c node/cli_probe.c \
	node/cli_run.c node/node_daemon.h node/node_serve.c node/node_pages.h node/node_pages.c \
	node/cli_report.c node/cli_import_json.c node/node_key.h node/node_key.c node/cli_key.c \
	node/node_stats.h node/node_stats.c node/node_metrics.c node/cli_status.c
node_libnode_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS) $(XML_CFLAGS) \
	$(MHD_CFLAGS) $(LMDB_CFLAGS) $(CRYPTO_CFLAGS)
NODE_LIBS = node/libnode.a $(DASH_LIBS) $(FED_LIBS) $(ANALYSIS_LIBS) $(OBSERVER_LIBS) \
	$(TAXII_LIBS) $(STIX_LIBS) $(CONF_LIBS) $(STORE_LIBS) $(CURL_LIBS) $(XML_LIBS) $(MHD_LIBS) \
	$(CRYPTO_LIBS) $(JANSSON_LIBS) $(IDN2_LIBS) $(FUZZY_LIBS) -lm

bin_PROGRAMS += c2watch
c2watch_SOURCES = node/main.c
c2watch_LDADD = $(NODE_LIBS)

# Signed records between real daemons: a hub that alters and forges, receivers that refuse.
check_PROGRAMS += tests/c2pack
tests_c2pack_SOURCES = tests/pack.c
tests_c2pack_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_c2pack_LDADD = $(NODE_LIBS)
TESTS += tests/test_trust.sh
EXTRA_DIST += tests/test_trust.sh

# Whole daemons federating on loopback.
TESTS += tests/test_hub.sh
EXTRA_DIST += tests/test_hub.sh

# TAXII subscriptions, push delivery and client certificates, over a real store.
check_PROGRAMS += tests/test_subs
TESTS += tests/test_subs
tests_test_subs_SOURCES = tests/test_subs.c tests/xsd.h tests/xsd.c
tests_test_subs_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS) $(XML_CFLAGS)
tests_test_subs_LDADD = $(NODE_LIBS)

# Subscriptions and push between two real daemons.
TESTS += tests/test_push.sh
EXTRA_DIST += tests/test_push.sh

# Merges cut off by kill -9 (of the poller and of the peer), oversize and refusing peers.
TESTS += tests/test_merge.sh
EXTRA_DIST += tests/test_merge.sh tests/daemons.sh
