/*
 * node: main() and the CLI. It only wires modules together: it parses the command line,
 * loads the config, opens the store, hands data from one module to the next, and decides
 * what to print and which exit status to return (0 success, 1 runtime failure, 2 bad usage,
 * bad config or bad input file).
 */
#ifndef C2W_CLI_H
#define C2W_CLI_H

#include <stdint.h>

struct conf;
struct store;

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

struct cli_cmd {
	const char *name;
	const char *synopsis; /* the operands and options after the command name */
	int (*run)(int argc, char **argv);
	const char *help;     /* what --help adds below the synopsis */
};

/* Prints "c2watch NAME SYNOPSIS" and the command's help to stdout. */
void cli_help(const struct cli_cmd *cmd);

/* Prints "c2watch NAME: <message>" and a hint to stderr; returns CLI_USAGE. */
int cli_usage(const struct cli_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prints "c2watch: <message>" to stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Loads the config named by -c (NULL: $C2WATCH_CONF, ./c2watch.conf,
 * /etc/c2watch/c2watch.conf). On failure prints why and returns NULL; the caller exits 2.
 */
struct conf *cli_load_conf(const char *given);

/* Opens the config's data directory; prints why and returns NULL on failure (exit 1). */
struct store *cli_open_store(const struct conf *c, int read_only);

/* Progress on a terminal, never in a pipe: "\rWHAT: 42% (n of total)". done == total ends
 * the line. Rate-limited to ten updates a second. */
void cli_progress(const char *what, uint64_t done, uint64_t total);

extern const struct cli_cmd cli_cmd_check_config, cli_cmd_import, cli_cmd_targets,
    cli_cmd_version, cli_cmd_export, cli_cmd_user, cli_cmd_poll, cli_cmd_key,
    cli_cmd_status;

/* import --format json: records from FILE, streamed, all or nothing. A CLI_* status. */
int cli_import_json(const struct conf *c, const char *file);

/* The analysis: the report command, and the report of a period that exports use. */
extern const struct cli_cmd cli_cmd_report;
struct an_report;
/* Parses --month / --from / --to into [*from, *to); CLI_OK or CLI_USAGE (printed). */
int cli_report_period(const struct cli_cmd *cmd, const char *month, const char *from_s,
    const char *to_s, int64_t *from, int64_t *to);
/* The report over s with the config's sinkhole list and remove_after: CLI_OK with *out,
 * or CLI_USAGE (bad sinkhole list) / CLI_FAIL, printed. */
int cli_build_report(const struct conf *c, struct store *s, const char *threat, int64_t from,
    int64_t to, struct an_report **out);

/* The observer's commands: one cycle now, one destination printed, the daemon. */
extern const struct cli_cmd cli_cmd_observe, cli_cmd_probe, cli_cmd_run;

#endif
