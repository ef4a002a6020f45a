/* The INI config file: inih splits lines into section/key/value; everything else (line
 * numbers, over-long lines, section headers, types, defaults, file checks) is done here,
 * because inih as packaged neither reports line numbers to handlers nor rejects long lines. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "conf/conf.h"
#include "conf/conf_int.h"
#include "record/record.h"
#include "util/util.h"

#define CONF_FILE_MAX (1024 * 1024)
#define DUR_MAX_US ((int64_t)3650 * 86400 * 1000000) /* ten years: anything longer is a typo */

enum sect { S_NONE, S_NODE, S_SERVER, S_OBSERVER, S_PEER, S_HOOK, S_ANALYSIS, S_TRUST };

enum kind {
	K_TEXT,     /* free text, no control characters */
	K_LABEL,    /* identifier: letters, digits, . _ - */
	K_DIR,      /* path, made absolute, not checked */
	K_FILE,     /* path, must be a readable regular file */
	K_SECRET,   /* K_FILE, and no group/other permissions */
	K_EXEC,     /* path, must be an executable regular file */
	K_BOOL,
	K_DUR,
	K_SIZE,
	K_UINT,
	K_LOGLEVEL,
	K_LISTEN,
	K_ANCHOR,
	K_ROBOTS,
	K_UNKNOWN,  /* accept | refuse */
	K_PROXY,
	K_ADDR,
	K_PEERURL,
};

struct key {
	const char *name;
	enum kind kind;
	size_t off;
	int64_t min, max; /* K_DUR, K_UINT, K_SIZE */
};

#define C(f) offsetof(struct conf, f)
#define P(f) offsetof(struct conf_peer, f)
#define SEC(n) ((int64_t)(n) * 1000000)

static const struct key node_keys[] = {
	{ "id", K_LABEL, C(node.id), 0, 0 },
	{ "organization", K_TEXT, C(node.organization), 0, 0 },
	{ "data_dir", K_DIR, C(node.data_dir), 0, 0 },
	{ "log_level", K_LOGLEVEL, C(node.log_level), 0, 0 },
	{ "key_file", K_DIR, C(node.key_file), 0, 0 }, /* made on first use: may not exist */
	{ NULL, K_TEXT, 0, 0, 0 },
};

static const struct key server_keys[] = {
	{ "listen", K_LISTEN, 0, 0, 0 },
	{ "tls_cert", K_FILE, C(server.tls_cert), 0, 0 },
	{ "tls_key", K_SECRET, C(server.tls_key), 0, 0 },
	{ "client_ca", K_FILE, C(server.client_ca), 0, 0 },
	{ "users_file", K_SECRET, C(server.users_file), 0, 0 },
	{ "dashboard", K_BOOL, C(server.dashboard), 0, 0 },
	{ "allow_private_push", K_BOOL, C(server.allow_private_push), 0, 0 },
	{ "metrics", K_BOOL, C(server.metrics), 0, 0 },
	{ NULL, K_TEXT, 0, 0, 0 },
};

static const struct key observer_keys[] = {
	{ "enabled", K_BOOL, C(observer.enabled), 0, 0 },
	{ "interval", K_DUR, C(observer.interval_us), SEC(1), SEC(30 * 86400) },
	{ "anchor", K_ANCHOR, 0, 0, 0 },
	{ "concurrency", K_UINT, C(observer.concurrency), 1, 65536 },
	{ "host_spacing", K_DUR, C(observer.host_spacing_us), 0, SEC(86400) },
	{ "user_agent", K_TEXT, C(observer.user_agent), 0, 0 },
	{ "accept_encoding", K_TEXT, C(observer.accept_encoding), 0, 0 },
	{ "connect_timeout", K_DUR, C(observer.connect_timeout_us), 1000, SEC(3600) },
	{ "timeout", K_DUR, C(observer.timeout_us), 1000, SEC(3600) },
	{ "max_body", K_SIZE, C(observer.max_body), 1, (int64_t)1 << 30 },
	{ "max_redirects", K_UINT, C(observer.max_redirects), 0, 50 },
	{ "ping_count", K_UINT, C(observer.ping_count), 0, 100 },
	{ "robots", K_ROBOTS, C(observer.robots_respect), 0, 0 },
	{ "exclude_file", K_FILE, C(observer.exclude_file), 0, 0 },
	{ "allow_private", K_BOOL, C(observer.allow_private), 0, 0 },
	{ "vantage", K_LABEL, C(observer.vantage), 0, 0 },
	{ "source_address", K_ADDR, C(observer.source_address), 0, 0 },
	{ "proxy", K_PROXY, C(observer.proxy), 0, 0 },
	{ "targets_file", K_FILE, C(observer.targets_file), 0, 0 },
	{ NULL, K_TEXT, 0, 0, 0 },
};

static const struct key peer_keys[] = {
	{ "url", K_PEERURL, P(url), 0, 0 },
	{ "collection", K_LABEL, P(collection), 0, 0 },
	{ "interval", K_DUR, P(interval_us), SEC(1), SEC(30 * 86400) },
	{ "username", K_TEXT, P(username), 0, 0 },
	{ "password_file", K_SECRET, P(password_file), 0, 0 },
	{ "client_cert", K_FILE, P(client_cert), 0, 0 },
	{ "client_key", K_SECRET, P(client_key), 0, 0 },
	{ "client_key_password_file", K_SECRET, P(client_key_password_file), 0, 0 },
	{ "ca_file", K_FILE, P(ca_file), 0, 0 },
	{ "push", K_BOOL, P(push), 0, 0 },
	{ "threat_id", K_TEXT, P(threat_id), 0, 0 },
	{ NULL, K_TEXT, 0, 0, 0 },
};

