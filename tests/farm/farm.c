/*
 * c2farm: a simulated farm of C2 servers for the HTTP probe's tests. One process listens on
 * many loopback addresses and ports at once and answers each according to a script, well
 * or badly on purpose: it speaks just enough HTTP/1.1 by hand to be able to break it.
 *
 * Usage: c2farm SCRIPT
 *
 * On start it prints one line "listen NAME ADDR PORT" per listener, then "listening", and
 * serves until SIGTERM or SIGINT. SIGUSR1, or a request for /_farm/next on any listener,
 * moves every listener to the next cycle (cycles count from 0); /_farm/cycle answers the
 * current cycle. Each connection carries one request and is closed after the answer. A
 * request in proxy form ("GET http://host/path") is answered by the listener it reached,
 * as if it were a proxy, so tests can tell that a proxy was used. A TLS ClientHello gets
 * a plain-text 400, as from a web server's plain port.
 *
 * Script: one directive per line; '#' starts a comment line; fields are split by blanks; a
 * field may be quoted "..." with the escapes \" \\ \n \r \t \e (ESC).
 *
 *   listen NAME ADDR [PORT] [socks5]
 *       Binds ADDR:PORT (IPv4 or IPv6 literal; PORT 0 or absent: the kernel picks one).
 *       With "socks5" the listener is a SOCKS5 proxy (no authentication) that answers the
 *       HTTP request itself, from its own rules, whatever the destination; a destination
 *       port from 1 to 8 instead gets that SOCKS reply code (5: connection refused, 4: host
 *       unreachable, 6: TTL expired, ...) and the connection is closed.
 *       With "stall" it never accepts: once a connection or two fill its backlog, further
 *       connects hang, which is how a connect timeout is provoked on loopback.
 *
 *   rule NAME PATH CYCLES ACTION [key=value ...]
 *       NAME is a listener or "*"; PATH the request path without the query, or "*";
 *       CYCLES is "*" or a comma list of N and N-M (an open N- is allowed). The first rule
 *       that matches answers; without one the answer is a plain 404.
 *
 * Actions:
 *   page     a complete response: status, headers, body, then close
 *   drip     the same bytes as page, one every `interval` milliseconds
 *   headers  a status line, then header lines without end (until 64 MiB, then close)
 *   huge     headers announcing `size` bytes, then streams them until the client leaves
 *   garbage  bytes that are not HTTP, then close
 *   close    closes without a byte (FIN)
 *   reset    closes with an RST (SO_LINGER 0)
 *   hold     reads the request and never answers
 *
 * Keys: status=N (default 200), reason=TEXT, type=CONTENT-TYPE, server=TEXT, body=TEXT,
 * bodyfile=PATH (relative paths from the script's directory), encoding=VALUE (sent as
 * Content-Encoding; the body is sent as is), location=URL ("{NAME}" is replaced by that
 * listener's ADDR:PORT, bracketed for IPv6), header="Name: value" (repeatable),
 * ua=TEXT (the rule matches only when the User-Agent contains TEXT), from=ADDR (only when
 * the client connects from ADDR: cloaking by source), size=N[K|M|G] (huge),
 * interval=MS (drip, default 1000).
 *
 * Memory is bounded: at most FARM_MAX_CONNS connections (more are closed at once), request
 * heads up to FARM_REQ_MAX bytes, body files up to FARM_FILE_MAX bytes, streams generated.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/util.h"

#define FARM_MAX_LISTENERS 16384 /* the observer's benchmark: one address per target */
#define FARM_MAX_RULES 512
#define FARM_MAX_CONNS 4096
#define FARM_REQ_MAX 8192
#define FARM_FILE_MAX (16u << 20)
#define FARM_HEAD_MAX 16384
#define FARM_MAX_HEADERS 8
#define FARM_LINE_MAX 4096
#define FARM_MAX_FIELDS 32
#define FARM_HEADERS_FOREVER_MAX (64u << 20)
#define FARM_NAME_MAX 64

enum farm_action { FA_PAGE, FA_DRIP, FA_HEADERS, FA_HUGE, FA_GARBAGE, FA_CLOSE, FA_RESET, FA_HOLD };

struct farm_listener {
	char name[FARM_NAME_MAX];
	char addr[INET6_ADDRSTRLEN];
	int port;
	int fd;
	int v6;
	int socks; /* speaks SOCKS5 first, then HTTP */
	int stall; /* never accepts: once its backlog is full, connects hang */
};

struct farm_range {
	long lo, hi; /* hi < 0: open */
};

struct farm_rule {
	int listener; /* -1: any */
	char *path;   /* NULL: any */
	struct farm_range *cycles;
	size_t ncycles; /* 0: any */
	enum farm_action action;
	int status;
	char *reason, *type, *server, *encoding, *location, *ua, *from;
	char *headers[FARM_MAX_HEADERS];
	size_t nheaders;
	struct util_buf body;
	uint64_t size;
	long interval_ms;
};

