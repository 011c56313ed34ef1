/*
 * evloop.h — the event loop every daemon thread runs.
 */
#ifndef ATLAX_EVLOOP_H
#define ATLAX_EVLOOP_H

struct event_base;

/* A new event base (the caller frees it with event_base_free()), or NULL.
 * On epoll it batches interest changes until the next epoll_wait(): a socket
 * bufferevent turns write interest off when its output empties and on again
 * when the same loop turn refills it, and those two changes then cancel
 * instead of costing two epoll_ctl() calls.  (The flag is unsafe with
 * dup()ed descriptors; the daemons never dup a socket.) */
struct event_base *evloop_new(void);

/* Process-wide settings for a daemon whose loops move data in large bites,
 * called once before any thread starts: SIGPIPE ignored (a peer's reset is
 * an error from write, not a signal), and malloc kept from handing the
 * 128-256 KiB buffers of the data path back to the kernel on every free
 * (madvise or munmap, then a page fault per 4 KiB on the next read into
 * them: with 8 busy streams the relay spent more time in that than in
 * copying).  Freed memory stays mapped up to the peak in use, which the
 * configured windows bound. */
void	evloop_process_init(void);

#endif
