# fuzz: libFuzzer harnesses (./configure --enable-fuzzing CC=clang), run for a bounded time
# by tests/test_fuzz.sh, which skips in any other build. In every build the same harnesses
# replay the saved crash inputs and seeds under tests/data/fuzz (fuzz/replay_*).
if FUZZING
check_PROGRAMS += fuzz/fuzz_taxii fuzz/fuzz_stix fuzz/fuzz_targets fuzz/fuzz_conf \
	fuzz/fuzz_cuckoo
fuzz_fuzz_taxii_SOURCES = fuzz/fuzz_taxii.c
fuzz_fuzz_taxii_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS)
fuzz_fuzz_taxii_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_taxii_LDADD = $(TAXII_LIBS)
fuzz_fuzz_stix_SOURCES = fuzz/fuzz_stix.c
fuzz_fuzz_stix_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS) $(JANSSON_CFLAGS)
fuzz_fuzz_stix_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_stix_LDADD = $(STIX_LIBS)
fuzz_fuzz_targets_SOURCES = fuzz/fuzz_targets.c fuzz/fuzz_file.h fuzz/fuzz_file.c
fuzz_fuzz_targets_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
fuzz_fuzz_targets_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_targets_LDADD = $(CONF_LIBS)
fuzz_fuzz_conf_SOURCES = fuzz/fuzz_conf.c
fuzz_fuzz_conf_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
fuzz_fuzz_conf_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_conf_LDADD = $(CONF_LIBS)
fuzz_fuzz_cuckoo_SOURCES = fuzz/fuzz_cuckoo.c fuzz/fuzz_file.h fuzz/fuzz_file.c
fuzz_fuzz_cuckoo_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
fuzz_fuzz_cuckoo_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_cuckoo_LDADD = $(CONF_LIBS)
endif

FUZZ_REPLAYS = fuzz/replay_taxii fuzz/replay_stix fuzz/replay_targets fuzz/replay_conf \
	fuzz/replay_cuckoo
check_PROGRAMS += $(FUZZ_REPLAYS)
TESTS += $(FUZZ_REPLAYS)
fuzz_replay_taxii_SOURCES = fuzz/fuzz_replay.c fuzz/fuzz_taxii.c
fuzz_replay_taxii_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS) -DFUZZ_NAME='"taxii"'
fuzz_replay_taxii_LDADD = $(TAXII_LIBS)
fuzz_replay_stix_SOURCES = fuzz/fuzz_replay.c fuzz/fuzz_stix.c
fuzz_replay_stix_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS) $(JANSSON_CFLAGS) -DFUZZ_NAME='"stix"'
fuzz_replay_stix_LDADD = $(STIX_LIBS)
fuzz_replay_targets_SOURCES = fuzz/fuzz_replay.c fuzz/fuzz_targets.c fuzz/fuzz_file.h \
	fuzz/fuzz_file.c
fuzz_replay_targets_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) -DFUZZ_NAME='"targets"'
fuzz_replay_targets_LDADD = $(CONF_LIBS)
fuzz_replay_conf_SOURCES = fuzz/fuzz_replay.c fuzz/fuzz_conf.c
fuzz_replay_conf_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) -DFUZZ_NAME='"conf"'
fuzz_replay_conf_LDADD = $(CONF_LIBS)
fuzz_replay_cuckoo_SOURCES = fuzz/fuzz_replay.c fuzz/fuzz_cuckoo.c fuzz/fuzz_file.h \
	fuzz/fuzz_file.c
fuzz_replay_cuckoo_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) -DFUZZ_NAME='"cuckoo"'
fuzz_replay_cuckoo_LDADD = $(CONF_LIBS)

TESTS += tests/test_fuzz.sh
EXTRA_DIST += tests/test_fuzz.sh $(FUZZ_FIXTURES) .clang-format .clang-tidy
FUZZ_FIXTURES = tests/data/fuzz/targets/show-continuation-overflow.csv \
	tests/data/fuzz/seeds/targets/mixed.csv tests/data/fuzz/seeds/targets/bom-reordered.csv \
	tests/data/fuzz/seeds/stix/observation-full.xml \
	tests/data/fuzz/seeds/stix/observation-ipv6.xml tests/data/fuzz/seeds/stix/target.xml \
	tests/data/fuzz/seeds/conf/example.conf tests/data/fuzz/seeds/conf/peers.conf \
	tests/data/fuzz/conf/long-relative-path.conf \
	tests/data/fuzz/conf/listen-joined-too-long.conf \
	tests/data/fuzz/conf/value-begins-with-semicolon.conf

# The TAXII server under hostile load: huge bodies, slow clients, 100 concurrent pollers.
check_PROGRAMS += tests/test_taxii_load
TESTS += tests/test_taxii_load
tests_test_taxii_load_SOURCES = tests/test_taxii_load.c tests/xsd.h tests/xsd.c
tests_test_taxii_load_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS) $(CURL_CFLAGS)
tests_test_taxii_load_LDADD = $(TAXII_LIBS) $(CURL_LIBS)

# clang-tidy with the committed .clang-tidy, over the library modules and node/. Slow (about
# half a minute a file), so it is its own target rather than part of `make lint`.
TIDY_DIRS = util conf store stix taxii observer analysis node fuzz
tidy:
	@rc=0; for d in $(TIDY_DIRS); do \
		for f in $(top_srcdir)/$$d/*.c; do \
			[ -f "$$f" ] || continue; \
			clang-tidy --quiet "$$f" -- \
				-I$(top_srcdir) -I$(top_builddir) -D_GNU_SOURCE \
				$(XML_CFLAGS) $(CURL_CFLAGS) $(MHD_CFLAGS) $(JANSSON_CFLAGS) \
				$(LMDB_CFLAGS) $(LZ4_CFLAGS) $(INIH_CFLAGS) $(CARES_CFLAGS) $(PSL_CFLAGS) \
				$(IDN2_CFLAGS) $(MAGIC_CFLAGS) $(CRYPTO_CFLAGS) \
				-DFUZZ_NAME='"tidy"' || rc=1; \
		done; \
	done; exit $$rc
.PHONY: tidy