enum farm_state {
	FS_FREE, FS_SOCKS_HELLO, FS_SOCKS_REQ, FS_READ, FS_WRITE, FS_DRIP, FS_HEADERS, FS_STREAM,
	FS_HOLD
};

struct farm_conn {
	int fd;
	enum farm_state state;
	int listener;
	char peer[INET6_ADDRSTRLEN]; /* the client's address */
	char in[FARM_REQ_MAX + 1];
	size_t in_len;
	char *head; /* status line and headers, owned */
	size_t head_len, head_off;
	const char *body; /* borrowed from the rule */
	size_t body_len, body_off;
	uint64_t size;  /* FS_STREAM: bytes announced */
	uint64_t left;  /* FS_STREAM: bytes still to send; FS_HEADERS: bytes allowed */
	uint64_t count; /* FS_HEADERS: lines sent */
	long interval_ms;
	int64_t next_ms;
};

struct farm {
	struct farm_listener listeners[FARM_MAX_LISTENERS];
	size_t nlisteners;
	struct farm_rule rules[FARM_MAX_RULES];
	size_t nrules;
	struct farm_conn *conns;
	size_t conn_hint; /* where the search for a free connection slot starts */
	long cycle;
	int epfd, sigfd;
	char dir[PATH_MAX];
};

/* epoll tags: the kind of descriptor in the high half, its index in the low half. */
#define TAG_LISTEN 1ull
#define TAG_CONN 2ull
#define TAG_SIGNAL 3ull
#define TAG(kind, i) (((kind) << 32) | (uint64_t)(i))

__attribute__((noreturn, format(printf, 1, 2))) static void
farm_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "c2farm: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

static int64_t
farm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *
farm_strdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		farm_die("out of memory");
	return d;
}

/* Splits a script line into fields in place; quoted fields are unescaped. Returns the count
 * or -1 on a bad quote. */
static int
farm_split(char *line, char **fields, int max)
{
	int n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '\n' || *p == '\r')
			return n;
		if (n == max)
			return -1;
		char *out = p;
		fields[n++] = out;
		int quoted = 0;
		while (*p != '\0' && *p != '\n' && *p != '\r') {
			if (*p == '"') {
				quoted = !quoted;
				p++;
				continue;
			}
			if (!quoted && (*p == ' ' || *p == '\t'))
				break;
			if (quoted && *p == '\\' && p[1] != '\0') {
				p++;
				switch (*p) {
				case 'n': *out++ = '\n'; break;
				case 'r': *out++ = '\r'; break;
				case 't': *out++ = '\t'; break;
				case 'e': *out++ = '\033'; break;
				default: *out++ = *p; break;
				}
				p++;
				continue;
			}
			*out++ = *p++;
		}
		if (quoted)
			return -1;
		int end = (*p == '\0' || *p == '\n' || *p == '\r');
		*out = '\0';
		if (end)
			return n;
		p++;
	}
}

