/* Helpers every command shares: messages, config and store opening, progress. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "conf/conf.h"
#include "node/cli.h"
#include "store/store.h"
#include "util/util.h"

void
cli_help(const struct cli_cmd *cmd)
{
	printf("usage: c2watch %s %s\n\n%s", cmd->name, cmd->synopsis, cmd->help);
	printf("  -c, --config FILE   config file (default: $C2WATCH_CONF, ./c2watch.conf,\n"
	       "                      /etc/c2watch/c2watch.conf)\n"
	       "  -h, --help          this text\n");
}

int
cli_usage(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "c2watch %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: c2watch %s %s\n", cmd->name, cmd->synopsis);
	return CLI_USAGE;
}

void
cli_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "c2watch: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

struct conf *
cli_load_conf(const char *given)
{
	struct conf_err err = {{0}};
	const char *path = conf_find_path(given);
	struct conf *c;

	c = conf_load(path, &err);
	if (c == NULL)
		fprintf(stderr, "c2watch: %s\n", err.msg);
	return c;
}

/* An older data directory gets its summaries built when first opened: say so. */
static void
summaries_progress(uint64_t done, uint64_t total, void *arg)
{
	(void)arg;
	cli_progress("building summaries", done, total);
}

struct store *
cli_open_store(const struct conf *c, int read_only)
{
	struct store_err err = {{0}};
	struct store *s = NULL;

	struct store_opts o = {.read_only = read_only, .progress = summaries_progress};

	if (store_open(c->node.data_dir, &o, &s, &err) != STORE_OK) {
		fprintf(stderr, "c2watch: %s\n", err.msg);
		return NULL;
	}
	return s;
}

void
cli_progress(const char *what, uint64_t done, uint64_t total)
{
	static int64_t last;
	static int tty = -1;
	int64_t now;

	/* Called for every record: the clock first, the terminal asked once. */
	if (total == 0)
		return;
	now = util_mono_us();
	if (done < total && now - last < 100000)
		return;
	if (tty < 0)
		tty = isatty(STDERR_FILENO);
	if (!tty)
		return;
	last = now;
	fprintf(stderr, "\r%s: %3d%% (%llu of %llu)%s", what, (int)(done * 100 / total),
	    (unsigned long long)done, (unsigned long long)total, done >= total ? "\n" : "");
}
