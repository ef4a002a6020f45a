/*
 * tap: the few TAP helpers the unit tests use. Each test binary prints "ok N - name" or
 * "not ok N - name" per assertion and the plan at the end; Automake's TAP driver counts
 * them. A whole binary that cannot run here prints "1..0 # SKIP why"; checks that cannot run
 * here are each reported "ok N - what # SKIP why", so the harness counts and shows them; a
 * test that cannot even set itself up bails out, which fails it.
 */
#ifndef C2W_TAP_H
#define C2W_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_count, tap_failures;

#define TAP_UNUSED __attribute__((unused))

__attribute__((format(printf, 4, 5))) TAP_UNUSED static int
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("%sok %d - ", pass ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass) {
		tap_failures++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return pass;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                                              \
	do {                                                                                \
		long long g_ = (long long)(got), w_ = (long long)(want);                     \
		if (!ok(g_ == w_, __VA_ARGS__))                                             \
			printf("#   got %lld, want %lld\n", g_, w_);                          \
	} while (0)

#define is_str(got, want, ...)                                                              \
	do {                                                                                \
		const char *g_ = (got), *w_ = (want);                                       \
		if (!ok(g_ != NULL && w_ != NULL ? strcmp(g_, w_) == 0 : g_ == w_,          \
			__VA_ARGS__))                                                       \
			printf("#   got \"%s\", want \"%s\"\n", g_ ? g_ : "(null)",           \
			    w_ ? w_ : "(null)");                                            \
	} while (0)

/* Passes when `hay` contains `needle`. */
#define has_str(hay, needle, ...)                                                          \
	do {                                                                                \
		const char *h_ = (hay), *n_ = (needle);                                     \
		if (!ok(h_ != NULL && strstr(h_, n_) != NULL, __VA_ARGS__))                 \
			printf("#   \"%s\" does not contain \"%s\"\n", h_ ? h_ : "(null)", n_); \
	} while (0)

__attribute__((format(printf, 1, 2))) TAP_UNUSED static void
tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Reports the check `what` as skipped, for the reason `why`. */
__attribute__((format(printf, 2, 3))) TAP_UNUSED static void
tap_skip(const char *what, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("ok %d - %s # SKIP ", tap_count, what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Gives up the whole test, which then fails: its setup is broken, not absent. */
__attribute__((noreturn, format(printf, 1, 2))) TAP_UNUSED static void
tap_bail(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(1);
}

__attribute__((noreturn)) TAP_UNUSED static void
tap_skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	exit(0);
}

TAP_UNUSED static int
tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failures ? 1 : 0;
}

#endif
