/*
 * mux_budget.c — the send budget of a tunnel (struct mux_settings
 * send_budget, PROTOCOL.md section 4): the bytes queued in all streams'
 * send queues together, and the fair order in which streams cut short by it
 * get their turn.  See mux_int.h for the structures.
 *
 * Without a budget, send memory is bounded by streams x stream_window, which
 * the public side chooses (400 streams of 1 MiB: 400 MiB).  With one, every
 * write also fits in the budget's free room, so m->tx_bytes <= send_budget
 * always.  Fairness when the budget is short: a stream cut short by it waits
 * on m->bwait in arrival order; as frames leave, mux_output() wakes waiters
 * from the head, one per quantum of free room and counting those woken that
 * have not written yet, so a small room wakes a few streams, not all of them.
 * While anyone waits, only woken streams may write, each at most a quantum:
 * nobody jumps the queue and a woken stream cannot take the room of the
 * next.  A woken stream that never writes (its socket went quiet) keeps its
 * turn until the queues drain, then the turns are reset so it cannot stall
 * the others.
 */
#include "mux_int.h"

/* Woken and not yet written: s->woken carries the current generation. */
static int
mux_budget_woken(const struct mux *m, const struct mux_stream *s)
{
	return s->woken == m->wake_gen;
}

static size_t
mux_budget_free(const struct mux *m)
{
	return m->tx_bytes < m->set.send_budget ?
	    m->set.send_budget - m->tx_bytes : 0;
}

/* About a frame, and at most a quarter of the budget. */
static size_t
mux_budget_quantum(const struct mux *m)
{
	size_t	q = m->set.send_budget / 4;
	size_t	f = m->hello_recv ? m->peer_max_frame : m->set.max_frame;

	if (q > f)
		q = f;
	return q > 0 ? q : 1;
}

/* The stream's share of the budget's free room now. */
size_t
mux_budget_space(const struct mux *m, const struct mux_stream *s)
{
	size_t	free = mux_budget_free(m), q;

	if (TAILQ_EMPTY(&m->bwait) && m->nwoken == 0)
		return free;
	if (!mux_budget_woken(m, s))
		return 0;
	q = mux_budget_quantum(m);
	return TAILQ_EMPTY(&m->bwait) || free < q ? free : q;
}

/* s no longer waits nor holds a turn (it wrote, or it is closing). */
void
mux_budget_leave(struct mux *m, struct mux_stream *s)
{
	if (s->bwait) {
		TAILQ_REMOVE(&m->bwait, s, bentry);
		s->bwait = 0;
	}
	if (mux_budget_woken(m, s)) {
		s->woken = 0;
		m->nwoken--;
	}
}

/* s was cut short by the budget, not by its own room: queue it. */
void
mux_budget_enqueue(struct mux *m, struct mux_stream *s)
{
	if (m->set.send_budget == 0 || s->bwait || mux_budget_woken(m, s) ||
	    mux_stream_room(m, s) == 0)
		return;
	TAILQ_INSERT_TAIL(&m->bwait, s, bentry);
	s->bwait = 1;
}

/* Would mux_budget_wake() wake someone? */
int
mux_budget_wants(const struct mux *m)
{
	size_t	q;

	if (m->dead || TAILQ_EMPTY(&m->bwait))
		return 0;
	if (m->nwoken > 0 && m->tx_bytes == 0)
		return 1;		/* stale turns: reset them */
	q = mux_budget_quantum(m);
	return mux_budget_free(m) / q > m->nwoken;
}

void
mux_budget_wake(struct mux *m)
{
	struct mux_stream	*s;

	while (mux_budget_wants(m)) {
		if (m->nwoken > 0 && m->tx_bytes == 0) {
			/* Woken streams had a whole drain to write and did
			 * not: their turns lapse. */
			if (++m->wake_gen == 0)
				m->wake_gen = 1;
			m->nwoken = 0;
			continue;
		}
		s = TAILQ_FIRST(&m->bwait);
		TAILQ_REMOVE(&m->bwait, s, bentry);
		s->bwait = 0;
		if (!s->blocked || mux_stream_room(m, s) == 0)
			continue;	/* no longer wants to write */
		s->woken = m->wake_gen;
		m->nwoken++;
		s->blocked = 0;
		if (m->cb.stream_writable != NULL)
			m->cb.stream_writable(m, s->sid, s->sarg);
	}
}