static int
farm_listener_find(const struct farm *f, const char *name)
{
	for (size_t i = 0; i < f->nlisteners; i++)
		if (strcmp(f->listeners[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void
farm_parse_cycles(struct farm_rule *r, const char *spec, int lineno)
{
	if (strcmp(spec, "*") == 0)
		return;
	char *copy = farm_strdup(spec), *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		struct farm_range rg;
		char *end;
		rg.lo = strtol(tok, &end, 10);
		if (end == tok || rg.lo < 0)
			farm_die("line %d: bad cycle list \"%s\"", lineno, spec);
		if (*end == '-') {
			char *e2;
			rg.hi = end[1] == '\0' ? -1 : strtol(end + 1, &e2, 10);
			if (end[1] != '\0' && (*e2 != '\0' || rg.hi < rg.lo))
				farm_die("line %d: bad cycle range \"%s\"", lineno, tok);
		} else if (*end == '\0') {
			rg.hi = rg.lo;
		} else {
			farm_die("line %d: bad cycle list \"%s\"", lineno, spec);
		}
		struct farm_range *nc = realloc(r->cycles, (r->ncycles + 1) * sizeof(*nc));
		if (nc == NULL)
			farm_die("out of memory");
		r->cycles = nc;
		r->cycles[r->ncycles++] = rg;
	}
	free(copy);
}

static uint64_t
farm_parse_size(const char *s, int lineno)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	uint64_t mult = 1;

	switch (*end) {
	case '\0': break;
	case 'K': mult = 1024; end++; break;
	case 'M': mult = 1024 * 1024; end++; break;
	case 'G': mult = 1024 * 1024 * 1024; end++; break;
	default: end = NULL; break;
	}
	if (end == NULL || *end != '\0' || v > UINT64_MAX / mult)
		farm_die("line %d: bad size \"%s\"", lineno, s);
	return v * mult;
}

static void
farm_load_body(struct farm *f, struct farm_rule *r, const char *path, int lineno)
{
	char full[PATH_MAX * 2];

	if (path[0] == '/')
		snprintf(full, sizeof(full), "%s", path);
	else
		snprintf(full, sizeof(full), "%s/%s", f->dir, path);
	util_buf_reset(&r->body);
	int rc = util_read_file(full, &r->body);
	if (rc != 0)
		farm_die("line %d: cannot read body file %s: %s", lineno, full,
		    rc == -2 ? "too large" : strerror(errno));
}

static void
farm_parse_rule(struct farm *f, char **fld, int n, int lineno)
{
	static const struct {
		const char *name;
		enum farm_action action;
	} actions[] = {{"page", FA_PAGE}, {"drip", FA_DRIP}, {"headers", FA_HEADERS},
	    {"huge", FA_HUGE}, {"garbage", FA_GARBAGE}, {"close", FA_CLOSE}, {"reset", FA_RESET},
	    {"hold", FA_HOLD}};

	if (n < 5)
		farm_die("line %d: rule needs NAME PATH CYCLES ACTION", lineno);
	if (f->nrules == FARM_MAX_RULES)
		farm_die("line %d: more than %d rules", lineno, FARM_MAX_RULES);
	struct farm_rule *r = &f->rules[f->nrules++];
	r->status = 200;
	r->interval_ms = 1000;
	util_buf_init(&r->body, FARM_FILE_MAX);
	if (strcmp(fld[1], "*") == 0) {
		r->listener = -1;
	} else if ((r->listener = farm_listener_find(f, fld[1])) < 0) {
		farm_die("line %d: unknown listener \"%s\"", lineno, fld[1]);
	}
	r->path = strcmp(fld[2], "*") == 0 ? NULL : farm_strdup(fld[2]);
	farm_parse_cycles(r, fld[3], lineno);
	size_t a;
	for (a = 0; a < sizeof(actions) / sizeof(actions[0]); a++)
		if (strcmp(fld[4], actions[a].name) == 0)
			break;
	if (a == sizeof(actions) / sizeof(actions[0]))
		farm_die("line %d: unknown action \"%s\"", lineno, fld[4]);
	r->action = actions[a].action;

	for (int i = 5; i < n; i++) {
		char *eq = strchr(fld[i], '=');
		if (eq == NULL)
			farm_die("line %d: expected key=value, got \"%s\"", lineno, fld[i]);
		*eq = '\0';
		const char *k = fld[i], *v = eq + 1;
		if (strcmp(k, "status") == 0) {
			char *end;
			long s = strtol(v, &end, 10);
			if (*end != '\0' || s < 100 || s > 999)
				farm_die("line %d: bad status \"%s\"", lineno, v);
			r->status = (int)s;
		} else if (strcmp(k, "reason") == 0) {
			free(r->reason);
			r->reason = farm_strdup(v);
		} else if (strcmp(k, "type") == 0) {
			free(r->type);
			r->type = farm_strdup(v);
		} else if (strcmp(k, "server") == 0) {
			free(r->server);
			r->server = farm_strdup(v);
		} else if (strcmp(k, "encoding") == 0) {
			free(r->encoding);
			r->encoding = farm_strdup(v);
		} else if (strcmp(k, "location") == 0) {
			free(r->location);
			r->location = farm_strdup(v);
		} else if (strcmp(k, "ua") == 0) {
			free(r->ua);
			r->ua = farm_strdup(v);
		} else if (strcmp(k, "from") == 0) {
			free(r->from);
			r->from = farm_strdup(v);
		} else if (strcmp(k, "header") == 0) {
			if (r->nheaders == FARM_MAX_HEADERS)
				farm_die("line %d: more than %d headers", lineno, FARM_MAX_HEADERS);
			r->headers[r->nheaders++] = farm_strdup(v);
		} else if (strcmp(k, "body") == 0) {
			util_buf_reset(&r->body);
			if (util_buf_add(&r->body, v, strlen(v)) != 0)
				farm_die("line %d: body too large", lineno);
		} else if (strcmp(k, "bodyfile") == 0) {
			farm_load_body(f, r, v, lineno);
		} else if (strcmp(k, "size") == 0) {
			r->size = farm_parse_size(v, lineno);
		} else if (strcmp(k, "interval") == 0) {
			char *end;
			r->interval_ms = strtol(v, &end, 10);
			if (*end != '\0' || r->interval_ms < 1 || r->interval_ms > 60000)
				farm_die("line %d: bad interval \"%s\"", lineno, v);
		} else {
			farm_die("line %d: unknown key \"%s\"", lineno, k);
		}
	}
}

static void
farm_parse_listen(struct farm *f, char **fld, int n, int lineno)
{
	int socks = n >= 4 && strcmp(fld[n - 1], "socks5") == 0;
	int stall = n >= 4 && strcmp(fld[n - 1], "stall") == 0;
	if (socks || stall)
		n--;
	if (n < 3 || n > 4)
		farm_die("line %d: listen needs NAME ADDR [PORT] [socks5|stall]", lineno);
	if (f->nlisteners == FARM_MAX_LISTENERS)
		farm_die("line %d: more than %d listeners", lineno, FARM_MAX_LISTENERS);
	if (strlen(fld[1]) >= FARM_NAME_MAX || strlen(fld[2]) >= INET6_ADDRSTRLEN)
		farm_die("line %d: name or address too long", lineno);
	if (farm_listener_find(f, fld[1]) >= 0)
		farm_die("line %d: listener \"%s\" defined twice", lineno, fld[1]);
	struct farm_listener *l = &f->listeners[f->nlisteners++];
	snprintf(l->name, sizeof(l->name), "%s", fld[1]);
	snprintf(l->addr, sizeof(l->addr), "%s", fld[2]);
	l->port = 0;
	if (n == 4) {
		char *end;
		long p = strtol(fld[3], &end, 10);
		if (*end != '\0' || p < 0 || p > 65535)
			farm_die("line %d: bad port \"%s\"", lineno, fld[3]);
		l->port = (int)p;
	}
	l->v6 = strchr(l->addr, ':') != NULL;
	l->socks = socks;
	l->stall = stall;
	l->fd = -1;
}

static void
farm_load_script(struct farm *f, const char *path)
{
	FILE *fp = fopen(path, "r");
	char line[FARM_LINE_MAX];
	int lineno = 0;

	if (fp == NULL)
		farm_die("cannot open %s: %s", path, strerror(errno));
	snprintf(f->dir, sizeof(f->dir), "%s", path);
	char *slash = strrchr(f->dir, '/');
	if (slash != NULL)
		*slash = '\0';
	else
		snprintf(f->dir, sizeof(f->dir), ".");
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *fld[FARM_MAX_FIELDS];
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp))
			farm_die("line %d: longer than %d bytes", lineno, FARM_LINE_MAX - 2);
		int n = farm_split(line, fld, FARM_MAX_FIELDS);
		if (n < 0)
			farm_die("line %d: bad quoting or too many fields", lineno);
		if (n == 0 || fld[0][0] == '#')
			continue;
		if (strcmp(fld[0], "listen") == 0)
			farm_parse_listen(f, fld, n, lineno);
		else if (strcmp(fld[0], "rule") == 0)
			farm_parse_rule(f, fld, n, lineno);
		else
			farm_die("line %d: unknown directive \"%s\"", lineno, fld[0]);
	}
	fclose(fp);
	if (f->nlisteners == 0)
		farm_die("%s: no listener", path);
}

