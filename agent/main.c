/*
 * atlax-agent — the home side of the tunnel.  main() parses the command line
 * and the configuration; the daemon lives in agent.c.
 *
 * Subcommands (the first argument):
 *   connect   a one-off forward with no configuration file: the flags are
 *             turned into an agent.yaml in memory (one forward, no
 *             services), checked by the same parser as a file, and run.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "agent.h"
#include "cfg.h"
#include "cfg_agent.h"
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
main_preflight(const char *prog, const struct agent_config *cfg)
{
	struct tls_files f;
	int nerr;

	f.cert = cfg->tls_cert;
	f.key = cfg->tls_key;
	f.ca = cfg->tls_ca;
	f.crl = NULL;
	nerr = preflight_tls(TLS_ROLE_AGENT, &f, cfg->id, time(NULL),
	    main_say, (void *)prog);
	preflight_server_name(cfg->relay.host, cfg->tls_server_name,
	    main_say, (void *)prog);
	if (nerr != 0)
		return 2;
	printf("configuration OK\n");
	return 0;
}

#define CONNECT_PROG	"atlax-agent connect"

/* The flags of `atlax-agent connect`. */
struct connect_args {
	const char	*relay, *to, *listen, *ca, *cert, *key, *token;
	const char	*id, *server_name;
	char		 cn[CFG_ID_MAX + 1];
};

static void
main_connect_usage(FILE *f)
{
	fprintf(f,
	    "usage: " CONNECT_PROG " --relay HOST:PORT --to OWNER/SERVICE "
	    "--listen [ADDR:]PORT\n"
	    "         --ca CA (--cert CERT --key KEY | --token-file FILE) "
	    "[--id ID]\n"
	    "         [--server-name NAME]\n"
	    "  --listen PORT  listens on 127.0.0.1:PORT; give ADDR:PORT to "
	    "listen elsewhere\n"
	    "  --id           default: the certificate's CN\n");
}

/* Append s to buf as a YAML double-quoted scalar.  -1 on a control
 * character (no flag needs one) or when buf is full. */
static int
main_yaml_str(char *buf, size_t len, const char *key, const char *s)
{
	size_t n = strlen(buf);
	int w;

	if ((w = snprintf(buf + n, len - n, "%s\"", key)) < 0 ||
	    (size_t)w >= len - n)
		return -1;
	n += (size_t)w;
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f || n + 3 >= len)
			return -1;
		if (*s == '"' || *s == '\\')
			buf[n++] = '\\';
		buf[n++] = *s;
	}
	if (n + 3 >= len)
		return -1;
	buf[n++] = '"';
	buf[n++] = '\n';
	buf[n] = '\0';
	return 0;
}

/* The CN of the certificate in path, for --id's default. */
static int
main_cert_cn(const char *path, char *buf, size_t len)
{
	X509 *x = NULL;
	FILE *f;
	int n = -1;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x != NULL)
		n = X509_NAME_get_text_by_NID(X509_get_subject_name(x),
		    NID_commonName, buf, (int)len);
	X509_free(x);
	return n > 0 && cfg_valid_id(buf) ? 0 : -1;
}

/* --listen: "PORT" means loopback; "ADDR:PORT" as written. */
static void
main_listen_addr(const char *in, char *out, size_t len)
{
	if (in[0] != '\0' && in[strspn(in, "0123456789")] == '\0')
		snprintf(out, len, "127.0.0.1:%s", in);
	else
		snprintf(out, len, "%s", in);
}

static int
main_connect_flags(int argc, char **argv, struct connect_args *a)
{
	static const struct option longopts[] = {
		{ "relay", required_argument, NULL, 'r' },
		{ "to", required_argument, NULL, 'o' },
		{ "listen", required_argument, NULL, 'l' },
		{ "ca", required_argument, NULL, 'a' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "id", required_argument, NULL, 'i' },
		{ "server-name", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			a->relay = optarg;
			break;
		case 'o':
			a->to = optarg;
			break;
		case 'l':
			a->listen = optarg;
			break;
		case 'a':
			a->ca = optarg;
			break;
		case 'c':
			a->cert = optarg;
			break;
		case 'k':
			a->key = optarg;
			break;
		case 'T':
			a->token = optarg;
			break;
		case 'i':
			a->id = optarg;
			break;
		case 's':
			a->server_name = optarg;
			break;
		case 'h':
			main_connect_usage(stdout);
			return 0;
		default:
			main_connect_usage(stderr);
			return 2;
		}
	}
	if (optind != argc || a->relay == NULL || a->to == NULL ||
	    a->listen == NULL || a->ca == NULL) {
		fprintf(stderr, "%s: --relay, --to, --listen and --ca are "
		    "needed\n", CONNECT_PROG);
		main_connect_usage(stderr);
		return 2;
	}
	if (a->id == NULL && a->cert != NULL &&
	    main_cert_cn(a->cert, a->cn, sizeof(a->cn)) == 0)
		a->id = a->cn;
	if (a->id == NULL) {
		fprintf(stderr, "%s: --id is needed (no certificate CN to take "
		    "it from)\n", CONNECT_PROG);
		return 2;
	}
	return -1;
}

/* The flags as an agent.yaml, so that the parser checks them as it checks
 * a file (and its messages name the keys). */
