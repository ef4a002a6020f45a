/* A target object made into what a cycle schedules: its key, its URL split into host,
 * port, origin and path, and whether it can be observed at all. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "observer/obs_int.h"
#include "record/record.h"
#include "util/util.h"

/*
 * Splits an http(s) URL into lowercase host, port (the scheme's when absent) and
 * origin. Returns 0 or -1 (not http/https, no host, bad port).
 */
int
cyc_split_url(const char *url, char **host, int *port, char **origin, char **path)
{
	const char *p, *h, *he, *end;
	int https;
	long pt;

	if (strncasecmp(url, "http://", 7) == 0) {
		https = 0;
		p = url + 7;
	} else if (strncasecmp(url, "https://", 8) == 0) {
		https = 1;
		p = url + 8;
	} else {
		return -1;
	}
	end = p + strcspn(p, "/?#");
	for (const char *a = p; a < end; a++)
		if (*a == '@')
			p = a + 1;
	if (*p == '[') {
		h = p + 1;
		he = memchr(h, ']', (size_t)(end - h));
		if (he == NULL)
			return -1;
		p = he + 1;
	} else {
		h = p;
		he = memchr(h, ':', (size_t)(end - h));
		if (he == NULL)
			he = end;
		p = he;
	}
	if (he == h)
		return -1;
	pt = https ? 443 : 80;
	if (p < end && *p == ':') {
		char *e;
		pt = strtol(p + 1, &e, 10);
		if (e != end || pt < 1 || pt > 65535)
			return -1;
	}
	*host = strndup(h, (size_t)(he - h));
	if (*host == NULL)
		return -1;
	if (*end == '?') {
		if (asprintf(path, "/%.*s", (int)strcspn(end, "#"), end) < 0)
			*path = NULL;
	} else {
		*path = strndup(*end ? end : "/", *end ? strcspn(end, "#") : 1);
	}
	if (*path == NULL)
		return -1;
	for (char *q = *host; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	*port = (int)pt;
	if (asprintf(origin, "%s://%s%s%s:%ld", https ? "https" : "http",
		strchr(*host, ':') ? "[" : "", *host, strchr(*host, ':') ? "]" : "", pt) < 0) {
		*origin = NULL;
		return -1;
	}
	return 0;
}

/* Fills one target from its JSON object; marks it skipped when it cannot be observed. */
int
cyc_target_init(struct cycle *c, struct cyc_target *t, const json_t *src)
{
	const struct obs_config *cfg = c->cfg;
	const char *url = json_string_value(json_object_get(src, "url"));
	const char *dom = json_string_value(json_object_get(src, "domain"));
	const char *ip = json_string_value(json_object_get(src, "ip"));
	json_int_t port = json_integer_value(json_object_get(src, "port"));
	char key[CYC_KEY_MAX] = "";

	t->dns_idx = t->ping_idx = -1;
	t->robots_allowed = -1;
	t->threat_id = json_string_value(json_object_get(src, "threat_id"));
	t->ua = json_string_value(json_object_get(src, "user_agent"));
	if (t->ua == NULL)
		t->ua = cfg->user_agent;
	if (t->threat_id == NULL ||
	    rec_target_key(src, key, sizeof(key)) != 0) {
		t->skip = 1;
		return 0;
	}
	if ((t->key = strdup(key)) == NULL)
		return -1;
	if (url == NULL) {
		const char *h = dom ? dom : ip;
		int v6, p = port > 0 && port <= 65535 ? (int)port : 80;

		if (h == NULL) {
			t->skip = 1;
			return 0;
		}
		v6 = strchr(h, ':') != NULL;
		if (asprintf(&t->url, "%s://%s%s%s%s%.0d/", p == 443 ? "https" : "http",
			v6 ? "[" : "", h, v6 ? "]" : "", (p == 80 || p == 443) ? "" : ":",
			(p == 80 || p == 443) ? 0 : p) < 0) {
			t->url = NULL;
			return -1;
		}
	} else if ((t->url = strdup(url)) == NULL) {
		return -1;
	}
	if (strlen(t->url) >= CYC_URL_MAX ||
	    cyc_split_url(t->url, &t->host, &t->port, &t->origin, &t->path) != 0) {
		t->skip = 1;
		return 0;
	}
	struct in6_addr a6;
	struct in_addr a4;
	t->is_ip = inet_pton(AF_INET, t->host, &a4) == 1 || inet_pton(AF_INET6, t->host, &a6) == 1;
	return 0;
}
