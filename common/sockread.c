/*
 * sockread.c — see sockread.h.
 */
#include "sockread.h"

#include <sys/ioctl.h>
#include <sys/uio.h>

#include <errno.h>

#include <event2/buffer.h>

/* What to ask for when the kernel does not say what it holds (FIONREAD 0:
 * EOF or an error is next, and a read of any size reports it). */
#define SOCKREAD_GUESS	4096

ssize_t
sockread_fill(struct evbuffer *buf, int fd, size_t max)
{
	struct evbuffer_iovec v[2];
	ssize_t r = -1;
	size_t want, left;
	int avail = 0, n, i, used, frozen = 1, e;

	if (max == 0)
		max = 1;
	/* Reserve what is there, not max: an idle stream's input stays
	 * small. */
	if (ioctl(fd, FIONREAD, &avail) != 0 || avail <= 0)
		avail = SOCKREAD_GUESS;
	want = (size_t)avail < max ? (size_t)avail : max;
	/* A socket bufferevent keeps its input's end frozen between its own
	 * reads, as we do between ours. */
	evbuffer_unfreeze(buf, 0);
	frozen = 0;
	if ((n = evbuffer_reserve_space(buf, (ev_ssize_t)want, v, 2)) <= 0) {
		errno = ENOMEM;
		goto out;
	}
	left = want;
	for (i = 0; i < n; i++) {
		if (v[i].iov_len > left)
			v[i].iov_len = left;
		left -= v[i].iov_len;
	}
	do
		r = readv(fd, (struct iovec *)v, n);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		goto out;
	left = (size_t)r;
	for (i = 0, used = 0; i < n && left > 0; i++, used++) {
		if (v[i].iov_len > left)
			v[i].iov_len = left;
		left -= v[i].iov_len;
	}
	if (evbuffer_commit_space(buf, v, used) != 0) {
		errno = ENOMEM;
		r = -1;
	}
out:
	if (!frozen) {
		e = errno;
		evbuffer_freeze(buf, 0);
		errno = e;
	}
	return r;
}
