/*
 * check_cfg.c — the value parsers of cfg.c (durations, sizes, addresses, port
 * ranges, identities) and the strict YAML reader of cfg_yaml.c: every unit,
 * the boundaries, overflow, garbage, and the reader's refusals.
 */
#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "cfg_walk.h"
#include "cfg_yaml.h"

static char err[512];

/* ---- durations ---------------------------------------------------------- */

static void
dur_ok(const char *s, uint64_t want)
{
	uint64_t v = 12345;

	err[0] = '\0';
	ck_assert_msg(cfg_parse_duration(s, &v, err, sizeof(err)) == 0,
	    "%s: %s", s, err);
	ck_assert_msg(v == want, "%s: %llu != %llu", s,
	    (unsigned long long)v, (unsigned long long)want);
}

static void
dur_bad(const char *s, const char *want)
{
	uint64_t v = 12345;

	err[0] = '\0';
	ck_assert_int_eq(cfg_parse_duration(s, &v, err, sizeof(err)), -1);
	ck_assert_str_eq(err, want);
	ck_assert(v == 12345);	/* untouched on error */
}

START_TEST(test_duration_units)
{
	dur_ok("0", 0);
	dur_ok("0ms", 0);
	dur_ok("0h", 0);
	dur_ok("1ms", 1);
	dur_ok("500ms", 500);
	dur_ok("10s", 10000);
	dur_ok("5m", 300000);
	dur_ok("1h", 3600000);
	dur_ok("007s", 7000);
	dur_ok("18446744073709551615ms", UINT64_MAX);
	/* 2^64 / 3600000 = 5124095576030.43 */
	dur_ok("5124095576030h", 5124095576030ULL * 3600000ULL);
}
END_TEST

START_TEST(test_duration_bad)
{
	dur_bad("", "\"\" is not a duration (ms, s, m, h)");
	dur_bad("s", "\"s\" is not a duration (ms, s, m, h)");
	dur_bad("abc", "\"abc\" is not a duration (ms, s, m, h)");
	dur_bad("10", "\"10\" needs a unit (ms, s, m, h)");
	dur_bad("10x", "\"10x\" is not a duration (ms, s, m, h)");
	dur_bad("10S", "\"10S\" is not a duration (ms, s, m, h)");
	dur_bad("10sec", "\"10sec\" is not a duration (ms, s, m, h)");
	dur_bad("1m30s", "\"1m30s\" is not a duration (ms, s, m, h)");
	dur_bad("1.5s", "\"1.5s\" is not a duration (ms, s, m, h)");
	dur_bad("-1s", "\"-1s\" is not a duration (ms, s, m, h)");
	dur_bad("+1s", "\"+1s\" is not a duration (ms, s, m, h)");
	dur_bad(" 1s", "\" 1s\" is not a duration (ms, s, m, h)");
	dur_bad("1s ", "\"1s \" is not a duration (ms, s, m, h)");
	dur_bad("1 s", "\"1 s\" is not a duration (ms, s, m, h)");
	dur_bad("99999999999999999999s",
	    "\"99999999999999999999s\" is too large");
	dur_bad("18446744073709551616ms",
	    "\"18446744073709551616ms\" is too large");
	dur_bad("5124095576031h", "\"5124095576031h\" is too large");
	dur_bad("18446744073709551615s",
	    "\"18446744073709551615s\" is too large");
	dur_bad("99999999999999999999", "\"99999999999999999999\" needs a "
	    "unit (ms, s, m, h)");
	/* Control characters never reach a message. */
	dur_bad("1\ns", "\"1?s\" is not a duration (ms, s, m, h)");
}
END_TEST

/* ---- sizes -------------------------------------------------------------- */

static void
size_ok(const char *s, uint64_t want)
{
	uint64_t v = 12345;

	err[0] = '\0';
	ck_assert_msg(cfg_parse_size(s, &v, err, sizeof(err)) == 0, "%s: %s",
	    s, err);
	ck_assert_msg(v == want, "%s: %llu != %llu", s,
	    (unsigned long long)v, (unsigned long long)want);
}

