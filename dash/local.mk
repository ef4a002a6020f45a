# dash: the dashboard pages and the feeds, drawn from analysis results
noinst_LIBRARIES += dash/libdash.a
noinst_HEADERS += dash/dash.h dash/dash_int.h
dash_libdash_a_SOURCES = dash/dash.c dash/dash_feed.c dash/dash_pages.c dash/dash_dest.c
dash_libdash_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(MHD_CFLAGS) $(XML_CFLAGS)
DASH_LIBS = dash/libdash.a $(ANALYSIS_LIBS) $(JANSSON_LIBS) -lpthread -lm

# The pages and feeds through a real daemon, and in headless Chromium
TESTS += tests/test_dash.sh
EXTRA_DIST += tests/test_dash.sh tools/demo_history.sh
