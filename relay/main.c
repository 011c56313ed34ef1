/*
 * atlax-relay — the public side of the tunnel.  main() parses the command line
 * and the configuration; the daemon lives in relay.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "relay.h"
#include "cfg_relay.h"
#include "cli.h"
#include "log.h"

int
main(int argc, char **argv)
{
	struct cli c = { "atlax-relay", "/etc/atlax/relay.yaml", 0 };
	struct relay_config *cfg = NULL;
	struct relay *d;
	char err[512];
	int rc;

	log_init(c.prog, LOG_LEVEL_INFO);
	if ((rc = cli_parse(&c, argc, argv)) >= 0)
		return rc;
	if (cfg_relay_load(c.path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", c.prog, err);
		return 2;
	}
	if (c.test) {
		printf("configuration OK\n");
		cfg_relay_free(cfg);
		return 0;
	}
	log_set_level(cfg->log_level);
	cli_daemon_signals();
	/* relay_new takes cfg, also when it fails. */
	if ((d = relay_new(cfg, c.path)) == NULL)
		return 1;
	rc = relay_run(d) == 0 ? 0 : 1;
	relay_free(d);
	return rc;
}
