/*
 * cfg.c — value parsers for the configuration files: durations, sizes,
 * addresses, port ranges and identities.  Pure functions over strings.
 *
 * Every number is accumulated with an explicit overflow check before the
 * multiplication, so "99999999999999999999s" is an error, never a wrapped
 * small value.  Reasons written into err are short, self-contained and quote
 * the offending text (sanitised: config files may hold any byte).
 */
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "log.h"

#define CFG_QUOTE_MAX	64

struct cfg_unit {
	const char	*name;
	uint64_t	 mult;
};

/* Longest suffix first is not needed: suffixes are compared whole. */
static const struct cfg_unit cfg_duration_units[] = {
	{ "ms", 1 },
	{ "s", 1000 },
	{ "m", 60 * 1000 },
	{ "h", 60 * 60 * 1000 },
};

static const struct cfg_unit cfg_size_units[] = {
	{ "", 1 },
	{ "B", 1 },
	{ "KiB", 1024ULL },
	{ "MiB", 1024ULL * 1024 },
	{ "GiB", 1024ULL * 1024 * 1024 },
	{ "KB", 1000ULL },
	{ "MB", 1000ULL * 1000 },
	{ "GB", 1000ULL * 1000 * 1000 },
};

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

char *
cfg_quote(const char *s, char *buf, size_t len)
{
	char tmp[CFG_QUOTE_MAX + 1];
	size_t n;

	n = strlen(s);
	log_sanitize(tmp, sizeof(tmp), s, n);
	snprintf(buf, len, "\"%s%s\"", tmp, n > CFG_QUOTE_MAX ? "..." : "");
	return buf;
}