static const struct key hook_keys[] = {
	{ "on_change", K_EXEC, C(hook.on_change), 0, 0 },
	{ NULL, K_TEXT, 0, 0, 0 },
};

static const struct key analysis_keys[] = {
	{ "sinkholes_file", K_FILE, C(analysis.sinkholes_file), 0, 0 },
	{ "remove_after", K_DUR, C(analysis.remove_after_us), SEC(3600), DUR_MAX_US },
	{ NULL, K_TEXT, 0, 0, 0 },
};

static const struct key trust_keys[] = {
	{ "keys_file", K_FILE, C(trust.keys_file), 0, 0 },
	{ "unknown", K_UNKNOWN, C(trust.unknown_refuse), 0, 0 },
	{ NULL, K_TEXT, 0, 0, 0 },
};

struct loader {
	struct conf *c;
	const char *name;
	char *dir;          /* absolute directory of the file, for relative paths */
	const char *text;
	size_t len, pos;
	int line;
	int failed;
	struct conf_err *err;
	enum sect sect;
	const char *sect_name; /* for messages */
	char sect_buf[128];
	uint64_t seen;      /* keys seen in the current section, by table index */
	int sect_line[S_TRUST + 1];
	unsigned flags;     /* CONF_LOAD_* */
};

__attribute__((format(printf, 4, 5))) static void
fail(struct loader *L, int line, const char *key, const char *fmt, ...)
{
	char what[sizeof(L->err->msg)];
	va_list ap;

	if (L->failed)
		return;
	L->failed = 1;
	va_start(ap, fmt);
	util_vseterr(what, sizeof(what), fmt, ap);
	va_end(ap);
	util_seterr_at(L->err->msg, sizeof(L->err->msg), L->name, line, key, "%s", what);
}

static int
has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int
is_label(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			(*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return 0;
	return n > 0 && n <= max;
}

static void
peer_fini(struct conf_peer *p)
{
	free(p->name);
	free(p->url);
	free(p->collection);
	free(p->username);
	free(p->password_file);
	free(p->client_cert);
	free(p->client_key);
	free(p->client_key_password_file);
	free(p->ca_file);
	free(p->threat_id);
}

void
conf_free(struct conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->node.id);
	free(c->node.organization);
	free(c->node.data_dir);
	for (i = 0; i < c->server.nlisten; i++)
		free(c->server.listen[i]);
	free(c->server.listen);
	free(c->server.tls_cert);
	free(c->server.tls_key);
	free(c->server.client_ca);
	free(c->server.users_file);
	free(c->observer.anchor_tz);
	free(c->observer.user_agent);
	free(c->observer.accept_encoding);
	free(c->observer.exclude_file);
	free(c->observer.vantage);
	free(c->observer.source_address);
	free(c->observer.proxy);
	free(c->observer.targets_file);
	for (i = 0; i < c->npeers; i++)
		peer_fini(&c->peers[i]);
	free(c->peers);
	free(c->hook.on_change);
	free(c->analysis.sinkholes_file);
	free(c->node.key_file);
	free(c->trust.keys_file);
	rec_trust_free(c->trust.set);
	free(c);
}

struct conf *
conf_new_defaults(void)
{
	struct conf *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->node.log_level = CONF_LOG_INFO;
	c->server.listen = calloc(1, sizeof(char *));
	if (c->server.listen == NULL)
		goto fail;
	c->server.listen[0] = strdup("127.0.0.1:9090");
	if (c->server.listen[0] == NULL)
		goto fail;
	c->server.nlisten = 1;
	c->server.dashboard = 1;
	c->server.metrics = 1;
	c->observer.enabled = 1;
	c->observer.interval_us = SEC(4 * 3600);
	c->observer.anchor_minute = 0;
	c->observer.anchor_tz = strdup("UTC");
	c->observer.concurrency = 256;
	c->observer.host_spacing_us = SEC(10);
	c->observer.user_agent = strdup("Mozilla/5.0 (compatible)");
	c->observer.accept_encoding = strdup("gzip, deflate");
	c->observer.connect_timeout_us = SEC(10);
	c->observer.timeout_us = SEC(30);
	c->observer.max_body = 5u * 1024 * 1024;
	c->observer.max_redirects = 5;
	c->observer.ping_count = 4;
	c->observer.robots_respect = 1;
	c->observer.allow_private = 0;
	c->analysis.remove_after_us = SEC(30 * 86400);
	if (c->observer.anchor_tz == NULL || c->observer.user_agent == NULL ||
	    c->observer.accept_encoding == NULL)
		goto fail;
	return c;
fail:
	conf_free(c);
	return NULL;
}

