/*
 * check_cfg_agent.c — agent.yaml: parsed values and defaults of valid files
 * (config/agent.yaml included), and the exact one-line message of every
 * class of error, written to a temporary file and loaded for real.
 */
#include <sys/stat.h>

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg_agent.h"
#include "cfg_yaml.h"
#include "cfgtest.h"

/* The nine lines every valid file needs; further lines start at line 10. */
#define MIN \
	"id: home-nas\n" \
	"relay: \"relay.example.com:4443\"\n" \
	"tls:\n" \
	"  cert: home-nas.crt\n" \
	"  key: /k/home-nas.key\n" \
	"  ca: ca.crt\n" \
	"services:\n" \
	"  - name: smb\n" \
	"    target: \"127.0.0.1:445\"\n"

/* MIN without its services: the next line is line 7. */
#define HEAD \
	"id: home-nas\n" \
	"relay: \"relay.example.com:4443\"\n" \
	"tls:\n" \
	"  cert: home-nas.crt\n" \
	"  key: /k/home-nas.key\n" \
	"  ca: ca.crt\n"

static struct agent_config *
load_ok(const char *text)
{
	struct agent_config *c = NULL;
	char err[512] = "";

	cfgtest_write("agent.yaml", text);
	ck_assert_msg(cfg_agent_load(cfgtest_path, &c, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_ptr_nonnull(c);
	return c;
}

static void
load_bad(const char *text, const char *want)
{
	struct agent_config *c = (struct agent_config *)1;
	char err[512] = "", full[4 * PATH_MAX];

	cfgtest_write("agent.yaml", text);
	ck_assert_int_eq(cfg_agent_load(cfgtest_path, &c, err, sizeof(err)),
	    -1);
	ck_assert_ptr_null(c);
	snprintf(full, sizeof(full), "%s%s", cfgtest_path, want);
	ck_assert_str_eq(err, full);
	ck_assert_ptr_null(strchr(err, '\n'));
}

START_TEST(test_minimal_defaults)
{
	struct agent_config *c;
	const struct agent_service *s;
	char want[4 * PATH_MAX], buf[64];

	c = load_ok(MIN);
	ck_assert_str_eq(c->path, cfgtest_path);
	ck_assert_str_eq(c->id, "home-nas");
	ck_assert_str_eq(cfg_addr_str(&c->relay, buf, sizeof(buf)),
	    "relay.example.com:4443");
	snprintf(want, sizeof(want), "%s/home-nas.crt", cfgtest_dir);
	ck_assert_str_eq(c->tls_cert, want);
	ck_assert_str_eq(c->tls_key, "/k/home-nas.key");
	snprintf(want, sizeof(want), "%s/ca.crt", cfgtest_dir);
	ck_assert_str_eq(c->tls_ca, want);
	/* server_name defaults to the relay host. */
	ck_assert_str_eq(c->tls_server_name, "relay.example.com");
	ck_assert_uint_eq(c->nservices, 1);
	s = cfg_agent_service(c, "smb");
	ck_assert_ptr_eq(s, &c->services[0]);
	ck_assert_str_eq(cfg_addr_str(&s->target, buf, sizeof(buf)),
	    "127.0.0.1:445");
	ck_assert_uint_eq(s->remote_port, 0);
	ck_assert_uint_eq(s->idle_timeout_ms, 0);
	ck_assert_ptr_null(cfg_agent_service(c, "web"));
	ck_assert_uint_eq(c->reconnect_initial_ms, 1000);
	ck_assert_uint_eq(c->reconnect_max_ms, 60000);
	ck_assert_uint_eq(c->ping_interval_ms, 15000);
	ck_assert_uint_eq(c->ping_misses, 3);
	ck_assert_uint_eq(c->connect_timeout_ms, 5000);
	ck_assert_uint_eq(c->handshake_timeout_ms, 10000);
	ck_assert_uint_eq(c->shutdown_timeout_ms, 10000);
	ck_assert_uint_eq(c->stall_timeout_ms, 120000);
	ck_assert_uint_eq(c->half_closed_timeout_ms, 60000);
	ck_assert_uint_eq(c->stream_window, 512 * 1024);
	ck_assert_uint_eq(c->stream_window_max, 16 * 1024 * 1024);
	ck_assert_uint_eq(c->tunnel_window, 32 * 1024 * 1024);
	ck_assert_uint_eq(c->tunnel_buffer, 8 * 1024 * 1024);
	ck_assert_uint_eq(c->max_frame, 128 * 1024);
	ck_assert_uint_eq(c->max_streams, 4096);
	ck_assert_int_eq(c->log_level, LOG_LEVEL_INFO);
	cfg_agent_free(c);
	cfg_agent_free(NULL);
}
END_TEST

START_TEST(test_every_key)
{
	struct agent_config *c;
	const struct agent_service *s;
	char buf[64];

	c = load_ok(
	    "id: A.b_c-1\n"
	    "relay: \"[::1]:4443\"\n"
	    "tls:\n"
	    "  cert: /c/a.crt\n"
	    "  key: /c/a.key\n"
	    "  ca: /c/ca.crt\n"
	    "  server_name: relay.test\n"
	    "services:\n"
	    "  - name: smb\n"
	    "    target: \"127.0.0.1:445\"\n"
	    "    remote_port: 10445\n"
	    "  - name: web\n"
	    "    target: \"[::1]:8080\"\n"
	    "    remote_port: 0\n"
	    "    idle_timeout: 90s\n"
	    "  - name: ssh\n"
	    "    target: \"localhost:22\"\n"
	    "    remote_port: 65535\n"
	    "  - target: \"127.0.0.1:1\"\n"
	    "    name: other\n"
	    "reconnect:\n"
	    "  initial: 100ms\n"
	    "  max: 24h\n"
	    "keepalive:\n"
	    "  interval: 1m\n"
	    "  misses: 1\n"
	    "timeouts:\n"
	    "  connect: 1h\n"
	    "  handshake: 100ms\n"
	    "  shutdown: 0s\n"
	    "  stall: 24h\n"
	    "  half_closed: 0\n"
	    "limits:\n"
	    "  stream_window: 16MiB\n"
	    "  stream_window_max: 16MiB\n"
	    "  tunnel_window: 1GiB\n"
	    "  tunnel_buffer: 256KiB\n"
	    "  max_frame: 1KiB\n"
	    "  max_streams: 1000000\n"
	    "log:\n"
	    "  level: warn\n");
	ck_assert_str_eq(c->id, "A.b_c-1");
	ck_assert_str_eq(cfg_addr_str(&c->relay, buf, sizeof(buf)),
	    "[::1]:4443");
	ck_assert_str_eq(c->tls_cert, "/c/a.crt");
	ck_assert_str_eq(c->tls_key, "/c/a.key");
	ck_assert_str_eq(c->tls_ca, "/c/ca.crt");
	ck_assert_str_eq(c->tls_server_name, "relay.test");
	ck_assert_uint_eq(c->nservices, 4);
	s = cfg_agent_service(c, "smb");
	ck_assert_uint_eq(s->remote_port, 10445);
	s = cfg_agent_service(c, "web");
	ck_assert_str_eq(cfg_addr_str(&s->target, buf, sizeof(buf)),
	    "[::1]:8080");
	ck_assert_uint_eq(s->remote_port, 0);
	ck_assert_uint_eq(s->idle_timeout_ms, 90000);
	s = cfg_agent_service(c, "ssh");
	ck_assert_uint_eq(s->idle_timeout_ms, 0);
	ck_assert_str_eq(s->target.host, "localhost");
	ck_assert_uint_eq(s->target.port, 22);
	ck_assert_uint_eq(s->remote_port, 65535);
	ck_assert_str_eq(c->services[3].name, "other");
	ck_assert_uint_eq(c->reconnect_initial_ms, 100);
	ck_assert_uint_eq(c->reconnect_max_ms, 24 * 3600 * 1000);
	ck_assert_uint_eq(c->ping_interval_ms, 60000);
	ck_assert_uint_eq(c->ping_misses, 1);
	ck_assert_uint_eq(c->connect_timeout_ms, 3600000);
	ck_assert_uint_eq(c->handshake_timeout_ms, 100);
	ck_assert_uint_eq(c->shutdown_timeout_ms, 0);
	ck_assert_uint_eq(c->stall_timeout_ms, 24 * 3600 * 1000);
	ck_assert_uint_eq(c->half_closed_timeout_ms, 0);
	ck_assert_uint_eq(c->stream_window, 16 * 1024 * 1024);
	ck_assert_uint_eq(c->stream_window_max, 16 * 1024 * 1024);
	ck_assert_uint_eq(c->tunnel_window, 1024 * 1024 * 1024);
	ck_assert_uint_eq(c->tunnel_buffer, 256 * 1024);
	ck_assert_uint_eq(c->max_frame, 1024);
	ck_assert_uint_eq(c->max_streams, 1000000);
	ck_assert_int_eq(c->log_level, LOG_LEVEL_WARN);
	cfg_agent_free(c);

	/* Two services may both let the relay pick (remote_port 0). */
	c = load_ok(MIN "  - name: web\n    target: \"127.0.0.1:80\"\n"
	    "    remote_port: 0\n");
	ck_assert_uint_eq(c->nservices, 2);
	cfg_agent_free(c);
}
END_TEST

START_TEST(test_example)
{
	struct agent_config *c = NULL;
	const struct agent_service *s;
	char path[2 * PATH_MAX], want[4 * PATH_MAX], err[512] = "", buf[64];

	cfgtest_example("agent.yaml", path, sizeof(path));
	ck_assert_msg(cfg_agent_load(path, &c, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_str_eq(c->id, "home-nas");
	ck_assert_str_eq(cfg_addr_str(&c->relay, buf, sizeof(buf)),
	    "relay.example.com:4443");
	*strrchr(path, '/') = '\0';
	snprintf(want, sizeof(want), "%s/home-nas.crt", path);
	ck_assert_str_eq(c->tls_cert, want);
	snprintf(want, sizeof(want), "%s/home-nas.key", path);
	ck_assert_str_eq(c->tls_key, want);
	snprintf(want, sizeof(want), "%s/ca.crt", path);
	ck_assert_str_eq(c->tls_ca, want);
	ck_assert_str_eq(c->tls_server_name, "relay.example.com");
	ck_assert_uint_eq(c->nservices, 2);
	s = cfg_agent_service(c, "smb");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(cfg_addr_str(&s->target, buf, sizeof(buf)),
	    "127.0.0.1:445");
	ck_assert_uint_eq(s->remote_port, 10445);
	s = cfg_agent_service(c, "web");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(cfg_addr_str(&s->target, buf, sizeof(buf)),
	    "127.0.0.1:8080");
	ck_assert_uint_eq(s->remote_port, 10080);
	ck_assert_uint_eq(s->idle_timeout_ms, 600000);
	ck_assert_uint_eq(c->reconnect_initial_ms, 1000);
	ck_assert_uint_eq(c->reconnect_max_ms, 60000);
	ck_assert_int_eq(c->log_level, LOG_LEVEL_INFO);
	cfg_agent_free(c);
}
END_TEST

START_TEST(test_structure_errors)
{
	/* The brief's own examples. */
	load_bad("id: home-nas\n"
	    "relay: \"relay.example.com:4443\"\n"
	    "tlss:\n"
	    "  cert: a\n", ":3:1: tlss: unknown key");
	load_bad(HEAD "services:\n"
	    "  - name: smb\n"
	    "    target: \"127.0.0.1:445\"\n"
	    "  - name: web\n"
	    "    target: \"127.0.0.1:80\"\n"
	    "    remote_port: 70000\n",
	    ":12:18: services[1].remote_port: port 70000 out of range "
	    "0..65535");
	load_bad(MIN "reconect:\n  initial: 1s\n", ":10:1: reconect: unknown "
	    "key");
	load_bad(MIN "    port: 1\n", ":10:5: services[0].port: unknown key");
	load_bad(MIN "tls2: {}\n", ":10:1: tls2: unknown key");
	/* Missing keys. */
	load_bad("relay: \"r:1\"\n", ":1:1: id: missing required key");
	load_bad(HEAD, ":1:1: services: missing: at least one service or "
	    "forward is needed");
	load_bad(HEAD "services:\n  - target: \"127.0.0.1:1\"\n",
	    ":8:5: services[0].name: missing required key");
	load_bad(HEAD "services:\n  - name: a\n",
	    ":8:5: services[0].target: missing required key");
	load_bad("id: a\nrelay: \"r:1\"\ntls:\n  cert: a\n  key: b\n"
	    "services:\n  - {name: a, target: \"h:1\"}\n",
	    ":4:3: tls.ca: missing required key");
	/* Wrong types and empty lists. */
	load_bad(HEAD "services:\n  name: smb\n", ":8:3: services: expected "
	    "a sequence, not a mapping");
	load_bad(HEAD "services: smb\n", ":7:11: services: expected a "
	    "sequence, not a value");
	load_bad(HEAD "services:\n  - smb\n", ":8:5: services[0]: expected "
	    "a mapping, not a value");
	load_bad(HEAD "services:\n  -\n", ":8:4: services[0]: expected a "
	    "mapping, not a value");
	load_bad(HEAD "services: []\n", ":7:11: services: at least one "
	    "service is needed");
	load_bad(HEAD "services:\n", ":7:10: services: at least one service "
	    "is needed");
	load_bad(MIN "    remote_port: [1]\n", ":10:18: services[0].remote_port: "
	    "expected a port number, not a sequence");
	load_bad(MIN "reconnect: 1s\n", ":10:12: reconnect: expected a "
	    "mapping, not a value");
	load_bad("id: [a]\n", ":1:5: id: expected an identity, not a "
	    "sequence");
	/* Duplicates. */
	load_bad(MIN "id: other\n", ":10:1: id: duplicate key (first at "
	    "line 1)");
	load_bad(MIN "    name: web\n", ":10:5: services[0].name: duplicate "
	    "key (first at line 8)");
	load_bad(MIN "  - name: smb\n    target: \"127.0.0.1:1\"\n",
	    ":10:11: services[1].name: duplicate service name \"smb\" (also "
	    "services[0])");
	load_bad(HEAD "services:\n"
	    "  - {name: a, target: \"h:1\", remote_port: 10445}\n"
	    "  - {name: b, target: \"h:2\"}\n"
	    "  - {name: c, target: \"h:3\", remote_port: 10445}\n",
	    ":10:43: services[2].remote_port: duplicate remote_port 10445 "
	    "(also services[0])");
}
END_TEST

START_TEST(test_value_errors)
{
	load_bad("id: -nas\n", ":1:5: id: bad identity \"-nas\" (letters, "
	    "digits, '.', '_', '-', starting with a letter or digit, at most "
	    "64)");
	load_bad("id: home/nas\n", ":1:5: id: bad identity \"home/nas\" "
	    "(letters, digits, '.', '_', '-', starting with a letter or "
	    "digit, at most 64)");
	load_bad("id: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	    ":1:5: id: bad identity "
	    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "...\" (letters, digits, '.', '_', '-', starting with a letter or "
	    "digit, at most 64)");
	load_bad(HEAD "services:\n  - name: \"my service\"\n",
	    ":8:11: services[0].name: bad name \"my service\" (letters, "
	    "digits, '.', '_', '-', starting with a letter or digit, at most "
	    "63)");
	load_bad("id: a\nrelay: relay.example.com\n", ":2:8: relay: "
	    "\"relay.example.com\": missing :port");
	load_bad("id: a\nrelay: \"relay:99999\"\n", ":2:8: relay: port 99999 "
	    "out of range 1..65535");
	load_bad(HEAD "services:\n  - name: a\n    target: \"127.0.0.1:0\"\n",
	    ":9:13: services[0].target: port 0 out of range 1..65535");
	load_bad(MIN "    remote_port: -1\n", ":10:18: services[0].remote_port: "
	    "\"-1\" is not a number");
	load_bad(MIN "    remote_port: 99999999999999999999999\n",
	    ":10:18: services[0].remote_port: port 99999999999999999999999 "
	    "out of range 0..65535");
	load_bad(HEAD "  server_name: \"bad name\"\n", ":7:16: "
	    "tls.server_name: bad host name \"bad name\"");
	load_bad(MIN "reconnect:\n  initial: 1\n", ":11:12: "
	    "reconnect.initial: \"1\" needs a unit (ms, s, m, h)");
	load_bad(MIN "reconnect:\n  max: 1d\n", ":11:8: reconnect.max: \"1d\" "
	    "is not a duration (ms, s, m, h)");
	load_bad(MIN "reconnect:\n  initial: 99999999999999999999s\n",
	    ":11:12: reconnect.initial: \"99999999999999999999s\" is too "
	    "large");
	load_bad(MIN "timeouts:\n  connect: 10ms\n", ":11:12: "
	    "timeouts.connect: 10ms out of range 100ms..1h");
	load_bad(MIN "keepalive:\n  misses: 1000\n", ":11:11: "
	    "keepalive.misses: 1000 out of range 1..100");
	load_bad(MIN "limits:\n  stream_window: 1GiB\n", ":11:18: "
	    "limits.stream_window: 1GiB out of range 16KiB..16MiB");
	load_bad(MIN "limits:\n  max_frame: 512\n", ":11:14: "
	    "limits.max_frame: 512 out of range 1KiB..1MiB");
	load_bad(MIN "limits:\n  max_streams: 0\n", ":11:16: "
	    "limits.max_streams: 0 out of range 1..1000000");
	load_bad(MIN "limits:\n  tunnel_buffer: 1KiB\n", ":11:18: "
	    "limits.tunnel_buffer: 1KiB out of range 256KiB..1GiB");
	load_bad(MIN "limits:\n  stream_window_max: 0\n", ":11:22: "
	    "limits.stream_window_max: 0 out of range 16KiB..1GiB");
	load_bad(MIN "timeouts:\n  stall: 2d\n", ":11:10: timeouts.stall: "
	    "\"2d\" is not a duration (ms, s, m, h)");
	load_bad(MIN "timeouts:\n  half_closed: 25h\n", ":11:16: "
	    "timeouts.half_closed: 25h out of range 0..24h");
	load_bad(MIN "    idle_timeout: 30\n", ":10:19: "
	    "services[0].idle_timeout: \"30\" needs a unit (ms, s, m, h)");
	load_bad(MIN "    idle_timeout: [1s]\n", ":10:19: "
	    "services[0].idle_timeout: expected a duration, not a sequence");
	load_bad(MIN "log:\n  level: verbose\n", ":11:10: log.level: "
	    "\"verbose\" is not a log level (error, warn, info, debug)");
}
END_TEST

START_TEST(test_cross_key_errors)
{
	load_bad(MIN "reconnect:\n  initial: 2m\n  max: 60s\n", ":11:12: "
	    "reconnect.initial: 2m is greater than reconnect.max 60s");
	load_bad(MIN "reconnect:\n  max: 500ms\n", ":11:8: reconnect.max: "
	    "500ms is smaller than reconnect.initial 1s");
	load_bad(MIN "limits:\n  tunnel_window: 64KiB\n", ":11:18: "
	    "limits.tunnel_window: 64KiB is smaller than limits.stream_window "
	    "512KiB");
	load_bad(MIN "limits:\n  stream_window_max: 64KiB\n", ":11:22: "
	    "limits.stream_window_max: 64KiB is smaller than "
	    "limits.stream_window 512KiB");
	load_bad(MIN "limits:\n  max_frame: 1MiB\n  tunnel_buffer: 512KiB\n",
	    ":12:18: limits.tunnel_buffer: 512KiB is smaller than "
	    "limits.max_frame 1MiB");
	load_bad("id: a\nrelay: \"*:4443\"\ntls: {cert: a, key: b, ca: c}\n"
	    "services:\n  - {name: a, target: \"h:1\"}\n", ":2:8: relay: the relay "
	    "address cannot be a wildcard (*)");
	load_bad(HEAD "services:\n  - name: a\n    target: \"*:80\"\n",
	    ":9:13: services[0].target: a target cannot be a wildcard (*)");
}
END_TEST

/* tls.token_file: a token instead of, or with, a client certificate. */
START_TEST(test_credentials)
{
	struct agent_config *c;
	char want[4 * PATH_MAX];

	c = load_ok(MIN);
	ck_assert_ptr_null(c->tls_token_file);
	cfg_agent_free(c);
	/* A token alone is a credential. */
	c = load_ok("id: home-nas\nrelay: \"r.example:4443\"\ntls:\n"
	    "  ca: ca.crt\n  token_file: home-nas.jwt\n"
	    "services:\n  - {name: smb, target: \"127.0.0.1:445\"}\n");
	ck_assert_ptr_null(c->tls_cert);
	ck_assert_ptr_null(c->tls_key);
	snprintf(want, sizeof(want), "%s/home-nas.jwt", cfgtest_dir);
	ck_assert_str_eq(c->tls_token_file, want);
	cfg_agent_free(c);
	c = load_ok(HEAD "  token_file: home-nas.jwt\n"
	    "services:\n  - {name: smb, target: \"127.0.0.1:445\"}\n");
	snprintf(want, sizeof(want), "%s/home-nas.jwt", cfgtest_dir);
	ck_assert_str_eq(c->tls_token_file, want);
	cfg_agent_free(c);
	c = load_ok(HEAD "  token_file: /t/a.jwt\n"
	    "services:\n  - {name: smb, target: \"127.0.0.1:445\"}\n");
	ck_assert_str_eq(c->tls_token_file, "/t/a.jwt");
	ck_assert_str_eq(c->tls_key, "/k/home-nas.key");
	cfg_agent_free(c);
	/* Cert and key go together; some credential is needed. */
	load_bad("id: a\nrelay: \"r:1\"\ntls:\n  cert: a.crt\n  ca: ca\n"
	    "services:\n  - {name: a, target: \"h:1\"}\n", ":4:3: tls.key: "
	    "missing (tls.cert needs its key)");
	load_bad("id: a\nrelay: \"r:1\"\ntls:\n  key: a.key\n  ca: ca\n"
	    "  token_file: t\nservices:\n  - {name: a, target: \"h:1\"}\n",
	    ":4:3: tls.cert: missing (tls.key needs its certificate)");
	load_bad("id: a\nrelay: \"r:1\"\ntls:\n  ca: ca\n"
	    "services:\n  - {name: a, target: \"h:1\"}\n", ":4:3: tls: no "
	    "credential: set tls.cert and tls.key, or tls.token_file");
	load_bad("id: a\nrelay: \"r:1\"\ntls:\n  ca: ca\n  token_file:\n"
	    "services:\n  - {name: a, target: \"h:1\"}\n", ":5:14: "
	    "tls.token_file: missing value");
}
END_TEST

START_TEST(test_file_errors)
{
	load_bad("", ":1:1: empty configuration");
	load_bad("\n\n# comments only\n", ":1:1: empty configuration");
	load_bad("id: a\nrelay: \"r:1\"\n\"tls\n", ":4:1: syntax error: found "
	    "unexpected end of stream (while scanning a quoted scalar at "
	    "line 3)");
	load_bad(HEAD "services: &s\n  - name: a\n", ":7:11: anchors (&name) "
	    "are not allowed");
	load_bad("id: !!binary aGk=\n", ":1:5: tags (!name) are not allowed");
	cfgtest_write_big("agent.yaml", CFG_FILE_MAX + 100);
	{
		struct agent_config *c = NULL;
		char err[512], want[4 * PATH_MAX];

		ck_assert_int_eq(cfg_agent_load(cfgtest_path, &c, err,
		    sizeof(err)), -1);
		snprintf(want, sizeof(want), "%s: file too large (1048676 "
		    "bytes, max 1048576)", cfgtest_path);
		ck_assert_str_eq(err, want);
		ck_assert_int_eq(cfg_agent_load("/dev/null", &c, err,
		    sizeof(err)), -1);
		ck_assert_str_eq(err, "/dev/null: not a regular file");
	}
}
END_TEST

START_TEST(test_parse_memory)
{
	struct agent_config *c = NULL;
	const char *bad = MIN "  - name: smb\n    target: \"h:1\"\n";
	char err[512] = "";

	ck_assert_int_eq(cfg_agent_parse("mem.yaml", MIN, strlen(MIN), "/d",
	    &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c->tls_cert, "/d/home-nas.crt");
	ck_assert_str_eq(c->tls_key, "/k/home-nas.key");
	cfg_agent_free(c);
	c = NULL;
	ck_assert_int_eq(cfg_agent_parse("mem.yaml", bad, strlen(bad), "/d",
	    &c, err, sizeof(err)), -1);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(err, "mem.yaml:10:11: services[1].name: duplicate "
	    "service name \"smb\" (also services[0])");
}
END_TEST

/* Private services (public, group) and forwards. */
START_TEST(test_private_forwards)
{
	struct agent_config *c;
	char buf[128];

	c = load_ok(MIN
	    "  - name: db\n"				/* line 10 */
	    "    target: \"127.0.0.1:5432\"\n"
	    "    public: false\n"
	    "  - name: pg\n"
	    "    target: \"127.0.0.1:5433\"\n"
	    "    public: false\n"
	    "    group: home-db\n"
	    "  - name: web\n"
	    "    target: \"127.0.0.1:80\"\n"
	    "    public: true\n"
	    "forwards:\n"
	    "  - listen: \"127.0.0.1:19432\"\n"
	    "    to: \"office/postgres\"\n");
	ck_assert_uint_eq(c->nservices, 4);
	ck_assert_int_eq(c->services[0].private, 0);	/* default: public */
	ck_assert_int_eq(c->services[1].private, 1);
	ck_assert_str_eq(c->services[1].group, "");
	ck_assert_str_eq(c->services[2].group, "home-db");
	ck_assert_int_eq(c->services[3].private, 0);
	ck_assert_str_eq(cfg_agent_reg_name(c, &c->services[0], buf,
	    sizeof(buf)), "smb");
	ck_assert_str_eq(cfg_agent_reg_name(c, &c->services[1], buf,
	    sizeof(buf)), "home-nas/db");
	ck_assert_str_eq(cfg_agent_reg_name(c, &c->services[2], buf,
	    sizeof(buf)), "home-db/pg");
	ck_assert_ptr_eq(cfg_agent_service_reg(c, "home-db/pg"),
	    &c->services[2]);
	ck_assert_ptr_null(cfg_agent_service_reg(c, "pg"));
	ck_assert_uint_eq(c->nforwards, 1);
	ck_assert_str_eq(cfg_addr_str(&c->forwards[0].listen, buf,
	    sizeof(buf)), "127.0.0.1:19432");
	ck_assert_str_eq(c->forwards[0].to, "office/postgres");
	cfg_agent_free(c);

	/* Forwards alone are enough: no services: needed. */
	c = load_ok(HEAD "forwards:\n"
	    "  - listen: \"127.0.0.1:19432\"\n"
	    "    to: \"office/postgres\"\n");
	ck_assert_uint_eq(c->nservices, 0);
	ck_assert_uint_eq(c->nforwards, 1);
	cfg_agent_free(c);

	load_bad(MIN "    public: no\n",
	    ":10:13: services[0].public: \"no\" is not true or false");
	load_bad(MIN "    public: false\n    remote_port: 445\n",
	    ":11:18: services[0].remote_port: a private service (public: "
	    "false) has no public port");
	load_bad(MIN "    group: home-db\n",
	    ":10:12: services[0].group: a group is for private services "
	    "(add public: false)");
	load_bad(MIN "    public: false\n    group: \"-x\"\n",
	    ":11:12: services[0].group: bad identity \"-x\" (letters, digits, "
	    "'.', '_', '-', starting with a letter or digit, at most 64)");
	/* OWNER/NAME travels as a frame's name: 64 bytes at most. */
	load_bad(HEAD "services:\n"
	    "  - name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	    "    target: \"127.0.0.1:1\"\n"
	    "    public: false\n",
	    ":8:11: services[0].name: private address home-nas/"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa is "
	    "longer than 64 bytes");
	load_bad(HEAD "forwards:\n  - listen: \"127.0.0.1:1\"\n"
	    "    to: office\n",
	    ":9:9: forwards[0].to: \"office\" is not OWNER/SERVICE (two "
	    "identities joined by '/', at most 64 in all)");
	load_bad(HEAD "forwards:\n  - listen: \"127.0.0.1:1\"\n"
	    "    to: \"a/b/c\"\n",
	    ":9:9: forwards[0].to: \"a/b/c\" is not OWNER/SERVICE (two "
	    "identities joined by '/', at most 64 in all)");
	load_bad(HEAD "forwards:\n  - to: \"a/b\"\n",
	    ":8:5: forwards[0].listen: missing required key");
	load_bad(HEAD "forwards:\n"
	    "  - listen: \"127.0.0.1:1\"\n    to: \"a/b\"\n"
	    "  - listen: \"127.0.0.1:1\"\n    to: \"a/c\"\n",
	    ":10:13: forwards[1].listen: duplicate listen address "
	    "127.0.0.1:1 (also forwards[0])");
	load_bad(HEAD "forwards:\n  - listen: \"localhost:5432\"\n"
	    "    to: \"a/b\"\n",
	    ":8:13: forwards[0].listen: listen on a numeric address (e.g. "
	    "127.0.0.1:5432), not a host name");
	load_bad(HEAD "forwards: 5\n",
	    ":7:11: forwards: expected a sequence, not a value");
}
END_TEST

/* admin: the same section as the relay's (cfg_admin.c), off by default. */
START_TEST(test_admin)
{
	struct agent_config *c;
	char path[PATH_MAX + 64];

	c = load_ok(MIN);
	ck_assert_int_eq(c->admin.enabled, 0);
	cfg_agent_free(c);
	c = load_ok(MIN "admin:\n  listen: \"localhost:9191\"\n");
	ck_assert_int_eq(c->admin.enabled, 1);
	ck_assert_uint_eq(c->admin.listen.port, 9191);
	cfg_agent_free(c);
	load_bad(MIN "admin:\n  listen: \"*:9191\"\n",
	    ":11:11: admin.listen: \"*\" is not a loopback address (the "
	    "endpoint shows every tunnel: set admin.allow_remote: true to "
	    "listen there)");
	load_bad(MIN "admin:\n  listen: \"127.0.0.1:0\"\n",
	    ":11:11: admin.listen: port 0 out of range 1..65535");
	cfgtest_write("tok", "abc\r\n");
	snprintf(path, sizeof(path), "%s", cfgtest_path);
	ck_assert_int_eq(chmod(path, 0400), 0);
	c = load_ok(MIN "admin:\n  listen: \"[::1]:9191\"\n"
	    "  token_file: tok\n");
	ck_assert_str_eq(c->admin.token_file, path);
	cfg_agent_free(c);
}
END_TEST

static Suite *
cfg_agent_suite(void)
{
	Suite *s = suite_create("cfg_agent");
	TCase *tc;

	tc = tcase_create("agent.yaml");
	tcase_add_checked_fixture(tc, cfgtest_setup, cfgtest_teardown);
	tcase_add_test(tc, test_minimal_defaults);
	tcase_add_test(tc, test_every_key);
	tcase_add_test(tc, test_example);
	tcase_add_test(tc, test_structure_errors);
	tcase_add_test(tc, test_value_errors);
	tcase_add_test(tc, test_cross_key_errors);
	tcase_add_test(tc, test_file_errors);
	tcase_add_test(tc, test_credentials);
	tcase_add_test(tc, test_parse_memory);
	tcase_add_test(tc, test_private_forwards);
	tcase_add_test(tc, test_admin);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cfg_agent_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
