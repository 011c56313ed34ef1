/*
 * check_relay_registry.c — the relay's registry: every REGISTER refusal with
 * its exact text, auto picks within an identity's grant, the grace period
 * after a tunnel is lost, the hand-over to a newer tunnel of the same
 * identity, limits, authorisation re-checked against a changed policy, and
 * what a reload takes away.  Policies are real relay.yaml text, parsed.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_relay.h"
#include "mux.h"
#include "relay_registry.h"

static struct relay_config *cfg;
static struct registry *reg;
static char text[256];

/* A relay.yaml with public.port_range range and then extra (top-level
 * YAML); replaces the current cfg. */
static void
conf(const char *range, const char *extra)
{
	struct relay_config *c = NULL;
	char buf[2048], err[512] = "";

	snprintf(buf, sizeof(buf), "listen: \"127.0.0.1:4443\"\n"
	    "tls: {cert: r.crt, key: r.key, ca: ca.crt}\n"
	    "public: {port_range: \"%s\"}\n%s", range, extra);
	ck_assert_msg(cfg_relay_parse("relay.yaml", buf, strlen(buf), "/",
	    &c, err, sizeof(err)) == 0, "%s", err);
	cfg_relay_free(cfg);
	cfg = c;
}

#define NAS	"agents:\n  home-nas:\n    ports: [10445, 10080]\n"

static void
setup(void)
{
	conf("10000-20000", NAS "limits: {max_agents: 8}\n");
	reg = registry_new();
	ck_assert_ptr_nonnull(reg);
	text[0] = '\0';
}

static void
teardown(void)
{
	registry_free(reg);
	reg = NULL;
	cfg_relay_free(cfg);
	cfg = NULL;
}

static uint32_t
claim(const char *id, uint64_t gen, const char *svc, uint16_t want,
    uint64_t now, uint16_t *port)
{
	text[0] = '\0';
	return registry_claim(reg, cfg, id, gen, svc, want, now, port, text,
	    sizeof(text));
}

START_TEST(test_refusal_texts)
{
	uint16_t p = 0;

	ck_assert_uint_eq(claim("home-nas", 1, "x", 9999, 0, &p),
	    MUX_CODE_PORT_RANGE);
	ck_assert_str_eq(text, "port 9999 outside range 10000-20000");
	ck_assert_uint_eq(claim("home-nas", 1, "smb", 10081, 0, &p),
	    MUX_CODE_PORT_DENIED);
	ck_assert_str_eq(text, "port 10081 not allowed for identity home-nas");
	ck_assert_uint_eq(claim("home-nas", 1, "smb", 10445, 0, &p),
	    MUX_CODE_NONE);
	ck_assert_uint_eq(p, 10445);
	/* Same identity, same port, another service: still taken. */
	ck_assert_uint_eq(claim("home-nas", 1, "smb2", 10445, 0, &p),
	    MUX_CODE_PORT_IN_USE);
	ck_assert_str_eq(text, "port 10445 in use");
	/* An unlisted identity may use the range, but not a taken port... */
	ck_assert_uint_eq(claim("other", 2, "w", 10081, 0, &p), MUX_CODE_NONE);
	ck_assert_uint_eq(claim("other2", 3, "w", 10081, 0, &p),
	    MUX_CODE_PORT_IN_USE);
	ck_assert_str_eq(text, "port 10081 in use");
	registry_release(reg, 10081, 2);
	ck_assert_uint_eq(claim("other", 2, "w", 10081, 0, &p), MUX_CODE_NONE);
	ck_assert_uint_eq(p, 10081);
	/* ...and never a port the policy keeps for another identity, even
	 * while that one is not connected. */
	ck_assert_uint_eq(claim("other", 2, "v", 10080, 0, &p),
	    MUX_CODE_PORT_DENIED);
	ck_assert_str_eq(text, "port 10080 not allowed for identity other");
}
END_TEST

