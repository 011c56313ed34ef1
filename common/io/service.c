/*
 * service.c — see service.h.
 */
#include "service.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "log.h"
#include "notify.h"

/* Without a watchdog, STATUS= is refreshed this often. */
#define SERVICE_STATUS_US	(10 * 1000000ULL)

struct service {
	struct event		*usr1;
	struct event		*tick;
	const char		*sub;
	char			 who[128];
	service_status_fn	 status;
	void			*arg;
};

static void
service_usr1_cb(evutil_socket_t sig, short what, void *arg)
{
	struct service *s = arg;
	char st[400];

	(void)sig;
	(void)what;
	s->status(s->arg, st, sizeof(st));
	if (s->who[0] != '\0')
		log_info(s->sub, "%s: status: %s", s->who, st);
	else
		log_info(s->sub, "status: %s", st);
}

static void
service_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct service *s = arg;
	char st[400];

	(void)fd;
	(void)what;
	if (notify_watchdog_usec() != 0)
		notify_watchdog();
	s->status(s->arg, st, sizeof(st));
	notify_status(st);
}

struct service *
service_start(struct event_base *base, const char *sub, const char *who,
    service_status_fn status, void *arg)
{
	uint64_t us = notify_watchdog_usec() / 2;
	struct service *s;
	struct timeval tv;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warnx(sub, "status and watchdog unavailable: out of memory");
		notify_ready();
		return NULL;
	}
	s->sub = sub;
	snprintf(s->who, sizeof(s->who), "%s", who != NULL ? who : "");
	s->status = status;
	s->arg = arg;
	if ((s->usr1 = evsignal_new(base, SIGUSR1, service_usr1_cb,
	    s)) == NULL || evsignal_add(s->usr1, NULL) != 0)
		log_warnx(sub, "SIGUSR1 status unavailable");
	if (notify_enabled()) {
		if (us == 0)
			us = SERVICE_STATUS_US;
		tv.tv_sec = (time_t)(us / 1000000);
		tv.tv_usec = (suseconds_t)(us % 1000000);
		if ((s->tick = event_new(base, -1, EV_PERSIST, service_tick_cb,
		    s)) == NULL || event_add(s->tick, &tv) != 0)
			log_warnx(sub, "watchdog timer unavailable");
		service_tick_cb(-1, 0, s);
	}
	notify_ready();
	return s;
}

void
service_stop(struct service *s)
{
	if (s == NULL)
		return;
	if (s->usr1 != NULL)
		event_free(s->usr1);
	if (s->tick != NULL)
		event_free(s->tick);
	free(s);
}
