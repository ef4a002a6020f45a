/*
 * util: small leaf helpers every module may use — timestamps in microseconds and their
 * RFC 3339 text, hex, SHA-256, and a growable byte buffer with a hard cap. It depends on
 * nothing else in c2watch, never logs, never allocates behind a caller's back except in
 * the buffer functions, and never exits.
 */
#ifndef C2W_UTIL_H
#define C2W_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Microseconds since the Unix epoch, UTC (CLOCK_REALTIME). */
int64_t util_now_us(void);

/* Longest text util_time_format writes, with its NUL. */
#define UTIL_TIME_MAX 40

/*
 * Formats `us` as RFC 3339 UTC: "2026-11-22T04:00:00Z", or with `frac` set
 * "2026-11-22T04:00:00.000000Z" (always six digits, so labels sort as text).
 * Returns 0, or -1 if the time is outside years 0001..9999 (buf then holds "").
 */
int util_time_format(int64_t us, int frac, char buf[UTIL_TIME_MAX]);

/*
 * Parses RFC 3339 ("2026-11-22T04:00:00Z", fractions of any length up to nine digits,
 * "+09:00" offsets, "t"/"z" and a space for "T" accepted) or a bare date "2026-11-22"
 * (midnight UTC) into microseconds. Returns 0, or -1 when `s` is not exactly such a time.
 */
int util_time_parse(const char *s, int64_t *us);

/* Writes 2*n lowercase hex digits and a NUL to out (which holds 2*n+1 bytes). */
void util_hex(const unsigned char *in, size_t n, char *out);

/* Reads exactly 2*n hex digits (either case) from s into out. Returns 0 or -1. */
int util_unhex(const char *s, unsigned char *out, size_t n);

#define UTIL_SHA256_LEN 32

/* SHA-256 of a buffer. Returns 0, or -1 if libcrypto fails. */
int util_sha256(const void *data, size_t len, unsigned char out[UTIL_SHA256_LEN]);

/*
 * A growable buffer with a cap: what network input and files are read into. `data` is
 * always NUL-terminated when non-NULL (the NUL is not counted in len).
 */
struct util_buf {
	char *data;
	size_t len;
	size_t cap;   /* allocated bytes */
	size_t limit; /* most bytes it may hold; 0 means SIZE_MAX / 2 */
};

/* Sets up an empty buffer that may grow to `limit` bytes (0: no cap of its own). */
void util_buf_init(struct util_buf *b, size_t limit);

/* Appends n bytes. Returns 0; -1 on allocation failure; -2 when the cap would be passed
 * (the buffer is then unchanged). */
int util_buf_add(struct util_buf *b, const void *p, size_t n);

/* printf-style append, same returns as util_buf_add. */
int util_buf_printf(struct util_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Empties the buffer and keeps its storage. */
void util_buf_reset(struct util_buf *b);

/* Frees the storage; the buffer is empty afterwards and may be reused. */
void util_buf_fini(struct util_buf *b);

/*
 * Reads a whole file into b (which keeps its cap). Returns 0, -1 with errno set on an I/O
 * or allocation error, -2 when the file is larger than the cap.
 */
int util_read_file(const char *path, struct util_buf *b);

#endif
