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

#endif
