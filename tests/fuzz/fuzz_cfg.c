/*
 * fuzz_cfg.c — libFuzzer target for the configuration reader: any bytes go
 * through cfg_yaml_parse() and both key walks (relay.yaml and agent.yaml).
 * Either a config or one printable error line comes out; never a crash, a
 * leak, or a message that spans lines.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cfg_agent.h"
#include "cfg_relay.h"
#include "cfg_yaml.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_cfg_check_err(const char *err)
{
	const unsigned char *p;

	for (p = (const unsigned char *)err; *p != '\0'; p++) {
		if (*p < 0x20 || *p >= 0x7f)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct relay_config *rc = NULL;
	struct agent_config *ac = NULL;
	char err[512];
	uint64_t v;
	char *s;

	if (size > CFG_FILE_MAX)
		return 0;
	err[0] = '\0';
	if (cfg_relay_parse("f.yaml", (const char *)data, size, "/d", &rc, err,
	    sizeof(err)) != 0)
		fuzz_cfg_check_err(err);
	cfg_relay_free(rc);
	err[0] = '\0';
	if (cfg_agent_parse("f.yaml", (const char *)data, size, "/d", &ac, err,
	    sizeof(err)) != 0)
		fuzz_cfg_check_err(err);
	cfg_agent_free(ac);

	/* The value parsers on the same bytes as one string. */
	if ((s = strndup((const char *)data, size < 256 ? size : 256)) != NULL) {
		struct cfg_addr a;
		uint16_t lo, hi;

		(void)cfg_parse_duration(s, &v, err, sizeof(err));
		(void)cfg_parse_size(s, &v, err, sizeof(err));
		(void)cfg_parse_addr(s, &a, 1, err, sizeof(err));
		(void)cfg_parse_port_range(s, &lo, &hi, err, sizeof(err));
		(void)cfg_valid_id(s);
		free(s);
	}
	return 0;
}
