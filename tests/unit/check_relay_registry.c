/*
 * check_relay_registry.c — the relay's registry: every REGISTER refusal with
 * its exact text, auto picks, the grace period after a tunnel is lost, the
 * hand-over to a newer tunnel of the same identity, limits, and authorisation
 * re-checked against a changed policy.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_relay.h"
#include "mux.h"
#include "relay_registry.h"

static uint16_t nas_ports[] = { 10445, 10080 };
static struct relay_policy pol[1];
static struct relay_config cfg;
static struct registry *reg;
static char text[256];

static void
setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(pol, 0, sizeof(pol));
	strcpy(pol[0].id, "home-nas");
	pol[0].ports = nas_ports;
	pol[0].nports = 2;
	cfg.port_min = 10000;
	cfg.port_max = 20000;
	cfg.agents = pol;
	cfg.nagents = 1;
	cfg.max_agents = 8;
	reg = registry_new();
	ck_assert_ptr_nonnull(reg);
	text[0] = '\0';
}

static void
teardown(void)
{
	registry_free(reg);
	reg = NULL;
}

static uint32_t
claim(const char *id, uint64_t gen, const char *svc, uint16_t want,
    uint64_t now, uint16_t *port)
{
	text[0] = '\0';
	return registry_claim(reg, &cfg, id, gen, svc, want, now, port, text,
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
	/* An unlisted identity may use the whole range, but not a taken
	 * port. */
	ck_assert_uint_eq(claim("other", 2, "w", 10445, 0, &p),
	    MUX_CODE_PORT_IN_USE);
	ck_assert_uint_eq(claim("other", 2, "w", 10081, 0, &p), MUX_CODE_NONE);
	ck_assert_uint_eq(p, 10081);
}
END_TEST

START_TEST(test_auto_pick_and_exhaustion)
{
	uint16_t p = 0, seen[5];
	int i, j;

	cfg.port_min = 10079;
	cfg.port_max = 10083;	/* 10080 is home-nas's by policy */
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
	ck_assert_uint_ne(registry_check(reg, &cfg, "home-nas", 7, 10445,
	    text, sizeof(text)), MUX_CODE_NONE);
	/* ...the new one can claim it at once. */
	ck_assert_uint_eq(claim("home-nas", 9, "smb", 10445, 20, &p), 0);
	ck_assert_uint_eq(registry_check(reg, &cfg, "home-nas", 9, 10445,
	    text, sizeof(text)), MUX_CODE_NONE);
	/* The old one's late detach must not touch the new one. */
	registry_detach(reg, "home-nas", 7, 30, 60000);
	ck_assert_uint_eq(registry_nagents(reg), 1);
	ck_assert_uint_eq(registry_check(reg, &cfg, "home-nas", 9, 10445,
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
	uint16_t p = 0, other[] = { 10080 };

	ck_assert_uint_eq(claim("home-nas", 1, "smb", 10445, 0, &p), 0);
	ck_assert_uint_eq(registry_check(reg, &cfg, "home-nas", 1, 10445,
	    text, sizeof(text)), MUX_CODE_NONE);
	/* A reload drops 10445 from the policy: new streams are refused. */
	pol[0].ports = other;
	pol[0].nports = 1;
	ck_assert_uint_eq(registry_check(reg, &cfg, "home-nas", 1, 10445,
	    text, sizeof(text)), MUX_CODE_PORT_DENIED);
	ck_assert_str_eq(text, "port 10445 not allowed for identity home-nas");
	/* A narrower range too. */
	pol[0].ports = nas_ports;
	pol[0].nports = 2;
	cfg.port_max = 10100;
	ck_assert_uint_eq(registry_check(reg, &cfg, "home-nas", 1, 10445,
	    text, sizeof(text)), MUX_CODE_PORT_RANGE);
	ck_assert_str_eq(text, "port 10445 outside range 10000-10100");
	/* Released: no longer held. */
	cfg.port_max = 20000;
	registry_release(reg, 10445, 1);
	ck_assert_uint_eq(registry_check(reg, &cfg, "home-nas", 1, 10445,
	    text, sizeof(text)), MUX_CODE_PORT_IN_USE);
	ck_assert_str_eq(text, "port 10445 no longer held by home-nas");
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
	tcase_add_test(tc, test_replacement);
	tcase_add_test(tc, test_max_agents);
	tcase_add_test(tc, test_check_follows_policy);
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
