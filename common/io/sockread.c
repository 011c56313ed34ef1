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

/* What a socket with no history gets, and the least it ever gets. */
#define SOCKREAD_MIN	4096
/* The most a history may grow to (max bounds each read anyway). */
#define SOCKREAD_CAP	(1024 * 1024)

/* The size of the next read: sr's, or what the kernel holds. */
static size_t
sockread_want(int fd, size_t max, const struct sockread *sr)
{
	size_t want;
	int avail = 0;

	if (sr != NULL)
		want = sr->next >= SOCKREAD_MIN ? sr->next : SOCKREAD_MIN;
	else if (ioctl(fd, FIONREAD, &avail) == 0 && avail > 0)
		want = (size_t)avail;
	else
		want = SOCKREAD_GUESS;
	return want < max ? want : max;
}

static void
sockread_learn(struct sockread *sr, size_t want, size_t got)
{
	if (sr == NULL)
		return;
	if (got >= want && want < SOCKREAD_CAP)
		sr->next = want * 2;
	else if (got <= want / 4 && want / 2 >= SOCKREAD_MIN)
		sr->next = want / 2;
	else
		sr->next = want;
}

ssize_t
sockread_fill(struct evbuffer *buf, int fd, size_t max, struct sockread *sr)
{
	struct evbuffer_iovec v[2];
	ssize_t r = -1;
	size_t want, left;
	int n, i, used;

	if (max == 0)
		max = 1;
	/* Not max: an idle stream's input stays small. */
	want = sockread_want(fd, max, sr);
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
	sockread_learn(sr, want, (size_t)r);
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
	return r;
}
