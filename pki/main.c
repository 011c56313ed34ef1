/*
 * atlax-pki — the certificate authority of one atlax deployment.
 *
 * main() dispatches the subcommand through a table; each handler parses its
 * options with getopt_long and calls pki.c.  Every failure is one line on
 * stderr, "atlax-pki: ...", and exit 1 (operational) or 2 (usage).
 */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pki.h"
#include "pki_jwt.h"

#define PKI_EXIT_OK	0
#define PKI_EXIT_ERR	1
#define PKI_EXIT_USAGE	2
#define PKI_MAX_SANS	64

struct pki_cmd {
	const char	*name;
	int		(*fn)(const struct pki_cmd *, int, char **);
	const char	*synopsis;
	const char	*help;		/* option lines */
};

static int	pki_cmd_init(const struct pki_cmd *, int, char **);
static int	pki_cmd_issue(const struct pki_cmd *, int, char **);
static int	pki_cmd_list(const struct pki_cmd *, int, char **);
static int	pki_cmd_revoke(const struct pki_cmd *, int, char **);
static int	pki_cmd_crl(const struct pki_cmd *, int, char **);
static int	pki_cmd_keygen(const struct pki_cmd *, int, char **);
static int	pki_cmd_token(const struct pki_cmd *, int, char **);

static const struct pki_cmd pki_cmds[] = {
	{ "init", pki_cmd_init,
	  "init --dir DIR [--cn NAME] [--days N] [--force]",
	  "Create the CA: an ECDSA P-256 key DIR/ca.key (mode 0600), a self-signed\n"
	  "certificate DIR/ca.crt and an empty index DIR/index.txt.\n"
	  "  --dir DIR    CA folder (created with mode 0700 if missing)\n"
	  "  --cn NAME    subject CN of the CA (default " PKI_CA_CN ")\n"
	  "  --days N     validity in days (default 3650)\n"
	  "  --force      replace an existing CA (its index, CRL and CRL number\n"
	  "               are reset: certificates of the old CA stop verifying)\n" },
	{ "issue", pki_cmd_issue,
	  "issue --dir DIR --cn NAME --role relay|agent [--san DNS:name|IP:addr]...\n"
	  "                 [--days N] [--out PREFIX] [--force]",
	  "Issue a key PREFIX.key (mode 0600) and a certificate PREFIX.crt signed by\n"
	  "the CA, with a random 128-bit serial, and record it in the index.\n"
	  "  --dir DIR       CA folder\n"
	  "  --cn NAME       subject CN, [A-Za-z0-9][A-Za-z0-9._-]{0,63}; for an\n"
	  "                  agent, the identity its config id must equal\n"
	  "  --role ROLE     agent: EKU clientAuth; relay: EKU serverAuth and a\n"
	  "                  subjectAltName DNS:NAME plus every --san\n"
	  "  --san SAN       extra name of a relay: DNS:name or IP:address (v4, v6);\n"
	  "                  repeatable\n"
	  "  --days N        validity in days (default 365; not beyond the CA's)\n"
	  "  --backdate N    shift the validity N days into the past (to mint\n"
	  "                  expired certificates for tests; default 0)\n"
	  "  --out PREFIX    write PREFIX.crt and PREFIX.key (default DIR/NAME)\n"
	  "  --force         replace existing PREFIX.crt and PREFIX.key\n" },
	{ "list", pki_cmd_list,
	  "list --dir DIR",
	  "List the issued certificates: CN, role, serial, not-after and status\n"
	  "(valid, expired, or revoked with the time).\n"
	  "  --dir DIR    CA folder\n" },
	{ "revoke", pki_cmd_revoke,
	  "revoke --dir DIR (--cn NAME | --serial HEX)",
	  "Mark certificates revoked in the index; run 'crl' afterwards to publish.\n"
	  "  --dir DIR      CA folder\n"
	  "  --cn NAME      every unrevoked certificate with this CN\n"
	  "  --serial HEX   the certificate with this serial (as 'list' or\n"
	  "                 'openssl x509 -serial' print it; ':' separators allowed)\n" },
	{ "crl", pki_cmd_crl,
	  "crl --dir DIR [--days N]",
	  "Write DIR/ca.crl: every revoked serial, signed by the CA, with the next\n"
	  "CRL number (kept in DIR/crlnumber).\n"
	  "  --dir DIR    CA folder\n"
	  "  --days N     days until the next update (default 30)\n" },
	{ "keygen", pki_cmd_keygen,
	  "keygen (--hs256 --out FILE | --es256 --out PREFIX) [--force]",
	  "Make a key for signing tokens (JWT).\n"
	  "  --hs256        a shared secret: 32 random bytes in base64 in FILE\n"
	  "                 (mode 0600), for the relay's auth.jwt.hs256_secret_file\n"
	  "                 and 'token --secret-file'\n"
	  "  --es256        an ECDSA P-256 pair: PREFIX.key (mode 0600) for\n"
	  "                 'token --key', PREFIX.pub for the relay's\n"
	  "                 auth.jwt.es256_public_keys\n"
	  "  --out PATH     FILE or PREFIX as above\n"
	  "  --force        replace existing files\n" },
	{ "token", pki_cmd_token,
	  "token (--secret-file FILE | --key PEM) --sub NAME --ttl DURATION\n"
	  "                 [--expose NAME|PORT]... [--connect AGENT/SERVICE]...\n"
	  "                 [--aud A] [--iss I] [--jti J]",
	  "Print a signed token (JWT) on stdout: HS256 with --secret-file, ES256\n"
	  "with --key.\n"
	  "  --sub NAME       the identity, [A-Za-z0-9][A-Za-z0-9._-]{0,63}\n"
	  "  --ttl DURATION   validity from now: 90s, 15m, 24h, 30d (at most 3650d)\n"
	  "  --expose X       a service name or public port the identity may\n"
	  "                   publish; repeatable (claim expose)\n"
	  "  --connect A/S    service S of agent A the holder may reach;\n"
	  "                   repeatable (claim connect)\n"
	  "  --aud A          audience (claim aud)\n"
	  "  --iss I          issuer (claim iss)\n"
	  "  --jti J          token id for the deny list (default: 128 random\n"
	  "                   bits in hex)\n" },
};
#define PKI_NCMDS	(sizeof(pki_cmds) / sizeof(pki_cmds[0]))

