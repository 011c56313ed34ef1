/*
 * sockread.h — read a socket into an evbuffer in one large bite.
 *
 * libevent 2.1's socket bufferevents read at most 4096 bytes per callback:
 * evbuffer_read() caps every read at EVBUFFER_MAX_READ, whatever
 * bufferevent_set_max_single_read() says.  A stream then moved 4 KiB per
 * loop turn, in 4 KiB frames and 4 KiB TLS records, and the profile was all
 * system calls and wake-ups.  sockread_fill() reads what the kernel holds, up
 * to a bound, with one readv(2).
 */
#ifndef ATLAX_SOCKREAD_H
#define ATLAX_SOCKREAD_H

#include <sys/types.h>

#include <stddef.h>

struct evbuffer;

/* Append up to max bytes (at least 1) read from non-blocking socket fd to
 * buf, the input of a socket bufferevent whose reading is off (its end stays
 * frozen, as libevent keeps it, outside this call).  Returns the count read (> 0), 0 at end of file, or -1 with errno set
 * (EAGAIN: nothing to read now; ENOMEM: buf could not grow). */
ssize_t	sockread_fill(struct evbuffer *buf, int fd, size_t max);

#endif
