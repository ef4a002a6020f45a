# record: the observation record's fields, id, target key, JSON form and checks (jansson)
noinst_LIBRARIES += record/librecord.a
record_librecord_a_SOURCES = record/record.h record/rec_int.h record/rec_id.c \
	record/rec_check.c record/rec_json.c record/rec_jl.c record/rec_canon.c \
	record/rec_jcs.c record/rec_sign.c
record_librecord_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CRYPTO_CFLAGS)
RECORD_LIBS = record/librecord.a $(UTIL_LIBS) $(JANSSON_LIBS)

check_PROGRAMS += tests/test_record
TESTS += tests/test_record
tests_test_record_SOURCES = tests/test_record.c tests/records.h tests/records.c
tests_test_record_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_test_record_LDADD = $(RECORD_LIBS)
