/* The scripted TAXII peer of the tests (see script.h). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/script.h"
#include "tests/tap.h"

/* A header's value in a request head (case-insensitive name), into out. */
static void
header(const char *head, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);

	out[0] = '\0';
	for (const char *p = head; p != NULL && *p; p = strstr(p, "\r\n")) {
		if (p[0] == '\r')
			p += 2;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			p += nl + 1;
			while (*p == ' ')
				p++;
			snprintf(out, outlen, "%.*s", (int)strcspn(p, "\r\n"), p);
			return;
		}
	}
}

static void
serve_one(struct script *s, int c)
{
	char *buf = malloc(SCRIPT_REQ_MAX + 1), lenh[32], ver[64], head[256];
	size_t got = 0, need = 0;
	char *eoh = NULL;
	struct script_step st = { 500, NULL };
	int i;

	if (buf == NULL)
		return;
	/* The whole request: a head, then Content-Length bytes. Bounded by SCRIPT_REQ_MAX. */
	while (got < SCRIPT_REQ_MAX) {
		struct pollfd pf = { c, POLLIN, 0 };
		ssize_t r;

		if (poll(&pf, 1, 5000) <= 0)
			break;
		r = read(c, buf + got, SCRIPT_REQ_MAX - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		buf[got] = '\0';
		if (eoh == NULL && (eoh = strstr(buf, "\r\n\r\n")) != NULL) {
			*eoh = '\0';
			header(buf, "Content-Length", lenh, sizeof(lenh));
			need = (size_t)(eoh - buf) + 4 + strtoul(lenh, NULL, 10);
		}
		if (eoh != NULL && got >= need)
			break;
	}
	pthread_mutex_lock(&s->lock);
	i = s->n_reqs < SCRIPT_MAX_STEPS ? s->n_reqs++ : SCRIPT_MAX_STEPS - 1;
	if (eoh != NULL) {
		header(buf, "X-TAXII-Content-Type", ver, sizeof(ver));
		snprintf(s->req_ver[i], sizeof(s->req_ver[i]), "%s", ver);
		snprintf(s->req_body[i], sizeof(s->req_body[i]), "%s", eoh + 4);
	}
	/* A copy: a client that gives up early lets the test reset the script mid-answer. */
	if (s->next < s->n_steps) {
		st.http = s->steps[s->next].http;
		st.body = s->steps[s->next++].body ? strdup(s->steps[s->next - 1].body) : NULL;
	}
	pthread_mutex_unlock(&s->lock);
	snprintf(head, sizeof(head),
	    "HTTP/1.1 %d X\r\nContent-Type: application/xml\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", st.http, st.body ? strlen(st.body) : 0);
	if (send(c, head, strlen(head), MSG_NOSIGNAL) < 0 ||
	    (st.body && send(c, st.body, strlen(st.body), MSG_NOSIGNAL) < 0))
		tap_diag("scripted server: write: %s", strerror(errno));
	free(st.body);
	free(buf);
}

static void *
serve(void *arg)
{
	struct script *s = arg;

	for (;;) {
		struct pollfd pf = { s->fd, POLLIN, 0 };
		int c, stop;

		pthread_mutex_lock(&s->lock);
		stop = s->stop;
		pthread_mutex_unlock(&s->lock);
		if (stop)
			break;
		if (poll(&pf, 1, 50) <= 0)
			continue;
		if ((c = accept(s->fd, NULL, NULL)) < 0)
			continue;
		serve_one(s, c);
		close(c);
	}
	return NULL;
}

int
script_start(struct script *s)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(s->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s->fd, 8) != 0 ||
	    getsockname(s->fd, (struct sockaddr *)&a, &al) != 0)
		return -1;
	s->port = ntohs(a.sin_port);
	return pthread_create(&s->thread, NULL, serve, s) == 0 ? 0 : -1;
}

void
script_reset(struct script *s)
{
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < s->n_steps; i++)
		free(s->steps[i].body);
	s->n_steps = s->next = s->n_reqs = 0;
	memset(s->req_body, 0, sizeof(s->req_body));
	memset(s->req_ver, 0, sizeof(s->req_ver));
	pthread_mutex_unlock(&s->lock);
}

void
script_add(struct script *s, int http, char *body)
{
	pthread_mutex_lock(&s->lock);
	if (s->n_steps < SCRIPT_MAX_STEPS) {
		s->steps[s->n_steps].http = http;
		s->steps[s->n_steps++].body = body;
	} else {
		free(body);
	}
	pthread_mutex_unlock(&s->lock);
}

void
script_stop(struct script *s)
{
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	close(s->fd);
	script_reset(s);
	pthread_mutex_destroy(&s->lock);
}