int
conf_parse_duration(const char *s, int64_t *us)
{
	int64_t total = 0;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return -1;
	while (*p) {
		int64_t v = 0, mult;

		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9') {
			if (v > DUR_MAX_US / 10)
				return -1;
			v = v * 10 + (*p - '0');
			p++;
		}
		if (p[0] == 'm' && p[1] == 's') {
			mult = 1000;
			p += 2;
		} else if (*p == 's') {
			mult = SEC(1);
			p++;
		} else if (*p == 'm') {
			mult = SEC(60);
			p++;
		} else if (*p == 'h') {
			mult = SEC(3600);
			p++;
		} else if (*p == 'd') {
			mult = SEC(86400);
			p++;
		} else {
			return -1;
		}
		if (v > (DUR_MAX_US - total) / mult)
			return -1;
		total += v * mult;
	}
	*us = total;
	return 0;
}

int
conf_parse_size(const char *s, uint64_t *bytes)
{
	uint64_t v = 0, mult = 1;
	const char *p = s;

	if (s == NULL || *p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		if (v > (UINT64_MAX / 10) - 9)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
		p++;
	}
	if (*p == ' ')
		p++;
	if (*p == '\0' || strcmp(p, "B") == 0)
		mult = 1;
	else if (strcmp(p, "KiB") == 0)
		mult = 1024;
	else if (strcmp(p, "MiB") == 0)
		mult = 1024 * 1024;
	else if (strcmp(p, "GiB") == 0)
		mult = 1024 * 1024 * 1024;
	else
		return -1;
	if (v > UINT64_MAX / mult)
		return -1;
	*bytes = v * mult;
	return 0;
}

int
conf_parse_bool(const char *s, int *val)
{
	static const char *const yes[] = { "true", "on", "yes", "1" };
	static const char *const no[] = { "false", "off", "no", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*val = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*val = 0;
			return 0;
		}
	}
	return -1;
}

const char *
conf_log_level_name(int level)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	if (level < CONF_LOG_ERROR || level > CONF_LOG_DEBUG)
		return "?";
	return names[level];
}

const char *
conf_find_path(const char *given)
{
	const char *env;

	if (given != NULL)
		return given;
	env = getenv("C2WATCH_CONF");
	if (env != NULL && *env != '\0')
		return env;
	if (access("c2watch.conf", F_OK) == 0)
		return "./c2watch.conf";
	return "/etc/c2watch/c2watch.conf";
}

/* Sets a string field; an empty value unsets it. */
static int
set_str(struct loader *L, char **field, const char *val, const char *key)
{
	char *dup = NULL;

	if (*val != '\0') {
		dup = strdup(val);
		if (dup == NULL) {
			fail(L, L->line, key, "out of memory");
			return -1;
		}
	}
	free(*field);
	*field = dup;
	return 0;
}

static char *
abs_path(const char *dir, const char *val)
{
	size_t n;
	char *p;

	if (val[0] == '/')
		return strdup(val);
	n = strlen(dir) + strlen(val) + 2;
	p = malloc(n);
	if (p != NULL)
		snprintf(p, n, "%s/%s", dir, val);
	return p;
}

static int
set_path(struct loader *L, char **field, const char *val, const char *key, enum kind kind)
{
	struct stat st;
	char *p;

	if (*val == '\0')
		return set_str(L, field, val, key);
	if (has_control(val)) {
		fail(L, L->line, key, "control character in path");
		return -1;
	}
	p = abs_path(L->dir, val);
	if (p == NULL) {
		fail(L, L->line, key, "out of memory");
		return -1;
	}
	/* check-config prints the path made absolute: that line must still be one the
	 * reader takes (inih's INI_MAX_LINE, less the CR, LF and NUL the reader keeps). */
	if (strlen(key) + 3 + strlen(p) > INI_MAX_LINE - 3) {
		fail(L, L->line, key, "path too long once made absolute (%zu characters)",
		    strlen(p));
		free(p);
		return -1;
	}
	if (kind != K_DIR) {
		if (stat(p, &st) != 0 && errno == ENOENT && field == &L->c->server.users_file &&
		    (L->flags & CONF_LOAD_NEW_USERS_FILE)) {
			free(*field);
			*field = p;
			return 0;
		}
		if (stat(p, &st) != 0) {
			fail(L, L->line, key, "cannot use \"%s\": %s", p, strerror(errno));
			goto bad;
		}
		if (!S_ISREG(st.st_mode)) {
			fail(L, L->line, key, "\"%s\" is not a regular file", p);
			goto bad;
		}
		if (kind == K_SECRET && (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH))) {
			fail(L, L->line, key,
			    "\"%s\" holds a secret but is readable or writable by group or "
			    "others (mode %04o; chmod 600 it)",
			    p, (unsigned)(st.st_mode & 07777));
			goto bad;
		}
		if (kind == K_EXEC && access(p, X_OK) != 0) {
			fail(L, L->line, key, "\"%s\" is not executable", p);
			goto bad;
		}
		if (kind != K_EXEC && access(p, R_OK) != 0) {
			fail(L, L->line, key, "cannot read \"%s\": %s", p, strerror(errno));
			goto bad;
		}
	}
	free(*field);
	*field = p;
	return 0;
bad:
	free(p);
	return -1;
}

