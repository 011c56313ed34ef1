/*
 * evloop.c — see evloop.h.
 */
#include "evloop.h"

#include <event2/event.h>

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
