/* The sinkhole list: "sha256 HEX note" and "net CIDR note" lines. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/an_int.h"

#define LIST_MAX (16u * 1024 * 1024)

void
an_sinkholes_free(struct an_sinkholes *sl)
{
	if (sl == NULL)
		return;
	for (size_t i = 0; i < sl->n; i++) {
		free(sl->e[i].text);
		free(sl->e[i].note);
	}
	free(sl->e);
	free(sl);
}

size_t
an_sinkholes_count(const struct an_sinkholes *sl)
{
	return sl ? sl->n : 0;
}

static int
parse_net(const char *s, struct an_sink_entry *e)
{
	char buf[64], *slash, *end;
	long pfx;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, e->addr) == 1)
		e->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, e->addr) == 1)
		e->family = AF_INET6;
	else
		return -1;
	pfx = e->family == AF_INET ? 32 : 128;
	if (slash) {
		errno = 0;
		pfx = strtol(slash, &end, 10);
		if (*slash == '\0' || *end != '\0' || pfx < 0 ||
		    pfx > (e->family == AF_INET ? 32 : 128))
			return -1;
	}
	e->prefix = (unsigned)pfx;
	/* Host bits set would mean the writer meant another range: refuse, do not guess. */
	for (unsigned bit = e->prefix; bit < (e->family == AF_INET ? 32u : 128u); bit++)
		if (e->addr[bit / 8] & (0x80 >> (bit % 8)))
			return -1;
	return 0;
}

static int
parse_text(const char *name, const char *text, struct an_sinkholes *sl, char *err,
    size_t errlen)
{
	const char *p = text;
	int line = 0;

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char buf[1024], *kind, *val, *note, *save = NULL;
		struct an_sink_entry e;

		line++;
		if (len >= sizeof(buf)) {
			util_seterr(err, errlen, "%s:%d: line longer than %zu bytes", name, line,
			    sizeof(buf) - 1);
			return -1;
		}
		memcpy(buf, p, len);
		buf[len] = '\0';
		if (len && buf[len - 1] == '\r')
			buf[len - 1] = '\0';
		p = eol ? eol + 1 : p + len;
		kind = strtok_r(buf, " \t", &save);
		if (kind == NULL || kind[0] == '#')
			continue;
		val = strtok_r(NULL, " \t", &save);
		note = strtok_r(NULL, "", &save);
		while (note && (*note == ' ' || *note == '\t'))
			note++;
		memset(&e, 0, sizeof(e));
		if (val == NULL) {
			util_seterr(err, errlen, "%s:%d: %s: value missing", name, line, kind);
			return -1;
		}
		if (strcmp(kind, "sha256") == 0) {
			if (strlen(val) != 64 || util_unhex(val, e.sha256, 32) != 0) {
				util_seterr(err, errlen, "%s:%d: sha256: not 64 hex digits \"%.80s\"",
				    name, line, val);
				return -1;
			}
		} else if (strcmp(kind, "net") == 0) {
			e.is_net = 1;
			if (parse_net(val, &e) != 0) {
				util_seterr(err, errlen,
				    "%s:%d: net: not an IPv4 or IPv6 address or CIDR range \"%.80s\"",
				    name, line, val);
				return -1;
			}
		} else {
			util_seterr(err, errlen, "%s:%d: unknown entry \"%.40s\" (sha256 or net)",
			    name, line, kind);
			return -1;
		}
		{
			struct an_sink_entry *ne = realloc(sl->e, (sl->n + 1) * sizeof(*ne));
			size_t tl = strlen(kind) + strlen(val) + 2;

			if (ne == NULL)
				goto nomem;
			sl->e = ne;
			e.text = malloc(tl);
			e.note = strdup(note ? note : "");
			if (e.text == NULL || e.note == NULL) {
				free(e.text);
				free(e.note);
				goto nomem;
			}
			snprintf(e.text, tl, "%s %s", kind, val);
			sl->e[sl->n++] = e;
		}
	}
	return 0;
nomem:
	util_seterr(err, errlen, "%s: out of memory", name);
	return -1;
}

int
an_sinkholes_load(const char *path, struct an_sinkholes **out, char *err, size_t errlen)
{
	struct an_sinkholes *sl = calloc(1, sizeof(*sl));
	struct util_buf b;
	int rc = -1;

	util_buf_init(&b, LIST_MAX);
	if (sl == NULL) {
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	if (path == NULL) {
		rc = parse_text("(built-in sinkhole list)", an_builtin_sinkholes, sl, err, errlen);
		goto out;
	}
	rc = util_read_file(path, &b);
	if (rc != 0) {
		util_seterr(err, errlen, "%s: %s", path, rc == -2 ? "larger than 16 MiB" :
		    strerror(errno));
		rc = -1;
		goto out;
	}
	if (util_buf_add(&b, "", 1) != 0 || memchr(b.data, '\0', b.len - 1) != NULL) {
		util_seterr(err, errlen, "%s: holds a NUL byte or is too large", path);
		rc = -1;
		goto out;
	}
	rc = parse_text(path, b.data, sl, err, errlen);
out:
	util_buf_fini(&b);
	if (rc != 0) {
		an_sinkholes_free(sl);
		return -1;
	}
	*out = sl;
	return 0;
}

const struct an_sink_entry *
an_sink_net(const struct an_sinkholes *sl, const char *addr)
{
	unsigned char a[16];
	int fam;

	if (sl == NULL)
		return NULL;
	if (inet_pton(AF_INET, addr, a) == 1)
		fam = AF_INET;
	else if (inet_pton(AF_INET6, addr, a) == 1)
		fam = AF_INET6;
	else
		return NULL;
	for (size_t i = 0; i < sl->n; i++) {
		const struct an_sink_entry *e = &sl->e[i];
		unsigned full, rest;

		if (!e->is_net || e->family != fam)
			continue;
		full = e->prefix / 8;
		rest = e->prefix % 8;
		if (memcmp(a, e->addr, full) != 0)
			continue;
		if (rest && ((a[full] ^ e->addr[full]) & (0xff00 >> rest) & 0xff))
			continue;
		return e;
	}
	return NULL;
}
