/*
 * queue.h — <sys/queue.h> with what glibc's copy lacks.  Include this
 * instead of <sys/queue.h>.
 */
#ifndef ATLAX_QUEUE_H
#define ATLAX_QUEUE_H

#include <sys/queue.h>

/* Walk a list while removing the current element (BSD's macro). */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

#endif