static void
cfg_err(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
cfg_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/*
 * Leading decimal digits of s into *v.  Returns the number of digits (0 when
 * s does not start with one); *overflow is set when the value passed
 * UINT64_MAX, in which case *v is meaningless.
 */
static size_t
cfg_digits(const char *s, uint64_t *v, int *overflow)
{
	size_t i;
	uint64_t x = 0;
	unsigned d;

	*overflow = 0;
	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
		d = (unsigned)(s[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			*overflow = 1;
		else
			x = x * 10 + d;
	}
	*v = x;
	return i;
}

int
cfg_parse_uint(const char *s, uint64_t max, uint64_t *v, char *err,
    size_t len)
{
	char q[CFG_QUOTE_MAX + 8];
	uint64_t x;
	size_t n;
	int overflow, r = -1;

	n = cfg_digits(s, &x, &overflow);
	if (n == 0 || s[n] != '\0') {
		cfg_err(err, len, "%s is not a number", cfg_quote(s, q,
		    sizeof(q)));
		goto out;
	}
	if (overflow || x > max) {
		cfg_err(err, len, "%s is greater than %" PRIu64,
		    cfg_quote(s, q, sizeof(q)), max);
		goto out;
	}
	*v = x;
	r = 0;
out:
	return r;
}

/* Number followed by one of the units, the whole string. */
static int
cfg_parse_scaled(const char *s, const struct cfg_unit *units, size_t nunits,
    const char *what, const char *hint, int unit_needed, uint64_t *out,
    char *err, size_t len)
{
	char q[CFG_QUOTE_MAX + 8];
	const char *suffix;
	uint64_t x;
	size_t n, i;
	int overflow, r = -1;

	cfg_quote(s, q, sizeof(q));
	n = cfg_digits(s, &x, &overflow);
	suffix = s + n;
	if (n == 0) {
		cfg_err(err, len, "%s is not a %s (%s)", q, what, hint);
		goto out;
	}
	if (*suffix == '\0' && unit_needed) {
		/* "0" needs no unit: zero is zero in every unit. */
		if (!overflow && x == 0) {
			*out = 0;
			r = 0;
			goto out;
		}
		cfg_err(err, len, "%s needs a unit (%s)", q, hint);
		goto out;
	}
	for (i = 0; i < nunits; i++) {
		if (strcmp(suffix, units[i].name) == 0)
			break;
	}
	if (i == nunits) {
		cfg_err(err, len, "%s is not a %s (%s)", q, what, hint);
		goto out;
	}
	if (overflow || x > UINT64_MAX / units[i].mult) {
		cfg_err(err, len, "%s is too large", q);
		goto out;
	}
	*out = x * units[i].mult;
	r = 0;
out:
	return r;
}

int
cfg_parse_duration(const char *s, uint64_t *ms, char *err, size_t len)
{
	return cfg_parse_scaled(s, cfg_duration_units,
	    NITEMS(cfg_duration_units), "duration", "ms, s, m, h", 1, ms,
	    err, len);
}

int
cfg_parse_size(const char *s, uint64_t *bytes, char *err, size_t len)
{
	return cfg_parse_scaled(s, cfg_size_units, NITEMS(cfg_size_units),
	    "size", "bytes, KiB, MiB, GiB, KB, MB, GB", 0, bytes, err, len);
}

int
cfg_valid_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1;
}

/*
 * A DNS name (letters, digits, '-', '.', '_', labels of 1..63 characters,
 * 253 at most) or an IP literal.  Names made of digits and dots only must
 * be valid IPv4 addresses, so "300.1.1.1" is refused rather than looked up.
 */
int
cfg_valid_host(const char *s)
{
	size_t i, label = 0, n;
	int alpha = 0;

	n = strlen(s);
	if (n == 0)
		return 0;
	if (strchr(s, ':') != NULL)
		return cfg_valid_ip(s);
	if (n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
		if (!(c >= '0' && c <= '9'))
			alpha = 1;
		if (++label > 63)
			return 0;
	}
	if (!alpha)
		return cfg_valid_ip(s);
	return 1;
}

/* "port" part of an address: decimal, min..65535. */
static int
cfg_parse_port(const char *s, unsigned min, uint16_t *port, char *err,
    size_t len)
{
	char q[CFG_QUOTE_MAX + 8];
	uint64_t x;
	size_t n;
	int overflow, r = -1;

	n = cfg_digits(s, &x, &overflow);
	if (n == 0 || s[n] != '\0') {
		cfg_err(err, len, "%s is not a port number", cfg_quote(s, q,
		    sizeof(q)));
		goto out;
	}
	if (overflow || x < min || x > 65535) {
		log_sanitize(q, sizeof(q), s, strlen(s));
		cfg_err(err, len, "port %s out of range %u..65535", q, min);
		goto out;
	}
	*port = (uint16_t)x;
	r = 0;
out:
	return r;
}

int
cfg_parse_addr(const char *s, struct cfg_addr *a, int allow_zero,
    char *err, size_t len)
{
	char q[CFG_QUOTE_MAX + 8], host[CFG_HOST_MAX + 1];
	const char *colon, *end;
	size_t hlen;
	int r = -1;

	memset(a, 0, sizeof(*a));
	cfg_quote(s, q, sizeof(q));
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL) {
			cfg_err(err, len, "%s: missing ']'", q);
			goto out;
		}
		if (end[1] != ':') {
			cfg_err(err, len, "%s: missing :port", q);
			goto out;
		}
		hlen = (size_t)(end - s - 1);
		colon = end + 1;
		if (hlen > CFG_HOST_MAX) {
			cfg_err(err, len, "%s: host too long", q);
			goto out;
		}
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		if (strchr(host, ':') == NULL ||
		    !cfg_valid_ip(host)) {
			cfg_err(err, len, "%s: bad IPv6 address", q);
			goto out;
		}
	} else {
		if ((colon = strrchr(s, ':')) == NULL) {
			cfg_err(err, len, "%s: missing :port", q);
			goto out;
		}
		if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
			cfg_err(err, len, "%s: an IPv6 address must be in "
			    "brackets ([::1]:port)", q);
			goto out;
		}
		hlen = (size_t)(colon - s);
		if (hlen > CFG_HOST_MAX) {
			cfg_err(err, len, "%s: host too long", q);
			goto out;
		}
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		if (strcmp(host, "*") == 0) {
			a->any = 1;
			host[0] = '\0';
		} else if (hlen == 0) {
			cfg_err(err, len, "%s: missing host (use *:port for "
			    "any address)", q);
			goto out;
		} else if (!cfg_valid_host(host)) {
			cfg_err(err, len, "%s: bad host name", q);
			goto out;
		}
	}
	if (cfg_parse_port(colon + 1, allow_zero ? 0 : 1, &a->port, err,
	    len) != 0)
		goto out;
	memcpy(a->host, host, strlen(host) + 1);
	r = 0;
