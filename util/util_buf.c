/* A capped, growable buffer: everything read from a file or the network passes through one,
 * so the cap is enforced in one place. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

void
util_buf_init(struct util_buf *b, size_t limit)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->limit = limit ? limit : SIZE_MAX / 2;
}

/* Makes room for n more bytes and the NUL. 0, -1 (allocation) or -2 (the cap). */
static int
buf_grow(struct util_buf *b, size_t n)
{
	if (n > b->limit - b->len)
		return -2;
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 256;
		char *nd;

		while (ncap < b->len + n + 1)
			ncap *= 2;
		nd = realloc(b->data, ncap);
		if (nd == NULL)
			return -1;
		b->data = nd;
		b->cap = ncap;
	}
	return 0;
}

int
util_buf_add(struct util_buf *b, const void *p, size_t n)
{
	int rc = buf_grow(b, n);

	if (rc != 0)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

char *
util_buf_extend(struct util_buf *b, size_t n)
{
	char *at;

	if (buf_grow(b, n) != 0)
		return NULL;
	at = b->data + b->len;
	b->len += n;
	b->data[b->len] = '\0';
	return at;
}

int
util_buf_vprintf(struct util_buf *b, const char *fmt, va_list ap)
{
	va_list again;
	char small[512];
	int n, rc;

	/* Most lines fit on the stack; a longer one is formatted twice. */
	va_copy(again, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n < 0 || (size_t)n < sizeof(small)) {
		va_end(again);
		return n < 0 ? -1 : util_buf_add(b, small, (size_t)n);
	}
	char *big = malloc((size_t)n + 1);
	if (big == NULL) {
		va_end(again);
		return -1;
	}
	vsnprintf(big, (size_t)n + 1, fmt, again);
	va_end(again);
	rc = util_buf_add(b, big, (size_t)n);
	free(big);
	return rc;
}

int
util_buf_printf(struct util_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = util_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void
util_buf_reset(struct util_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
util_buf_fini(struct util_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int
util_read_file(const char *path, struct util_buf *b)
{
	char chunk[65536];
	int fd, rc = -1;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (n == 0)
			break;
		rc = util_buf_add(b, chunk, (size_t)n);
		if (rc == -1)
			errno = ENOMEM;
		if (rc != 0)
			goto out;
		rc = -1;
	}
	if (b->data == NULL && util_buf_add(b, "", 0) != 0) {
		errno = ENOMEM;
		goto out;
	}
	rc = 0;
out:
	{
		int saved = errno;

		close(fd);
		errno = saved;
	}
	return rc;
}

void
util_vseterr(char *err, size_t len, const char *fmt, va_list ap)
{
	if (err == NULL || len == 0)
		return;
	vsnprintf(err, len, fmt, ap);
}

void
util_seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	util_vseterr(err, len, fmt, ap);
	va_end(ap);
}

void
util_seterr_at(char *err, size_t len, const char *file, int line, const char *field,
    const char *fmt, ...)
{
	va_list ap;
	size_t n = 0;
	int k;

	if (err == NULL || len == 0)
		return;
	err[0] = '\0';
	if (file != NULL) {
		k = line > 0 ? snprintf(err, len, "%s:%d: ", file, line) :
		    snprintf(err, len, "%s: ", file);
		if (k < 0 || (size_t)k >= len)
			return;
		n = (size_t)k;
	}
	if (field != NULL) {
		k = snprintf(err + n, len - n, "%s: ", field);
		if (k < 0 || (size_t)k >= len - n)
			return;
		n += (size_t)k;
	}
	va_start(ap, fmt);
	vsnprintf(err + n, len - n, fmt, ap);
	va_end(ap);
}
