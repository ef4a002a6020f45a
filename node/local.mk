bin_PROGRAMS += c2watch
c2watch_SOURCES = node/main.c node/cli.h node/node.h node/cli_util.c node/cli_config.c \
	node/cli_import.c node/cli_targets.c node/cli_export.c node/cli_user.c node/node_targets.c \
	node/node_records.c node/node_obs.h node/node_observe.c node/cli_observe.c \
	node/cli_probe.c node/cli_run.c node/node_daemon.h
c2watch_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS) $(XML_CFLAGS) $(MHD_CFLAGS) \
	$(LMDB_CFLAGS) $(CRYPTO_CFLAGS)
c2watch_LDADD = $(OBSERVER_LIBS) $(STIX_LIBS) $(CONF_LIBS) $(STORE_LIBS) $(CURL_LIBS) $(XML_LIBS) $(MHD_LIBS) \
	$(CRYPTO_LIBS) $(JANSSON_LIBS)
