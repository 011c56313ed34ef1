/*
 * check_cfg_relay.c — relay.yaml: parsed values and defaults of valid files
 * (config/relay.yaml included), and the exact one-line message of every
 * class of error, written to a temporary file and loaded for real.
 */
#include <sys/stat.h>

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg_relay.h"
#include "cfg_yaml.h"
#include "cfgtest.h"

/* The seven lines every valid file needs; further lines start at line 8. */
#define MIN \
	"listen: \"0.0.0.0:4443\"\n" \
	"tls:\n" \
	"  cert: relay.crt\n" \
	"  key: /etc/atlax/relay.key\n" \
	"  ca: sub/ca.crt\n" \
	"public:\n" \
	"  port_range: \"10000-20000\"\n"

static struct relay_config *
load_ok(const char *text)
{
	struct relay_config *c = NULL;
	char err[512] = "";

	cfgtest_write("relay.yaml", text);
	ck_assert_msg(cfg_relay_load(cfgtest_path, &c, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_ptr_nonnull(c);
	return c;
}

/* want is the message after the file name: ":LINE:COL: key: problem". */
static void
load_bad(const char *text, const char *want)
{
	struct relay_config *c = (struct relay_config *)1;
	char err[512] = "", full[4 * PATH_MAX];

	cfgtest_write("relay.yaml", text);
	ck_assert_int_eq(cfg_relay_load(cfgtest_path, &c, err, sizeof(err)),
	    -1);
	ck_assert_ptr_null(c);
	snprintf(full, sizeof(full), "%s%s", cfgtest_path, want);
	ck_assert_str_eq(err, full);
	ck_assert_ptr_null(strchr(err, '\n'));
}

START_TEST(test_minimal_defaults)
{
	struct relay_config *c;
	char want[4 * PATH_MAX], buf[64];

	c = load_ok(MIN);
	ck_assert_str_eq(c->path, cfgtest_path);
	ck_assert_str_eq(cfg_addr_str(&c->listen, buf, sizeof(buf)),
	    "0.0.0.0:4443");
	snprintf(want, sizeof(want), "%s/relay.crt", cfgtest_dir);
	ck_assert_str_eq(c->tls_cert, want);
	ck_assert_str_eq(c->tls_key, "/etc/atlax/relay.key");
	snprintf(want, sizeof(want), "%s/sub/ca.crt", cfgtest_dir);
	ck_assert_str_eq(c->tls_ca, want);
	ck_assert_ptr_null(c->tls_crl);
	ck_assert_str_eq(c->public_bind, "0.0.0.0");
	ck_assert_uint_eq(c->port_min, 10000);
	ck_assert_uint_eq(c->port_max, 20000);
	ck_assert_uint_eq(c->nagents, 0);
	ck_assert_ptr_null(c->agents);
	ck_assert_ptr_null(cfg_relay_policy(c, "home-nas"));
	ck_assert_int_eq(cfg_relay_port_allowed(c, "home-nas", 9999), 0);
	ck_assert_int_eq(cfg_relay_port_allowed(c, "home-nas", 10000), 1);
	ck_assert_int_eq(cfg_relay_port_allowed(c, "home-nas", 20000), 1);
	ck_assert_int_eq(cfg_relay_port_allowed(c, "home-nas", 20001), 0);
	ck_assert_ptr_null(c->port_listed);
	ck_assert_int_eq(cfg_relay_port_listed(c, 10000), 0);
	ck_assert_uint_eq(cfg_relay_auto_ports(c, "home-nas"), 4);
	ck_assert_uint_eq(cfg_relay_port_cap(c, "home-nas"), 16);
	ck_assert_uint_eq(c->max_streams_per_agent, 4096);
	ck_assert_uint_eq(c->streams_per_service, 256);
	ck_assert_uint_eq(c->ports_per_agent, 16);
	ck_assert_uint_eq(c->auto_ports_per_agent, 4);
	ck_assert_uint_eq(c->stream_window, 512 * 1024);
	ck_assert_uint_eq(c->stream_window_max, 16 * 1024 * 1024);
	ck_assert_uint_eq(c->tunnel_window, 32 * 1024 * 1024);
	ck_assert_uint_eq(c->tunnel_buffer, 8 * 1024 * 1024);
	ck_assert_uint_eq(c->max_frame, 128 * 1024);
	ck_assert_uint_eq(c->max_agents, 1024);
	ck_assert_uint_eq(c->handshakes, 64);
	ck_assert_uint_eq(c->connections_per_source, 32);
	ck_assert_uint_eq(c->handshake_timeout_ms, 10000);
	ck_assert_uint_eq(c->shutdown_timeout_ms, 10000);
	ck_assert_uint_eq(c->port_grace_ms, 60000);
	ck_assert_uint_eq(c->stall_timeout_ms, 120000);
	ck_assert_uint_eq(c->half_closed_timeout_ms, 60000);
	ck_assert_uint_eq(c->idle_timeout_ms, 0);
	ck_assert_uint_eq(c->ping_interval_ms, 15000);
	ck_assert_uint_eq(c->ping_misses, 3);
	ck_assert_int_eq(c->workers, 0);
	ck_assert_int_eq(c->log_level, LOG_LEVEL_INFO);
	cfg_relay_free(c);
	cfg_relay_free(NULL);
}
END_TEST

START_TEST(test_every_key)
{
	struct relay_config *c;
	const struct relay_policy *p;
	char buf[64];

	c = load_ok(
	    "# a comment first\n"
	    "listen: \"[::1]:443\"\n"
	    "tls:\n"
	    "  cert: /c/relay.crt\n"
	    "  key: /c/relay.key\n"
	    "  ca: /c/ca.crt\n"
	    "  crl: ca.crl\n"
	    "public:\n"
	    "  bind: \"::\"\n"
	    "  port_range: 1-65535\n"
	    "agents:\n"
	    "  home-nas:\n"
	    "    ports: [10445, 10080]\n"
	    "  office.pc_2:\n"
	    "    ports:\n"
	    "      - 1\n"
	    "      - 65535\n"
	    "    auto: 3\n"
	    "  banned:\n"
	    "    ports: []\n"
	    "limits:\n"
	    "  max_streams_per_agent: 1\n"
	    "  streams_per_service: 1\n"
	    "  ports_per_agent: 65535\n"
	    "  auto_ports_per_agent: 0\n"
	    "  stream_window: 16KiB\n"
	    "  stream_window_max: 1GiB\n"
	    "  tunnel_window: 16KiB\n"
	    "  tunnel_buffer: 1MiB\n"
	    "  max_frame: 1MiB\n"
	    "  max_agents: 100000\n"
	    "  handshakes: 1\n"
	    "  connections_per_source: 0\n"
	    "timeouts:\n"
	    "  handshake: 500ms\n"
	    "  shutdown: 0\n"
	    "  port_grace: 1h\n"
	    "  stall: 0\n"
	    "  half_closed: 24h\n"
	    "  idle: 5m\n"
	    "keepalive:\n"
	    "  interval: 5m\n"
	    "  misses: 100\n"
	    "workers: 64\n"
	    "log:\n"
	    "  level: debug\n");
	ck_assert_str_eq(cfg_addr_str(&c->listen, buf, sizeof(buf)),
	    "[::1]:443");
	ck_assert_str_eq(c->tls_cert, "/c/relay.crt");
	ck_assert_str_eq(c->tls_key, "/c/relay.key");
	ck_assert_str_eq(c->tls_ca, "/c/ca.crt");
	ck_assert_ptr_nonnull(c->tls_crl);
	ck_assert_str_eq(c->tls_crl + strlen(cfgtest_dir), "/ca.crl");
	ck_assert_str_eq(c->public_bind, "::");
	ck_assert_uint_eq(c->port_min, 1);
	ck_assert_uint_eq(c->port_max, 65535);
	ck_assert_uint_eq(c->nagents, 3);
	p = cfg_relay_policy(c, "home-nas");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->nports, 2);
	ck_assert_uint_eq(p->ports[0], 10445);
	ck_assert_uint_eq(p->ports[1], 10080);
	ck_assert_uint_eq(p->auto_ports, 0);
	p = cfg_relay_policy(c, "office.pc_2");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->nports, 2);
	ck_assert_uint_eq(p->ports[0], 1);
	ck_assert_uint_eq(p->ports[1], 65535);
	ck_assert_uint_eq(p->auto_ports, 3);
	p = cfg_relay_policy(c, "banned");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->nports, 0);
	ck_assert_ptr_null(cfg_relay_policy(c, "home"));
	/* A listed identity claims only its ports, others the range but
	 * not a port listed for someone else. */
	ck_assert_int_eq(cfg_relay_port_allowed(c, "home-nas", 10445), 1);
	ck_assert_int_eq(cfg_relay_port_allowed(c, "home-nas", 10446), 0);
	ck_assert_int_eq(cfg_relay_port_allowed(c, "banned", 10445), 0);
	ck_assert_int_eq(cfg_relay_port_allowed(c, "home", 10446), 1);
	ck_assert_int_eq(cfg_relay_port_allowed(c, "home", 2), 1);
	ck_assert_int_eq(cfg_relay_port_allowed(c, "home", 1), 0);
	ck_assert_int_eq(cfg_relay_port_allowed(c, "home", 10445), 0);
	ck_assert_int_eq(cfg_relay_port_listed(c, 1), 1);
	ck_assert_int_eq(cfg_relay_port_listed(c, 10080), 1);
	ck_assert_int_eq(cfg_relay_port_listed(c, 2), 0);
	/* Grants: auto ports and the total of a listed identity come from
	 * its entry, the others' from limits. */
	ck_assert_uint_eq(cfg_relay_auto_ports(c, "home-nas"), 0);
	ck_assert_uint_eq(cfg_relay_port_cap(c, "home-nas"), 2);
	ck_assert_uint_eq(cfg_relay_auto_ports(c, "office.pc_2"), 3);
	ck_assert_uint_eq(cfg_relay_port_cap(c, "office.pc_2"), 5);
	ck_assert_uint_eq(cfg_relay_port_cap(c, "banned"), 0);
	ck_assert_uint_eq(cfg_relay_auto_ports(c, "home"), 0);
	ck_assert_uint_eq(cfg_relay_port_cap(c, "home"), 65535);
	ck_assert_uint_eq(c->max_streams_per_agent, 1);
	ck_assert_uint_eq(c->streams_per_service, 1);
	ck_assert_uint_eq(c->ports_per_agent, 65535);
	ck_assert_uint_eq(c->auto_ports_per_agent, 0);
	ck_assert_uint_eq(c->stream_window, 16384);
	ck_assert_uint_eq(c->stream_window_max, 1024 * 1024 * 1024);
	ck_assert_uint_eq(c->tunnel_window, 16384);
	ck_assert_uint_eq(c->tunnel_buffer, 1048576);
	ck_assert_uint_eq(c->max_frame, 1048576);
	ck_assert_uint_eq(c->max_agents, 100000);
	ck_assert_uint_eq(c->handshakes, 1);
	ck_assert_uint_eq(c->connections_per_source, 0);
	ck_assert_uint_eq(c->handshake_timeout_ms, 500);
	ck_assert_uint_eq(c->shutdown_timeout_ms, 0);
	ck_assert_uint_eq(c->port_grace_ms, 3600000);
	ck_assert_uint_eq(c->stall_timeout_ms, 0);
	ck_assert_uint_eq(c->half_closed_timeout_ms, 24 * 3600 * 1000);
	ck_assert_uint_eq(c->idle_timeout_ms, 300000);
	ck_assert_uint_eq(c->ping_interval_ms, 300000);
	ck_assert_uint_eq(c->ping_misses, 100);
	ck_assert_int_eq(c->workers, 64);
	ck_assert_int_eq(c->log_level, LOG_LEVEL_DEBUG);
	cfg_relay_free(c);

	/* Empty sections are absent sections; "*" listens everywhere. */
	c = load_ok("listen: \"*:4443\"\n"
	    "tls: {cert: a, key: b, ca: c}\n"
	    "public: {port_range: 5-5}\n"
	    "agents:\n"
	    "limits:\n"
	    "workers: auto\n"
	    "log: {level: error}\n");
	ck_assert_int_eq(c->listen.any, 1);
	ck_assert_uint_eq(c->listen.port, 4443);
	ck_assert_uint_eq(c->nagents, 0);
	ck_assert_uint_eq(c->stream_window, 512 * 1024);
	ck_assert_int_eq(c->log_level, LOG_LEVEL_ERROR);
	cfg_relay_free(c);
}
END_TEST