static void
size_bad(const char *s, const char *want)
{
	uint64_t v = 12345;

	err[0] = '\0';
	ck_assert_int_eq(cfg_parse_size(s, &v, err, sizeof(err)), -1);
	ck_assert_str_eq(err, want);
	ck_assert(v == 12345);
}

#define SIZE_HINT "(bytes, KiB, MiB, GiB, KB, MB, GB)"

START_TEST(test_size_units)
{
	size_ok("0", 0);
	size_ok("1", 1);
	size_ok("65536", 65536);
	size_ok("1B", 1);
	size_ok("64KiB", 65536);
	size_ok("4MiB", 4194304);
	size_ok("1GiB", 1073741824);
	size_ok("1KB", 1000);
	size_ok("2MB", 2000000);
	size_ok("3GB", 3000000000ULL);
	size_ok("0KiB", 0);
	size_ok("18446744073709551615", UINT64_MAX);
	size_ok("17179869183GiB", 17179869183ULL << 30);
}
END_TEST

START_TEST(test_size_bad)
{
	size_bad("", "\"\" is not a size " SIZE_HINT);
	size_bad("KiB", "\"KiB\" is not a size " SIZE_HINT);
	size_bad("4 MiB", "\"4 MiB\" is not a size " SIZE_HINT);
	size_bad("4mib", "\"4mib\" is not a size " SIZE_HINT);
	size_bad("4k", "\"4k\" is not a size " SIZE_HINT);
	size_bad("4MiBs", "\"4MiBs\" is not a size " SIZE_HINT);
	size_bad("1.5MiB", "\"1.5MiB\" is not a size " SIZE_HINT);
	size_bad("-1", "\"-1\" is not a size " SIZE_HINT);
	size_bad("0x10", "\"0x10\" is not a size " SIZE_HINT);
	size_bad("18446744073709551616", "\"18446744073709551616\" is too "
	    "large");
	size_bad("17179869184GiB", "\"17179869184GiB\" is too large");
	size_bad("99999999999999999999KiB", "\"99999999999999999999KiB\" is "
	    "too large");
}
END_TEST

/* ---- integers ----------------------------------------------------------- */