/* One "host:port" or "[v6]:port" of a listen list; port 0 lets the kernel choose. */
static int
listen_one(const char *s, size_t n, char *out, size_t outlen, const char **why)
{
	char host[CONF_HOST_MAX * 4], norm[CONF_HOST_MAX];
	const char *colon, *hwhy;
	size_t hn, i;
	long port = 0;
	int v6 = 0;

	if (n == 0) {
		*why = "empty address in list";
		return -1;
	}
	if (s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (close == NULL || close + 1 >= s + n || close[1] != ':') {
			*why = "expected [IPv6]:port";
			return -1;
		}
		hn = (size_t)(close - s - 1);
		if (hn >= sizeof(host)) {
			*why = "bad IPv6 address";
			return -1;
		}
		memcpy(host, s + 1, hn);
		host[hn] = '\0';
		if (conf_ip_norm(host, norm) != 6) {
			*why = "bad IPv6 address";
			return -1;
		}
		v6 = 1;
		colon = close + 1;
	} else {
		colon = NULL;
		for (i = 0; i < n; i++)
			if (s[i] == ':')
				colon = s + i;
		if (colon == NULL) {
			*why = "expected host:port";
			return -1;
		}
		hn = (size_t)(colon - s);
		if (hn == 0 || hn >= sizeof(host) || memchr(s, ':', hn) != NULL) {
			*why = hn == 0 ? "empty host" : "IPv6 addresses need brackets: [v6]:port";
			return -1;
		}
		memcpy(host, s, hn);
		host[hn] = '\0';
		if (conf_looks_ipv4(host, hn)) {
			if (conf_ip_norm(host, norm) != 4) {
				*why = "bad IPv4 address";
				return -1;
			}
		} else if (conf_hostname_norm(host, norm, &hwhy) != 0) {
			*why = hwhy;
			return -1;
		}
	}
	if (colon + 1 >= s + n) {
		*why = "empty port";
		return -1;
	}
	for (i = (size_t)(colon + 1 - s); i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || port > 65535) {
			*why = "bad port";
			return -1;
		}
		port = port * 10 + (s[i] - '0');
	}
	if (port > 65535) {
		*why = "port out of range 0..65535";
		return -1;
	}
	snprintf(out, outlen, v6 ? "[%s]:%ld" : "%s:%ld", norm, port);
	return 0;
}

static int
set_listen(struct loader *L, const char *val, const char *key)
{
	char **list = NULL;
	size_t n = 0, i;
	const char *p = val;
	int rc = -1;

	if (*val == '\0') {
		fail(L, L->line, key, "at least one address is required");
		return -1;
	}
	/* each element is at least two characters and a comma: a hard bound on the count */
	list = calloc(strlen(val) / 2 + 1, sizeof(*list));
	if (list == NULL) {
		fail(L, L->line, key, "out of memory");
		return -1;
	}
	for (;;) {
		size_t m = strcspn(p, ",");
		const char *s = p, *why = NULL;
		char buf[CONF_HOST_MAX + 16];

		while (m > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			m--;
		}
		while (m > 0 && (s[m - 1] == ' ' || s[m - 1] == '\t'))
			m--;
		if (listen_one(s, m, buf, sizeof(buf), &why) != 0) {
			fail(L, L->line, key, "%s in \"%.*s\"", why, (int)m, s);
			goto out;
		}
		for (i = 0; i < n; i++)
			if (strcmp(list[i], buf) == 0) {
				fail(L, L->line, key, "\"%s\" listed twice", buf);
				goto out;
			}
		list[n] = strdup(buf);
		if (list[n] == NULL) {
			fail(L, L->line, key, "out of memory");
			goto out;
		}
		n++;
		p += strcspn(p, ",");
		if (*p == '\0')
			break;
		p++;
	}
	/* check-config prints the normalised list joined by ", " (IDNs in punycode): that
	 * line must still be one the reader takes, as for paths. */
	{
		size_t len = strlen(key) + 3;

		for (i = 0; i < n; i++)
			len += strlen(list[i]) + (i ? 2 : 0);
		if (len > INI_MAX_LINE - 3) {
			fail(L, L->line, key, "list too long once normalised (%zu characters)",
			    len);
			goto out;
		}
	}
	for (i = 0; i < L->c->server.nlisten; i++)
		free(L->c->server.listen[i]);
	free(L->c->server.listen);
	L->c->server.listen = list;
	L->c->server.nlisten = n;
	list = NULL;
	rc = 0;
out:
	if (list != NULL) {
		for (i = 0; i < n; i++)
			free(list[i]);
		free(list);
	}
	return rc;
}

static int
set_anchor(struct loader *L, const char *val, const char *key)
{
	const char *zone, *tzdir;
	char path[PATH_MAX];
	struct stat st;
	int h, m;

	if (!(val[0] >= '0' && val[0] <= '2' && val[1] >= '0' && val[1] <= '9' && val[2] == ':' &&
		val[3] >= '0' && val[3] <= '5' && val[4] >= '0' && val[4] <= '9') ||
	    (val[5] != '\0' && val[5] != ' ' && val[5] != '\t')) {
		fail(L, L->line, key, "expected \"HH:MM Zone/Name\", got \"%s\"", val);
		return -1;
	}
	h = (val[0] - '0') * 10 + (val[1] - '0');
	m = (val[3] - '0') * 10 + (val[4] - '0');
	if (h > 23) {
		fail(L, L->line, key, "hour out of range in \"%s\"", val);
		return -1;
	}
	zone = val + 5;
	while (*zone == ' ' || *zone == '\t')
		zone++;
	if (*zone == '\0')
		zone = "UTC";
	if (strcmp(zone, "UTC") != 0) {
		const char *z;

		for (z = zone; *z; z++)
			if (!((*z >= 'a' && *z <= 'z') || (*z >= 'A' && *z <= 'Z') ||
				(*z >= '0' && *z <= '9') || *z == '/' || *z == '_' || *z == '-' ||
				*z == '+'))
				break;
		tzdir = getenv("TZDIR");
		if (tzdir == NULL || *tzdir == '\0')
			tzdir = "/usr/share/zoneinfo";
		if (*z != '\0' || zone[0] == '/' || strstr(zone, "..") != NULL ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", tzdir, zone) >= sizeof(path) ||
		    stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			fail(L, L->line, key, "unknown time zone \"%s\"", zone);
			return -1;
		}
	}
	if (set_str(L, &L->c->observer.anchor_tz, zone, key) != 0)
		return -1;
	L->c->observer.anchor_minute = h * 60 + m;
	return 0;
}