START_TEST(test_auto_pick_and_exhaustion)
{
	uint16_t p = 0, seen[5];
	int i, j;

	/* 10080 is home-nas's by policy; the grant is not the limit here. */
	conf("10079-10083", "agents:\n  home-nas:\n    ports: [10080]\n"
	    "limits: {auto_ports_per_agent: 10, "
	    "ports_per_agent: 10}\n");
	for (i = 0; i < 4; i++) {
		ck_assert_uint_eq(claim("other", 1, i % 2 ? "a" : "b", 0, 0,
		    &seen[i]), MUX_CODE_NONE);
		ck_assert_uint_ge(seen[i], 10079);
		ck_assert_uint_le(seen[i], 10083);
		ck_assert_uint_ne(seen[i], 10080);
		for (j = 0; j < i; j++)
			ck_assert_uint_ne(seen[i], seen[j]);
	}
	ck_assert_uint_eq(claim("other", 1, "c", 0, 0, &p), MUX_CODE_NO_PORTS);
	ck_assert_str_eq(text, "no free port in range 10079-10083");
	/* The policy port is still there for its owner, by number. */
	ck_assert_uint_eq(claim("home-nas", 2, "web", 0, 0, &p),
	    MUX_CODE_PORT_DENIED);
	ck_assert_uint_eq(claim("home-nas", 2, "web", 10080, 0, &p),
	    MUX_CODE_NONE);
	registry_release(reg, seen[0], 1);
	ck_assert_uint_eq(claim("other", 1, "c", 0, 0, &p), MUX_CODE_NONE);
	ck_assert_uint_eq(p, seen[0]);
}
END_TEST

START_TEST(test_grace_period)
{
	uint64_t og;
	uint16_t p = 0, auto_port = 0;
	int ow;

	conf("10000-20000", "agents:\n  home-nas:\n    ports: [10445]\n"
	    "    auto: 1\n");
	ck_assert_int_eq(registry_attach(reg, "home-nas", 1, 0, 8, 0, 60000,
	    &og, &ow), 0);
	ck_assert_uint_eq(og, 0);
	ck_assert_int_eq(ow, -1);
	ck_assert_uint_eq(claim("home-nas", 1, "smb", 10445, 0, &p), 0);
	ck_assert_uint_eq(claim("home-nas", 1, "web", 0, 0, &auto_port), 0);
	ck_assert_uint_eq(registry_nagents(reg), 1);
	registry_detach(reg, "home-nas", 1, 1000, 60000);
	ck_assert_uint_eq(registry_nagents(reg), 0);
	/* Reserved: another identity is refused, even an auto pick. */
	ck_assert_uint_eq(claim("other", 5, "x", auto_port, 2000, &p),
	    MUX_CODE_PORT_IN_USE);
	/* The identity comes back: same ports, the auto one too. */
	ck_assert_int_eq(registry_attach(reg, "home-nas", 2, 1, 8, 3000,
	    60000, &og, &ow), 0);
	ck_assert_uint_eq(og, 0);
	ck_assert_uint_eq(claim("home-nas", 2, "smb", 10445, 3000, &p), 0);
	ck_assert_uint_eq(claim("home-nas", 2, "web", 0, 3000, &p), 0);
	ck_assert_uint_eq(p, auto_port);
	/* Lost again; once the grace period is over the port is free. */
	registry_detach(reg, "home-nas", 2, 4000, 60000);
	ck_assert_uint_eq(claim("other", 5, "x", auto_port, 63999, &p),
	    MUX_CODE_PORT_IN_USE);
	ck_assert_uint_eq(claim("other", 5, "x", auto_port, 64000, &p),
	    MUX_CODE_NONE);
}
END_TEST

START_TEST(test_ports_listed)
{
	struct registry_port out[4];
	uint64_t og;
	uint16_t p1 = 0, p2 = 0;
	int ow;

	ck_assert_uint_eq(registry_ports(reg, NULL, 0), 0);
	ck_assert_int_eq(registry_attach(reg, "home-nas", 1, 0, 8, 0, 60000,
	    &og, &ow), 0);
	ck_assert_uint_eq(claim("home-nas", 1, "web", 10080, 0, &p1), 0);
	ck_assert_uint_eq(claim("home-nas", 1, "smb", 10445, 0, &p2), 0);
	ck_assert_uint_eq(registry_ports(reg, out, 4), 2);
	ck_assert_uint_eq(out[0].port, 10080);
	ck_assert_str_eq(out[0].service, "web");
	ck_assert_str_eq(out[0].id, "home-nas");
	ck_assert_uint_eq(out[0].gen, 1);
	ck_assert_uint_eq(out[1].port, 10445);
	ck_assert_str_eq(out[1].service, "smb");
	/* Fills what fits, counts all. */
	ck_assert_uint_eq(registry_ports(reg, out, 1), 2);
	/* Reservations are no live ports. */
	registry_detach(reg, "home-nas", 1, 1000, 60000);
	ck_assert_uint_eq(registry_ports(reg, out, 4), 0);
}
END_TEST