static void
farm_bind(struct farm *f, size_t i)
{
	struct farm_listener *l = &f->listeners[i];
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;

	memset(&ss, 0, sizeof(ss));
	if (l->v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)l->port);
		if (inet_pton(AF_INET6, l->addr, &s6->sin6_addr) != 1)
			farm_die("listener %s: bad address %s", l->name, l->addr);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)l->port);
		if (inet_pton(AF_INET, l->addr, &s4->sin_addr) != 1)
			farm_die("listener %s: bad address %s", l->name, l->addr);
		sl = sizeof(*s4);
	}
	l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		farm_die("socket: %s", strerror(errno));
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l->fd, (struct sockaddr *)&ss, sl) != 0)
		farm_die("listener %s: bind %s:%d: %s", l->name, l->addr, l->port, strerror(errno));
	if (listen(l->fd, l->stall ? 0 : 128) != 0)
		farm_die("listener %s: listen: %s", l->name, strerror(errno));
	sl = sizeof(ss);
	if (getsockname(l->fd, (struct sockaddr *)&ss, &sl) != 0)
		farm_die("getsockname: %s", strerror(errno));
	l->port = ntohs(l->v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
			      : ((struct sockaddr_in *)&ss)->sin_port);
	if (l->stall)
		return;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG(TAG_LISTEN, i)};
	if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, l->fd, &ev) != 0)
		farm_die("epoll_ctl: %s", strerror(errno));
}

static int
farm_cycle_matches(const struct farm_rule *r, long cycle)
{
	if (r->ncycles == 0)
		return 1;
	for (size_t i = 0; i < r->ncycles; i++)
		if (cycle >= r->cycles[i].lo && (r->cycles[i].hi < 0 || cycle <= r->cycles[i].hi))
			return 1;
	return 0;
}

static const struct farm_rule *
farm_match(const struct farm *f, int listener, const char *path, const char *ua,
    const char *peer)
{
	for (size_t i = 0; i < f->nrules; i++) {
		const struct farm_rule *r = &f->rules[i];
		if (r->listener >= 0 && r->listener != listener)
			continue;
		if (r->path != NULL && strcmp(r->path, path) != 0)
			continue;
		if (!farm_cycle_matches(r, f->cycle))
			continue;
		if (r->ua != NULL && (ua == NULL || strstr(ua, r->ua) == NULL))
			continue;
		if (r->from != NULL && strcmp(r->from, peer) != 0)
			continue;
		return r;
	}
	return NULL;
}

