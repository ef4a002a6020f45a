# observer, HTTP role: the libcurl probe (obs_http), the simulated C2 farm it is tested
# against, and its test.
noinst_LIBRARIES += observer/libobshttp.a
observer_libobshttp_a_SOURCES = observer/obs_http.c observer/obs_http.h
observer_libobshttp_a_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CRYPTO_CFLAGS) $(MAGIC_CFLAGS)
OBS_HTTP_LIBS = observer/libobshttp.a $(UTIL_LIBS) $(CURL_LIBS) $(CRYPTO_LIBS) \
	$(MAGIC_LIBS) $(FUZZY_LIBS)

check_PROGRAMS += tests/c2farm
tests_c2farm_SOURCES = tests/farm/farm.c
tests_c2farm_LDADD = $(UTIL_LIBS)

check_PROGRAMS += tests/test_http
TESTS += tests/test_http
tests_test_http_SOURCES = tests/test_http.c tests/farm_run.h tests/farm_run.c
tests_test_http_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CRYPTO_CFLAGS)
tests_test_http_LDADD = $(OBS_HTTP_LIBS)
EXTRA_DIST += tests/data/farm/page.html tests/data/farm/page.html.gz \
	tests/data/farm/bomb.gz
