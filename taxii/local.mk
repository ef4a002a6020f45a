# taxii: TAXII 1.1/1.0 messages, HTTP binding helpers, server, client
noinst_LIBRARIES += taxii/libtaxii.a
noinst_HEADERS += taxii/taxii.h
taxii_libtaxii_a_SOURCES = taxii/taxii_int.h taxii/taxii_msg.c taxii/taxii_msg_parse.c \
	taxii/taxii_msg_write.c taxii/taxii_server.c taxii/taxii_client.c
taxii_libtaxii_a_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS) $(MHD_CFLAGS) $(CURL_CFLAGS) \
	$(GNUTLS_CFLAGS)
TAXII_LIBS = taxii/libtaxii.a $(UTIL_LIBS) $(XML_LIBS) $(MHD_LIBS) $(CURL_LIBS) $(GNUTLS_LIBS) \
	-lpthread

check_PROGRAMS += tests/test_taxii_msg
TESTS += tests/test_taxii_msg
tests_test_taxii_msg_SOURCES = tests/test_taxii_msg.c tests/xsd.h tests/xsd.c
tests_test_taxii_msg_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS)
tests_test_taxii_msg_LDADD = $(TAXII_LIBS)
check_PROGRAMS += tests/test_taxii_server
TESTS += tests/test_taxii_server
tests_test_taxii_server_SOURCES = tests/test_taxii_server.c tests/xsd.h tests/xsd.c
tests_test_taxii_server_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS) $(CURL_CFLAGS)
tests_test_taxii_server_LDADD = $(TAXII_LIBS) $(CURL_LIBS)

EXTRA_DIST += tests/data/taxii/hostile/billion_laughs.xml \
	tests/data/taxii/hostile/external_dtd.xml \
	tests/data/taxii/hostile/parameter_entity.xml \
	tests/data/taxii/hostile/xinclude.xml \
	tests/data/taxii/hostile/xxe_file.xml \
	tests/data/taxii/tls/cert.pem \
	tests/data/taxii/tls/key.pem \
	tests/data/taxii/valid/default_ns_poll_request.xml \
	tests/data/taxii/valid/inherited_ns_inbox.xml

check_PROGRAMS += tests/test_taxii_client
TESTS += tests/test_taxii_client
tests_test_taxii_client_SOURCES = tests/test_taxii_client.c tests/script.h tests/script.c
tests_test_taxii_client_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS) $(CURL_CFLAGS)
tests_test_taxii_client_LDADD = $(TAXII_LIBS) $(CURL_LIBS)
EXTRA_DIST += tests/data/taxii/client/collection_info_extra_ns.xml \
	tests/data/taxii/client/discovery_response.xml \
	tests/data/taxii/client/poll_count_more.xml \
	tests/data/taxii/client/poll_part1.xml \
	tests/data/taxii/client/poll_part2.xml \
	tests/data/taxii/client/poll_part3_empty.xml \
	tests/data/taxii/client/poll_response_10.xml \
	tests/data/taxii/client/poll_response_doctype.xml \
	tests/data/taxii/client/poll_response_labels.xml \
	tests/data/taxii/client/status_denied.xml \
	tests/data/taxii/client/status_unsupported_protocol.xml

check_PROGRAMS += tests/test_taxii_harden
TESTS += tests/test_taxii_harden
tests_test_taxii_harden_SOURCES = tests/test_taxii_harden.c
tests_test_taxii_harden_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS) $(CURL_CFLAGS) $(MHD_CFLAGS)
tests_test_taxii_harden_LDADD = $(TAXII_LIBS) $(CURL_LIBS)