START_TEST(test_uint)
{
	uint64_t v = 0;

	ck_assert_int_eq(cfg_parse_uint("0", 10, &v, err, sizeof(err)), 0);
	ck_assert(v == 0);
	ck_assert_int_eq(cfg_parse_uint("10", 10, &v, err, sizeof(err)), 0);
	ck_assert(v == 10);
	ck_assert_int_eq(cfg_parse_uint("18446744073709551615", UINT64_MAX,
	    &v, err, sizeof(err)), 0);
	ck_assert(v == UINT64_MAX);
	ck_assert_int_eq(cfg_parse_uint("11", 10, &v, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "\"11\" is greater than 10");
	ck_assert_int_eq(cfg_parse_uint("18446744073709551616", UINT64_MAX,
	    &v, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "\"18446744073709551616\" is greater than "
	    "18446744073709551615");
	ck_assert_int_eq(cfg_parse_uint("", 10, &v, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "\"\" is not a number");
	ck_assert_int_eq(cfg_parse_uint("-1", 10, &v, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "\"-1\" is not a number");
	ck_assert_int_eq(cfg_parse_uint("1e3", 10000, &v, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "\"1e3\" is not a number");
	/* err may be NULL. */
	ck_assert_int_eq(cfg_parse_uint("x", 10, &v, NULL, 0), -1);
}
END_TEST

/* ---- addresses ---------------------------------------------------------- */

static void
addr_ok(const char *s, int allow_zero, const char *host, uint16_t port,
    int any, const char *canon)
{
	struct cfg_addr a;
	char buf[300];

	err[0] = '\0';
	ck_assert_msg(cfg_parse_addr(s, &a, allow_zero, err, sizeof(err)) == 0,
	    "%s: %s", s, err);
	ck_assert_str_eq(a.host, host);
	ck_assert_uint_eq(a.port, port);
	ck_assert_int_eq(a.any, any);
	ck_assert_str_eq(cfg_addr_str(&a, buf, sizeof(buf)), canon);
}

static void
addr_bad(const char *s, int allow_zero, const char *want)
{
	struct cfg_addr a;

	err[0] = '\0';
	ck_assert_int_eq(cfg_parse_addr(s, &a, allow_zero, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, want);
}

START_TEST(test_addr)
{
	char host[300], s[320];

	addr_ok("127.0.0.1:445", 0, "127.0.0.1", 445, 0, "127.0.0.1:445");
	addr_ok("0.0.0.0:4443", 0, "0.0.0.0", 4443, 0, "0.0.0.0:4443");
	addr_ok("relay.example.com:4443", 0, "relay.example.com", 4443, 0,
	    "relay.example.com:4443");
	addr_ok("localhost:1", 0, "localhost", 1, 0, "localhost:1");
	addr_ok("[::1]:4443", 0, "::1", 4443, 0, "[::1]:4443");
	addr_ok("[::]:65535", 0, "::", 65535, 0, "[::]:65535");
	addr_ok("[fe80::1:2]:80", 0, "fe80::1:2", 80, 0, "[fe80::1:2]:80");
	addr_ok("*:80", 0, "", 80, 1, "*:80");
	addr_ok("*:0", 1, "", 0, 1, "*:0");
	addr_ok("host:0", 1, "host", 0, 0, "host:0");
	addr_ok("h_1-x.y:08080", 0, "h_1-x.y", 8080, 0, "h_1-x.y:8080");
	/* The longest name: 253 characters in labels of 63. */
	memset(host, 'a', 253);
	host[63] = host[127] = host[191] = '.';
	host[253] = '\0';
	snprintf(s, sizeof(s), "%s:1", host);
	addr_ok(s, 0, host, 1, 0, s);
}
END_TEST

START_TEST(test_addr_bad)
{
	char host[300], s[320], want[400];

	addr_bad("", 0, "\"\": missing :port");
	addr_bad("host", 0, "\"host\": missing :port");
	addr_bad(":80", 0, "\":80\": missing host (use *:port for any "
	    "address)");
	addr_bad("host:", 0, "\"\" is not a port number");
	addr_bad("host:http", 0, "\"http\" is not a port number");
	addr_bad("host:+80", 0, "\"+80\" is not a port number");
	addr_bad("host:-1", 0, "\"-1\" is not a port number");
	addr_bad("host:80 ", 0, "\"80 \" is not a port number");
	addr_bad("host:0", 0, "port 0 out of range 1..65535");
	addr_bad("host:65536", 0, "port 65536 out of range 1..65535");
	addr_bad("host:65536", 1, "port 65536 out of range 0..65535");
	addr_bad("host:99999999999999999999999", 0,
	    "port 99999999999999999999999 out of range 1..65535");
	addr_bad("::1:80", 0, "\"::1:80\": an IPv6 address must be in "
	    "brackets ([::1]:port)");
	addr_bad("[::1]80", 0, "\"[::1]80\": missing :port");
	addr_bad("[::1]", 0, "\"[::1]\": missing :port");
	addr_bad("[::1:80", 0, "\"[::1:80\": missing ']'");
	addr_bad("[1.2.3.4]:80", 0, "\"[1.2.3.4]:80\": bad IPv6 address");
	addr_bad("[zz::1]:80", 0, "\"[zz::1]:80\": bad IPv6 address");
	addr_bad("300.1.1.1:80", 0, "\"300.1.1.1:80\": bad host name");
	addr_bad("1.2.3:80", 0, "\"1.2.3:80\": bad host name");
	addr_bad("a b:80", 0, "\"a b:80\": bad host name");
	addr_bad("a..b:80", 0, "\"a..b:80\": bad host name");
	addr_bad(".a:80", 0, "\".a:80\": bad host name");
	addr_bad("a/b:80", 0, "\"a/b:80\": bad host name");
	addr_bad("**:80", 0, "\"**:80\": bad host name");
	/* A label of 64 characters. */
	memset(host, 'a', 64);
	host[64] = '\0';
	snprintf(s, sizeof(s), "%s:1", host);
	snprintf(want, sizeof(want), "\"%.64s...\": bad host name", s);
	addr_bad(s, 0, want);
	/* 254 characters. */
	memset(host, 'a', 254);
	host[63] = host[127] = host[191] = '.';
	host[254] = '\0';
	snprintf(s, sizeof(s), "%s:1", host);
	snprintf(want, sizeof(want), "\"%.64s...\": bad host name", s);
	addr_bad(s, 0, want);
	/* Longer than the buffer. */
	memset(host, 'a', 299);
	host[299] = '\0';
	snprintf(s, sizeof(s), "%s:1", host);
	snprintf(want, sizeof(want), "\"%.64s...\": host too long", s);
	addr_bad(s, 0, want);
}
END_TEST

/* ---- port ranges -------------------------------------------------------- */

static void
range_bad(const char *s, const char *want)
{
	uint16_t lo = 7, hi = 7;

	err[0] = '\0';
	ck_assert_int_eq(cfg_parse_port_range(s, &lo, &hi, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(lo, 7);
	ck_assert_uint_eq(hi, 7);
}

START_TEST(test_port_range)
{
	uint16_t lo, hi;

	ck_assert_int_eq(cfg_parse_port_range("10000-20000", &lo, &hi, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(lo, 10000);
	ck_assert_uint_eq(hi, 20000);
	ck_assert_int_eq(cfg_parse_port_range("1-65535", &lo, &hi, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(lo, 1);
	ck_assert_uint_eq(hi, 65535);
	ck_assert_int_eq(cfg_parse_port_range("5-5", &lo, &hi, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(lo, 5);
	ck_assert_uint_eq(hi, 5);

	range_bad("20000-10000", "start 20000 is greater than end 10000");
	range_bad("6-5", "start 6 is greater than end 5");
	range_bad("0-10", "port 0 out of range 1..65535");
	range_bad("1-65536", "port 65536 out of range 1..65535");
	range_bad("99999999999999999999-1", "port 99999999999999999999 out "
	    "of range 1..65535");
	range_bad("1-99999999999999999999", "port 99999999999999999999 out "
	    "of range 1..65535");
	range_bad("10000", "\"10000\" is not a port range (start-end, e.g. "
	    "10000-20000)");
	range_bad("", "\"\" is not a port range (start-end, e.g. "
	    "10000-20000)");
	range_bad("-10", "\"-10\" is not a port range (start-end, e.g. "
	    "10000-20000)");
	range_bad("10-", "\"10-\" is not a port range (start-end, e.g. "
	    "10000-20000)");
	range_bad("a-b", "\"a\" is not a port number");
	range_bad("1--2", "\"-2\" is not a port number");
	range_bad("1 - 2", "\"1 \" is not a port number");
}
END_TEST

/* ---- identities --------------------------------------------------------- */

START_TEST(test_valid_id)
{
	char s[80];

	ck_assert_int_eq(cfg_valid_id("home-nas"), 1);
	ck_assert_int_eq(cfg_valid_id("a"), 1);
	ck_assert_int_eq(cfg_valid_id("0"), 1);
	ck_assert_int_eq(cfg_valid_id("A.b_c-d"), 1);
	ck_assert_int_eq(cfg_valid_id("relay.example.com"), 1);
	memset(s, 'x', 64);
	s[64] = '\0';
	ck_assert_int_eq(cfg_valid_id(s), 1);
	s[64] = 'x';
	s[65] = '\0';
	ck_assert_int_eq(cfg_valid_id(s), 0);
	ck_assert_int_eq(cfg_valid_id(""), 0);
	ck_assert_int_eq(cfg_valid_id(NULL), 0);
	ck_assert_int_eq(cfg_valid_id("-a"), 0);
	ck_assert_int_eq(cfg_valid_id(".a"), 0);
	ck_assert_int_eq(cfg_valid_id("_a"), 0);
	ck_assert_int_eq(cfg_valid_id("a b"), 0);
	ck_assert_int_eq(cfg_valid_id("a/b"), 0);
	ck_assert_int_eq(cfg_valid_id("a:b"), 0);
	ck_assert_int_eq(cfg_valid_id("caf\xc3\xa9"), 0);
	ck_assert_int_eq(cfg_valid_id("a\n"), 0);
}
END_TEST

START_TEST(test_valid_host_ip)
{
	ck_assert_int_eq(cfg_valid_ip("0.0.0.0"), 1);
	ck_assert_int_eq(cfg_valid_ip("::"), 1);
	ck_assert_int_eq(cfg_valid_ip("::ffff:127.0.0.1"), 1);
	ck_assert_int_eq(cfg_valid_ip("localhost"), 0);
	ck_assert_int_eq(cfg_valid_ip("1.2.3"), 0);
	ck_assert_int_eq(cfg_valid_ip(""), 0);
	ck_assert_int_eq(cfg_valid_host("example.com"), 1);
	ck_assert_int_eq(cfg_valid_host("example.com."), 1);
	ck_assert_int_eq(cfg_valid_host("10.0.0.1"), 1);
	ck_assert_int_eq(cfg_valid_host("::1"), 1);
	ck_assert_int_eq(cfg_valid_host("10.0.0.256"), 0);
	ck_assert_int_eq(cfg_valid_host(""), 0);
	ck_assert_int_eq(cfg_valid_host("."), 0);
	ck_assert_int_eq(cfg_valid_host("a b"), 0);
}
END_TEST

/* ---- formatting --------------------------------------------------------- */

START_TEST(test_fmt)
{
	char b[64];

	ck_assert_str_eq(cfg_fmt_duration(0, b, sizeof(b)), "0");
	ck_assert_str_eq(cfg_fmt_duration(1, b, sizeof(b)), "1ms");
	ck_assert_str_eq(cfg_fmt_duration(1500, b, sizeof(b)), "1500ms");
	ck_assert_str_eq(cfg_fmt_duration(10000, b, sizeof(b)), "10s");
	ck_assert_str_eq(cfg_fmt_duration(90000, b, sizeof(b)), "90s");
	ck_assert_str_eq(cfg_fmt_duration(60000, b, sizeof(b)), "1m");
	ck_assert_str_eq(cfg_fmt_duration(7200000, b, sizeof(b)), "2h");
	ck_assert_str_eq(cfg_fmt_size(0, b, sizeof(b)), "0");
	ck_assert_str_eq(cfg_fmt_size(1000, b, sizeof(b)), "1000");
	ck_assert_str_eq(cfg_fmt_size(16384, b, sizeof(b)), "16KiB");
	ck_assert_str_eq(cfg_fmt_size(16 << 20, b, sizeof(b)), "16MiB");
	ck_assert_str_eq(cfg_fmt_size(3ULL << 30, b, sizeof(b)), "3GiB");
	ck_assert_str_eq(cfg_fmt_size(1536, b, sizeof(b)), "1536");
	ck_assert_str_eq(cfg_quote("a\tb", b, sizeof(b)), "\"a?b\"");
}
END_TEST

/* ---- the YAML reader ---------------------------------------------------- */

static void
yaml_bad(const char *text, const char *want)
{
	struct cfg_node *root = (struct cfg_node *)1;

	err[0] = '\0';
	ck_assert_int_eq(cfg_yaml_parse("t.yaml", text, strlen(text), &root,
	    err, sizeof(err)), -1);
	ck_assert_ptr_null(root);
	ck_assert_str_eq(err, want);
}

START_TEST(test_yaml_tree)
{
	const char *text = "a: 1\nb:\n  - x\n  - 'y'\nc: {d: ~}\n";
	struct cfg_node *root = NULL;
	const struct cfg_node *n;

	ck_assert_int_eq(cfg_yaml_parse("t.yaml", text, strlen(text), &root,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(root->type, CFG_NODE_MAP);
	ck_assert_uint_eq(root->nkids, 6);
	n = cfg_node_get(root, "a");
	ck_assert_str_eq(n->str, "1");
	ck_assert_uint_eq(n->line, 1);
	ck_assert_uint_eq(n->col, 4);
	n = cfg_node_get(root, "b");
	ck_assert_int_eq(n->type, CFG_NODE_SEQ);
	ck_assert_uint_eq(n->nkids, 2);
	ck_assert_str_eq(n->kids[1]->str, "y");
	ck_assert_int_eq(n->kids[1]->plain, 0);
	ck_assert_uint_eq(n->kids[1]->line, 4);
	ck_assert_uint_eq(n->kids[1]->col, 5);
	n = cfg_node_get(cfg_node_get(root, "c"), "d");
	ck_assert_int_eq(cfg_node_is_null(n), 1);
	ck_assert_ptr_null(cfg_node_get(root, "zz"));
	ck_assert_ptr_null(cfg_node_get(NULL, "a"));
	cfg_node_free(root);
	cfg_node_free(NULL);
}
END_TEST

START_TEST(test_yaml_refusals)
{
	char *deep;
	size_t i;

	yaml_bad("", "t.yaml:1:1: empty configuration");
	yaml_bad("# only a comment\n\n", "t.yaml:1:1: empty configuration");
	yaml_bad("---\n...\n", "t.yaml:1:1: empty configuration");
	yaml_bad("~\n", "t.yaml:1:1: empty configuration");
	yaml_bad("[1, 2]\n", "t.yaml:1:1: the top level must be a mapping "
	    "of keys, not a sequence");
	yaml_bad("hello\n", "t.yaml:1:1: the top level must be a mapping "
	    "of keys, not a value");
	yaml_bad("a: 1\n---\nb: 2\n", "t.yaml:2:1: only one YAML document "
	    "is allowed");
	yaml_bad("a: &x 1\nb: *x\n", "t.yaml:1:4: anchors (&name) are not "
	    "allowed");
	yaml_bad("b: *x\n", "t.yaml:1:4: aliases (*name) are not allowed");
	yaml_bad("a: !!str 1\n", "t.yaml:1:4: tags (!name) are not allowed");
	yaml_bad("a: !local {b: 1}\n", "t.yaml:1:4: tags (!name) are not "
	    "allowed");
	yaml_bad("? [a]\n: 1\n", "t.yaml:1:3: a mapping key must be a plain "
	    "value, not a sequence");
	yaml_bad("a: \"x\\0y\"\n", "t.yaml:1:4: NUL byte in a value");
	yaml_bad("a: [1\n", "t.yaml:2:1: syntax error: did not find "
	    "expected ',' or ']' (while parsing a flow sequence at line 1)");
	yaml_bad("a: b: c\n", "t.yaml:1:5: syntax error: mapping values are "
	    "not allowed in this context");
	yaml_bad("a:\n  b: 1\n c: 2\n", "t.yaml:3:2: syntax error: did not "
	    "find expected key (while parsing a block mapping at line 1)");
	yaml_bad("a: 1\n\tb: 2\n", "t.yaml:2:1: syntax error: found a tab "
	    "character that violates indentation (while scanning a plain "
	    "scalar at line 1)");
	yaml_bad("a: 1\nb: \xff\n", "t.yaml:2:4: syntax error: invalid "
	    "leading UTF-8 octet");
	/* The billion laughs stop at the first anchor. */
	yaml_bad("a: &a [\"lol\",\"lol\"]\nb: &b [*a,*a,*a]\nc: [*b,*b]\n",
	    "t.yaml:1:4: anchors (&name) are not allowed");

	/* Nesting: 32 levels are fine, 33 are not. */
	deep = malloc(200);
	ck_assert_ptr_nonnull(deep);
	for (i = 0; i < 2; i++) {
		size_t n = i == 0 ? 31 : 32, j, o = 0;
		struct cfg_node *root = NULL;

		o += (size_t)sprintf(deep + o, "a: ");
		for (j = 0; j < n; j++)
			deep[o++] = '[';
		for (j = 0; j < n; j++)
			deep[o++] = ']';
		deep[o++] = '\n';
		deep[o] = '\0';
		if (i == 0) {
			ck_assert_int_eq(cfg_yaml_parse("t.yaml", deep, o,
			    &root, err, sizeof(err)), 0);
			cfg_node_free(root);
		} else
			yaml_bad(deep, "t.yaml:1:35: nested too deep (max 32 "
			    "levels)");
	}
	free(deep);
}
END_TEST

START_TEST(test_yaml_map_cap)
{
	char *text, *p;
	struct cfg_node *root = NULL;
	size_t i, n = CFG_MAP_MAX + 1;

	text = malloc(n * 16 + 1);
	ck_assert_ptr_nonnull(text);
	p = text;
	for (i = 0; i < n; i++)
		p += sprintf(p, "k%zu: 1\n", i);
	/* Exactly the cap: accepted. */
	ck_assert_int_eq(cfg_yaml_parse("t.yaml", text,
	    (size_t)(strstr(text, "k4096:") - text), &root, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(root->nkids, 2 * CFG_MAP_MAX);
	cfg_node_free(root);
	yaml_bad(text, "t.yaml:4097:1: too many entries in one mapping (max "
	    "4096)");
	free(text);
}
END_TEST

static char tmpdir[] = "/tmp/check_cfg.XXXXXX";

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(tmpdir, "/tmp/check_cfg.XXXXXX");
}

START_TEST(test_yaml_files)
{
	struct cfg_node *root = NULL;
	char path[PATH_MAX], want[PATH_MAX + 128], dir[PATH_MAX];
	FILE *f;
	size_t i;

	/* Missing. */
	snprintf(path, sizeof(path), "%s/none.yaml", tmpdir);
	ck_assert_int_eq(cfg_yaml_load(path, &root, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	ck_assert_str_eq(err, want);
	/* A folder. */
	ck_assert_int_eq(cfg_yaml_load(tmpdir, &root, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: not a regular file", tmpdir);
	ck_assert_str_eq(err, want);
	/* A FIFO with no writer must not block. */
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(cfg_yaml_load(path, &root, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: not a regular file", path);
	ck_assert_str_eq(err, want);
	/* Exactly 1 MiB is read; one byte more is refused. */
	snprintf(path, sizeof(path), "%s/big.yaml", tmpdir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("a: 1\n", f);
	for (i = 5; i < CFG_FILE_MAX; i++)
		fputc(i % 64 == 63 ? '\n' : '#', f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(cfg_yaml_load(path, &root, err, sizeof(err)), 0);
	ck_assert_str_eq(cfg_node_get(root, "a")->str, "1");
	cfg_node_free(root);
	f = fopen(path, "a");
	ck_assert_ptr_nonnull(f);
	fputc('\n', f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(cfg_yaml_load(path, &root, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: file too large (1048577 bytes, max "
	    "1048576)", path);
	ck_assert_str_eq(err, want);
	/* The folder of a file, absolute, through a relative name. */
	ck_assert_int_eq(chdir(tmpdir), 0);
	ck_assert_int_eq(cfg_walk_dirname("big.yaml", dir, sizeof(dir)), 0);
	ck_assert_ptr_nonnull(realpath(tmpdir, want));
	ck_assert_str_eq(dir, want);
	ck_assert_int_eq(cfg_walk_dirname("nothere.yaml", dir, sizeof(dir)), -1);
	ck_assert_int_eq(chdir("/"), 0);
}
END_TEST

static Suite *
cfg_suite(void)
{
	Suite *s = suite_create("cfg");
	TCase *tc;

	tc = tcase_create("values");
	tcase_add_test(tc, test_duration_units);
	tcase_add_test(tc, test_duration_bad);
	tcase_add_test(tc, test_size_units);
	tcase_add_test(tc, test_size_bad);
	tcase_add_test(tc, test_uint);
	tcase_add_test(tc, test_addr);
	tcase_add_test(tc, test_addr_bad);
	tcase_add_test(tc, test_port_range);
	tcase_add_test(tc, test_valid_id);
	tcase_add_test(tc, test_valid_host_ip);
	tcase_add_test(tc, test_fmt);
	suite_add_tcase(s, tc);

	tc = tcase_create("yaml");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_yaml_tree);
	tcase_add_test(tc, test_yaml_refusals);
	tcase_add_test(tc, test_yaml_map_cap);
	tcase_add_test(tc, test_yaml_files);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cfg_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