/* Options every subcommand shares: --dir, --help. */
enum {
	OPT_DIR = 256, OPT_CN, OPT_DAYS, OPT_FORCE, OPT_ROLE, OPT_SAN, OPT_OUT,
	OPT_SERIAL, OPT_BACKDATE, OPT_HS256, OPT_ES256, OPT_SECRET_FILE,
	OPT_KEY, OPT_SUB, OPT_TTL, OPT_EXPOSE, OPT_CONNECT, OPT_AUD, OPT_ISS,
	OPT_JTI,
};

static void
pki_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: atlax-pki COMMAND [OPTIONS]\n\n");
	for (i = 0; i < PKI_NCMDS; i++)
		fprintf(f, "  atlax-pki %s\n", pki_cmds[i].synopsis);
	fprintf(f, "\n'atlax-pki COMMAND --help' describes each command.\n"
	    "Exit status: 0 success, 1 operational error, 2 usage error.\n");
}

static void
pki_cmd_help(const struct pki_cmd *cmd)
{
	printf("usage: atlax-pki %s\n\n%s  -h, --help     this help\n",
	    cmd->synopsis, cmd->help);
}

static int LOG_PRINTF(2, 3)
pki_die_usage(const struct pki_cmd *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "atlax-pki: %s: %s (see 'atlax-pki %s --help')\n",
	    cmd->name, msg, cmd->name);
	return PKI_EXIT_USAGE;
}

/* Map a pki.c result to the exit status, printing its one line. */
static int
pki_result(const struct pki_cmd *cmd, int r, const char *err)
{
	if (r == PKI_OK)
		return PKI_EXIT_OK;
	if (r == PKI_EUSAGE)
		return pki_die_usage(cmd, "%s", err);
	fprintf(stderr, "atlax-pki: %s: %s\n", cmd->name, err);
	return PKI_EXIT_ERR;
}

/* Arguments are echoed in errors: keep them to one printable line. */
static const char *
pki_safe(const char *s, char *buf, size_t len)
{
	return log_sanitize(buf, len, s, strlen(s));
}

/* getopt_long's '?' or ':' as one usage line (opterr is off). */
static int
pki_bad_option(const struct pki_cmd *cmd, int ch, char **argv)
{
	char safe[128];
	const char *opt = pki_safe(argv[optind - 1], safe, sizeof(safe));

	if (ch == ':')
		return pki_die_usage(cmd, "option '%s' needs a value", opt);
	if (optopt != 0 && strncmp(opt, "--", 2) != 0)
		return pki_die_usage(cmd, "unknown option '-%c'", optopt);
	return pki_die_usage(cmd, "unknown option '%s'", opt);
}

