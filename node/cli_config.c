/* check-config and version. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libxml/xmlversion.h>
#include <lmdb.h>
#include <microhttpd.h>
#include <openssl/crypto.h>

#include "conf/conf.h"
#include "node/cli.h"

static int
run_check_config(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cfile = NULL;
	struct conf *c;
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 'h':
			cli_help(&cli_cmd_check_config);
			return CLI_OK;
		default:
			return cli_usage(&cli_cmd_check_config, "bad option");
		}
	}
	if (optind < argc)
		return cli_usage(&cli_cmd_check_config, "unexpected operand \"%s\"", argv[optind]);
	c = cli_load_conf(cfile);
	if (c == NULL)
		return CLI_USAGE;
	printf("; %s: valid\n", c->path);
	conf_print(c, stdout);
	conf_free(c);
	return CLI_OK;
}

const struct cli_cmd cli_cmd_check_config = {
	"check-config", "[-c FILE]",
	run_check_config,
	"Validates the config file and prints the effective config (every key, defaults\n"
	"filled in). Exits 0 when valid, 2 with FILE:LINE: key: what is wrong otherwise.\n\n",
};

static int
run_version(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (ch == 'h') {
			cli_help(&cli_cmd_version);
			return CLI_OK;
		}
		if (ch != 'c')
			return cli_usage(&cli_cmd_version, "bad option");
	}
	if (optind < argc)
		return cli_usage(&cli_cmd_version, "unexpected operand \"%s\"", argv[optind]);
	printf("%s\n", PACKAGE_STRING);
	printf("libcurl %s, libxml2 %s, %s, libmicrohttpd %s, %s, jansson %s\n",
	    curl_version_info(CURLVERSION_NOW)->version, LIBXML_DOTTED_VERSION,
	    OpenSSL_version(OPENSSL_VERSION), MHD_get_version(), MDB_VERSION_STRING,
	    JANSSON_VERSION);
	return CLI_OK;
}

const struct cli_cmd cli_cmd_version = {
	"version", "",
	run_version,
	"Prints c2watch's version and those of the libraries it was built with.\n\n",
};
