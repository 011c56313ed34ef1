/*
 * cfg.h — value parsers shared by the relay and agent configs, and the strict
 * libyaml-based reader they are built on.  Pure functions over strings: each
 * returns 0 on success or -1 with a short reason in err ("not a duration").
 */
#ifndef ATLAX_CFG_H
#define ATLAX_CFG_H

#include <stddef.h>
#include <stdint.h>

#define CFG_ID_MAX	64	/* identity / CN length */
#define CFG_NAME_MAX	63	/* service name length */
#define CFG_HOST_MAX	255
/* "OWNER/SERVICE" of a private service: it travels in a frame's name
 * field (PROTOCOL.md section 2), so at most 64 bytes in all. */
#define CFG_ADDR_NAME_MAX	64

/* "host:port", "[v6]:port" or "*:port" (any = 1, host = ""). */
struct cfg_addr {
	char	 host[CFG_HOST_MAX + 1];
	uint16_t port;
	int	 any;
};

/* "500ms", "10s", "5m", "1h" (also "0").  Result in milliseconds. */
int	cfg_parse_duration(const char *s, uint64_t *ms, char *err, size_t len);
/* "65536", "64KiB", "4MiB", "1GiB" (also KB/MB/GB as powers of 1000). */
int	cfg_parse_size(const char *s, uint64_t *bytes, char *err, size_t len);
/* Address as above; port 1..65535 (allow_zero also accepts 0). */
int	cfg_parse_addr(const char *s, struct cfg_addr *a, int allow_zero,
	    char *err, size_t len);
/* "10000-20000"; start <= end, both 1..65535. */
int	cfg_parse_port_range(const char *s, uint16_t *lo, uint16_t *hi,
	    char *err, size_t len);
/* Identity / CN syntax: [A-Za-z0-9][A-Za-z0-9._-]{0,63}.  1 if valid. */
int	cfg_valid_id(const char *s);
/* Format a cfg_addr as "host:port" / "[v6]:port" / "*:port". */
char	*cfg_addr_str(const struct cfg_addr *a, char *buf, size_t len);

/* Decimal digits only, no sign, at most max ("70000" > 65535 is an error). */
int	cfg_parse_uint(const char *s, uint64_t max, uint64_t *v, char *err,
	    size_t len);
/* "OWNER/SERVICE" of a private service: both parts identity syntax, the
 * whole at most CFG_ADDR_NAME_MAX bytes.  1 if valid. */
int	cfg_valid_private(const char *s);
/* Host name or IP literal as accepted in addresses (no brackets).  1 if valid. */
int	cfg_valid_host(const char *s);
/* A numeric IPv4 or IPv6 address ("0.0.0.0", "::").  1 if valid. */
int	cfg_valid_ip(const char *s);
/* Shortest exact form: 1500 -> "1500ms", 60000 -> "1m", 65536 -> "64KiB". */
char	*cfg_fmt_duration(uint64_t ms, char *buf, size_t len);
char	*cfg_fmt_size(uint64_t bytes, char *buf, size_t len);
/* Copy s for an error message: sanitised, quoted, cut at 64 characters. */
char	*cfg_quote(const char *s, char *buf, size_t len);

#endif