static int
pki_parse_days(const struct pki_cmd *cmd, const char *opt, const char *s,
    int min, int *days)
{
	char safe[64], *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min ||
	    v > PKI_DAYS_MAX) {
		pki_die_usage(cmd, "%s '%s': expected a number from %d to %d",
		    opt, pki_safe(s, safe, sizeof(safe)), min, PKI_DAYS_MAX);
		return -1;
	}
	*days = (int)v;
	return 0;
}

/* After the options: nothing may remain, and --dir is required. */
static int
pki_check_rest(const struct pki_cmd *cmd, int argc, char **argv,
    const char *dir)
{
	char safe[128];

	if (optind < argc)
		return pki_die_usage(cmd, "unexpected argument '%s'",
		    pki_safe(argv[optind], safe, sizeof(safe)));
	if (dir == NULL)
		return pki_die_usage(cmd, "--dir is required");
	if (*dir == '\0')
		return pki_die_usage(cmd, "--dir is empty");
	return PKI_EXIT_OK;
}

static int
pki_cmd_init(const struct pki_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "cn", required_argument, NULL, OPT_CN },
		{ "days", required_argument, NULL, OPT_DAYS },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *cn = NULL;
	char err[1024];
	int ch, days = PKI_CA_DAYS, force = 0, r;

	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_DIR:
			dir = optarg;
			break;
		case OPT_CN:
			cn = optarg;
			break;
		case OPT_DAYS:
			if (pki_parse_days(cmd, "--days", optarg, 1, &days))
				return PKI_EXIT_USAGE;
			break;
		case OPT_FORCE:
			force = 1;
			break;
		case 'h':
			pki_cmd_help(cmd);
			return PKI_EXIT_OK;
		default:
			return pki_bad_option(cmd, ch, argv);
		}
	}
	if ((r = pki_check_rest(cmd, argc, argv, dir)) != PKI_EXIT_OK)
		return r;
	r = pki_init(dir, cn, days, force, err, sizeof(err));
	if (r == PKI_OK)
		printf("created CA %s/ca.crt (CN %s, %d days)\n", dir,
		    cn != NULL ? cn : PKI_CA_CN, days);
	return pki_result(cmd, r, err);
}

static int
pki_cmd_issue(const struct pki_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "cn", required_argument, NULL, OPT_CN },
		{ "role", required_argument, NULL, OPT_ROLE },
		{ "san", required_argument, NULL, OPT_SAN },
		{ "days", required_argument, NULL, OPT_DAYS },
		{ "backdate", required_argument, NULL, OPT_BACKDATE },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sans[PKI_MAX_SANS], *role = NULL;
	struct pki_issue_req req;
	struct pki_issued res;
	char err[1024], safe[128];
	int ch, r;

	memset(&req, 0, sizeof(req));
	req.days = PKI_LEAF_DAYS;
	req.sans = sans;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_DIR:
			req.dir = optarg;
			break;
		case OPT_CN:
			req.cn = optarg;
			break;
		case OPT_ROLE:
			role = optarg;
			break;
		case OPT_SAN:
			if (req.nsans == PKI_MAX_SANS)
				return pki_die_usage(cmd, "more than %d --san",
				    PKI_MAX_SANS);
			sans[req.nsans++] = optarg;
			break;
		case OPT_DAYS:
			if (pki_parse_days(cmd, "--days", optarg, 1, &req.days))
				return PKI_EXIT_USAGE;
			break;
		case OPT_BACKDATE:
			if (pki_parse_days(cmd, "--backdate", optarg, 0,
			    &req.backdate))
				return PKI_EXIT_USAGE;
			break;
		case OPT_OUT:
			req.out = optarg;
			break;
		case OPT_FORCE:
			req.force = 1;
			break;
		case 'h':
			pki_cmd_help(cmd);
			return PKI_EXIT_OK;
		default:
			return pki_bad_option(cmd, ch, argv);
		}
	}
	if ((r = pki_check_rest(cmd, argc, argv, req.dir)) != PKI_EXIT_OK)
		return r;
	if (req.cn == NULL)
		return pki_die_usage(cmd, "--cn is required");
	if (role == NULL)
		return pki_die_usage(cmd, "--role is required (agent or relay)");
	if (pki_role_parse(role, &req.role) != PKI_OK)
		return pki_die_usage(cmd, "unknown role '%s' (expected agent "
		    "or relay)", pki_safe(role, safe, sizeof(safe)));
	if (req.out != NULL && *req.out == '\0')
		return pki_die_usage(cmd, "--out is empty");
	r = pki_issue(&req, &res, err, sizeof(err));
	if (r == PKI_OK)
		printf("issued %s certificate %s serial %s until %s: %s %s\n",
		    pki_role_name(req.role), req.cn, res.serial, res.not_after,
		    res.crt, res.key);
	return pki_result(cmd, r, err);
}

