/*
 * conf internals shared by the INI and CSV readers: host names, IP literals and URLs,
 * validated and normalised the same way wherever they appear. Not for other modules.
 */
#ifndef C2W_CONF_INT_H
#define C2W_CONF_INT_H

#include <stddef.h>

/* Longest host name in DNS, plus room for an IPv6 literal and a NUL. */
#define CONF_HOST_MAX 256

/*
 * Normalises a DNS name: one trailing dot dropped, IDN converted to punycode (UTS #46,
 * non-transitional), ASCII lowercased, then checked (labels of 1..63 letters, digits,
 * '-' or '_', no '-' at either end, 253 bytes at most, a non-numeric last label).
 * Returns 0 with out filled, or -1 with *why set to a static reason.
 */
int conf_hostname_norm(const char *in, char out[CONF_HOST_MAX], const char **why);

/*
 * Checks an IP literal ("1.2.3.4" strictly dotted-quad, or IPv6 without brackets) and
 * writes its canonical text. Returns 4 or 6 for the family, or -1.
 */
int conf_ip_norm(const char *in, char out[CONF_HOST_MAX]);

/* True when s has only digits and dots: meant as an IPv4 address, whatever else it is. */
int conf_looks_ipv4(const char *s, size_t n);

/* A URL split into its normalised parts; `rest` points into the parsed string. */
struct conf_url {
	char scheme[8];             /* lowercased */
	char host[CONF_HOST_MAX];   /* normalised; IPv6 without brackets */
	int family;                 /* 0 name, 4 or 6 */
	int port;                   /* -1 when the URL has none */
	int has_userinfo;
	const char *rest;           /* path, query and fragment ("" when none) */
};

/*
 * Parses "scheme://[userinfo@]host[:port][/rest]" for the schemes in the space-separated
 * list `schemes`; userinfo only when allow_userinfo. Returns 0, or -1 with `why` holding
 * a reason (the static text may name the part that is wrong).
 */
int conf_url_parse(const char *in, const char *schemes, int allow_userinfo,
    struct conf_url *u, char *why, size_t whylen);

#endif
