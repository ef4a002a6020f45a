/* Internal to analysis/: the sinkhole list's form, shared by the list reader and the
 * report's verdicts. */
#ifndef C2W_AN_INT_H
#define C2W_AN_INT_H

#include <stddef.h>

#include "analysis/analysis.h"

struct an_sink_entry {
	int is_net;                /* 0: a body SHA-256 */
	unsigned char sha256[32];
	int family;                /* AF_INET / AF_INET6 for nets */
	unsigned char addr[16];
	unsigned prefix;
	char *text;                /* "net 131.253.18.0/24" or "sha256 HEX" */
	char *note;
};

struct an_sinkholes {
	struct an_sink_entry *e;
	size_t n;
};

/* The list built into c2watch: conf/sinkholes.txt's text (an_builtin.c, generated). */
extern const char an_builtin_sinkholes[];

/* The first net entry holding `addr` (text), or NULL. */
const struct an_sink_entry *an_sink_net(const struct an_sinkholes *sl, const char *addr);

#endif