START_TEST(test_replacement)
{
	uint64_t og;
	uint16_t p = 0;
	int ow;

	ck_assert_int_eq(registry_attach(reg, "home-nas", 7, 3, 8, 0, 60000,
	    &og, &ow), 0);
	ck_assert_uint_eq(claim("home-nas", 7, "smb", 10445, 0, &p), 0);
	/* A second connection of the same identity takes over. */
	ck_assert_int_eq(registry_attach(reg, "home-nas", 9, 1, 8, 10, 60000,
	    &og, &ow), 0);
	ck_assert_uint_eq(og, 7);
	ck_assert_int_eq(ow, 3);
	ck_assert_uint_eq(registry_nagents(reg), 1);
	/* The old tunnel may no longer serve its port... */
	ck_assert_uint_ne(registry_check(reg, cfg, "home-nas", 7, 10445,
	    text, sizeof(text)), MUX_CODE_NONE);
	/* ...the new one can claim it at once. */
	ck_assert_uint_eq(claim("home-nas", 9, "smb", 10445, 20, &p), 0);
	ck_assert_uint_eq(registry_check(reg, cfg, "home-nas", 9, 10445,
	    text, sizeof(text)), MUX_CODE_NONE);
	/* The old one's late detach must not touch the new one. */
	registry_detach(reg, "home-nas", 7, 30, 60000);
	ck_assert_uint_eq(registry_nagents(reg), 1);
	ck_assert_uint_eq(registry_check(reg, cfg, "home-nas", 9, 10445,
	    text, sizeof(text)), MUX_CODE_NONE);
}
END_TEST

START_TEST(test_max_agents)
{
	uint64_t og;
	int ow;

	ck_assert_int_eq(registry_attach(reg, "a", 1, 0, 2, 0, 0, &og, &ow), 0);
	ck_assert_int_eq(registry_attach(reg, "b", 2, 0, 2, 0, 0, &og, &ow), 0);
	ck_assert_int_eq(registry_attach(reg, "c", 3, 0, 2, 0, 0, &og, &ow),
	    -1);
	/* Replacing an existing identity is not a new agent. */
	ck_assert_int_eq(registry_attach(reg, "a", 4, 0, 2, 0, 0, &og, &ow), 0);
	ck_assert_uint_eq(og, 1);
	ck_assert_uint_eq(registry_nagents(reg), 2);
}
END_TEST

