/*
 * A scripted TAXII peer for the tests: an HTTP server on 127.0.0.1 (port 0) that answers
 * each request with the next queued answer, exactly as queued, and keeps what the client
 * sent. One connection at a time, one answer per request, then close: enough to play a
 * real server's quirks back to a client, or a server that answers badly on purpose.
 */
#ifndef C2W_TESTS_SCRIPT_H
#define C2W_TESTS_SCRIPT_H

#include <pthread.h>

#define SCRIPT_MAX_STEPS 8
#define SCRIPT_REQ_MAX (1024 * 1024)

struct script_step {
	int http;
	char *body; /* malloc'd */
};

struct script {
	int fd;
	unsigned port;
	pthread_t thread;
	pthread_mutex_t lock;
	struct script_step steps[SCRIPT_MAX_STEPS];
	int n_steps, next;
	/* what the client sent, per request */
	char req_body[SCRIPT_MAX_STEPS][4096];
	char req_ver[SCRIPT_MAX_STEPS][64];
	int n_reqs;
	int stop;
};

/* Listens on 127.0.0.1 (s->port) and serves on a thread. Returns 0 or -1. */
int script_start(struct script *s);

/* Forgets the previous test's answers and requests; keeps the listener. */
void script_reset(struct script *s);

/* Queues an answer with HTTP status `http`; takes `body` (malloc'd, or NULL: empty). */
void script_add(struct script *s, int http, char *body);

/* Stops serving and frees the queued answers. */
void script_stop(struct script *s);

#endif
