/* c2watch: dispatches the command line to the command's function. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "node/cli.h"

static const struct cli_cmd *const cmds[] = {
	&cli_cmd_run, &cli_cmd_check_config, &cli_cmd_import, &cli_cmd_targets,
	&cli_cmd_observe, &cli_cmd_probe, &cli_cmd_export, &cli_cmd_poll, &cli_cmd_key,
	&cli_cmd_user, &cli_cmd_report, &cli_cmd_status, &cli_cmd_version,
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: c2watch COMMAND [options]   (c2watch COMMAND --help for more)\n\n"
		    "commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(fp, "  %-13s %s\n", cmds[i]->name, cmds[i]->synopsis);
	fprintf(fp, "\nEvery command takes -c FILE (default: $C2WATCH_CONF, ./c2watch.conf,\n"
		    "/etc/c2watch/c2watch.conf). Exit status: 0 success, 1 runtime failure,\n"
		    "2 bad usage, bad config or bad input file.\n");
}

int
main(int argc, char **argv)
{
	const char *name;

	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(name, "--version") == 0)
		name = "version";
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i]->name, name) == 0)
			return cmds[i]->run(argc - 1, argv + 1);
	cli_err("unknown command \"%s\"", name);
	usage(stderr);
	return CLI_USAGE;
}