START_TEST(test_check_follows_policy)
{
	uint16_t p = 0, a = 0;

	conf("10000-20000", NAS "  other:\n    ports: []\n    auto: 1\n");
	ck_assert_uint_eq(claim("home-nas", 1, "smb", 10445, 0, &p), 0);
	ck_assert_uint_eq(claim("other", 2, "web", 0, 0, &a), 0);
	ck_assert_uint_eq(registry_check(reg, cfg, "home-nas", 1, 10445,
	    text, sizeof(text)), MUX_CODE_NONE);
	ck_assert_uint_eq(registry_check(reg, cfg, "other", 2, a, text,
	    sizeof(text)), MUX_CODE_NONE);
	/* A reload drops 10445 from the policy: new streams are refused. */
	conf("10000-20000", "agents:\n  home-nas:\n    ports: [10080]\n"
	    "  other:\n    ports: []\n");
	ck_assert_uint_eq(registry_check(reg, cfg, "home-nas", 1, 10445,
	    text, sizeof(text)), MUX_CODE_PORT_DENIED);
	ck_assert_str_eq(text, "port 10445 not allowed for identity home-nas");
	/* ...and the automatic grant of other. */
	ck_assert_uint_eq(registry_check(reg, cfg, "other", 2, a, text,
	    sizeof(text)), MUX_CODE_PORT_DENIED);
	ck_assert_str_eq(text, "no automatic ports allowed for identity other");
	/* An automatic port that a policy now lists for someone else. */
	snprintf(text, sizeof(text), "agents:\n  home-nas:\n    ports: "
	    "[10445, %u]\n  other:\n    ports: []\n    auto: 1\n", a);
	conf("10000-20000", text);
	ck_assert_uint_eq(registry_check(reg, cfg, "other", 2, a, text,
	    sizeof(text)), MUX_CODE_PORT_DENIED);
	/* A narrower range too. */
	conf("10000-10100", "agents:\n  home-nas:\n    ports: [10080]\n");
	ck_assert_uint_eq(registry_check(reg, cfg, "home-nas", 1, 10445,
	    text, sizeof(text)), MUX_CODE_PORT_RANGE);
	ck_assert_str_eq(text, "port 10445 outside range 10000-10100");
	/* Released: no longer held. */
	conf("10000-20000", NAS);
	registry_release(reg, 10445, 1);
	ck_assert_uint_eq(registry_check(reg, cfg, "home-nas", 1, 10445,
	    text, sizeof(text)), MUX_CODE_PORT_IN_USE);
	ck_assert_str_eq(text, "port 10445 no longer held by home-nas");
}
END_TEST

/* ports: [] is no port at all, whether asked for by number or as any. */
START_TEST(test_empty_ports_get_nothing)
{
	uint16_t p = 0;
	size_t total, autos;

	conf("10000-10069", "agents:\n  locked:\n    ports: []\n");
	ck_assert_uint_eq(claim("locked", 1, "web", 0, 0, &p),
	    MUX_CODE_PORT_DENIED);
	ck_assert_str_eq(text, "no automatic ports allowed for identity "
	    "locked");
	ck_assert_uint_eq(claim("locked", 1, "web", 10001, 0, &p),
	    MUX_CODE_PORT_DENIED);
	ck_assert_str_eq(text, "port 10001 not allowed for identity locked");
	registry_held(reg, "locked", 0, &total, &autos);
	ck_assert_uint_eq(total, 0);
	ck_assert_uint_eq(cfg_relay_port_cap(cfg, "locked"), 0);
}
END_TEST

/* A listed identity gets automatic ports only as many as agents.<id>.auto
 * grants, never one of the listed ports, and its list stays its own. */
START_TEST(test_auto_grant)
{
	uint16_t p = 0, a1 = 0, a2 = 0;
	size_t total, autos;

	conf("10000-10009", "agents:\n  nas:\n    ports: [10000, 10001]\n"
	    "    auto: 2\n");
	ck_assert_uint_eq(claim("nas", 1, "a", 0, 0, &a1), MUX_CODE_NONE);
	ck_assert_uint_eq(claim("nas", 1, "b", 0, 0, &a2), MUX_CODE_NONE);
	ck_assert_uint_ge(a1, 10002);
	ck_assert_uint_ge(a2, 10002);
	ck_assert_uint_ne(a1, a2);
	ck_assert_uint_eq(claim("nas", 1, "c", 0, 0, &p),
	    MUX_CODE_PORT_DENIED);
	ck_assert_str_eq(text, "automatic port limit 2 reached for identity "
	    "nas");
	/* Its listed ports, by number, are still within its total. */
	ck_assert_uint_eq(claim("nas", 1, "smb", 10000, 0, &p), MUX_CODE_NONE);
	ck_assert_uint_eq(claim("nas", 1, "web", 10001, 0, &p), MUX_CODE_NONE);
	registry_held(reg, "nas", 0, &total, &autos);
	ck_assert_uint_eq(total, 4);
	ck_assert_uint_eq(autos, 2);
	/* Given one back, it may pick one again. */
	registry_release(reg, a1, 1);
	ck_assert_uint_eq(claim("nas", 1, "c", 0, 0, &p), MUX_CODE_NONE);
}
END_TEST