static int
pki_cmd_list(const struct pki_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	char err[1024];
	int ch, r;

	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_DIR:
			dir = optarg;
			break;
		case 'h':
			pki_cmd_help(cmd);
			return PKI_EXIT_OK;
		default:
			return pki_bad_option(cmd, ch, argv);
		}
	}
	if ((r = pki_check_rest(cmd, argc, argv, dir)) != PKI_EXIT_OK)
		return r;
	return pki_result(cmd, pki_list(dir, stdout, err, sizeof(err)), err);
}

static int
pki_cmd_revoke(const struct pki_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "cn", required_argument, NULL, OPT_CN },
		{ "serial", required_argument, NULL, OPT_SERIAL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *cn = NULL, *serial = NULL;
	char err[1024];
	size_t n;
	int ch, r;

	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_DIR:
			dir = optarg;
			break;
		case OPT_CN:
			cn = optarg;
			break;
		case OPT_SERIAL:
			serial = optarg;
			break;
		case 'h':
			pki_cmd_help(cmd);
			return PKI_EXIT_OK;
		default:
			return pki_bad_option(cmd, ch, argv);
		}
	}
	if ((r = pki_check_rest(cmd, argc, argv, dir)) != PKI_EXIT_OK)
		return r;
	r = pki_revoke(dir, cn, serial, stdout, &n, err, sizeof(err));
	if (r == PKI_OK)
		printf("%zu certificate%s revoked; run 'atlax-pki crl --dir %s' "
		    "to publish\n", n, n == 1 ? "" : "s", dir);
	return pki_result(cmd, r, err);
}

static int
pki_cmd_crl(const struct pki_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "days", required_argument, NULL, OPT_DAYS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	unsigned long number;
	char err[1024];
	size_t n;
	int ch, days = PKI_CRL_DAYS, r;

	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_DIR:
			dir = optarg;
			break;
		case OPT_DAYS:
			if (pki_parse_days(cmd, "--days", optarg, 1, &days))
				return PKI_EXIT_USAGE;
			break;
		case 'h':
			pki_cmd_help(cmd);
			return PKI_EXIT_OK;
		default:
			return pki_bad_option(cmd, ch, argv);
		}
	}
	if ((r = pki_check_rest(cmd, argc, argv, dir)) != PKI_EXIT_OK)
		return r;
	r = pki_crl(dir, days, &number, &n, err, sizeof(err));
	if (r == PKI_OK)
		printf("wrote %s/ca.crl: CRL number %lu, %zu revoked, next "
		    "update in %d days\n", dir, number, n, days);
	return pki_result(cmd, r, err);
}

static int
pki_cmd_keygen(const struct pki_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hs256", no_argument, NULL, OPT_HS256 },
		{ "es256", no_argument, NULL, OPT_ES256 },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	char err[1024], safe[128];
	int ch, hs = 0, es = 0, force = 0, r;

	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_HS256:
			hs = 1;
			break;
		case OPT_ES256:
			es = 1;
			break;
		case OPT_OUT:
			out = optarg;
			break;
		case OPT_FORCE:
			force = 1;
			break;
		case 'h':
			pki_cmd_help(cmd);
			return PKI_EXIT_OK;
		default:
			return pki_bad_option(cmd, ch, argv);
		}
	}
	if (optind < argc)
		return pki_die_usage(cmd, "unexpected argument '%s'",
		    pki_safe(argv[optind], safe, sizeof(safe)));
	if (hs + es != 1)
		return pki_die_usage(cmd, "exactly one of --hs256 and --es256 "
		    "is needed");
	if (out == NULL || *out == '\0')
		return pki_die_usage(cmd, "--out is required");
	if (hs)
		r = pki_jwt_keygen_hs256(out, force, err, sizeof(err));
	else
		r = pki_jwt_keygen_es256(out, force, err, sizeof(err));
	if (r == PKI_OK && hs)
		printf("wrote HS256 secret %s\n", out);
	else if (r == PKI_OK)
		printf("wrote ES256 key %s.key and public key %s.pub\n", out,
		    out);
	return pki_result(cmd, r, err);
}

