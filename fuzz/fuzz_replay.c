/*
 * fuzz_replay: runs one harness's LLVMFuzzerTestOneInput over saved inputs in any build
 * (gcc or clang, with or without sanitizers), so a crash the fuzzer once found stays fixed
 * in every `make check`. FUZZ_NAME (set by the build) picks the directories: the saved
 * regression inputs in $TESTS_SRCDIR/data/fuzz/FUZZ_NAME and the seeds in
 * $TESTS_SRCDIR/data/fuzz/seeds/FUZZ_NAME, and the module's own fixtures
 * ($TESTS_SRCDIR/data/FUZZ_NAME and its valid/ and hostile/) where it has them. A harness
 * that finds a bug aborts, which fails the test; every input that returns is one passing
 * TAP line.
 */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/tap.h"
#include "util/util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_BYTES (4u * 1024 * 1024)
#define REPLAY_MAX_FILES 1000

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Runs every file of `dir` (in name order; `label` names it in the output); returns how
 * many ran. */
static int
replay_dir(const char *dir, const char *label)
{
	char *names[REPLAY_MAX_FILES];
	size_t n = 0;
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && n < REPLAY_MAX_FILES) {
		char path[4096 + 300];
		struct stat sb;
		int pl = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);

		/* Subdirectories are other fixture sets, not inputs. */
		if (e->d_name[0] == '.' || pl < 0 || (size_t)pl >= sizeof(path) ||
		    stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		if ((names[n] = strdup(e->d_name)) != NULL)
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);
	for (size_t i = 0; i < n; i++) {
		char path[4096 + 300];
		struct util_buf b;
		int pl = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);

		util_buf_init(&b, REPLAY_MAX_BYTES);
		if (pl < 0 || (size_t)pl >= sizeof(path) || util_read_file(path, &b) != 0) {
			ok(0, "%s: readable", names[i]);
		} else {
			/* The harness checks its own properties and aborts on a bug. */
			LLVMFuzzerTestOneInput((const uint8_t *)(b.data ? b.data : ""), b.len);
			ok(1, "%s/%s runs clean", label, names[i]);
		}
		util_buf_fini(&b);
		free(names[i]);
	}
	return (int)n;
}

int
main(int argc, char **argv)
{
	static const char *const dirs[] = { "fuzz/" FUZZ_NAME, "fuzz/seeds/" FUZZ_NAME,
		FUZZ_NAME "/valid", FUZZ_NAME "/hostile", FUZZ_NAME };
	const char *src = getenv("TESTS_SRCDIR");
	char dir[4096];
	int n = 0;

	if (src == NULL || src[0] == '\0')
		tap_skip_all("TESTS_SRCDIR unset: no saved inputs to replay");
	LLVMFuzzerInitialize(&argc, &argv);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(dir, sizeof(dir), "%s/data/%s", src, dirs[i]);
		n += replay_dir(dir, dirs[i]);
	}
	if (n == 0)
		ok(0, "some saved input for %s under %s/data/fuzz", FUZZ_NAME, src);
	return tap_done();
}
