# conf: config file (INI) and targets CSV
noinst_LIBRARIES += conf/libconf.a
noinst_HEADERS += conf/conf.h conf/conf_int.h
conf_libconf_a_SOURCES = conf/conf_ini.c conf/conf_print.c conf/conf_targets.c conf/conf_net.c \
	conf/conf_cuckoo.c conf/conf_users.c
conf_libconf_a_CFLAGS = $(AM_CFLAGS) $(INIH_CFLAGS) $(JANSSON_CFLAGS) $(IDN2_CFLAGS) $(CRYPTO_CFLAGS)
CONF_LIBS = conf/libconf.a $(RECORD_LIBS) $(INIH_LIBS) $(JANSSON_LIBS) $(IDN2_LIBS) $(CRYPTO_LIBS) -lpthread

check_PROGRAMS += tests/test_conf tests/test_targets
TESTS += tests/test_conf tests/test_targets
tests_test_conf_SOURCES = tests/test_conf.c
tests_test_conf_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_test_conf_LDADD = $(CONF_LIBS)
tests_test_targets_SOURCES = tests/test_targets.c
tests_test_targets_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_test_targets_LDADD = $(CONF_LIBS)

# the example is installed beside where the real config goes; the unit is for packagers
c2watchconfdir = $(sysconfdir)/c2watch
dist_c2watchconf_DATA = conf/c2watch.conf.example
EXTRA_DIST += conf/c2watch.service

check_PROGRAMS += tests/test_cuckoo
TESTS += tests/test_cuckoo
tests_test_cuckoo_SOURCES = tests/test_cuckoo.c
tests_test_cuckoo_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_test_cuckoo_LDADD = $(CONF_LIBS)
EXTRA_DIST += tests/data/cuckoo/cape-style.report.json

check_PROGRAMS += tests/test_users
TESTS += tests/test_users
tests_test_users_SOURCES = tests/test_users.c
tests_test_users_LDADD = $(CONF_LIBS)
