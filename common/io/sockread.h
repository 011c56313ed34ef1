/*
 * sockread.h — read a socket into an evbuffer in one large bite.
 *
 * libevent 2.1's evbuffer_read() caps every read at 4096 bytes
 * (EVBUFFER_MAX_READ).  A stream then moved 4 KiB per loop turn, in 4 KiB
 * frames and 4 KiB TLS records, and the profile was all system calls and
 * wake-ups.  sockread_fill() reads what the kernel holds, up to a bound, with
 * one readv(2); the pumps and tlsio read through it.
 */
#ifndef ATLAX_SOCKREAD_H
#define ATLAX_SOCKREAD_H

#include <sys/types.h>

#include <stddef.h>

struct evbuffer;

/* A socket's read size, learnt from its last reads: it starts at 4 KiB,
 * doubles after a read that filled its buffer and halves after one that
 * used a quarter or less.  Zeroed memory is a valid start. */
struct sockread {
	size_t	next;
};

/* Append up to max bytes (at least 1) read from non-blocking socket fd to
 * buf with one readv(2).  With sr, the size is sr's
 * (no system call to ask the kernel; an idle stream's reads stay small, a
 * bulk one's grow to max within a few reads); with sr NULL it is what
 * FIONREAD reports.  Returns the count read (> 0), 0 at end of file, or -1
 * with errno set (EAGAIN: nothing to read now; ENOMEM: buf could not
 * grow). */
ssize_t	sockread_fill(struct evbuffer *buf, int fd, size_t max,
	    struct sockread *sr);

#endif