/* config/relay.yaml parses as shipped; its certs need not exist. */
START_TEST(test_example)
{
	struct relay_config *c = NULL;
	const struct relay_policy *p;
	char path[2 * PATH_MAX], want[4 * PATH_MAX], err[512] = "", buf[64];

	cfgtest_example("relay.yaml", path, sizeof(path));
	ck_assert_msg(cfg_relay_load(path, &c, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_str_eq(cfg_addr_str(&c->listen, buf, sizeof(buf)),
	    "0.0.0.0:4443");
	*strrchr(path, '/') = '\0';
	/* The names atlax-pki issue writes; no CRL until one is made. */
	snprintf(want, sizeof(want), "%s/relay.example.com.crt", path);
	ck_assert_str_eq(c->tls_cert, want);
	snprintf(want, sizeof(want), "%s/relay.example.com.key", path);
	ck_assert_str_eq(c->tls_key, want);
	snprintf(want, sizeof(want), "%s/ca.crt", path);
	ck_assert_str_eq(c->tls_ca, want);
	ck_assert_ptr_null(c->tls_crl);
	ck_assert_str_eq(c->public_bind, "0.0.0.0");
	ck_assert_uint_eq(c->port_min, 10000);
	ck_assert_uint_eq(c->port_max, 20000);
	p = cfg_relay_policy(c, "home-nas");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->nports, 2);
	ck_assert_uint_eq(p->ports[0], 10445);
	ck_assert_uint_eq(p->ports[1], 10080);
	/* config/agent.yaml asks for both by number; one more port may be
	 * picked by the relay for a service without remote_port. */
	ck_assert_uint_eq(p->auto_ports, 1);
	ck_assert_uint_eq(c->max_streams_per_agent, 4096);
	ck_assert_uint_eq(c->stream_window, 512 * 1024);
	ck_assert_uint_eq(c->tunnel_window, 32 * 1024 * 1024);
	ck_assert_int_eq(c->workers, 0);
	ck_assert_int_eq(c->log_level, LOG_LEVEL_INFO);
	cfg_relay_free(c);
}
END_TEST

START_TEST(test_structure_errors)
{
	/* The brief's own examples. */
	load_bad("listen: \"0.0.0.0:4443\"\n"
	    "tls: {cert: a, key: b, ca: c}\n"
	    "public:\n"
	    "  bind: \"0.0.0.0\"\n"
	    "\n"
	    "\n"
	    "  port_range: \"20000-10000\"\n",
	    ":7:15: public.port_range: start 20000 is greater than end 10000");
	load_bad("tls: {cert: a, key: b, ca: c}\n"
	    "public: {port_range: 1-2}\n",
	    ":1:1: listen: missing required key");
	/* Unknown keys, at the top and inside a section. */
	load_bad(MIN "tlss: 1\n", ":8:1: tlss: unknown key");
	load_bad(MIN "limits:\n  stream_windw: 64KiB\n",
	    ":9:3: limits.stream_windw: unknown key");
	load_bad(MIN "agents:\n  a:\n    ports: [10000]\n    port: 1\n",
	    ":11:5: agents.a.port: unknown key");
	/* Missing required keys inside sections. */
	load_bad("listen: \"0.0.0.0:4443\"\n"
	    "tls:\n  cert: a\n  ca: b\n"
	    "public: {port_range: 1-2}\n",
	    ":3:3: tls.key: missing required key");
	load_bad("listen: \"0.0.0.0:4443\"\n"
	    "tls: {cert: a, key: b, ca: c}\n"
	    "public:\n  bind: \"::\"\n",
	    ":4:3: public.port_range: missing required key");
	load_bad("listen: \"0.0.0.0:4443\"\n"
	    "tls:\n"
	    "public: {port_range: 1-2}\n",
	    ":2:5: tls.cert: missing required key");
	load_bad(MIN "agents:\n  a:\n", ":9:3: agents.a.ports: missing "
	    "required key");
	/* Wrong types. */
	load_bad("listen: {host: a}\n", ":1:9: listen: expected an address "
	    "(host:port), not a mapping");
	load_bad("listen: [::1]:4443\n", ":1:10: syntax error: did not find "
	    "expected node content (while parsing a flow node at line 1)");
	load_bad("listen: [\"a:1\"]\n", ":1:9: listen: expected an address "
	    "(host:port), not a sequence");
	load_bad("listen: \"0.0.0.0:4443\"\ntls: relay.crt\n",
	    ":2:6: tls: expected a mapping, not a value");
	load_bad(MIN "agents: [a, b]\n", ":8:9: agents: expected a mapping, "
	    "not a sequence");
	load_bad(MIN "agents:\n  a: [10000]\n", ":9:6: agents.a: expected a "
	    "mapping, not a sequence");
	load_bad(MIN "agents:\n  a:\n    ports: 10000\n", ":10:12: "
	    "agents.a.ports: expected a sequence, not a value");
	load_bad(MIN "agents:\n  a:\n    ports: [[1]]\n", ":10:13: "
	    "agents.a.ports[0]: expected a port number, not a sequence");
	load_bad(MIN "log:\n  level: [info]\n", ":9:10: log.level: expected "
	    "a log level, not a sequence");
	load_bad(MIN "workers: {n: 1}\n", ":8:10: workers: expected auto or "
	    "a number, not a mapping");
	/* Empty values. */
	load_bad("listen:\ntls: {cert: a, key: b, ca: c}\n",
	    ":1:8: listen: missing value");
	load_bad(MIN "log:\n  level: ~\n", ":9:10: log.level: missing value");
	load_bad("listen: \"\"\n", ":1:9: listen: missing value");
	/* Duplicate mapping keys, at any depth. */
	load_bad(MIN "listen: \"0.0.0.0:4443\"\n", ":8:1: listen: duplicate "
	    "key (first at line 1)");
	load_bad(MIN "log:\n  level: info\n  level: debug\n",
	    ":10:3: log.level: duplicate key (first at line 9)");
	load_bad(MIN "agents:\n  a:\n    ports: [10000]\n  a:\n"
	    "    ports: [10001]\n", ":11:3: agents.a: duplicate key (first at "
	    "line 9)");
}
END_TEST

START_TEST(test_value_errors)
{
	/* Addresses and ports. */
	load_bad("listen: \"0.0.0.0\"\n", ":1:9: listen: \"0.0.0.0\": missing "
	    ":port");
	load_bad("listen: \"0.0.0.0:70000\"\n", ":1:9: listen: port 70000 out "
	    "of range 1..65535");
	load_bad("listen: \"0.0.0.0:0\"\n", ":1:9: listen: port 0 out of "
	    "range 1..65535");
	load_bad("listen: \"::1:4443\"\n", ":1:9: listen: \"::1:4443\": an "
	    "IPv6 address must be in brackets ([::1]:port)");
	load_bad("listen: \"bad host:1\"\n", ":1:9: listen: \"bad host:1\": "
	    "bad host name");
	load_bad("listen: \"0.0.0.0:4443\"\n"
	    "tls: {cert: a, key: b, ca: c}\n"
	    "public:\n  bind: \"0.0.0\"\n  port_range: 1-2\n",
	    ":4:9: public.bind: \"0.0.0\" is not an IP address");
	load_bad("listen: \"0.0.0.0:4443\"\n"
	    "tls: {cert: a, key: b, ca: c}\n"
	    "public: {port_range: 0-10}\n",
	    ":3:22: public.port_range: port 0 out of range 1..65535");
	load_bad("listen: \"0.0.0.0:4443\"\n"
	    "tls: {cert: a, key: b, ca: c}\n"
	    "public: {port_range: 10000}\n",
	    ":3:22: public.port_range: \"10000\" is not a port range "
	    "(start-end, e.g. 10000-20000)");
	load_bad(MIN "agents:\n  a:\n    ports: [70000]\n",
	    ":10:13: agents.a.ports[0]: port 70000 out of range 1..65535");
	load_bad(MIN "agents:\n  a:\n    ports: [10000, 0]\n",
	    ":10:20: agents.a.ports[1]: port 0 out of range 1..65535");
	load_bad(MIN "agents:\n  a:\n    ports: [http]\n",
	    ":10:13: agents.a.ports[0]: \"http\" is not a port number");
	load_bad(MIN "agents:\n  a:\n    ports: [10000, 10000]\n",
	    ":10:20: agents.a.ports[1]: port 10000 listed twice");
	/* Identities. */
	load_bad(MIN "agents:\n  -bad:\n    ports: []\n",
	    ":9:3: agents.-bad: bad identity \"-bad\" (letters, digits, '.', "
	    "'_', '-', starting with a letter or digit, at most 64)");
	load_bad(MIN "agents:\n  \"a b\":\n    ports: []\n",
	    ":9:3: agents.a b: bad identity \"a b\" (letters, digits, '.', "
	    "'_', '-', starting with a letter or digit, at most 64)");
	/* Durations, sizes, numbers, levels. */
	load_bad(MIN "timeouts:\n  handshake: 10\n", ":9:14: "
	    "timeouts.handshake: \"10\" needs a unit (ms, s, m, h)");
	load_bad(MIN "timeouts:\n  handshake: 10 s\n", ":9:14: "
	    "timeouts.handshake: \"10 s\" is not a duration (ms, s, m, h)");
	load_bad(MIN "timeouts:\n  port_grace: 99999999999999999999s\n",
	    ":9:15: timeouts.port_grace: \"99999999999999999999s\" is too "
	    "large");
	load_bad(MIN "timeouts:\n  handshake: 50ms\n", ":9:14: "
	    "timeouts.handshake: 50ms out of range 100ms..1h");
	load_bad(MIN "timeouts:\n  port_grace: 25h\n", ":9:15: "
	    "timeouts.port_grace: 25h out of range 0..24h");
	load_bad(MIN "limits:\n  stream_window: lots\n", ":9:18: "
	    "limits.stream_window: \"lots\" is not a size (bytes, KiB, MiB, "
	    "GiB, KB, MB, GB)");
	load_bad(MIN "limits:\n  stream_window: 8KiB\n", ":9:18: "
	    "limits.stream_window: 8KiB out of range 16KiB..16MiB");
	load_bad(MIN "limits:\n  stream_window: 17MiB\n", ":9:18: "
	    "limits.stream_window: 17MiB out of range 16KiB..16MiB");
	load_bad(MIN "limits:\n  max_frame: 1023\n", ":9:14: "
	    "limits.max_frame: 1023 out of range 1KiB..1MiB");
	load_bad(MIN "limits:\n  max_frame: 2MiB\n", ":9:14: "
	    "limits.max_frame: 2MiB out of range 1KiB..1MiB");
	load_bad(MIN "limits:\n  tunnel_window: 99999999999999999999GiB\n",
	    ":9:18: limits.tunnel_window: \"99999999999999999999GiB\" is too "
	    "large");
	load_bad(MIN "limits:\n  max_streams_per_agent: 0\n", ":9:26: "
	    "limits.max_streams_per_agent: 0 out of range 1..1000000");
	load_bad(MIN "limits:\n  max_streams_per_agent: "
	    "99999999999999999999\n", ":9:26: limits.max_streams_per_agent: "
	    "99999999999999999999 out of range 1..1000000");
	load_bad(MIN "limits:\n  max_agents: -1\n", ":9:15: "
	    "limits.max_agents: \"-1\" is not a number");
	load_bad(MIN "limits:\n  tunnel_buffer: 255KiB\n", ":9:18: "
	    "limits.tunnel_buffer: 255KiB out of range 256KiB..1GiB");
	load_bad(MIN "limits:\n  stream_window_max: 2GiB\n", ":9:22: "
	    "limits.stream_window_max: 2GiB out of range 16KiB..1GiB");
	load_bad(MIN "limits:\n  streams_per_service: 0\n", ":9:24: "
	    "limits.streams_per_service: 0 out of range 1..1000000");
	load_bad(MIN "limits:\n  handshakes: 0\n", ":9:15: "
	    "limits.handshakes: 0 out of range 1..100000");
	load_bad(MIN "limits:\n  connections_per_source: -1\n", ":9:27: "
	    "limits.connections_per_source: \"-1\" is not a number");
	load_bad(MIN "limits:\n  ports_per_agent: 65536\n", ":9:20: "
	    "limits.ports_per_agent: 65536 out of range 0..65535");
	load_bad(MIN "limits:\n  auto_ports_per_agent: many\n", ":9:25: "
	    "limits.auto_ports_per_agent: \"many\" is not a number");
	load_bad(MIN "agents:\n  a:\n    ports: []\n    auto: 70000\n",
	    ":11:11: agents.a.auto: 70000 out of range 0..65535");
	load_bad(MIN "timeouts:\n  stall: 25h\n", ":9:10: timeouts.stall: "
	    "25h out of range 0..24h");
	load_bad(MIN "timeouts:\n  half_closed: 60\n", ":9:16: "
	    "timeouts.half_closed: \"60\" needs a unit (ms, s, m, h)");
	load_bad(MIN "timeouts:\n  idle: forever\n", ":9:9: timeouts.idle: "
	    "\"forever\" is not a duration (ms, s, m, h)");
	load_bad(MIN "keepalive:\n  misses: 0\n", ":9:11: keepalive.misses: "
	    "0 out of range 1..100");
	load_bad(MIN "keepalive:\n  misses: 101\n", ":9:11: "
	    "keepalive.misses: 101 out of range 1..100");
	load_bad(MIN "workers: 0\n", ":8:10: workers: 0 out of range 1..64");
	load_bad(MIN "workers: 65\n", ":8:10: workers: 65 out of range "
	    "1..64");
	load_bad(MIN "workers: many\n", ":8:10: workers: \"many\" is not auto "
	    "or a number 1..64");
	load_bad(MIN "log:\n  level: loud\n", ":9:10: log.level: \"loud\" is "
	    "not a log level (error, warn, info, debug)");
	load_bad(MIN "log:\n  level: INFO\n", ":9:10: log.level: \"INFO\" is "
	    "not a log level (error, warn, info, debug)");
}
END_TEST

START_TEST(test_cross_key_errors)
{
	load_bad(MIN "agents:\n  home-nas:\n    ports: [10445, 30000]\n",
	    ":10:20: agents.home-nas.ports[1]: port 30000 is outside "
	    "public.port_range 10000-20000");
	load_bad(MIN "agents:\n  a:\n    ports: [9999]\n",
	    ":10:13: agents.a.ports[0]: port 9999 is outside "
	    "public.port_range 10000-20000");
	/* The range may come after the agents. */
	load_bad("listen: \"0.0.0.0:4443\"\n"
	    "tls: {cert: a, key: b, ca: c}\n"
	    "agents:\n  a:\n    ports: [20001]\n"
	    "public: {port_range: 10000-20000}\n",
	    ":5:13: agents.a.ports[0]: port 20001 is outside "
	    "public.port_range 10000-20000");
	load_bad(MIN "agents:\n  a:\n    ports: [10000]\n"
	    "  b:\n    ports: [10001, 10000]\n",
	    ":12:20: agents.b.ports[1]: port 10000 is also given to agents.a");
	load_bad(MIN "limits:\n  stream_window: 1MiB\n  tunnel_window: 512KiB\n",
	    ":10:18: limits.tunnel_window: 512KiB is smaller than "
	    "limits.stream_window 1MiB");
	/* Against a default, the default is quoted in its own syntax. */
	load_bad(MIN "limits:\n  stream_window_max: 256KiB\n",
	    ":9:22: limits.stream_window_max: 256KiB is smaller than "
	    "limits.stream_window 512KiB");
	load_bad(MIN "limits:\n  stream_window: 2MiB\n"
	    "  stream_window_max: 1MiB\n",
	    ":10:22: limits.stream_window_max: 1MiB is smaller than "
	    "limits.stream_window 2MiB");
	load_bad(MIN "limits:\n  max_frame: 1MiB\n  tunnel_buffer: 512KiB\n",
	    ":10:18: limits.tunnel_buffer: 512KiB is smaller than "
	    "limits.max_frame 1MiB");
	load_bad(MIN "limits:\n  streams_per_service: 5000\n",
	    ":9:24: limits.streams_per_service: 5000 is greater than "
	    "limits.max_streams_per_agent 4096");
	load_bad(MIN "limits:\n  max_streams_per_agent: 100\n"
	    "  streams_per_service: 200\n",
	    ":10:24: limits.streams_per_service: 200 is greater than "
	    "limits.max_streams_per_agent 100");
	load_bad(MIN "limits:\n  auto_ports_per_agent: 5\n"
	    "  ports_per_agent: 2\n",
	    ":9:25: limits.auto_ports_per_agent: 5 is greater than "
	    "limits.ports_per_agent 2");
	load_bad(MIN "limits:\n  auto_ports_per_agent: 17\n",
	    ":9:25: limits.auto_ports_per_agent: 17 is greater than "
	    "limits.ports_per_agent 16");
}
END_TEST

/* A default never contradicts a smaller value the file sets: files that
 * set only the older keys keep loading. */
START_TEST(test_defaults_give_way)
{
	struct relay_config *c;

	c = load_ok(MIN "limits:\n  max_streams_per_agent: 100\n"
	    "  ports_per_agent: 2\n");
	ck_assert_uint_eq(c->streams_per_service, 100);
	ck_assert_uint_eq(c->auto_ports_per_agent, 2);
	cfg_relay_free(c);
	c = load_ok(MIN "limits:\n  ports_per_agent: 0\n");
	ck_assert_uint_eq(c->auto_ports_per_agent, 0);
	ck_assert_uint_eq(cfg_relay_port_cap(c, "anyone"), 0);
	cfg_relay_free(c);
}
END_TEST

START_TEST(test_file_errors)
{
	struct relay_config *c = NULL;
	char path[2 * PATH_MAX], want[4 * PATH_MAX], err[512];

	load_bad("", ":1:1: empty configuration");
	load_bad("# nothing here\n", ":1:1: empty configuration");
	load_bad("- listen\n", ":1:1: the top level must be a mapping of keys, "
	    "not a sequence");
	load_bad("listen: \"0.0.0.0:4443\"\n  tls: 1\n", ":2:3: syntax error: "
	    "did not find expected key (while parsing a block mapping at line "
	    "1)");
	load_bad("listen: &l \"0.0.0.0:4443\"\n", ":1:9: anchors (&name) are "
	    "not allowed");
	load_bad("listen: *l\n", ":1:9: aliases (*name) are not allowed");
	load_bad(MIN "---\n" MIN, ":8:1: only one YAML document is allowed");

	snprintf(path, sizeof(path), "%s/missing.yaml", cfgtest_dir);
	ck_assert_int_eq(cfg_relay_load(path, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(cfg_relay_load(cfgtest_dir, &c, err, sizeof(err)),
	    -1);
	snprintf(want, sizeof(want), "%s: not a regular file", cfgtest_dir);
	ck_assert_str_eq(err, want);
	cfgtest_write_big("relay.yaml", CFG_FILE_MAX + 1);
	ck_assert_int_eq(cfg_relay_load(cfgtest_path, &c, err, sizeof(err)),
	    -1);
	snprintf(want, sizeof(want), "%s: file too large (1048577 bytes, max "
	    "1048576)", cfgtest_path);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(c);
}
END_TEST

/* auth.jwt: values, defaults, and the secret checked when loading. */
START_TEST(test_jwt)
{
	struct relay_config *c;
	char want[4 * PATH_MAX];
	int i;

	c = load_ok(MIN);
	ck_assert_int_eq(c->jwt.enabled, 0);
	ck_assert_ptr_null(c->jwt.hs256_secret_file);
	ck_assert_uint_eq(c->jwt.nes256_keys, 0);
	ck_assert_ptr_null(c->jwt.issuer);
	ck_assert_ptr_null(c->jwt.audience);
	ck_assert_ptr_null(c->jwt.denylist);
	ck_assert_uint_eq(c->jwt.leeway_ms, 60000);
	cfg_relay_free(c);
	c = load_ok(MIN "auth:\n  jwt:\n");
	ck_assert_int_eq(c->jwt.enabled, 0);
	cfg_relay_free(c);

	/* 32 bytes and a newline: the shortest secret allowed. */
	cfgtest_write("jwt.secret", "0123456789abcdef0123456789abcdef\n");
	/* Like a key: refused while group or others may read it. */
	snprintf(want, sizeof(want), ":10:24: auth.jwt.hs256_secret_file: "
	    "%s/jwt.secret: permissions 0644 are too open (group or others "
	    "may access it); chmod 600 it", cfgtest_dir);
	ck_assert_int_eq(chmod(cfgtest_path, 0644), 0);
	load_bad(MIN "auth:\n  jwt:\n    hs256_secret_file: jwt.secret\n",
	    want);
	cfgtest_write("jwt.secret", "0123456789abcdef0123456789abcdef\n");
	ck_assert_int_eq(chmod(cfgtest_path, 0600), 0);
	c = load_ok(MIN "auth:\n  jwt:\n    hs256_secret_file: jwt.secret\n"
	    "    es256_public_keys:\n      - a.pub\n      - /etc/atlax/b.pub\n"
	    "    issuer: https://id.example\n    audience: atlax\n"
	    "    leeway: 5s\n    denylist: deny.txt\n");
	ck_assert_int_eq(c->jwt.enabled, 1);
	snprintf(want, sizeof(want), "%s/jwt.secret", cfgtest_dir);
	ck_assert_str_eq(c->jwt.hs256_secret_file, want);
	ck_assert_uint_eq(c->jwt.nes256_keys, 2);
	snprintf(want, sizeof(want), "%s/a.pub", cfgtest_dir);
	ck_assert_str_eq(c->jwt.es256_keys[0], want);
	ck_assert_str_eq(c->jwt.es256_keys[1], "/etc/atlax/b.pub");
	ck_assert_str_eq(c->jwt.issuer, "https://id.example");
	ck_assert_str_eq(c->jwt.audience, "atlax");
	ck_assert_uint_eq(c->jwt.leeway_ms, 5000);
	snprintf(want, sizeof(want), "%s/deny.txt", cfgtest_dir);
	ck_assert_str_eq(c->jwt.denylist, want);
	cfg_relay_free(c);
	/* ES256 alone: the key files are read when the relay starts. */
	c = load_ok(MIN "auth:\n  jwt:\n    es256_public_keys: [k.pub]\n");
	ck_assert_int_eq(c->jwt.enabled, 1);
	ck_assert_ptr_null(c->jwt.hs256_secret_file);
	cfg_relay_free(c);

	/* A secret of 31 bytes (CRLF does not count), one missing, one too
	 * long, a folder. */
	cfgtest_write("short.secret", "0123456789abcdef0123456789abcde\r\n");
	ck_assert_int_eq(chmod(cfgtest_path, 0600), 0);
	snprintf(want, sizeof(want), ":10:24: auth.jwt.hs256_secret_file: "
	    "%s/short.secret: secret of 31 bytes, at least 32 are needed "
	    "(atlax-pki keygen --hs256 makes one)", cfgtest_dir);
	load_bad(MIN "auth:\n  jwt:\n    hs256_secret_file: short.secret\n",
	    want);
	snprintf(want, sizeof(want), ":10:24: auth.jwt.hs256_secret_file: "
	    "%s/none.secret: No such file or directory", cfgtest_dir);
	load_bad(MIN "auth:\n  jwt:\n    hs256_secret_file: none.secret\n",
	    want);
	cfgtest_write_big("long.secret", CFG_SECRET_MAX + 2);
	ck_assert_int_eq(chmod(cfgtest_path, 0600), 0);
	snprintf(want, sizeof(want), ":10:24: auth.jwt.hs256_secret_file: "
	    "%s/long.secret: secret longer than 4096 bytes", cfgtest_dir);
	load_bad(MIN "auth:\n  jwt:\n    hs256_secret_file: long.secret\n",
	    want);
	snprintf(want, sizeof(want), ":10:24: auth.jwt.hs256_secret_file: "
	    "%s/.: not a regular file", cfgtest_dir);
	load_bad(MIN "auth:\n  jwt:\n    hs256_secret_file: .\n", want);
	/* 4096 bytes and a newline still load. */
	{
		char *big = malloc(CFG_SECRET_MAX + 2);

		for (i = 0; i < CFG_SECRET_MAX; i++)
			big[i] = 'a' + i % 26;
		big[CFG_SECRET_MAX] = '\n';
		big[CFG_SECRET_MAX + 1] = '\0';
		cfgtest_write("max.secret", big);
		ck_assert_int_eq(chmod(cfgtest_path, 0600), 0);
		free(big);
		c = load_ok(MIN "auth:\n  jwt:\n    hs256_secret_file: "
		    "max.secret\n");
		cfg_relay_free(c);
	}

	/* The rest of the section. */
	load_bad(MIN "auth:\n  jwt: {}\n", ":9:8: auth.jwt: needs "
	    "hs256_secret_file or es256_public_keys");
	load_bad(MIN "auth:\n  jwt:\n    issuer: me\n", ":10:5: auth.jwt: "
	    "needs hs256_secret_file or es256_public_keys");
	load_bad(MIN "auth:\n  jwt:\n    es256_public_keys: []\n", ":10:24: "
	    "auth.jwt.es256_public_keys: at least one key file is needed");
	load_bad(MIN "auth:\n  jwt:\n    es256_public_keys: k.pub\n",
	    ":10:24: auth.jwt.es256_public_keys: expected a sequence, not a "
	    "value");
	load_bad(MIN "auth:\n  jwt:\n    es256_public_keys: [a, {b: c}]\n",
	    ":10:28: auth.jwt.es256_public_keys[1]: expected a path, not a "
	    "mapping");
	load_bad(MIN "auth:\n  jwt:\n    es256_public_keys: [a]\n"
	    "    leeway: 2h\n", ":11:13: auth.jwt.leeway: 2h out of range "
	    "0..1h");
	load_bad(MIN "auth:\n  jwt:\n    es256_public_keys: [a]\n"
	    "    secret: x\n", ":11:5: auth.jwt.secret: unknown key");
	load_bad(MIN "auth:\n  oidc: {}\n", ":9:3: auth.oidc: unknown key");
}
END_TEST

/* A relative config path: its folder is resolved, paths become absolute. */
START_TEST(test_relative_path)
{
	struct relay_config *c = NULL;
	char want[4 * PATH_MAX], err[512] = "";

	cfgtest_write("relay.yaml", MIN);
	ck_assert_int_eq(chdir(cfgtest_dir), 0);
	ck_assert_msg(cfg_relay_load("relay.yaml", &c, err, sizeof(err)) == 0,
	    "%s", err);
	snprintf(want, sizeof(want), "%s/relay.crt", cfgtest_dir);
	ck_assert_str_eq(c->tls_cert, want);
	ck_assert_str_eq(c->path, "relay.yaml");
	cfg_relay_free(c);
	ck_assert_int_eq(chdir("/"), 0);
}
END_TEST

/* From memory: the same walk, paths from the folder given. */
START_TEST(test_parse_memory)
{
	struct relay_config *c = NULL;
	const char *bad = MIN "tlss: 1\n";
	char err[512] = "";

	ck_assert_int_eq(cfg_relay_parse("mem.yaml", MIN, strlen(MIN),
	    "/etc/atlax", &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c->path, "mem.yaml");
	ck_assert_str_eq(c->tls_cert, "/etc/atlax/relay.crt");
	ck_assert_str_eq(c->tls_ca, "/etc/atlax/sub/ca.crt");
	cfg_relay_free(c);
	c = NULL;
	ck_assert_int_eq(cfg_relay_parse("mem.yaml", bad, strlen(bad),
	    "/etc/atlax", &c, err, sizeof(err)), -1);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(err, "mem.yaml:8:1: tlss: unknown key");
	/* Only len bytes are read. */
	ck_assert_int_eq(cfg_relay_parse("mem.yaml", bad, strlen(MIN),
	    "/etc/atlax", &c, err, sizeof(err)), 0);
	cfg_relay_free(c);
}
END_TEST

/* Private services: agents.<id>.connect / expose, limits.forward_streams. */
START_TEST(test_private_grants)
{
	struct relay_config *c;
	const struct relay_policy *p;

	c = load_ok(MIN);
	ck_assert_uint_eq(c->forward_streams, 256);
	/* Nobody reaches anything by default; one's own name needs no grant,
	 * a group does. */
	ck_assert_int_eq(cfg_relay_may_connect(c, "a", "b", "db"), 0);
	ck_assert_int_eq(cfg_relay_may_expose(c, "a", "a", "db"), 1);
	ck_assert_int_eq(cfg_relay_may_expose(c, "a", "grp", "db"), 0);
	cfg_relay_free(c);

	c = load_ok(MIN "limits:\n  forward_streams: 0\n"	/* line 8 */
	    "agents:\n"
	    "  office:\n"
	    "    ports: []\n"
	    "    connect: [ \"home-db/postgres\", \"nas/smb\" ]\n"
	    "  db1:\n"
	    "    ports: []\n"
	    "    expose: [ \"home-db/postgres\", metrics ]\n"
	    "  db2:\n"
	    "    ports: []\n"
	    "    expose: []\n");
	ck_assert_uint_eq(c->forward_streams, 0);
	p = cfg_relay_policy(c, "office");
	ck_assert_uint_eq(p->nconnect, 2);
	ck_assert_int_eq(p->expose_set, 0);
	ck_assert_int_eq(cfg_relay_may_connect(c, "office", "home-db",
	    "postgres"), 1);
	ck_assert_int_eq(cfg_relay_may_connect(c, "office", "nas", "smb"), 1);
	ck_assert_int_eq(cfg_relay_may_connect(c, "office", "nas", "sm"), 0);
	ck_assert_int_eq(cfg_relay_may_connect(c, "office", "home", "db"), 0);
	ck_assert_int_eq(cfg_relay_may_connect(c, "db1", "home-db",
	    "postgres"), 0);
	/* expose absent: anything of its own. */
	ck_assert_int_eq(cfg_relay_may_expose(c, "office", "office", "x"), 1);
	ck_assert_int_eq(cfg_relay_may_expose(c, "office", "home-db",
	    "postgres"), 0);
	/* expose set: only what it lists, bare names being its own. */
	ck_assert_int_eq(cfg_relay_may_expose(c, "db1", "home-db",
	    "postgres"), 1);
	ck_assert_int_eq(cfg_relay_may_expose(c, "db1", "db1", "metrics"), 1);
	ck_assert_int_eq(cfg_relay_may_expose(c, "db1", "db1", "other"), 0);
	ck_assert_int_eq(cfg_relay_may_expose(c, "db1", "home-db", "mysql"),
	    0);
	/* expose: [] serves nothing private. */
	ck_assert_int_eq(cfg_relay_may_expose(c, "db2", "db2", "metrics"), 0);
	cfg_relay_free(c);

	load_bad(MIN "agents:\n  a:\n    ports: []\n    connect: [ db ]\n",
	    ":11:16: agents.a.connect[0]: \"db\" is not OWNER/SERVICE (two "
	    "identities joined by '/', at most 64 in all)");
	load_bad(MIN "agents:\n  a:\n    ports: []\n    connect: [ \"a/b/c\" ]\n",
	    ":11:16: agents.a.connect[0]: \"a/b/c\" is not OWNER/SERVICE (two "
	    "identities joined by '/', at most 64 in all)");
	load_bad(MIN "agents:\n  a:\n    ports: []\n"
	    "    expose: [ \"g/db\", \"g/db\" ]\n",
	    ":11:23: agents.a.expose[1]: \"g/db\" listed twice");
	load_bad(MIN "agents:\n  a:\n    ports: []\n    expose: \"g/db\"\n",
	    ":11:13: agents.a.expose: expected a sequence, not a value");
	load_bad(MIN "limits:\n  forward_streams: -1\n", ":9:20: "
	    "limits.forward_streams: \"-1\" is not a number");
}
END_TEST

/* admin: off unless listen is given; loopback unless allow_remote; the
 * token file guarded like a private key. */
START_TEST(test_admin)
{
	struct relay_config *c;
	char path[PATH_MAX + 64], want[2 * PATH_MAX + 256];

	c = load_ok(MIN);
	ck_assert_int_eq(c->admin.enabled, 0);
	ck_assert_ptr_null(c->admin.token_file);
	cfg_relay_free(c);

	c = load_ok(MIN "admin:\n  listen: \"127.0.0.1:9190\"\n");
	ck_assert_int_eq(c->admin.enabled, 1);
	ck_assert_str_eq(c->admin.listen.host, "127.0.0.1");
	ck_assert_uint_eq(c->admin.listen.port, 9190);
	ck_assert_int_eq(c->admin.allow_remote, 0);
	cfg_relay_free(c);

	c = load_ok(MIN "admin:\n  listen: \"[::1]:9190\"\n");
	cfg_relay_free(c);
	c = load_ok(MIN "admin:\n  listen: \"0.0.0.0:9190\"\n"
	    "  allow_remote: true\n");
	ck_assert_int_eq(c->admin.allow_remote, 1);
	cfg_relay_free(c);

	load_bad(MIN "admin:\n  listen: \"0.0.0.0:9190\"\n",
	    ":9:11: admin.listen: \"0.0.0.0\" is not a loopback address "
	    "(the endpoint shows every tunnel: set admin.allow_remote: true "
	    "to listen there)");
	load_bad(MIN "admin:\n  listen: \"192.0.2.1:9190\"\n"
	    "  allow_remote: false\n",
	    ":9:11: admin.listen: \"192.0.2.1\" is not a loopback address "
	    "(the endpoint shows every tunnel: set admin.allow_remote: true "
	    "to listen there)");
	load_bad(MIN "admin:\n  listen: \"127.0.0.1:9190\"\n"
	    "  allow_remote: yes\n",
	    ":10:17: admin.allow_remote: \"yes\" is not true or false");
	load_bad(MIN "admin:\n  token_file: t\n",
	    ":9:3: admin.listen: missing required key");
	load_bad(MIN "admin:\n  listen: \"127.0.0.1:9190\"\n  tls: x\n",
	    ":10:3: admin.tls: unknown key");

	/* The token: 0600 loads, 0644 is refused, empty is refused. */
	cfgtest_write("admin.token", "s3cret-token\n");
	snprintf(path, sizeof(path), "%s", cfgtest_path);
	ck_assert_int_eq(chmod(path, 0600), 0);
	c = load_ok(MIN "admin:\n  listen: \"127.0.0.1:9190\"\n"
	    "  token_file: admin.token\n");
	ck_assert_str_eq(c->admin.token_file, path);
	cfg_relay_free(c);
	ck_assert_int_eq(chmod(path, 0644), 0);
	snprintf(want, sizeof(want), ":10:15: admin.token_file: %s: "
	    "permissions 0644 are too open (group or others may access it); "
	    "chmod 600 it", path);
	load_bad(MIN "admin:\n  listen: \"127.0.0.1:9190\"\n"
	    "  token_file: admin.token\n", want);
	cfgtest_write("admin.token", "\n");
	ck_assert_int_eq(chmod(path, 0400), 0);
	snprintf(want, sizeof(want), ":10:15: admin.token_file: %s: a token "
	    "of 1..4096 bytes is needed", path);
	load_bad(MIN "admin:\n  listen: \"127.0.0.1:9190\"\n"
	    "  token_file: admin.token\n", want);
}
END_TEST

static Suite *
cfg_relay_suite(void)
{
	Suite *s = suite_create("cfg_relay");
	TCase *tc;

	tc = tcase_create("relay.yaml");
	tcase_add_checked_fixture(tc, cfgtest_setup, cfgtest_teardown);
	tcase_add_test(tc, test_minimal_defaults);
	tcase_add_test(tc, test_every_key);
	tcase_add_test(tc, test_example);
	tcase_add_test(tc, test_structure_errors);
	tcase_add_test(tc, test_value_errors);
	tcase_add_test(tc, test_cross_key_errors);
	tcase_add_test(tc, test_defaults_give_way);
	tcase_add_test(tc, test_file_errors);
	tcase_add_test(tc, test_relative_path);
	tcase_add_test(tc, test_jwt);
	tcase_add_test(tc, test_admin);
	tcase_add_test(tc, test_parse_memory);
	tcase_add_test(tc, test_private_grants);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cfg_relay_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