out:
	if (r != 0)
		memset(a, 0, sizeof(*a));
	return r;
}

int
cfg_parse_port_range(const char *s, uint16_t *lo, uint16_t *hi,
    char *err, size_t len)
{
	char q[CFG_QUOTE_MAX + 8], first[16];
	const char *dash;
	uint16_t a, b;
	size_t n;
	int r = -1;

	if ((dash = strchr(s, '-')) == NULL || dash == s || dash[1] == '\0') {
		cfg_err(err, len, "%s is not a port range (start-end, e.g. "
		    "10000-20000)", cfg_quote(s, q, sizeof(q)));
		goto out;
	}
	n = (size_t)(dash - s);
	if (n >= sizeof(first)) {
		log_sanitize(q, sizeof(q), s, n);
		cfg_err(err, len, "port %s out of range 1..65535", q);
		goto out;
	}
	memcpy(first, s, n);
	first[n] = '\0';
	if (cfg_parse_port(first, 1, &a, err, len) != 0 ||
	    cfg_parse_port(dash + 1, 1, &b, err, len) != 0)
		goto out;
	if (a > b) {
		cfg_err(err, len, "start %u is greater than end %u", a, b);
		goto out;
	}
	*lo = a;
	*hi = b;
	r = 0;
out:
	return r;
}

int
cfg_valid_id(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (i >= CFG_ID_MAX)
			return 0;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '.' || c == '_' || c == '-'))
			continue;
		return 0;
	}
	return 1;
}

int
cfg_valid_private(const char *s)
{
	char owner[CFG_ID_MAX + 1];
	const char *slash;
	size_t n;

	if (s == NULL || strlen(s) > CFG_ADDR_NAME_MAX ||
	    (slash = strchr(s, '/')) == NULL)
		return 0;
	if ((n = (size_t)(slash - s)) == 0 || n > CFG_ID_MAX)
		return 0;
	memcpy(owner, s, n);
	owner[n] = '\0';
	return cfg_valid_id(owner) && cfg_valid_id(slash + 1);
}

char *
cfg_addr_str(const struct cfg_addr *a, char *buf, size_t len)
{
	if (a->any)
		snprintf(buf, len, "*:%u", a->port);
	else if (strchr(a->host, ':') != NULL)
		snprintf(buf, len, "[%s]:%u", a->host, a->port);
	else
		snprintf(buf, len, "%s:%u", a->host, a->port);
	return buf;
}

/* Largest unit that divides v exactly; units[] is in increasing order. */
static char *
cfg_fmt_scaled(uint64_t v, const struct cfg_unit *units, size_t nunits,
    char *buf, size_t len)
{
	size_t i, best = 0;

	for (i = 0; i < nunits; i++) {
		if (v != 0 && units[i].mult >= units[best].mult &&
		    v % units[i].mult == 0)
			best = i;
	}
	snprintf(buf, len, "%" PRIu64 "%s", v / units[best].mult,
	    units[best].name);
	return buf;
}

char *
cfg_fmt_duration(uint64_t ms, char *buf, size_t len)
{
	if (ms == 0) {
		snprintf(buf, len, "0");
		return buf;
	}
	return cfg_fmt_scaled(ms, cfg_duration_units,
	    NITEMS(cfg_duration_units), buf, len);
}

char *
cfg_fmt_size(uint64_t bytes, char *buf, size_t len)
{
	/* Binary units only: "", KiB, MiB, GiB. */
	static const struct cfg_unit bin[] = {
		{ "", 1 }, { "KiB", 1024ULL }, { "MiB", 1024ULL * 1024 },
		{ "GiB", 1024ULL * 1024 * 1024 },
	};

	return cfg_fmt_scaled(bytes, bin, NITEMS(bin), buf, len);
}
