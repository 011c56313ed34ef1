/*
 * cli.c — see cli.h.
 */
#include "cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>

#include "notify.h"

static void
cli_usage(const struct cli *c, FILE *f)
{
	fprintf(f,
	    "usage: %s [-t] [-c FILE]\n"
	    "  -c FILE      configuration (default %s)\n"
	    "  -t           check the configuration and exit (0 ok, 2 error)\n"
	    "  -h, --help   this help\n"
	    "  --version    print the version\n", c->prog, c->path);
}

int
cli_parse(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:th", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			c->path = optarg;
			break;
		case 't':
			c->test = 1;
			break;
		case 'h':
			cli_usage(c, stdout);
			return 0;
		case 'V':
			printf("%s %s\n", c->prog, ATLAX_VERSION);
			return 0;
		default:
			cli_usage(c, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		cli_usage(c, stderr);
		return 2;
	}
	return -1;
}

int
cli_parse_status(struct cli *c, int argc, char **argv, int *json)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	*json = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			c->path = optarg;
			break;
		case 'j':
			*json = 1;
			break;
		case 'h':
			printf("usage: %s status [-c FILE] [--json]\n", c->prog);
			return 0;
		default:
			goto usage;
		}
	}
	if (optind == argc)
		return -1;
usage:
	fprintf(stderr, "usage: %s status [-c FILE] [--json]\n", c->prog);
	return 2;
}

void
cli_daemon_signals(void)
{
	(void)signal(SIGUSR1, SIG_IGN);
	(void)signal(SIGUSR2, SIG_IGN);
	notify_init();
}