/* One identity cannot drain the range: 70 ports, the hog gets its grant of
 * automatic ports and its cap in all, a second identity still gets ports. */
START_TEST(test_no_exhaustion)
{
	uint16_t p = 0;
	char svc[16];
	int i, got = 0;

	conf("10000-10069", "");
	for (i = 0; i < 10; i++) {
		snprintf(svc, sizeof(svc), "auto%d", i);
		if (claim("hog", 1, svc, 0, 0, &p) == MUX_CODE_NONE)
			got++;
	}
	ck_assert_int_eq(got, 4);
	ck_assert_str_eq(text, "automatic port limit 4 reached for identity "
	    "hog");
	for (i = 0; i < 60; i++) {
		snprintf(svc, sizeof(svc), "num%d", i);
		if (claim("hog", 1, svc, (uint16_t)(10000 + i), 0, &p) ==
		    MUX_CODE_NONE)
			got++;
	}
	ck_assert_int_eq(got, 16);
	ck_assert_str_eq(text, "port limit 16 reached for identity hog");
	ck_assert_uint_eq(claim("second", 2, "web", 0, 0, &p), MUX_CODE_NONE);
	ck_assert_uint_eq(claim("second", 2, "smb", 10069, 0, &p),
	    MUX_CODE_NONE);
	/* limits.ports_per_agent: 0 closes the range to unlisted identities. */
	conf("10000-10069", "limits: {ports_per_agent: 0}\n");
	ck_assert_uint_eq(claim("third", 3, "web", 0, 0, &p),
	    MUX_CODE_PORT_DENIED);
	ck_assert_uint_eq(claim("third", 3, "smb", 10068, 0, &p),
	    MUX_CODE_PORT_DENIED);
	ck_assert_str_eq(text, "port limit 0 reached for identity third");
}
END_TEST

/* Reservations count: an identity that reconnects with renamed services
 * takes over its own reserved ports instead of piling up new ones. */
START_TEST(test_reservations_count)
{
	uint64_t og;
	uint16_t a = 0, p = 0;
	size_t total, autos;
	int ow;

	conf("10000-10069", "limits: {auto_ports_per_agent: 1}\n");
	ck_assert_int_eq(registry_attach(reg, "x", 1, 0, 8, 0, 60000, &og,
	    &ow), 0);
	ck_assert_uint_eq(claim("x", 1, "old", 0, 0, &a), MUX_CODE_NONE);
	registry_detach(reg, "x", 1, 10, 60000);
	ck_assert_int_eq(registry_attach(reg, "x", 2, 0, 8, 20, 60000, &og,
	    &ow), 0);
	ck_assert_uint_eq(claim("x", 2, "new", 0, 30, &p), MUX_CODE_NONE);
	ck_assert_uint_eq(p, a);
	registry_held(reg, "x", 30, &total, &autos);
	ck_assert_uint_eq(total, 1);
	ck_assert_uint_eq(autos, 1);
	ck_assert_uint_eq(claim("x", 2, "third", 0, 30, &p),
	    MUX_CODE_PORT_DENIED);
}
END_TEST

/* What a reload takes away from a live tunnel: each port with its reason,
 * the excess over a lowered grant, and nothing when nothing changed. */
