/*
 * atlax-agent — the home side of the tunnel.  main() parses the command line
 * and the configuration; the daemon lives in agent.c.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "cfg_agent.h"
#include "log.h"
#include "notify.h"

#define AGENT_DEFAULT_CONFIG "/etc/atlax/agent.yaml"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: atlax-agent [-t] [-c FILE]\n"
	    "  -c FILE      configuration (default " AGENT_DEFAULT_CONFIG ")\n"
	    "  -t           check the configuration and exit (0 ok, 2 error)\n"
	    "  -h, --help   this help\n"
	    "  --version    print the version\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = AGENT_DEFAULT_CONFIG;
	struct agent_config *cfg = NULL;
	struct agent *a;
	char err[512];
	int ch, rc, test = 0;

	log_init("atlax-agent", LOG_LEVEL_INFO);
	while ((ch = getopt_long(argc, argv, "c:th", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("atlax-agent %s\n", ATLAX_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (cfg_agent_load(path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "atlax-agent: %s\n", err);
		return 2;
	}
	if (test) {
		printf("configuration OK\n");
		cfg_agent_free(cfg);
		return 0;
	}
	log_set_level(cfg->log_level);
	/*
	 * SIGUSR1 and SIGUSR2 terminate by default: a stray `kill -USR1` or
	 * a log rotator's signal must not take the service down.  SIGUSR1
	 * gets its status line once the loop runs; until then, and SIGUSR2
	 * always, they are ignored.
	 */
	(void)signal(SIGUSR1, SIG_IGN);
	(void)signal(SIGUSR2, SIG_IGN);
	notify_init();
	/* agent_new takes cfg, also when it fails. */
	if ((a = agent_new(cfg, path)) == NULL)
		return 1;
	rc = agent_run(a);
	agent_free(a);
	return rc;
}
