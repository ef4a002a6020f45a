# analysis: the report's figures, verdicts and blocklist exports, over the store's summaries
noinst_LIBRARIES += analysis/libanalysis.a
noinst_HEADERS += analysis/analysis.h analysis/an_int.h
analysis_libanalysis_a_SOURCES = analysis/an_num.c analysis/an_sinkhole.c \
	analysis/an_report.c analysis/an_output.c analysis/an_blocklist.c
nodist_analysis_libanalysis_a_SOURCES = analysis/an_builtin.c
analysis_libanalysis_a_CFLAGS = $(AM_CFLAGS) $(IDN2_CFLAGS)
ANALYSIS_LIBS = analysis/libanalysis.a $(RECORD_LIBS) $(STORE_LIBS) $(IDN2_LIBS) -lm

# The built-in sinkhole list is conf/sinkholes.txt, compiled in (one source for both).
analysis/an_builtin.c: $(top_srcdir)/conf/sinkholes.txt
	@$(MKDIR_P) analysis
	$(AM_V_GEN)( echo '/* Generated from conf/sinkholes.txt: the built-in sinkhole list. */'; \
	  echo '#include "analysis/an_int.h"'; \
	  echo 'const char an_builtin_sinkholes[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/	"/' -e 's/$$/\\n"/' \
	    $(top_srcdir)/conf/sinkholes.txt; \
	  echo ';' ) > $@
BUILT_SOURCES = analysis/an_builtin.c
CLEANFILES += analysis/an_builtin.c
dist_c2watchconf_DATA += conf/sinkholes.txt

check_PROGRAMS += tests/test_analysis
TESTS += tests/test_analysis
tests_test_analysis_SOURCES = tests/test_analysis.c
tests_test_analysis_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_test_analysis_LDADD = $(ANALYSIS_LIBS) $(RECORD_LIBS) $(JANSSON_LIBS) $(FUZZY_LIBS)

# report, import --format json and the exports through the built binary
TESTS += tests/test_report.sh
EXTRA_DIST += tests/test_report.sh