/* Options of 'token' that take a value; NULL when absent. */
struct pki_token_opts {
	struct pki_token_req req;
	const char	*expose[PKI_JWT_LIST_MAX];
	const char	*connect[PKI_JWT_LIST_MAX];
	const char	*ttl;
};

/* One option of 'token'; PKI_EXIT_OK or the usage exit. */
static int
pki_token_opt(const struct pki_cmd *cmd, int ch, struct pki_token_opts *o)
{
	struct pki_token_req *q = &o->req;

	switch (ch) {
	case OPT_SECRET_FILE:
		q->secret_file = optarg;
		break;
	case OPT_KEY:
		q->key_file = optarg;
		break;
	case OPT_SUB:
		q->sub = optarg;
		break;
	case OPT_TTL:
		o->ttl = optarg;
		break;
	case OPT_AUD:
		q->aud = optarg;
		break;
	case OPT_ISS:
		q->iss = optarg;
		break;
	case OPT_JTI:
		q->jti = optarg;
		break;
	case OPT_EXPOSE:
		if (q->nexpose == PKI_JWT_LIST_MAX)
			return pki_die_usage(cmd, "more than %d --expose",
			    PKI_JWT_LIST_MAX);
		o->expose[q->nexpose++] = optarg;
		break;
	case OPT_CONNECT:
		if (q->nconnect == PKI_JWT_LIST_MAX)
			return pki_die_usage(cmd, "more than %d --connect",
			    PKI_JWT_LIST_MAX);
		o->connect[q->nconnect++] = optarg;
		break;
	}
	return PKI_EXIT_OK;
}

static int
pki_cmd_token(const struct pki_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "secret-file", required_argument, NULL, OPT_SECRET_FILE },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "sub", required_argument, NULL, OPT_SUB },
		{ "ttl", required_argument, NULL, OPT_TTL },
		{ "expose", required_argument, NULL, OPT_EXPOSE },
		{ "connect", required_argument, NULL, OPT_CONNECT },
		{ "aud", required_argument, NULL, OPT_AUD },
		{ "iss", required_argument, NULL, OPT_ISS },
		{ "jti", required_argument, NULL, OPT_JTI },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pki_token_opts o;
	struct pki_token_req *q = &o.req;
	char err[1024], safe[128], *token = NULL;
	int ch, r;

	memset(&o, 0, sizeof(o));
	q->expose = o.expose;
	q->connect = o.connect;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (ch == 'h') {
			pki_cmd_help(cmd);
			return PKI_EXIT_OK;
		}
		if (ch == '?' || ch == ':')
			return pki_bad_option(cmd, ch, argv);
		if ((r = pki_token_opt(cmd, ch, &o)) != PKI_EXIT_OK)
			return r;
	}
	if (optind < argc)
		return pki_die_usage(cmd, "unexpected argument '%s'",
		    pki_safe(argv[optind], safe, sizeof(safe)));
	if ((q->secret_file == NULL) == (q->key_file == NULL))
		return pki_die_usage(cmd, "exactly one of --secret-file and "
		    "--key is needed");
	if (q->sub == NULL)
		return pki_die_usage(cmd, "--sub is required");
	if (o.ttl == NULL)
		return pki_die_usage(cmd, "--ttl is required");
	if ((r = pki_jwt_parse_ttl(o.ttl, &q->ttl, err, sizeof(err))) !=
	    PKI_OK)
		return pki_result(cmd, r, err);
	r = pki_jwt_token(q, (uint64_t)time(NULL), &token, err, sizeof(err));
	if (r == PKI_OK)
		printf("%s\n", token);
	free(token);
	return pki_result(cmd, r, err);
}

int
main(int argc, char **argv)
{
	char safe[128];
	size_t i;

	opterr = 0;	/* pki_bad_option() prints the one line */
	if (argc < 2) {
		fprintf(stderr, "atlax-pki: missing command (init, issue, list, "
		    "revoke, crl, keygen, token; see 'atlax-pki --help')\n");
		return PKI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		pki_usage(stdout);
		return PKI_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("atlax-pki %s\n", ATLAX_VERSION);
		return PKI_EXIT_OK;
	}
	for (i = 0; i < PKI_NCMDS; i++) {
		if (strcmp(argv[1], pki_cmds[i].name) == 0)
			return pki_cmds[i].fn(&pki_cmds[i], argc - 1, argv + 1);
	}
	fprintf(stderr, "atlax-pki: unknown command '%s' (see 'atlax-pki "
	    "--help')\n", pki_safe(argv[1], safe, sizeof(safe)));
	return PKI_EXIT_USAGE;
}
