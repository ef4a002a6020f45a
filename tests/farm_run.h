/*
 * The C2 farm (tests/c2farm) started from a C test: the farm is run on a script, and the
 * listeners it reports ("listen NAME ADDR PORT" lines, then "listening") are read back so
 * the test can build URLs on them. The farm dies with the test (PR_SET_PDEATHSIG), so a
 * crashed test leaves no server behind.
 */
#ifndef C2W_TESTS_FARM_RUN_H
#define C2W_TESTS_FARM_RUN_H

#include <stddef.h>
#include <sys/types.h>

struct farm_listener {
	char name[64], addr[64];
	int port;
};

/* Runs `farm` on `script` and waits (at most 10 s) for it to listen. Fills up to cap
 * listeners and *n. Returns the farm's pid, or -1 when it did not start. */
pid_t farm_run(const char *farm, const char *script, struct farm_listener *l, size_t cap,
    size_t *n);

/* The listener called name among l[0..n); a test that names one the script lacks is
 * broken, so this exits 99 (a hard error for the test driver). */
const struct farm_listener *farm_listener(const struct farm_listener *l, size_t n,
    const char *name);

#endif
