/*
 * atlax-agent — the home side of the tunnel.  main() parses the command line
 * and the configuration; the daemon lives in agent.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "agent.h"
#include "cfg_agent.h"
#include "cli.h"
#include "log.h"

int
main(int argc, char **argv)
{
	struct cli c = { "atlax-agent", "/etc/atlax/agent.yaml", 0 };
	struct agent_config *cfg = NULL;
	struct agent *d;
	char err[512];
	int rc;

	log_init(c.prog, LOG_LEVEL_INFO);
	if ((rc = cli_parse(&c, argc, argv)) >= 0)
		return rc;
	if (cfg_agent_load(c.path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", c.prog, err);
		return 2;
	}
	if (c.test) {
		printf("configuration OK\n");
		cfg_agent_free(cfg);
		return 0;
	}
	log_set_level(cfg->log_level);
	cli_daemon_signals();
	/* agent_new takes cfg, also when it fails. */
	if ((d = agent_new(cfg, c.path)) == NULL)
		return 1;
	rc = agent_run(d);
	agent_free(d);
	return rc;
}
