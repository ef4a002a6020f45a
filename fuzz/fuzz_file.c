#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz/fuzz_file.h"

static char path[64];
static int fd = -1;

static void
remove_file(void)
{
	if (fd >= 0)
		unlink(path);
}

const char *
fuzz_file_init(const char *harness)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(path, sizeof(path), "%s/%.16s.XXXXXX",
	    tmp != NULL && strlen(tmp) < 40 ? tmp : "/tmp", harness);
	if ((fd = mkstemp(path)) < 0) {
		perror("mkstemp");
		exit(1);
	}
	atexit(remove_file);
	return path;
}

void
fuzz_file_put(const uint8_t *data, size_t size)
{
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
}
