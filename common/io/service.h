/*
 * service.h — what systemd and an operator see of a running daemon, the same
 * for both: READY=1 once it serves, WATCHDOG=1 at half the watchdog period,
 * a STATUS= line kept fresh, and SIGUSR1 writing that status line to the
 * log.  Built on notify.h; nothing here can stop the daemon (a failure costs
 * the status line or the watchdog, logged once).
 */
#ifndef ATLAX_SERVICE_H
#define ATLAX_SERVICE_H

#include <stddef.h>

struct event_base;
struct service;

/* Fill buf with a one-line status ("3 agents connected, 2 workers"). */
typedef void (*service_status_fn)(void *arg, char *buf, size_t len);

/* Start the events on base and send READY=1.  sub and who prefix the log
 * line SIGUSR1 writes ("<sub>: <who>: status: ..."; who may be NULL).
 * Returns the handle for service_stop(), or NULL when out of memory (the
 * daemon goes on without them). */
struct service *service_start(struct event_base *base, const char *sub,
	    const char *who, service_status_fn status, void *arg);
/* Stop the events and free (accepts NULL). */
void	service_stop(struct service *s);

#endif