static void
farm_conn_close(struct farm *f, struct farm_conn *c)
{
	if (c->state == FS_FREE)
		return;
	epoll_ctl(f->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->head);
	c->head = NULL;
	c->state = FS_FREE;
	c->fd = -1;
}

static void
farm_conn_events(struct farm *f, struct farm_conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.u64 = TAG(TAG_CONN, c - f->conns)};

	epoll_ctl(f->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Expands "{NAME}" in a Location into the listener's address and port. */
static void
farm_expand(const struct farm *f, const char *in, struct util_buf *out)
{
	const char *p = in;

	while (*p != '\0') {
		const char *open = strchr(p, '{'), *close_ = open ? strchr(open, '}') : NULL;
		if (open == NULL || close_ == NULL) {
			util_buf_add(out, p, strlen(p));
			return;
		}
		util_buf_add(out, p, (size_t)(open - p));
		char name[FARM_NAME_MAX];
		size_t len = (size_t)(close_ - open - 1);
		int li = -1;
		if (len < sizeof(name)) {
			memcpy(name, open + 1, len);
			name[len] = '\0';
			li = farm_listener_find(f, name);
		}
		if (li < 0) {
			util_buf_add(out, open, (size_t)(close_ - open + 1));
		} else {
			const struct farm_listener *l = &f->listeners[li];
			util_buf_printf(out, l->v6 ? "[%s]:%d" : "%s:%d", l->addr, l->port);
		}
		p = close_ + 1;
	}
}

static const char *
farm_default_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

/* Builds the status line and headers of a rule's answer; content_length < 0 omits it. */
static char *
farm_head(const struct farm *f, const struct farm_rule *r, int64_t content_length, size_t *len)
{
	struct util_buf h;

	util_buf_init(&h, FARM_HEAD_MAX);
	util_buf_printf(&h, "HTTP/1.1 %d %s\r\n", r->status,
	    r->reason ? r->reason : farm_default_reason(r->status));
	if (r->server)
		util_buf_printf(&h, "Server: %s\r\n", r->server);
	if (r->type)
		util_buf_printf(&h, "Content-Type: %s\r\n", r->type);
	if (r->encoding)
		util_buf_printf(&h, "Content-Encoding: %s\r\n", r->encoding);
	if (r->location) {
		util_buf_printf(&h, "Location: ");
		farm_expand(f, r->location, &h);
		util_buf_printf(&h, "\r\n");
	}
	for (size_t i = 0; i < r->nheaders; i++)
		util_buf_printf(&h, "%s\r\n", r->headers[i]);
	if (content_length >= 0)
		util_buf_printf(&h, "Content-Length: %lld\r\n", (long long)content_length);
	util_buf_printf(&h, "Connection: close\r\n\r\n");
	if (h.data == NULL)
		farm_die("out of memory");
	*len = h.len;
	return h.data;
}

static void
farm_reset(struct farm *f, struct farm_conn *c)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	farm_conn_close(f, c);
}

static void
farm_answer_text(struct farm *f, struct farm_conn *c, int status, const char *text)
{
	struct util_buf h;

	util_buf_init(&h, FARM_HEAD_MAX);
	util_buf_printf(&h,
	    "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s",
	    status, farm_default_reason(status), strlen(text), text);
	if (h.data == NULL)
		farm_die("out of memory");
	c->head = h.data;
	c->head_len = h.len;
	c->head_off = 0;
	c->body = NULL;
	c->body_len = c->body_off = 0;
	c->state = FS_WRITE;
	farm_conn_events(f, c, EPOLLOUT);
}