/*
 * A peer pushed to at a numeric address (or localhost) that the address policy refuses:
 * said now rather than at every push. Names are checked when pushes connect.
 */
static void
check_push_address(struct loader *L, const struct conf_peer *p)
{
	enum util_addr_class cls = UTIL_ADDR_PUBLIC;
	struct conf_url u;
	char why[128];

	if (conf_url_parse(p->url, "http https", 0, &u, why, sizeof(why)) != 0)
		return;
	if (strcmp(u.host, "localhost") == 0 || (strlen(u.host) > 10 &&
	    strcmp(u.host + strlen(u.host) - 10, ".localhost") == 0))
		cls = UTIL_ADDR_LOOPBACK;
	else if (util_addr_classify_text(u.host, &cls) != 0)
		return;
	if (cls != UTIL_ADDR_PUBLIC)
		fail(L, p->line, "push", "[peer %s] is at %s, a %s address: pushes go to public "
		    "addresses only unless [server] allow_private_push = true", p->name, u.host,
		    util_addr_class_name(cls));
}

static int
set_value(struct loader *L, const struct key *k, char *base, const char *val)
{
	const char *key = k->name;
	char why[256];
	struct conf_url u;
	int64_t d;
	uint64_t sz;
	int b;

	/* "key =;x" holds ";x", but the same written back as "key = ;x" is a comment: such a
	 * value could not survive check-config, so it is refused as ambiguous. */
	if (val[0] == ';') {
		fail(L, L->line, key,
		    "a value cannot begin with ';' (a comment needs a blank before it)");
		return -1;
	}
	switch (k->kind) {
	case K_TEXT:
		if (has_control(val)) {
			fail(L, L->line, key, "control character in value");
			return -1;
		}
		return set_str(L, (char **)(void *)(base + k->off), val, key);
	case K_LABEL:
		if (*val != '\0' && !is_label(val, 64)) {
			fail(L, L->line, key,
			    "\"%s\" is not a name (1 to 64 letters, digits, '.', '_', '-')", val);
			return -1;
		}
		return set_str(L, (char **)(void *)(base + k->off), val, key);
	case K_DIR:
	case K_FILE:
	case K_SECRET:
	case K_EXEC:
		return set_path(L, (char **)(void *)(base + k->off), val, key, k->kind);
	case K_BOOL:
		if (conf_parse_bool(val, &b) != 0) {
			fail(L, L->line, key, "expected true or false, got \"%s\"", val);
			return -1;
		}
		*(int *)(void *)(base + k->off) = b;
		return 0;
	case K_DUR:
		if (conf_parse_duration(val, &d) != 0) {
			fail(L, L->line, key,
			    "bad duration \"%s\" (a number with ms, s, m, h or d)", val);
			return -1;
		}
		if (d < k->min || d > k->max) {
			fail(L, L->line, key, "duration \"%s\" out of range", val);
			return -1;
		}
		*(int64_t *)(void *)(base + k->off) = d;
		return 0;
	case K_SIZE:
		if (conf_parse_size(val, &sz) != 0) {
			fail(L, L->line, key, "bad size \"%s\" (bytes, or a number with KiB, MiB "
					      "or GiB)", val);
			return -1;
		}
		if (sz < (uint64_t)k->min || sz > (uint64_t)k->max) {
			fail(L, L->line, key, "size \"%s\" out of range", val);
			return -1;
		}
		*(uint64_t *)(void *)(base + k->off) = sz;
		return 0;
	case K_UINT: {
		char *end;
		unsigned long v;

		errno = 0;
		v = (*val >= '0' && *val <= '9') ? strtoul(val, &end, 10) : 0;
		if (!(*val >= '0' && *val <= '9') || errno != 0 || *end != '\0') {
			fail(L, L->line, key, "expected a whole number, got \"%s\"", val);
			return -1;
		}
		if (v < (unsigned long)k->min || v > (unsigned long)k->max) {
			fail(L, L->line, key, "%lu out of range %lld..%lld", v, (long long)k->min,
			    (long long)k->max);
			return -1;
		}
		*(unsigned *)(void *)(base + k->off) = (unsigned)v;
		return 0;
	}
	case K_LOGLEVEL:
		for (b = CONF_LOG_ERROR; b <= CONF_LOG_DEBUG; b++)
			if (strcmp(val, conf_log_level_name(b)) == 0) {
				*(int *)(void *)(base + k->off) = b;
				return 0;
			}
		fail(L, L->line, key, "expected error, warn, info or debug, got \"%s\"", val);
		return -1;
	case K_LISTEN:
		return set_listen(L, val, key);
	case K_ANCHOR:
		return set_anchor(L, val, key);
	case K_UNKNOWN:
		if (strcmp(val, "accept") == 0)
			b = 0;
		else if (strcmp(val, "refuse") == 0)
			b = 1;
		else {
			fail(L, L->line, key, "expected accept or refuse, got \"%s\"", val);
			return -1;
		}
		*(int *)(void *)(base + k->off) = b;
		return 0;
	case K_ROBOTS:
		if (strcmp(val, "respect") == 0)
			b = 1;
		else if (strcmp(val, "ignore") == 0)
			b = 0;
		else {
			fail(L, L->line, key, "expected respect or ignore, got \"%s\"", val);
			return -1;
		}
		*(int *)(void *)(base + k->off) = b;
		return 0;
	case K_PROXY:
		if (*val != '\0') {
			if (has_control(val) ||
			    conf_url_parse(val, "http https socks5 socks5h", 1, &u, why,
				sizeof(why)) != 0) {
				fail(L, L->line, key, "bad proxy \"%s\": %s", val,
				    has_control(val) ? "control character" : why);
				return -1;
			}
			if (u.port < 0) {
				fail(L, L->line, key, "proxy \"%s\" has no port", val);
				return -1;
			}
			if (strcmp(u.rest, "") != 0 && strcmp(u.rest, "/") != 0) {
				fail(L, L->line, key, "proxy \"%s\" has a path", val);
				return -1;
			}
		}
		return set_str(L, (char **)(void *)(base + k->off), val, key);
	case K_ADDR: {
		char norm[CONF_HOST_MAX];

		if (*val == '\0')
			return set_str(L, (char **)(void *)(base + k->off), val, key);
		if (conf_ip_norm(val, norm) < 0) {
			fail(L, L->line, key, "expected an IPv4 or IPv6 address, got \"%s\"", val);
			return -1;
		}
		return set_str(L, (char **)(void *)(base + k->off), norm, key);
	}
	case K_PEERURL:
		if (*val == '\0' || has_control(val) || strchr(val, ' ') != NULL ||
		    conf_url_parse(val, "http https", 0, &u, why, sizeof(why)) != 0) {
			fail(L, L->line, key, "bad URL \"%s\": %s", val,
			    *val == '\0' ? "empty" : (has_control(val) || strchr(val, ' ') != NULL) ?
			    "space or control character" : why);
			return -1;
		}
		return set_str(L, (char **)(void *)(base + k->off), val, key);
	}
	fail(L, L->line, key, "internal error: unhandled key type");
	return -1;
}

