#include "config.h"

#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/farm_run.h"
#include "util/util.h"

pid_t
farm_run(const char *farm, const char *script, struct farm_listener *l, size_t cap, size_t *n)
{
	char buf[16384], *save = NULL;
	size_t len = 0;
	int fds[2];
	int64_t deadline;
	pid_t pid;

	*n = 0;
	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(farm, farm, script, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	buf[0] = '\0';
	deadline = util_mono_us() + 10000000;
	while (len < sizeof(buf) - 1 && strstr(buf, "listening\n") == NULL) {
		struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
		int64_t left_ms = (deadline - util_mono_us()) / 1000;
		ssize_t r;

		if (left_ms <= 0 || poll(&pfd, 1, (int)left_ms) <= 0)
			break;
		r = read(fds[0], buf + len, sizeof(buf) - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
	}
	close(fds[0]);
	if (strstr(buf, "listening\n") == NULL) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		return -1;
	}
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct farm_listener *x = &l[*n];

		if (*n < cap && sscanf(line, "listen %63s %63s %d", x->name, x->addr, &x->port) == 3)
			(*n)++;
	}
	return pid;
}

const struct farm_listener *
farm_listener(const struct farm_listener *l, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i].name, name) == 0)
			return &l[i];
	fprintf(stderr, "no listener %s\n", name);
	exit(99);
}