/* A whole request head has arrived: choose the rule and set the connection to answer. */
static void
farm_dispatch(struct farm *f, struct farm_conn *c)
{
	char path[FARM_REQ_MAX], ua[FARM_REQ_MAX];
	char *sp1 = strchr(c->in, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	int has_ua = 0;

	if (sp1 == NULL || sp2 == NULL) {
		farm_answer_text(f, c, 400, "bad request line\n");
		return;
	}
	size_t plen = (size_t)(sp2 - sp1 - 1);
	memcpy(path, sp1 + 1, plen);
	path[plen] = '\0';
	/* A proxy's request names the whole URL: keep its path. */
	if (strncmp(path, "http://", 7) == 0) {
		char *slash = strchr(path + 7, '/');
		memmove(path, slash ? slash : "/", strlen(slash ? slash : "/") + 1);
	}
	path[strcspn(path, "?#")] = '\0';
	for (char *line = strstr(c->in, "\r\n"); line != NULL; line = strstr(line + 2, "\r\n")) {
		if (strncasecmp(line + 2, "User-Agent:", 11) == 0) {
			const char *v = line + 13;
			while (*v == ' ')
				v++;
			size_t vlen = strcspn(v, "\r\n");
			memcpy(ua, v, vlen);
			ua[vlen] = '\0';
			has_ua = 1;
			break;
		}
	}

	if (strcmp(path, "/_farm/next") == 0 || strcmp(path, "/_farm/cycle") == 0) {
		char text[64];
		if (path[7] == 'n')
			f->cycle++;
		snprintf(text, sizeof(text), "cycle %ld\n", f->cycle);
		farm_answer_text(f, c, 200, text);
		return;
	}
	const struct farm_rule *r = farm_match(f, c->listener, path, has_ua ? ua : NULL, c->peer);
	if (r == NULL) {
		farm_answer_text(f, c, 404, "not found\n");
		return;
	}
	c->body = r->body.data;
	c->body_len = r->body.len;
	c->body_off = c->head_off = 0;
	switch (r->action) {
	case FA_PAGE:
		c->head = farm_head(f, r, (int64_t)r->body.len, &c->head_len);
		c->state = FS_WRITE;
		farm_conn_events(f, c, EPOLLOUT);
		break;
	case FA_DRIP:
		c->head = farm_head(f, r, (int64_t)r->body.len, &c->head_len);
		c->state = FS_DRIP;
		c->interval_ms = r->interval_ms;
		c->next_ms = farm_now_ms();
		farm_conn_events(f, c, EPOLLIN);
		break;
	case FA_HEADERS: {
		char line[128];
		snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", r->status,
		    r->reason ? r->reason : farm_default_reason(r->status));
		c->head = farm_strdup(line);
		c->head_len = strlen(line);
		c->body = NULL;
		c->body_len = 0;
		c->left = FARM_HEADERS_FOREVER_MAX;
		c->count = 0;
		c->state = FS_HEADERS;
		farm_conn_events(f, c, EPOLLOUT);
		break;
	}
	case FA_HUGE:
		c->head = farm_head(f, r, (int64_t)r->size, &c->head_len);
		c->body = NULL;
		c->body_len = 0;
		c->size = c->left = r->size;
		c->state = FS_STREAM;
		farm_conn_events(f, c, EPOLLOUT);
		break;
	case FA_GARBAGE: {
		static const char junk[] = "\x16\x03\x01\x02\x00 this is not HTTP at all \xff\xfe\r\n"
					   "\x00\x01\x02 SSH-2.0-nonsense\r\n\r\n";
		c->head = malloc(sizeof(junk) - 1);
		if (c->head == NULL)
			farm_die("out of memory");
		memcpy(c->head, junk, sizeof(junk) - 1);
		c->head_len = sizeof(junk) - 1;
		c->body = NULL;
		c->body_len = 0;
		c->state = FS_WRITE;
		farm_conn_events(f, c, EPOLLOUT);
		break;
	}
	case FA_CLOSE:
		farm_conn_close(f, c);
		break;
	case FA_RESET:
		farm_reset(f, c);
		break;
	case FA_HOLD:
		c->state = FS_HOLD;
		farm_conn_events(f, c, EPOLLIN);
		break;
	}
}

/* Sends what is pending from head then body. Returns 1 when all is sent, 0 when the socket
 * is full, -1 when the peer has gone. At most `max` bytes are sent. */
static int
farm_send_pending(struct farm_conn *c, size_t max)
{
	while (max > 0 && (c->head_off < c->head_len || c->body_off < c->body_len)) {
		const char *p;
		size_t n;
		int in_head = c->head_off < c->head_len;
		if (in_head) {
			p = c->head + c->head_off;
			n = c->head_len - c->head_off;
		} else {
			p = c->body + c->body_off;
			n = c->body_len - c->body_off;
		}
		if (n > max)
			n = max;
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0)
			return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
		if (in_head)
			c->head_off += (size_t)w;
		else
			c->body_off += (size_t)w;
		max -= (size_t)w;
	}
	return c->head_off == c->head_len && c->body_off == c->body_len;
}

static void
farm_finish(struct farm *f, struct farm_conn *c)
{
	shutdown(c->fd, SHUT_WR);
	farm_conn_close(f, c);
}