static const struct key *
keys_of(enum sect s)
{
	switch (s) {
	case S_NODE:
		return node_keys;
	case S_SERVER:
		return server_keys;
	case S_OBSERVER:
		return observer_keys;
	case S_PEER:
		return peer_keys;
	case S_HOOK:
		return hook_keys;
	case S_ANALYSIS:
		return analysis_keys;
	case S_TRUST:
		return trust_keys;
	case S_NONE:
		break;
	}
	return NULL;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct loader *L = user;
	const struct key *k, *table;
	char *base;
	size_t i;

	(void)section;
	if (L->failed)
		return 1;
	table = keys_of(L->sect);
	if (table == NULL) {
		fail(L, L->line, name, "key outside any section");
		return 1;
	}
	for (i = 0; table[i].name != NULL; i++)
		if (strcmp(table[i].name, name) == 0)
			break;
	k = &table[i];
	if (k->name == NULL) {
		fail(L, L->line, name, "unknown key in [%s]", L->sect_name);
		return 1;
	}
	if (L->seen & ((uint64_t)1 << i)) {
		fail(L, L->line, name, "duplicate key in [%s]", L->sect_name);
		return 1;
	}
	L->seen |= (uint64_t)1 << i;
	base = L->sect == S_PEER ? (char *)&L->c->peers[L->c->npeers - 1] : (char *)L->c;
	set_value(L, k, base, value);
	return 1;
}

static int
add_peer(struct loader *L, const char *name)
{
	struct conf_peer *np, *p;
	size_t i;

	if (!is_label(name, 64)) {
		fail(L, L->line, NULL,
		    "[peer %s]: peer name must be 1 to 64 letters, digits, '.', '_', '-'", name);
		return -1;
	}
	for (i = 0; i < L->c->npeers; i++)
		if (strcmp(L->c->peers[i].name, name) == 0) {
			fail(L, L->line, NULL, "[peer %s]: duplicate peer (first at line %d)", name,
			    L->c->peers[i].line);
			return -1;
		}
	if (L->c->npeers >= 4096) {
		fail(L, L->line, NULL, "[peer %s]: too many peers", name);
		return -1;
	}
	np = realloc(L->c->peers, (L->c->npeers + 1) * sizeof(*np));
	if (np == NULL) {
		fail(L, L->line, NULL, "out of memory");
		return -1;
	}
	L->c->peers = np;
	p = &np[L->c->npeers];
	memset(p, 0, sizeof(*p));
	p->line = L->line;
	p->interval_us = SEC(15 * 60);
	p->name = strdup(name);
	p->collection = strdup("observations");
	L->c->npeers++;
	if (p->name == NULL || p->collection == NULL) {
		fail(L, L->line, NULL, "out of memory");
		return -1;
	}
	return 0;
}