START_TEST(test_revoked)
{
	struct registry_revocation rv[8];
	uint16_t p = 0, a1 = 0, a2 = 0;
	size_t n;

	conf("10000-10069", "agents:\n  nas:\n    ports: [10000, 10001]\n"
	    "    auto: 2\n");
	ck_assert_uint_eq(claim("nas", 1, "smb", 10000, 0, &p), 0);
	ck_assert_uint_eq(claim("nas", 1, "web", 10001, 0, &p), 0);
	ck_assert_uint_eq(claim("nas", 1, "a1", 0, 0, &a1), 0);
	ck_assert_uint_eq(claim("nas", 1, "a2", 0, 0, &a2), 0);
	ck_assert_uint_eq(registry_revoked(reg, cfg, "nas", 1, rv, 8), 0);
	/* Another generation holds nothing. */
	ck_assert_uint_eq(registry_revoked(reg, cfg, "nas", 2, rv, 8), 0);

	conf("10000-10069", "agents:\n  nas:\n    ports: [10000]\n"
	    "    auto: 1\n");
	n = registry_revoked(reg, cfg, "nas", 1, rv, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(rv[0].port, 10001);
	ck_assert_str_eq(rv[0].service, "web");
	ck_assert_uint_eq(rv[0].code, MUX_CODE_PORT_DENIED);
	ck_assert_str_eq(rv[0].text, "port 10001 not allowed for identity nas");
	ck_assert_uint_eq(rv[1].port, a1 > a2 ? a1 : a2);
	ck_assert_str_eq(rv[1].service, a1 > a2 ? "a1" : "a2");
	ck_assert_str_eq(rv[1].text, "automatic port limit 1 reached for "
	    "identity nas");
	/* Counting only. */
	ck_assert_uint_eq(registry_revoked(reg, cfg, "nas", 1, NULL, 0), 2);

	/* No longer listed: the defaults for unlisted identities apply, and
	 * its requested ports are kept before its automatic ones. */
	conf("10000-10069", "limits: {ports_per_agent: 3}\n");
	n = registry_revoked(reg, cfg, "nas", 1, rv, 8);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(rv[0].port, a1 > a2 ? a1 : a2);
	ck_assert_str_eq(rv[0].text, "port limit 3 reached for identity nas");

	/* ports: [] takes everything; only max entries are written. */
	conf("10000-10069", "agents:\n  nas:\n    ports: []\n");
	memset(rv, 0, sizeof(rv));
	ck_assert_uint_eq(registry_revoked(reg, cfg, "nas", 1, rv, 1), 4);
	ck_assert_uint_eq(rv[0].port, 10000);
	ck_assert_uint_eq(rv[1].port, 0);
}
END_TEST

/* The private table: servers per address, round robin, replacement of an
 * identity's older tunnel, "offline" and "unknown", caps. */
START_TEST(test_private_table)
{
	struct registry_private_reg regs[4];
	uint64_t gen, og;
	int w, ow, seen1 = 0, seen2 = 0, i;

	/* Nobody live, nothing known: offline (cannot tell). */
	ck_assert_int_eq(registry_private_lookup(reg, "home", "db", &gen, &w),
	    REGISTRY_OFFLINE);
	/* The owner live but never serving db: unknown. */
	ck_assert_int_eq(registry_attach(reg, "home", 1, 0, 8, 0, 0, &og,
	    &ow), 0);
	ck_assert_int_eq(registry_private_lookup(reg, "home", "db", &gen, &w),
	    REGISTRY_UNKNOWN);
	ck_assert_uint_eq(registry_private_add(reg, "home", "db", "home", 1, 0,
	    text, sizeof(text)), MUX_CODE_NONE);
	ck_assert_uint_eq(registry_private_add(reg, "home", "db", "home", 1, 0,
	    text, sizeof(text)), MUX_CODE_DUPLICATE);
	ck_assert_str_eq(text, "service home/db already registered");
	ck_assert_int_eq(registry_private_lookup(reg, "home", "db", &gen, &w),
	    REGISTRY_FOUND);
	ck_assert_uint_eq(gen, 1);
	ck_assert_int_eq(w, 0);

	/* A group served by two identities: round robin between them. */
	ck_assert_uint_eq(registry_private_add(reg, "grp", "pg", "a", 2, 0,
	    text, sizeof(text)), MUX_CODE_NONE);
	ck_assert_uint_eq(registry_private_add(reg, "grp", "pg", "b", 3, 1,
	    text, sizeof(text)), MUX_CODE_NONE);
	ck_assert_uint_eq(registry_private_nservers(reg, "grp", "pg"), 2);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(registry_private_lookup(reg, "grp", "pg", &gen,
		    &w), REGISTRY_FOUND);
		seen1 += gen == 2 && w == 0;
		seen2 += gen == 3 && w == 1;
	}
	ck_assert_int_eq(seen1, 2);
	ck_assert_int_eq(seen2, 2);
	/* a's newer tunnel replaces its older one, not b. */
	ck_assert_uint_eq(registry_private_add(reg, "grp", "pg", "a", 4, 1,
	    text, sizeof(text)), MUX_CODE_NONE);
	ck_assert_uint_eq(registry_private_nservers(reg, "grp", "pg"), 2);
	ck_assert_uint_eq(registry_private_of(reg, 2, regs, 4), 0);
	ck_assert_uint_eq(registry_private_of(reg, 4, regs, 4), 1);
	ck_assert_str_eq(regs[0].owner, "grp");
	ck_assert_str_eq(regs[0].service, "pg");
	/* b goes: its streams go to a; then a goes: known, offline. */
	registry_private_remove_gen(reg, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(registry_private_lookup(reg, "grp", "pg", &gen,
		    &w), REGISTRY_FOUND);
		ck_assert_uint_eq(gen, 4);
	}
	ck_assert_int_eq(registry_private_remove(reg, "grp", "pg", 4), 1);
	ck_assert_int_eq(registry_private_remove(reg, "grp", "pg", 4), 0);
	ck_assert_int_eq(registry_private_lookup(reg, "grp", "pg", &gen, &w),
	    REGISTRY_OFFLINE);
	/* The owner's tunnel lost: its registrations go with it. */
	registry_detach(reg, "home", 1, 0, 0);
	ck_assert_uint_eq(registry_private_nservers(reg, "home", "db"), 0);
	ck_assert_int_eq(registry_private_lookup(reg, "home", "db", &gen, &w),
	    REGISTRY_OFFLINE);
}
END_TEST

