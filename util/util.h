/*
 * util: small leaf helpers every module may use — timestamps in microseconds and their
 * RFC 3339 text, a monotonic clock, hex, SHA-256, a growable byte buffer with a hard cap,
 * the one error formatter, and address classes (the hardened libxml2 parser setup is in
 * util/util_xml.h, for the modules that read XML). It depends on nothing else in c2watch, never logs, never allocates behind a caller's back except in
 * the buffer functions, and never exits.
 */
#ifndef C2W_UTIL_H
#define C2W_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Microseconds since the Unix epoch, UTC (CLOCK_REALTIME). */
int64_t util_now_us(void);

/* Microseconds on the monotonic clock (CLOCK_MONOTONIC): for intervals and deadlines,
 * which a change of the wall clock must not stretch or cut. */
int64_t util_mono_us(void);

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

/*
 * JSON text read in place (util_jscan.c), for text already known to be JSON. Values are
 * [v, vend) ranges into the caller's text.
 * util_jscan_skip: the byte after the value at p, or NULL when it is malformed or nests
 * deeper than 64. util_jscan_get: finds `key` among the members of the object at obj:
 * 1 (found), 0 (absent), -1 (not an object, or a key with escapes: use a full parser).
 * util_jscan_str: 1 with the string's bytes (no escapes in it), 0 for null, -1 otherwise
 * (escapes included). util_jscan_int: 1 with an integer, 0 for null, -1 otherwise.
 */
const char *util_jscan_skip(const char *p, const char *end);
int util_jscan_get(const char *obj, const char *end, const char *key, const char **val,
    const char **vend);
/* util_jscan_get for n keys in one walk of the object: val[i], vend[i] the value of
 * keys[i] (the first when repeated), NULL when absent. Returns how many were found, or -1
 * as util_jscan_get does (val[] then undefined). Like util_jscan_get, it stops once every
 * key is found: what follows is not checked. */
int util_jscan_getv(const char *obj, const char *end, const char *const *keys, size_t n,
    const char **val, const char **vend);
int util_jscan_str(const char *v, const char *vend, const char **s, size_t *len);
int util_jscan_int(const char *v, const char *vend, long long *out);
/* 1 when text is exactly one JSON value, well formed (strict RFC 8259, UTF-8 checked),
 * that a full parser surely takes; 0 when it is not, or when it holds what only a full
 * parser can judge (\u0000, surrogate escapes, integers of 19 digits or more, long
 * reals). */
int util_jscan_valid(const char *text, size_t len);

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

/* Appends n bytes for the caller to fill (a decoder's output, say): where they begin, or
 * NULL when memory ran out or the cap would be passed (the buffer is then unchanged). */
char *util_buf_extend(struct util_buf *b, size_t n);

/* printf-style append, same returns as util_buf_add. */
int util_buf_printf(struct util_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int util_buf_vprintf(struct util_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* vsnprintf into an error buffer; err NULL or len 0 is a no-op. The one formatter every
 * module's "fill err and return -1" paths use (a module's error struct passes its
 * message buffer). */
void util_seterr(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* util_seterr with a va_list, for a module's own error struct (code, line) around it. */
void util_vseterr(char *err, size_t len, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/*
 * util_seterr for bad input, naming where: "FILE:LINE: FIELD: what is wrong". line <= 0
 * leaves out ":LINE", field NULL leaves out "FIELD: " and file NULL leaves out "FILE:LINE: ".
 */
void util_seterr_at(char *err, size_t len, const char *file, int line, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Empties the buffer and keeps its storage. */
void util_buf_reset(struct util_buf *b);

/* Frees the storage; the buffer is empty afterwards and may be reused. */
void util_buf_fini(struct util_buf *b);

/*
 * Reads a whole file into b (which keeps its cap). Returns 0, -1 with errno set on an I/O
 * or allocation error, -2 when the file is larger than the cap.
 */
int util_read_file(const char *path, struct util_buf *b);

struct sockaddr;

/* Where an address belongs, for the allow_private policy. */
enum util_addr_class {
	UTIL_ADDR_PUBLIC = 0,
	UTIL_ADDR_UNSPECIFIED,  /* 0.0.0.0, :: */
	UTIL_ADDR_THIS_NETWORK, /* 0.0.0.0/8 */
	UTIL_ADDR_LOOPBACK,     /* 127.0.0.0/8, ::1 */
	UTIL_ADDR_PRIVATE,      /* RFC 1918, fc00::/7 unique local, fec0::/10, 64:ff9b:1::/48 */
	UTIL_ADDR_CGNAT,        /* 100.64.0.0/10 */
	UTIL_ADDR_LINK_LOCAL,   /* 169.254.0.0/16, fe80::/10 */
	UTIL_ADDR_DOCUMENTATION, /* 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32,
				   3fff::/20 */
	UTIL_ADDR_BENCHMARK,    /* 198.18.0.0/15, 2001:2::/48 */
	UTIL_ADDR_MULTICAST,    /* 224.0.0.0/4, ff00::/8 */
	UTIL_ADDR_BROADCAST,    /* 255.255.255.255 */
	UTIL_ADDR_RESERVED,     /* 240/4, 192.0.0/24, 192.88.99/24, 100::/64, 2001::/23, 5f00::/16,
				  and IPv6 outside 2000::/3 */
};

/*
 * Classifies an address: `family` AF_INET with a struct in_addr, or AF_INET6 with a struct
 * in6_addr. IPv6 forms that carry an IPv4 address (::ffff:a.b.c.d, 64:ff9b::/96 NAT64,
 * 2002::/16 6to4) get the class of the IPv4 address inside. Unknown families are RESERVED.
 */
enum util_addr_class util_addr_classify(int family, const void *addr);

/* The same for a sockaddr (AF_INET or AF_INET6; anything else is RESERVED). */
enum util_addr_class util_addr_classify_sa(const struct sockaddr *sa);

/* The same for numeric text ("10.1.2.3", "fe80::1"). Returns 0 and sets *out, or -1 when
 * the text is not a numeric address. */
int util_addr_classify_text(const char *text, enum util_addr_class *out);

/* Short fixed name of a class ("public", "loopback", "private", "cgnat", ...). */
const char *util_addr_class_name(enum util_addr_class c);

#endif
