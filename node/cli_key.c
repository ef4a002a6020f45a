/* key show | rotate: the node's Ed25519 signing key ([node] key_file). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "node/cli.h"
#include "node/node_key.h"
#include "record/record.h"

static int
run_key(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cfile = NULL, *what;
	struct conf *c = NULL;
	struct rec_key *k = NULL;
	char err[1024], old_pub[REC_PUB_MAX], new_pub[REC_PUB_MAX];
	int ch, created = 0, ret = CLI_FAIL;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 'h':
			cli_help(&cli_cmd_key);
			return CLI_OK;
		default:
			return cli_usage(&cli_cmd_key, "bad option");
		}
	}
	if (argc - optind != 1)
		return cli_usage(&cli_cmd_key, "expected: key show | key rotate");
	what = argv[optind];
	if (strcmp(what, "show") != 0 && strcmp(what, "rotate") != 0)
		return cli_usage(&cli_cmd_key, "unknown subcommand \"%s\" (show, rotate)", what);
	if ((c = cli_load_conf(cfile)) == NULL)
		return CLI_USAGE;
	if (strcmp(what, "show") == 0) {
		size_t nold = 0;
		struct rec_trust *t = rec_trust_new();

		k = node_key_load(c, &created, err, sizeof(err));
		if (k == NULL || t == NULL) {
			cli_err("key show: %s", k == NULL ? err : "out of memory");
			rec_trust_free(t);
			goto out;
		}
		if (node_key_old(c, t, &nold, err, sizeof(err)) != 0) {
			cli_err("key show: %s", err);
			rec_trust_free(t);
			goto out;
		}
		rec_trust_free(t);
		if (created)
			fprintf(stderr, "c2watch: %s: a new key made\n", c->node.key_file);
		/* The line a peer's keys_file takes as it is. */
		printf("%s %s\n", c->node.id, rec_key_public(k));
		if (nold > 0)
			printf("# %zu older key%s kept in %s.pub.old\n", nold, nold == 1 ? "" : "s",
			    c->node.key_file);
	} else {
		if (node_key_rotate(c, old_pub, sizeof(old_pub), new_pub, sizeof(new_pub), err,
			sizeof(err)) != 0) {
			cli_err("key rotate: %s", err);
			goto out;
		}
		printf("%s %s\n# was %s (kept in %s.pub.old); give peers the new line\n",
		    c->node.id, new_pub, old_pub, c->node.key_file);
	}
	ret = CLI_OK;
out:
	rec_key_free(k);
	conf_free(c);
	return ret;
}

const struct cli_cmd cli_cmd_key = {
	"key", "show | rotate [-c FILE]",
	run_key,
	"The node's Ed25519 key, which signs every record it makes ([node] key_file,\n"
	"default DATA_DIR/node.key, made with mode 0600 on first use).\n"
	"show prints \"NODE-ID ed25519:BASE64\", the line a peer's [trust] keys_file takes.\n"
	"rotate makes a new key; the old public key is kept in KEY_FILE.pub.old, so the\n"
	"records signed with it still verify, here and when they come back from peers. A\n"
	"running daemon signs with the new key once restarted.\n",
};
