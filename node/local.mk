bin_PROGRAMS += c2watch
c2watch_SOURCES = node/main.c
c2watch_LDADD = $(UTIL_LIBS)