static int
main_connect_yaml(const struct connect_args *a, char *buf, size_t len)
{
	char listen[CFG_HOST_MAX + 16];

	main_listen_addr(a->listen, listen, sizeof(listen));
	buf[0] = '\0';
	if (main_yaml_str(buf, len, "id: ", a->id) != 0 ||
	    main_yaml_str(buf, len, "relay: ", a->relay) != 0 ||
	    main_yaml_str(buf, len, "tls:\n  ca: ", a->ca) != 0 ||
	    (a->cert != NULL &&
	    main_yaml_str(buf, len, "  cert: ", a->cert) != 0) ||
	    (a->key != NULL &&
	    main_yaml_str(buf, len, "  key: ", a->key) != 0) ||
	    (a->token != NULL &&
	    main_yaml_str(buf, len, "  token_file: ", a->token) != 0) ||
	    (a->server_name != NULL &&
	    main_yaml_str(buf, len, "  server_name: ", a->server_name) != 0) ||
	    main_yaml_str(buf, len, "forwards:\n  - listen: ", listen) != 0 ||
	    main_yaml_str(buf, len, "    to: ", a->to) != 0)
		return -1;
	return 0;
}

/* The flag behind each key of the generated file, for error messages. */
static const struct {
	const char	*key, *flag;
} main_connect_keys[] = {
	{ "id", "--id" },
	{ "relay", "--relay" },
	{ "tls.ca", "--ca" },
	{ "tls.cert", "--cert" },
	{ "tls.key", "--key" },
	{ "tls.token_file", "--token-file" },
	{ "tls.server_name", "--server-name" },
	{ "tls", "--cert/--key or --token-file" },
	{ "forwards[0].listen", "--listen" },
	{ "forwards[0].to", "--to" },
};

/* "command line:L:C: KEY: problem" names a line of a file the user never
 * saw: say "FLAG: problem" instead. */
static void
main_connect_error(const char *err)
{
	const char *p = err, *colon;
	size_t i, n;

	for (i = 0; i < 3 && p != NULL; i++)
		if ((p = strchr(p, ':')) != NULL)
			p++;
	if (p != NULL && *p == ' ' && (colon = strstr(p + 1, ": ")) != NULL) {
		n = (size_t)(colon - (p + 1));
		for (i = 0; i < sizeof(main_connect_keys) /
		    sizeof(main_connect_keys[0]); i++) {
			if (strlen(main_connect_keys[i].key) == n &&
			    strncmp(p + 1, main_connect_keys[i].key, n) == 0) {
				fprintf(stderr, "%s: %s: %s\n", CONNECT_PROG,
				    main_connect_keys[i].flag, colon + 2);
				return;
			}
		}
	}
	fprintf(stderr, "%s: %s\n", CONNECT_PROG, err);
}

static int
main_connect(int argc, char **argv)
{
	struct connect_args a;
	struct agent_config *cfg = NULL;
	struct agent *d;
	char yaml[8192], dir[4096], err[512];
	int rc;

	memset(&a, 0, sizeof(a));
	if ((rc = main_connect_flags(argc, argv, &a)) >= 0)
		return rc;
	if (main_connect_yaml(&a, yaml, sizeof(yaml)) != 0) {
		fprintf(stderr, "%s: a flag holds a control character or is "
		    "too long\n", CONNECT_PROG);
		return 2;
	}
	if (getcwd(dir, sizeof(dir)) == NULL) {
		fprintf(stderr, "%s: getcwd: %s\n", CONNECT_PROG,
		    strerror(errno));
		return 2;
	}
	/* Relative paths are the current folder's, as in a shell. */
	if (cfg_agent_parse("command line", yaml, strlen(yaml), dir, &cfg, err,
	    sizeof(err)) != 0) {
		main_connect_error(err);
		return 2;
	}
	log_set_level(cfg->log_level);
	cli_daemon_signals();
	/* agent_new takes cfg, also when it fails.  No path: SIGHUP has no
	 * file to reload. */
	if ((d = agent_new(cfg, NULL)) == NULL)
		return 1;
	rc = agent_run(d);
	agent_free(d);
	return rc;
}

/* Subcommands: the first argument, when it names one. */
static const struct {
	const char	*name;
	int		(*fn)(int, char **);
} main_subcommands[] = {
	{ "connect", main_connect },
};

/*
 * agent_main_status: `atlax-agent status [-c FILE] [--json]` asks the
 * running daemon's admin endpoint (admin.listen of FILE) for its status.
 * 0 printed, 1 the endpoint is off or unreachable, 2 a usage or config
 * error.
 */
static int
agent_main_status(struct cli *c, int argc, char **argv)
{
	struct agent_config *cfg = NULL;
	char err[512];
	int json, rc;

	if ((rc = cli_parse_status(c, argc, argv, &json)) >= 0)
		return rc;
	if (cfg_agent_load(c->path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", c->prog, err);
		return 2;
	}
	rc = agent_admin_status(cfg, json);
	cfg_agent_free(cfg);
	return rc;
}

int
main(int argc, char **argv)
{
	struct cli c = { "atlax-agent", "/etc/atlax/agent.yaml", 0 };
	struct agent_config *cfg = NULL;
	struct agent *d;
	char err[512];
	size_t i;
	int rc;

	log_init(c.prog, LOG_LEVEL_INFO);
	if (argc >= 2 && strcmp(argv[1], "status") == 0)
		return agent_main_status(&c, argc - 1, argv + 1);
	for (i = 0; argc > 1 && i < sizeof(main_subcommands) /
	    sizeof(main_subcommands[0]); i++)
		if (strcmp(argv[1], main_subcommands[i].name) == 0)
			return main_subcommands[i].fn(argc - 1, argv + 1);
	if ((rc = cli_parse(&c, argc, argv)) >= 0)
		return rc;
	if (cfg_agent_load(c.path, &cfg, err, sizeof(err)) != 0) {
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
		cfg_agent_free(cfg);
		return rc;
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
