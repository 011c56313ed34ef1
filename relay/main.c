/*
 * atlax-relay — the public side of the tunnel.  main() parses the command line
 * and the configuration; the daemon lives in relay.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "relay.h"
#include "cfg_relay.h"
#include "cli.h"
#include "log.h"
#include "preflight.h"

/* -t on a terminal: errors as the config errors are printed, warnings
 * marked as such. */
static void
main_say(enum preflight_level level, const char *msg, void *arg)
{
	fprintf(stderr, "%s: %s%s\n", (const char *)arg,
	    level == PREFLIGHT_WARNING ? "warning: " : "", msg);
}

/* -t: the files the configuration names, as the invoking user can read
 * them.  0 when the daemon would start (warnings allowed), 2 if not. */
static int
main_preflight(const char *prog, const struct relay_config *cfg)
{
	struct tls_files f;
	int nerr;

	f.cert = cfg->tls_cert;
	f.key = cfg->tls_key;
	f.ca = cfg->tls_ca;
	f.crl = cfg->tls_crl;
	nerr = preflight_tls(TLS_ROLE_RELAY, &f, NULL, time(NULL),
	    main_say, (void *)prog);
	if (nerr != 0)
		return 2;
	printf("configuration OK\n");
	return 0;
}

/*
 * relay_main_status: `atlax-relay status [-c FILE] [--json]` asks the
 * running daemon's admin endpoint (admin.listen of FILE) for its status.
 * 0 printed, 1 the endpoint is off or unreachable, 2 a usage or config
 * error.
 */
static int
relay_main_status(struct cli *c, int argc, char **argv)
{
	struct relay_config *cfg = NULL;
	char err[512];
	int json, rc;

	if ((rc = cli_parse_status(c, argc, argv, &json)) >= 0)
		return rc;
	if (cfg_relay_load(c->path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", c->prog, err);
		return 2;
	}
	rc = relay_admin_status(cfg, json);
	cfg_relay_free(cfg);
	return rc;
}

int
main(int argc, char **argv)
{
	struct cli c = { "atlax-relay", "/etc/atlax/relay.yaml", 0 };
	struct relay_config *cfg = NULL;
	struct relay *d;
	char err[512];
	int rc;

	log_init(c.prog, LOG_LEVEL_INFO);
	if (argc >= 2 && strcmp(argv[1], "status") == 0)
		return relay_main_status(&c, argc - 1, argv + 1);
	if ((rc = cli_parse(&c, argc, argv)) >= 0)
		return rc;
	if (cfg_relay_load(c.path, &cfg, err, sizeof(err)) != 0) {
		/* A daemon's start-up failure is an error in the journal;
		 * -t prints to the terminal. */
		if (c.test)
			fprintf(stderr, "%s: %s\n", c.prog, err);
		else
			log_errorx("config", "%s", err);
		return 2;
	}
	if (c.test) {
		rc = main_preflight(c.prog, cfg);
		cfg_relay_free(cfg);
		return rc;
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