static void
farm_write(struct farm *f, struct farm_conn *c)
{
	static char pattern[65536];
	int rc;

	switch (c->state) {
	case FS_WRITE:
		rc = farm_send_pending(c, SIZE_MAX);
		if (rc < 0)
			farm_conn_close(f, c);
		else if (rc == 1)
			farm_finish(f, c);
		break;
	case FS_HEADERS:
		/* A bounded burst per wake-up, so one greedy client cannot starve the others. */
		for (int burst = 0; burst < 64; burst++) {
			rc = farm_send_pending(c, SIZE_MAX);
			if (rc < 0) {
				farm_conn_close(f, c);
				return;
			}
			if (rc == 0)
				return;
			if (c->left == 0) {
				farm_finish(f, c);
				return;
			}
			char line[256];
			int n = snprintf(line, sizeof(line), "X-Filler-%llu: %0200d\r\n",
			    (unsigned long long)c->count++, 0);
			free(c->head);
			c->head = farm_strdup(line);
			c->head_len = (size_t)n;
			c->head_off = 0;
			c->left = c->left > (uint64_t)n ? c->left - (uint64_t)n : 0;
		}
		break;
	case FS_STREAM:
		rc = farm_send_pending(c, SIZE_MAX);
		if (rc < 0) {
			farm_conn_close(f, c);
			return;
		}
		if (rc == 0)
			return;
		if (pattern[0] == 0)
			for (size_t i = 0; i < sizeof(pattern); i++)
				pattern[i] = (char)('a' + i % 26);
		/* Byte i of the body is pattern[i % sizeof(pattern)], whatever the send sizes. */
		for (int burst = 0; burst < 64 && c->left > 0; burst++) {
			size_t off = (size_t)((c->size - c->left) % sizeof(pattern));
			size_t n = sizeof(pattern) - off;
			if (c->left < n)
				n = (size_t)c->left;
			ssize_t w = send(c->fd, pattern + off, n, MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
					return;
				farm_conn_close(f, c);
				return;
			}
			c->left -= (uint64_t)w;
		}
		if (c->left == 0)
			farm_finish(f, c);
		break;
	default:
		break;
	}
}

/* Drops the first n bytes of the connection's input. */
static void
farm_consume(struct farm_conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
	c->in[c->in_len] = '\0';
}

/* The SOCKS5 handshake (no authentication, CONNECT only). Returns 1 when HTTP may follow,
 * 0 when more bytes are needed, -1 when the connection was closed. */
static int
farm_socks(struct farm *f, struct farm_conn *c)
{
	const unsigned char *in = (const unsigned char *)c->in;

	if (c->state == FS_SOCKS_HELLO) {
		if (c->in_len < 2 || c->in_len < 2u + in[1])
			return 0;
		if (in[0] != 5) {
			farm_conn_close(f, c);
			return -1;
		}
		static const unsigned char choose[2] = {5, 0};
		send(c->fd, choose, sizeof(choose), MSG_NOSIGNAL);
		farm_consume(c, 2u + in[1]);
		c->state = FS_SOCKS_REQ;
	}
	if (c->in_len < 5)
		return 0;
	size_t need = in[3] == 1 ? 10 : in[3] == 4 ? 22 : in[3] == 3 ? 7u + in[4] : 0;
	if (need == 0 || in[0] != 5 || in[1] != 1) {
		farm_conn_close(f, c);
		return -1;
	}
	if (c->in_len < need)
		return 0;
	unsigned port = (unsigned)in[need - 2] << 8 | in[need - 1];
	unsigned char reply[10] = {5, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	if (port >= 1 && port <= 8)
		reply[1] = (unsigned char)port;
	send(c->fd, reply, sizeof(reply), MSG_NOSIGNAL);
	farm_consume(c, need);
	if (reply[1] != 0) {
		farm_finish(f, c);
		return -1;
	}
	c->state = FS_READ;
	return 1;
}

static void
farm_read(struct farm *f, struct farm_conn *c)
{
	int socks = c->state == FS_SOCKS_HELLO || c->state == FS_SOCKS_REQ;

	if (c->state != FS_READ && !socks) {
		/* After the request only a close from the client is of interest. */
		char sink[4096];
		ssize_t r = recv(c->fd, sink, sizeof(sink), 0);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			farm_conn_close(f, c);
		return;
	}
	ssize_t r = recv(c->fd, c->in + c->in_len, FARM_REQ_MAX - c->in_len, 0);
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
		farm_conn_close(f, c);
		return;
	}
	if (r < 0)
		return;
	c->in_len += (size_t)r;
	c->in[c->in_len] = '\0';
	/* HTTP bytes that came along with the SOCKS request go on to the checks below. */
	if (socks && (farm_socks(f, c) <= 0 || c->in_len == 0))
		return;
	/* A TLS ClientHello on a plain port: answer like a plain web server does. */
	if ((unsigned char)c->in[0] == 0x16)
		farm_answer_text(f, c, 400, "plain HTTP port\n");
	else if (strstr(c->in, "\r\n\r\n") != NULL)
		farm_dispatch(f, c);
	else if (c->in_len == FARM_REQ_MAX)
		farm_answer_text(f, c, 400, "request head too large\n");
}