/* A "[...]" line: inih tracks the name too, but only here do we know its line, and an
 * empty section (a peer without keys) must still exist and be checked. */
static void
section_header(struct loader *L, const char *s, size_t n)
{
	static const struct {
		const char *name;
		enum sect sect;
	} fixed[] = {
		{ "node", S_NODE },
		{ "server", S_SERVER },
		{ "observer", S_OBSERVER },
		{ "hook", S_HOOK },
		{ "analysis", S_ANALYSIS },
		{ "trust", S_TRUST },
	};
	const char *close = memchr(s, ']', n), *rest;
	size_t nlen, i;

	if (close == NULL) {
		fail(L, L->line, NULL, "section header without ']'");
		return;
	}
	for (rest = close + 1; rest < s + n; rest++) {
		if (*rest == ';' || *rest == '#')
			break;
		if (*rest != ' ' && *rest != '\t') {
			fail(L, L->line, NULL, "text after section header");
			return;
		}
	}
	nlen = (size_t)(close - s - 1);
	if (nlen >= sizeof(L->sect_buf)) {
		fail(L, L->line, NULL, "section name too long");
		return;
	}
	memcpy(L->sect_buf, s + 1, nlen);
	L->sect_buf[nlen] = '\0';
	L->sect_name = L->sect_buf;
	L->seen = 0;
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strcmp(L->sect_buf, fixed[i].name) == 0) {
			if (L->sect_line[fixed[i].sect] != 0) {
				fail(L, L->line, NULL, "duplicate section [%s] (first at line %d)",
				    L->sect_buf, L->sect_line[fixed[i].sect]);
				return;
			}
			L->sect = fixed[i].sect;
			L->sect_line[L->sect] = L->line;
			return;
		}
	if (strncmp(L->sect_buf, "peer", 4) == 0 &&
	    (L->sect_buf[4] == ' ' || L->sect_buf[4] == '\t')) {
		const char *name = L->sect_buf + 5;

		while (*name == ' ' || *name == '\t')
			name++;
		L->sect = S_PEER;
		add_peer(L, name);
		return;
	}
	fail(L, L->line, NULL, "unknown section [%s]", L->sect_buf);
}

/* inih's line source: hands out one physical line at a time, so L->line is the line of
 * whatever the handler sees; stops the parse at the first error. */
static char *
reader(char *str, int num, void *stream)
{
	struct loader *L = stream;
	const char *s, *nl;
	size_t n, next;

	if (L->failed || L->pos >= L->len)
		return NULL;
	s = L->text + L->pos;
	nl = memchr(s, '\n', L->len - L->pos);
	n = nl ? (size_t)(nl - s) : L->len - L->pos;
	next = L->pos + n + (nl ? 1 : 0);
	L->pos = next;
	L->line++;
	if (L->line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
		s += 3;
		n -= 3;
	}
	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (memchr(s, '\0', n) != NULL) {
		fail(L, L->line, NULL, "NUL byte in line");
		return NULL;
	}
	/* No leading blanks reach inih: it would take an indented line as the continuation
	 * of the previous value. */
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	if (num < 3 || n > (size_t)num - 3) {
		fail(L, L->line, NULL, "line longer than %d characters", num > 3 ? num - 3 : 0);
		return NULL;
	}
	if (n > 0 && s[0] == '[') {
		section_header(L, s, n);
		if (L->failed)
			return NULL;
	}
	memcpy(str, s, n);
	str[n] = '\n';
	str[n + 1] = '\0';
	return str;
}

static char *
dir_of(const char *name)
{
	const char *slash = strrchr(name, '/');
	char cwd[PATH_MAX];
	size_t n, cn;
	char *d;

	if (slash == name)
		return strdup("/");
	if (slash != NULL && name[0] == '/')
		return strndup(name, (size_t)(slash - name));
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	if (slash == NULL)
		return strdup(cwd);
	cn = strlen(cwd);
	n = (size_t)(slash - name);
	d = malloc(cn + n + 2);
	if (d == NULL)
		return NULL;
	memcpy(d, cwd, cn);
	d[cn] = '/';
	memcpy(d + cn + 1, name, n);
	d[cn + 1 + n] = '\0';
	return d;
}

/* The key file's default, DATA_DIR/node.key, and the trust set: [trust] keys_file read
 * (its first bad line reported FILE:LINE) and `unknown` applied. */
static void
load_trust(struct loader *L)
{
	struct conf *c = L->c;
	struct util_buf b;
	char err[sizeof(L->err->msg)];

	if (c->node.key_file == NULL) {
		size_t n = strlen(c->node.data_dir) + sizeof("/node.key");

		/* check-config prints the default too: its line must load back, as any path's. */
		if (strlen("key_file") + 3 + n - 1 > INI_MAX_LINE - 3) {
			fail(L, L->sect_line[S_NODE], "data_dir",
			    "too long for the default key_file (DATA_DIR/node.key, %zu characters): "
			    "set key_file", n - 1);
			return;
		}

		if ((c->node.key_file = malloc(n)) == NULL) {
			fail(L, 0, NULL, "out of memory");
			return;
		}
		snprintf(c->node.key_file, n, "%s/node.key", c->node.data_dir);
	}
	if ((c->trust.set = rec_trust_new()) == NULL) {
		fail(L, 0, NULL, "out of memory");
		return;
	}
	rec_trust_set_unknown(c->trust.set, c->trust.unknown_refuse);
	if (c->trust.keys_file == NULL)
		return;
	util_buf_init(&b, CONF_FILE_MAX);
	if (util_read_file(c->trust.keys_file, &b) != 0) {
		fail(L, L->sect_line[S_TRUST], "keys_file", "cannot read \"%s\": %s",
		    c->trust.keys_file, errno ? strerror(errno) : "too large");
	} else if (rec_trust_parse(c->trust.set, b.data ? b.data : "", b.len,
	    c->trust.keys_file, err, sizeof(err)) != 0) {
		/* Already FILE:LINE: what, naming the keys file, not the config. */
		util_seterr(L->err->msg, sizeof(L->err->msg), "%s", err);
		L->failed = 1;
	}
	util_buf_fini(&b);
}

