# stix: STIX 1.x <-> JSON records and targets (libxml2, jansson)
noinst_LIBRARIES += stix/libstix.a
stix_libstix_a_SOURCES = stix/stix.h stix/stix_int.h stix/stix_xml.c stix/stix_write.c \
	stix/stix_read.c
stix_libstix_a_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS) $(JANSSON_CFLAGS) $(CRYPTO_CFLAGS)
STIX_LIBS = stix/libstix.a $(RECORD_LIBS) $(XML_LIBS) $(JANSSON_LIBS)

check_PROGRAMS += tests/test_stix
TESTS += tests/test_stix
tests_test_stix_SOURCES = tests/test_stix.c tests/records.h tests/records.c
tests_test_stix_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS) $(JANSSON_CFLAGS)
tests_test_stix_LDADD = $(STIX_LIBS)
EXTRA_DIST += $(STIX_FIXTURES)
STIX_FIXTURES = tests/data/stix/records/full.json \
	tests/data/stix/records/probes-null.json tests/data/stix/records/probe-errors.json \
	tests/data/stix/records/ipv6-unicode.json tests/data/stix/records/xml-special.json \
	tests/data/stix/records/bare-ip.json \
	tests/data/stix/hostile/xxe-file.xml tests/data/stix/hostile/billion-laughs.xml \
	tests/data/stix/hostile/parameter-entity.xml tests/data/stix/hostile/external-dtd.xml \
	tests/data/stix/hostile/quadratic-blowup.xml
