/* user add: a TAXII user in the users file, with a password read from standard input. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "conf/conf.h"
#include "node/cli.h"

/* One line from stdin, without echo on a terminal. Returns its length or -1. */
static int
read_password(const char *prompt, char *buf, size_t len)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO), echo_off = 0;
	size_t n;

	if (tty) {
		fprintf(stderr, "%s", prompt);
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
		}
	}
	if (fgets(buf, (int)len, stdin) == NULL)
		buf[0] = '\0';
	if (echo_off) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	n = strcspn(buf, "\r\n");
	if (buf[n] == '\0' && n == len - 1)
		return -1; /* longer than the buffer */
	buf[n] = '\0';
	return (int)n;
}

static int
run_user(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"collections", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cfile = NULL, *collections = NULL;
	char pw[512], again[512], hash[256];
	struct conf_err err = {{0}};
	struct conf *c = NULL;
	int ch, rc, ret = CLI_FAIL;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:C:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 'C':
			collections = optarg;
			break;
		case 'h':
			cli_help(&cli_cmd_user);
			return CLI_OK;
		default:
			return cli_usage(&cli_cmd_user, "bad option");
		}
	}
	if (argc - optind != 2 || strcmp(argv[optind], "add") != 0)
		return cli_usage(&cli_cmd_user, "expected: user add NAME");
	c = conf_load_flags(conf_find_path(cfile), CONF_LOAD_NEW_USERS_FILE, &err);
	if (c == NULL) {
		cli_err("%s", err.msg);
		return CLI_USAGE;
	}
	if (c->server.users_file == NULL) {
		cli_err("%s: [server] users_file is not set; set it to the file users go in",
		    c->path);
		ret = CLI_USAGE;
		goto out;
	}
	if (read_password("password: ", pw, sizeof(pw)) <= 0) {
		cli_err("user add: no password on standard input (one line, at most %zu bytes)",
		    sizeof(pw) - 2);
		ret = CLI_USAGE;
		goto out;
	}
	if (isatty(STDIN_FILENO) &&
	    (read_password("again: ", again, sizeof(again)) < 0 || strcmp(pw, again) != 0)) {
		cli_err("user add: the passwords differ");
		ret = CLI_USAGE;
		goto out;
	}
	if ((rc = conf_user_hash(pw, hash, sizeof(hash))) != 0) {
		cli_err(rc == -2 ? "user add: the password holds a control byte (tab, escape, ...)" :
		    "user add: hashing the password failed");
		if (rc == -2)
			ret = CLI_USAGE;
		goto out;
	}
	rc = conf_users_set(c->server.users_file, argv[optind + 1], hash, collections, &err);
	if (rc < 0) {
		cli_err("user add: %s", err.msg);
		ret = CLI_USAGE;
		goto out;
	}
	printf("%s: user %s %s (collections: %s)\n", c->server.users_file, argv[optind + 1],
	    rc == 1 ? "replaced" : "added", collections && *collections ? collections : "all");
	ret = CLI_OK;
out:
	OPENSSL_cleanse(pw, sizeof(pw));
	OPENSSL_cleanse(again, sizeof(again));
	conf_free(c);
	return ret;
}

const struct cli_cmd cli_cmd_user = {
	"user", "add NAME [--collections a,b] [-c FILE]",
	run_user,
	"Adds a TAXII user to [server] users_file (created 0600 if absent), or replaces the\n"
	"password and collections of an existing one. The password is the first line of\n"
	"standard input (asked twice, without echo, on a terminal) and is stored as a salted\n"
	"scrypt hash.\n\n"
	"  -C, --collections LIST  collections the user may use (default: all)\n",
};
