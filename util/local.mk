noinst_LIBRARIES += util/libutil.a
util_libutil_a_SOURCES = util/util.h util/util_xml.h util/util_time.c util/util_buf.c util/util_hash.c \
	util/util_addr.c util/util_xml.c util/util_jscan.c
util_libutil_a_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS) $(XML_CFLAGS)
UTIL_LIBS = util/libutil.a $(CRYPTO_LIBS)