/* Bounded: servers per address, addresses (unserved ones give way). */
START_TEST(test_private_caps)
{
	char id[16], svc[16];
	uint64_t gen;
	int i, w;

	for (i = 0; i < REGISTRY_SERVERS_MAX; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		ck_assert_uint_eq(registry_private_add(reg, "grp", "pg", id,
		    (uint64_t)i + 1, 0, text, sizeof(text)), MUX_CODE_NONE);
	}
	ck_assert_uint_eq(registry_private_add(reg, "grp", "pg", "late", 999,
	    0, text, sizeof(text)), MUX_CODE_LIMIT);
	ck_assert_str_eq(text, "too many servers for grp/pg (limit 32)");
	registry_private_remove_gen(reg, 1);
	for (i = 0; i < REGISTRY_PRIVATE_MAX - 1; i++) {
		snprintf(svc, sizeof(svc), "x%d", i);
		ck_assert_uint_eq(registry_private_add(reg, "o", svc, "o",
		    100000 + (uint64_t)i, 0, text, sizeof(text)),
		    MUX_CODE_NONE);
	}
	ck_assert_uint_eq(registry_private_add(reg, "o", "full", "o", 7, 0,
	    text, sizeof(text)), MUX_CODE_LIMIT);
	ck_assert_str_eq(text, "too many private services (limit 4096)");
	/* One address no longer served: forgotten to make room. */
	registry_private_remove_gen(reg, 100000);
	ck_assert_uint_eq(registry_private_add(reg, "o", "full", "o", 7, 0,
	    text, sizeof(text)), MUX_CODE_NONE);
	ck_assert_int_eq(registry_private_lookup(reg, "o", "x0", &gen, &w),
	    REGISTRY_OFFLINE);
}
END_TEST

static Suite *
registry_suite(void)
{
	Suite *s = suite_create("relay_registry");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_refusal_texts);
	tcase_add_test(tc, test_auto_pick_and_exhaustion);
	tcase_add_test(tc, test_grace_period);
	tcase_add_test(tc, test_ports_listed);
	tcase_add_test(tc, test_replacement);
	tcase_add_test(tc, test_max_agents);
	tcase_add_test(tc, test_check_follows_policy);
	tcase_add_test(tc, test_empty_ports_get_nothing);
	tcase_add_test(tc, test_auto_grant);
	tcase_add_test(tc, test_no_exhaustion);
	tcase_add_test(tc, test_reservations_count);
	tcase_add_test(tc, test_revoked);
	tcase_add_test(tc, test_private_table);
	tcase_add_test(tc, test_private_caps);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(registry_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
