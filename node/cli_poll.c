/* poll: one poll of a peer (a [peer NAME] of the config, or any TAXII poll service given
 * by URL), merged into the store. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <libxml/parser.h>

#include "conf/conf.h"
#include "fed/fed.h"
#include "node/cli.h"
#include "node/node_key.h"
#include "store/store.h"
#include "util/util.h"

static const struct fed_log poll_log;

static int
run_poll(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"url", required_argument, NULL, 'u'},
		{"collection", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cfile = NULL, *url = NULL, *collection = NULL;
	struct conf *c = NULL;
	struct store *s = NULL;
	struct conf_peer adhoc, *peer = NULL;
	struct fed_poll_stats st = {0};
	char err[1024], cursor[2048], b0[UTIL_TIME_MAX], b1[UTIL_TIME_MAX];
	int ch, ret = CLI_FAIL;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:u:C:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 'u':
			url = optarg;
			break;
		case 'C':
			collection = optarg;
			break;
		case 'h':
			cli_help(&cli_cmd_poll);
			return CLI_OK;
		default:
			return cli_usage(&cli_cmd_poll, "bad option");
		}
	}
	if (url == NULL && optind != argc - 1)
		return cli_usage(&cli_cmd_poll, "name one PEER, or give --url and --collection");
	if (url && (optind != argc || collection == NULL))
		return cli_usage(&cli_cmd_poll, "--url goes with --collection and no PEER");
	if (url && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return cli_usage(&cli_cmd_poll, "--url must be an http or https URL");
	c = cli_load_conf(cfile);
	if (c == NULL)
		return CLI_USAGE;
	if (url) {
		memset(&adhoc, 0, sizeof(adhoc));
		adhoc.name = (char *)"(url)";
		adhoc.url = (char *)url;
		adhoc.collection = (char *)collection;
		peer = &adhoc;
		/* Ad-hoc polls keep a cursor too, so repeating one fetches only what is new. */
		snprintf(cursor, sizeof(cursor), "url %.1900s %.100s", url, collection);
	} else {
		for (size_t i = 0; i < c->npeers; i++)
			if (strcmp(c->peers[i].name, argv[optind]) == 0)
				peer = &c->peers[i];
		if (peer == NULL) {
			cli_err("%s: no [peer %s] section", c->path, argv[optind]);
			ret = CLI_USAGE;
			goto out;
		}
		snprintf(cursor, sizeof(cursor), "peer %s", peer->name);
	}
	s = cli_open_store(c, 0);
	if (s == NULL)
		goto out;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	xmlInitParser();
	if (node_trust_self(c, err, sizeof(err)) != 0) {
		cli_err("poll: signing key: %s", err);
		goto out;
	}
	if (fed_peer_poll(s, peer, cursor, NULL, c->trust.set, &poll_log, &st, err,
		sizeof(err)) != 0) {
		cli_err("poll %s: %s", peer->url, err);
		goto out;
	}
	if (st.begin >= 0)
		util_time_format(st.begin, 1, b0);
	else
		snprintf(b0, sizeof(b0), "the start");
	util_time_format(st.end, 1, b1);
	printf("%s: %zu content block%s from %s to %s: %zu new record%s, %zu already held, "
	       "%zu new target%s, %zu updated\n",
	    peer->url, st.blocks, st.blocks == 1 ? "" : "s", b0, b1, st.added,
	    st.added == 1 ? "" : "s", st.same, st.targets_added,
	    st.targets_added == 1 ? "" : "s", st.targets_updated);
	if (st.refused > 0)
		printf("%s: %zu record%s refused by [trust] (named above)\n", peer->url,
		    st.refused, st.refused == 1 ? "" : "s");
	ret = CLI_OK;
out:
	store_close(s);
	conf_free(c);
	return ret;
}

/* What the merge has to say (a record refused by [trust]) goes to stderr. */
static void
poll_log_fn(void *arg, int level, const char *msg)
{
	(void)arg, (void)level;
	fprintf(stderr, "c2watch: poll: %s\n", msg);
}

static const struct fed_log poll_log = {poll_log_fn, NULL};

const struct cli_cmd cli_cmd_poll = {
	"poll", "PEER | --url URL --collection NAME [-c FILE]",
	run_poll,
	"Polls a peer's TAXII collection once, from the label after the last one it fully\n"
	"delivered, and merges what it sends: c2watch observation records by id (origin node\n"
	"kept), STIX indicators as targets (threat ID from the package, or the peer's\n"
	"threat_id key). The cursor moves only with a completed merge.\n\n"
	"  -u, --url URL          a TAXII 1.1 poll service, instead of a [peer NAME]\n"
	"  -C, --collection NAME  the collection to poll, with --url\n",
};