static void
farm_accept(struct farm *f, size_t li)
{
	/* Bounded: one backlog's worth per wake-up. */
	for (int n = 0; n < 128; n++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(f->listeners[li].fd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		size_t i, k;
		/* From the last slot taken: a free one is usually next, even with thousands of
		 * connections. */
		for (k = 0, i = f->conn_hint; k < FARM_MAX_CONNS; k++, i = (i + 1) % FARM_MAX_CONNS)
			if (f->conns[i].state == FS_FREE)
				break;
		if (k == FARM_MAX_CONNS) {
			close(fd);
			continue;
		}
		f->conn_hint = (i + 1) % FARM_MAX_CONNS;
		struct farm_conn *c = &f->conns[i];
		c->fd = fd;
		c->listener = (int)li;
		c->peer[0] = '\0';
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->peer,
			    sizeof(c->peer));
		else if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, c->peer,
			    sizeof(c->peer));
		c->in_len = 0;
		c->head = NULL;
		c->state = f->listeners[li].socks ? FS_SOCKS_HELLO : FS_READ;
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG(TAG_CONN, i)};
		if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			c->state = FS_FREE;
		}
	}
}

/* Sends one byte to every dripping connection that is due; returns the wait until the
 * next is due (-1: none). */
static int
farm_drip(struct farm *f)
{
	int64_t now = farm_now_ms(), wait = -1;

	for (size_t i = 0; i < FARM_MAX_CONNS; i++) {
		struct farm_conn *c = &f->conns[i];
		if (c->state != FS_DRIP)
			continue;
		if (now >= c->next_ms) {
			int rc = farm_send_pending(c, 1);
			if (rc < 0) {
				farm_conn_close(f, c);
				continue;
			}
			if (rc == 1) {
				farm_finish(f, c);
				continue;
			}
			c->next_ms = now + c->interval_ms;
		}
		if (wait < 0 || c->next_ms - now < wait)
			wait = c->next_ms - now;
	}
	return (int)wait;
}

static void
farm_free(struct farm *f)
{
	for (size_t i = 0; i < FARM_MAX_CONNS; i++)
		farm_conn_close(f, &f->conns[i]);
	free(f->conns);
	for (size_t i = 0; i < f->nlisteners; i++)
		if (f->listeners[i].fd >= 0)
			close(f->listeners[i].fd);
	for (size_t i = 0; i < f->nrules; i++) {
		struct farm_rule *r = &f->rules[i];
		free(r->path);
		free(r->cycles);
		free(r->reason);
		free(r->type);
		free(r->server);
		free(r->encoding);
		free(r->location);
		free(r->ua);
		free(r->from);
		for (size_t h = 0; h < r->nheaders; h++)
			free(r->headers[h]);
		util_buf_fini(&r->body);
	}
	close(f->epfd);
	close(f->sigfd);
	free(f);
}

int
main(int argc, char **argv)
{
	struct farm *f;
	sigset_t set;

	if (argc != 2) {
		fprintf(stderr, "usage: c2farm SCRIPT\n");
		return 2;
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		farm_die("out of memory");
	/* Thousands of listeners need thousands of descriptors: take what the hard limit
	 * allows. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	f->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (f->epfd < 0)
		farm_die("epoll_create1: %s", strerror(errno));
	f->conns = calloc(FARM_MAX_CONNS, sizeof(*f->conns));
	if (f->conns == NULL)
		farm_die("out of memory");
	for (size_t i = 0; i < FARM_MAX_CONNS; i++)
		f->conns[i].fd = -1;
	farm_load_script(f, argv[1]);

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	f->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (f->sigfd < 0)
		farm_die("signalfd: %s", strerror(errno));
	struct epoll_event sev = {.events = EPOLLIN, .data.u64 = TAG(TAG_SIGNAL, 0)};
	epoll_ctl(f->epfd, EPOLL_CTL_ADD, f->sigfd, &sev);

	for (size_t i = 0; i < f->nlisteners; i++) {
		farm_bind(f, i);
		printf("listen %s %s %d\n", f->listeners[i].name, f->listeners[i].addr,
		    f->listeners[i].port);
	}
	printf("listening\n");
	fflush(stdout);

	for (int running = 1; running;) {
		struct epoll_event evs[64];
		int timeout = farm_drip(f);
		int n = epoll_wait(f->epfd, evs, 64, timeout);
		if (n < 0 && errno != EINTR)
			farm_die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			uint64_t kind = evs[i].data.u64 >> 32;
			size_t idx = (size_t)(evs[i].data.u64 & 0xffffffffu);
			if (kind == TAG_LISTEN) {
				farm_accept(f, idx);
			} else if (kind == TAG_SIGNAL) {
				struct signalfd_siginfo si;
				while (read(f->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
					if (si.ssi_signo == SIGUSR1)
						f->cycle++;
					else
						running = 0;
				}
			} else {
				struct farm_conn *c = &f->conns[idx];
				if (c->state == FS_FREE)
					continue;
				if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
					farm_read(f, c);
				if (c->state != FS_FREE && (evs[i].events & EPOLLOUT))
					farm_write(f, c);
			}
		}
	}
	farm_free(f);
	return 0;
}
