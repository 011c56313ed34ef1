/*
 * evloop.c — see evloop.h.
 */
#include "evloop.h"

#include <malloc.h>
#include <signal.h>

#include <event2/event.h>

/* Chunks up to this size come from the heap, never from mmap. */
#define EVLOOP_MMAP_THRESHOLD	(4 * 1024 * 1024)
/* Free memory at the top of a heap is returned above this much only. */
#define EVLOOP_TRIM_THRESHOLD	(64 * 1024 * 1024)

struct event_base *
evloop_new(void)
{
	struct event_config *cfg;
	struct event_base *base = NULL;

	if ((cfg = event_config_new()) == NULL)
		goto out;
	if (event_config_set_flag(cfg,
	    EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) != 0)
		goto out;
	base = event_base_new_with_config(cfg);
out:
	if (cfg != NULL)
		event_config_free(cfg);
	/* No epoll, or no config: the default base is still correct. */
	return base != NULL ? base : event_base_new();
}

void
evloop_process_init(void)
{
	(void)signal(SIGPIPE, SIG_IGN);
	/* Fixed thresholds (setting either stops glibc's own adjustment). */
	(void)mallopt(M_MMAP_THRESHOLD, EVLOOP_MMAP_THRESHOLD);
	(void)mallopt(M_TRIM_THRESHOLD, EVLOOP_TRIM_THRESHOLD);
}
