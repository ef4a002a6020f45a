/*
 * c2fill: fills a node's data directory with N synthetic observation records (correct ids,
 * realistic fields), as if the node NODE had observed them, so integration tests can
 * federate a store too large to merge in an instant.
 *
 * Usage: c2fill DATA_DIR NODE N
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "bench/bench_common.h"

int
main(int argc, char **argv)
{
	char *end;
	long n;

	if (argc != 4) {
		fprintf(stderr, "usage: c2fill DATA_DIR NODE N\n");
		return 2;
	}
	n = strtol(argv[3], &end, 10);
	if (*argv[3] == '\0' || *end != '\0' || n <= 0 || n > 100000000) {
		fprintf(stderr, "c2fill: N: not a count from 1 to 100000000: \"%s\"\n", argv[3]);
		return 2;
	}
	return bench_fill(argv[1], argv[2], n) == 0 ? 0 : 1;
}
