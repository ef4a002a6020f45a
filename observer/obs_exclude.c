/* The exclusion file: domains (and their subdomains) a cycle never contacts. An entry
 * that is a public suffix (libpsl) excludes only itself. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpsl.h>

#include "observer/obs_int.h"
#include "util/util.h"

int
cyc_exclude_load(struct cycle *c)
{
	struct util_buf b;
	size_t cap = 0;
	int ret = -1, rc;

	if (c->cfg->exclude_file == NULL)
		return 0;
	psl_ctx_t *psl = NULL;

	util_buf_init(&b, CYC_EXCLUDE_MAX);
	rc = util_read_file(c->cfg->exclude_file, &b);
	if (rc != 0) {
		util_seterr(c->err, c->errlen, "%s: %s", c->cfg->exclude_file,
		    rc == -2 ? "larger than 16 MiB" : strerror(errno));
		goto out;
	}
	char *save = NULL;
	for (char *line = b.data ? strtok_r(b.data, "\r\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\r\n", &save)) {
		char *s = line + strspn(line, " \t");
		size_t n = strcspn(s, " \t#");

		if (n == 0)
			continue;
		s[n] = '\0';
		while (n > 1 && s[n - 1] == '.')
			s[--n] = '\0';
		if (*s == '.')
			s++;
		if (c->nexclude == cap) {
			size_t nc = cap ? cap * 2 : 64;
			char **ne = realloc(c->exclude, nc * sizeof(*ne));
			if (ne == NULL)
				goto oom;
			c->exclude = ne;
			unsigned char *ns = realloc(c->exclude_suffix, nc);
			if (ns == NULL)
				goto oom;
			c->exclude_suffix = ns;
			cap = nc;
		}
		if ((c->exclude[c->nexclude] = strdup(s)) == NULL)
			goto oom;
		for (char *q = c->exclude[c->nexclude]; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		/* Under a public suffix every name is someone else's site: excluding
		 * github.io must not exclude evil.github.io. */
		if (psl == NULL)
			psl = psl_latest(NULL);
		c->exclude_suffix[c->nexclude] = psl != NULL &&
		    psl_is_public_suffix2(psl, c->exclude[c->nexclude], PSL_TYPE_ANY);
		c->nexclude++;
	}
	ret = 0;
	goto out;
oom:
	util_seterr(c->err, c->errlen, "%s: out of memory", c->cfg->exclude_file);
out:
	psl_free(psl);
	util_buf_fini(&b);
	return ret;
}

/* The exclusion entry that covers host (itself or a parent domain), or NULL. */
const char *
cyc_excluded(const struct cycle *c, const char *host)
{
	size_t hl = strlen(host);

	if (hl && host[hl - 1] == '.')
		hl--;
	for (size_t i = 0; i < c->nexclude; i++) {
		size_t el = strlen(c->exclude[i]);

		if (el > hl || strncmp(host + hl - el, c->exclude[i], el) != 0)
			continue;
		if (el == hl || (host[hl - el - 1] == '.' && !c->exclude_suffix[i]))
			return c->exclude[i];
	}
	return NULL;
}
