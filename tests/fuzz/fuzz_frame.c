/*
 * fuzz_frame.c — libFuzzer target for the wire codec (common/proto/frame.c).
 *
 * Input: one control payload.  Properties checked besides memory safety:
 * a payload that decodes re-encodes to exactly the same bytes (the format is
 * canonical: strict lengths, no trailing bytes), decoded strings are
 * NUL-terminated within their bounds, and an AUTH's token is the bytes it
 * was sent as.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_ctl	c, d;
	struct frame_hdr	h;
	uint8_t			buf[FRAME_HDR_LEN + FRAME_CTL_MAX];
	size_t			n;

	if (size >= FRAME_HDR_LEN) {
		frame_hdr_decode(data, &h);
		frame_hdr_encode(buf, h.sid, h.len);
		if (memcmp(buf, data, FRAME_HDR_LEN) != 0)
			abort();
	}
	if (frame_ctl_decode(data, size, &c) != 0)
		return 0;
	if (c.name_len > FRAME_NAME_MAX || c.text_len > FRAME_TEXT_MAX ||
	    strlen(c.name) != c.name_len || strlen(c.text) != c.text_len)
		abort();
	if (frame_ctl_encode(&c, buf, sizeof(buf), &n) != 0)
		abort();
	if (n != size || memcmp(buf, data, size) != 0)
		abort();
	if (frame_ctl_decode(buf, n, &d) != 0)
		abort();
	/* An AUTH's token points into the buffer it was decoded from. */
	if (c.token_len != d.token_len || (c.token_len > 0 &&
	    memcmp(c.token, d.token, c.token_len) != 0))
		abort();
	d.token = c.token;
	if (memcmp(&c, &d, sizeof(c)) != 0)
		abort();
	if (frame_ctl_frame(&c, buf, sizeof(buf), &n) != 0 ||
	    n != size + FRAME_HDR_LEN)
		abort();
	return 0;
}