static void
final_checks(struct loader *L)
{
	struct conf *c = L->c;
	size_t i;

	if (c->node.id == NULL)
		fail(L, L->sect_line[S_NODE], "id", "required in [node]");
	else if (c->node.data_dir == NULL)
		fail(L, L->sect_line[S_NODE], "data_dir", "required in [node]");
	else if (c->server.tls_key != NULL && c->server.tls_cert == NULL)
		fail(L, L->sect_line[S_SERVER], "tls_cert", "required when tls_key is set");
	else if (c->server.tls_cert != NULL && c->server.tls_key == NULL)
		fail(L, L->sect_line[S_SERVER], "tls_key", "required when tls_cert is set");
	else if (c->server.client_ca != NULL && c->server.tls_cert == NULL)
		fail(L, L->sect_line[S_SERVER], "client_ca", "needs tls_cert and tls_key");
	for (i = 0; i < c->npeers && !L->failed; i++) {
		const struct conf_peer *p = &c->peers[i];

		if (p->url == NULL)
			fail(L, p->line, "url", "required in [peer %s]", p->name);
		else if (p->collection == NULL)
			fail(L, p->line, "collection", "must not be empty in [peer %s]", p->name);
		else if ((p->client_cert == NULL) != (p->client_key == NULL))
			fail(L, p->line, p->client_cert ? "client_key" : "client_cert",
			    "client_cert and client_key go together in [peer %s]", p->name);
		else if (p->client_key_password_file != NULL && p->client_key == NULL)
			fail(L, p->line, "client_key", "required with client_key_password_file in "
			    "[peer %s]", p->name);
		else if (p->password_file != NULL && p->username == NULL)
			fail(L, p->line, "username", "required with password_file in [peer %s]",
			    p->name);
		else if (p->push && !c->server.allow_private_push)
			check_push_address(L, p);
	}
	if (!L->failed)
		load_trust(L);
	if (!L->failed && c->observer.vantage == NULL) {
		c->observer.vantage = strdup(c->node.id);
		if (c->observer.vantage == NULL)
			fail(L, 0, NULL, "out of memory");
	}
}

struct conf *
conf_load_string(const char *text, const char *name, struct conf_err *err)
{
	return conf_load_string_flags(text, name, 0, err);
}

struct conf *
conf_load_string_flags(const char *text, const char *name, unsigned flags,
    struct conf_err *err)
{
	struct loader L;
	int rc;

	memset(&L, 0, sizeof(L));
	L.flags = flags;
	L.name = name;
	L.err = err;
	L.text = text;
	L.len = strlen(text);
	L.sect_name = "";
	err->msg[0] = '\0';
	L.c = conf_new_defaults();
	L.dir = dir_of(name);
	if (L.c == NULL || L.dir == NULL) {
		fail(&L, 0, NULL, "out of memory");
		goto out;
	}
	L.c->path = strdup(name);
	if (L.c->path == NULL) {
		fail(&L, 0, NULL, "out of memory");
		goto out;
	}
	rc = ini_parse_stream(reader, &L, handler, &L);
	if (rc > 0)
		fail(&L, rc, NULL, "syntax error (expected \"key = value\" or \"[section]\")");
	else if (rc < 0)
		fail(&L, 0, NULL, "parser failure");
	if (!L.failed)
		final_checks(&L);
out:
	free(L.dir);
	if (L.failed) {
		conf_free(L.c);
		return NULL;
	}
	return L.c;
}

struct conf *
conf_load(const char *path, struct conf_err *err)
{
	return conf_load_flags(path, 0, err);
}

struct conf *
conf_load_flags(const char *path, unsigned flags, struct conf_err *err)
{
	struct util_buf b;
	struct conf *c = NULL;
	int rc;

	util_buf_init(&b, CONF_FILE_MAX);
	rc = util_read_file(path, &b);
	if (rc == -2) {
		util_seterr(err->msg, sizeof(err->msg), "%s: larger than %d bytes", path,
		    CONF_FILE_MAX);
		goto out;
	}
	if (rc != 0) {
		util_seterr(err->msg, sizeof(err->msg), "%s: cannot read: %s", path,
		    strerror(errno));
		goto out;
	}
	if (memchr(b.data ? b.data : "", '\0', b.len) != NULL) {
		util_seterr(err->msg, sizeof(err->msg), "%s: NUL byte in file", path);
		goto out;
	}
	c = conf_load_string_flags(b.data ? b.data : "", path, flags, err);
out:
	util_buf_fini(&b);
	return c;
}
