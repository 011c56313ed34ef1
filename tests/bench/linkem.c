/*
 * linkem.c — a user-space WAN link emulator: a TCP proxy that adds, per
 * direction, a one-way delay, a rate limit and a bottleneck queue.
 *
 *   linkem --listen HOST:PORT --to HOST:PORT [--delay-ms D] [--rate-mbit R]
 *          [--queue-bytes B] [--window-bytes W] [--duration S]
 *
 * Each accepted connection is forwarded to --to.  Every byte read from one
 * side reaches the other side D ms after it left the bottleneck; the
 * bottleneck of each direction is one FIFO at R Mbit/s shared by every
 * connection (as on a real access link), holding at most B bytes waiting to
 * be serialised.  A proxy cannot drop bytes, so a full queue stops the reading
 * of every source of that direction and TCP's own backpressure slows the
 * senders.  W caps, per connection and direction, the bytes read and not yet
 * acknowledged, an acknowledgement coming back D ms after the bytes were
 * handed to the receiver: the emulated TCP window (Debian's default
 * net.ipv4.tcp_rmem maximum is 6 MiB, the default here).
 *
 * What is not emulated: loss, slow start and congestion control (both real TCP
 * connections end on loopback, so the emulated path behaves like a TCP
 * connection that always runs at its full window), the handshake's round trip
 * (connect completes at once, data is delayed), and the receiver's own socket
 * buffer (bytes handed to it count as delivered).
 *
 * One thread, epoll, a timerfd for the next due event and a signalfd.  Prints
 * "listening on HOST:PORT" once ready (port 0 picks a free one) and a line of
 * counters at exit.  Exits 0 after --duration seconds or on SIGTERM/SIGINT.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINKEM_CHUNK		(64 * 1024)	/* largest single read */
#define LINKEM_READS_PER_EVENT	4		/* then let the others run */
#define LINKEM_EVENTS		64
#define LINKEM_DEFAULT_WINDOW	(6 * 1024 * 1024)
#define LINKEM_NS		1000000000ull

/* One direction of the emulated path, shared by every connection. */
struct linkem_link {
	uint64_t	 t_free;	/* the bottleneck is busy until then */
	int		 full;		/* reading paused: queue at its cap */
	uint64_t	 bytes;		/* counters for the exit line */
};

/* Bytes read from one side: first waiting for delivery, then (once written)
 * waiting for their acknowledgement to come back. */
struct linkem_chunk {
	TAILQ_ENTRY(linkem_chunk) entry;
	uint64_t	 due;		/* delivery, then acknowledgement time */
	size_t		 len;
	size_t		 off;		/* bytes already written */
	int		 eof;		/* a FIN, not data */
	char		 data[];
};
TAILQ_HEAD(linkem_chunks, linkem_chunk);

/* One direction of one connection: from fd[from] to fd[to]. */
struct linkem_pipe {
	struct linkem_link	*link;
	int			 from;
	int			 to;
	struct linkem_chunks	 q;	/* read, not yet written */
	struct linkem_chunks	 acks;	/* written, acknowledgement pending */
	size_t			 inflight; /* bytes in q and acks */
	int			 eof_read;
	int			 shut;	/* FIN passed on */
	int			 blocked; /* last write would block */
};

enum linkem_kind { LINKEM_LISTENER, LINKEM_TIMER, LINKEM_SIGNAL, LINKEM_END };

/* What an epoll event points at. */
struct linkem_tag {
	enum linkem_kind	 kind;
	struct linkem_conn	*conn;
	int			 side;	/* 0: accepted socket, 1: upstream */
};

struct linkem_conn {
	LIST_ENTRY(linkem_conn)	 entry;
	int			 fd[2];
	uint32_t		 want[2];	/* epoll interest now set */
	int			 reg[2];	/* fd in the epoll set */
	struct linkem_tag	 tag[2];
	struct linkem_pipe	 pipe[2];	/* 0: fd0 -> fd1, 1: fd1 -> fd0 */
	int			 connecting;
	int			 dead;
};
LIST_HEAD(linkem_conns, linkem_conn);

struct linkem {
	const char		*listen_spec;
	const char		*to_spec;
	uint64_t		 delay;		/* ns, one way */
	uint64_t		 rate;		/* bit/s, 0: unlimited */
	uint64_t		 queue;		/* bytes */
	uint64_t		 queue_ns;	/* the queue's bytes, serialised */
	uint64_t		 window;	/* bytes */
	double			 duration;	/* s, 0: until a signal */

	struct sockaddr_storage	 to;
	socklen_t		 to_len;
	int			 ep;
	int			 lfd;
	int			 tfd;
	int			 sfd;
	struct linkem_tag	 ltag, ttag, stag;
	struct linkem_link	 link[2];
	struct linkem_conns	 conns;
	uint64_t		 nconns;
	uint64_t		 armed;		/* timerfd expiry set, 0: none */
	int			 stop;
};

static void	linkem_conn_kill(struct linkem_conn *, int);

static uint64_t
linkem_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * LINKEM_NS + (uint64_t)ts.tv_nsec;
}

static void
linkem_usage(void)
{
	fprintf(stderr, "usage: linkem --listen HOST:PORT --to HOST:PORT "
	    "[--delay-ms D] [--rate-mbit R]\n"
	    "              [--queue-bytes B] [--window-bytes W] "
	    "[--duration S]\n");
	exit(2);
}

/* "127.0.0.1:80" or "[::1]:80" into a socket address.  0 or -1. */
static int
linkem_parse_addr(const char *spec, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct addrinfo hints, *ai = NULL;
	char host[256];
	const char *port;
	size_t n;
	int r = -1;

	if (spec[0] == '[') {
		if ((port = strstr(spec, "]:")) == NULL)
			goto out;
		n = (size_t)(port - spec - 1);
		if (n >= sizeof(host))
			goto out;
		memcpy(host, spec + 1, n);
		port += 2;
	} else {
		if ((port = strrchr(spec, ':')) == NULL)
			goto out;
		n = (size_t)(port - spec);
		if (n >= sizeof(host))
			goto out;
		memcpy(host, spec, n);
		port++;
	}
	host[n] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL)
		goto out;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	r = 0;
out:
	if (ai != NULL)
		freeaddrinfo(ai);
	if (r == -1)
		fprintf(stderr, "linkem: bad address \"%s\" (HOST:PORT, "
		    "[V6]:PORT, numeric)\n", spec);
	return r;
}

static void
linkem_print_addr(const char *what, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	int port;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		printf("%s [%s]:%d\n", what, host, port);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
		printf("%s %s:%d\n", what, host, port);
	}
	fflush(stdout);
}

/* An end with no interest leaves the epoll set: a socket that has seen a
 * hang-up would otherwise report it again on every wait. */
static void
linkem_want(struct linkem *le, struct linkem_conn *c, int side, uint32_t ev)
{
	struct epoll_event e;
	int op;

	if (c->reg[side] && c->want[side] == ev)
		return;
	if (ev == 0) {
		if (c->reg[side] &&
		    epoll_ctl(le->ep, EPOLL_CTL_DEL, c->fd[side], NULL) == 0)
			c->reg[side] = 0;
		return;
	}
	memset(&e, 0, sizeof(e));
	e.events = ev;
	e.data.ptr = &c->tag[side];
	op = c->reg[side] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(le->ep, op, c->fd[side], &e) == 0) {
		c->want[side] = ev;
		c->reg[side] = 1;
	} else
		linkem_conn_kill(c, 1);
}

static void
linkem_chunks_free(struct linkem_chunks *q)
{
	struct linkem_chunk *ch;

	while ((ch = TAILQ_FIRST(q)) != NULL) {
		TAILQ_REMOVE(q, ch, entry);
		free(ch);
	}
}

/* Marks the connection for closing at the end of this loop iteration (its
 * tags may still be in the current batch of events).  With reset, the peers
 * see a reset rather than a clean end: a reset on one side is passed on. */
static void
linkem_conn_kill(struct linkem_conn *c, int reset)
{
	struct linger lg = { 1, 0 };
	int i;

	if (c->dead)
		return;
	c->dead = 1;
	for (i = 0; i < 2 && reset; i++)
		if (c->fd[i] != -1)
			(void)setsockopt(c->fd[i], SOL_SOCKET, SO_LINGER, &lg,
			    sizeof(lg));
}

static void
linkem_conn_free(struct linkem *le, struct linkem_conn *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < 2; i++) {
		if (c->fd[i] != -1) {
			if (c->reg[i])
				epoll_ctl(le->ep, EPOLL_CTL_DEL, c->fd[i], NULL);
			close(c->fd[i]);
		}
		linkem_chunks_free(&c->pipe[i].q);
		linkem_chunks_free(&c->pipe[i].acks);
	}
	free(c);
}

/*
 * The bytes a sender has written beyond what the emulated link holds (its
 * queue, its window) must wait in the sender's own socket, as on a real
 * path, where the congestion window keeps them there and TCP_NOTSENT_LOWAT
 * can bound them.  With the kernel's autotuned receive buffer on our side of
 * the loopback connection, megabytes would instead sit in front of the
 * emulator, acknowledged and out of the sender's control, adding a queue no
 * real link has.  Set before connect/listen so the window scale fits.
 */
#define LINKEM_RCVBUF	(128 * 1024)

static void
linkem_small_rcvbuf(int fd)
{
	int sz = LINKEM_RCVBUF;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

static void
linkem_accept(struct linkem *le)
{
	struct linkem_conn *c = NULL;
	int fd = -1, i, one = 1;

	if ((fd = accept4(le->lfd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) == -1)
		return;		/* EAGAIN or a connection gone already */
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto fail;
	c->fd[0] = fd;
	fd = -1;
	c->fd[1] = socket(le->to.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->fd[1] == -1)
		goto fail;
	linkem_small_rcvbuf(c->fd[1]);
	for (i = 0; i < 2; i++) {
		struct linkem_pipe *p = &c->pipe[i];

		/* The emulated link does its own pacing: Nagle on top of it
		 * would add delays the real path does not have. */
		(void)setsockopt(c->fd[i], IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		c->tag[i].kind = LINKEM_END;
		c->tag[i].conn = c;
		c->tag[i].side = i;
		p->link = &le->link[i];
		p->from = i;
		p->to = 1 - i;
		TAILQ_INIT(&p->q);
		TAILQ_INIT(&p->acks);
	}
	if (connect(c->fd[1], (struct sockaddr *)&le->to, le->to_len) == -1) {
		if (errno != EINPROGRESS)
			goto fail;
		c->connecting = 1;
	}
	/* Nothing is read before the upstream connection is up. */
	if (c->connecting) {
		linkem_want(le, c, 1, EPOLLOUT);
		if (c->dead)
			goto fail;
	}
	LIST_INSERT_HEAD(&le->conns, c, entry);
	le->nconns++;
	return;
fail:
	fprintf(stderr, "linkem: connection dropped: %s\n", strerror(errno));
	if (fd != -1)
		close(fd);
	if (c != NULL)
		linkem_conn_kill(c, 1);
	linkem_conn_free(le, c);
}

/* When a byte read now leaves the far end: after the bytes before it have
 * been serialised, its own serialisation, then the one-way delay.  Also
 * marks the link full once the bytes waiting for the bottleneck reach the
 * queue's size. */
static uint64_t
linkem_link_due(struct linkem *le, struct linkem_link *l, size_t n,
    uint64_t now)
{
	uint64_t start;

	l->bytes += n;
	if (le->rate == 0)
		return now + le->delay;
	start = l->t_free > now ? l->t_free : now;
	l->t_free = start + (uint64_t)n * 8 * LINKEM_NS / le->rate;
	if (l->t_free - now >= le->queue_ns)
		l->full = 1;
	return l->t_free + le->delay;
}

/* Reads what the window, the queue and the per-event bound allow. */
static void
linkem_pipe_read(struct linkem *le, struct linkem_conn *c,
    struct linkem_pipe *p)
{
	struct linkem_chunk *ch, *tail;
	size_t room;
	ssize_t n;
	int i;

	for (i = 0; i < LINKEM_READS_PER_EVENT; i++) {
		if (p->eof_read || p->link->full || p->inflight >= le->window)
			return;
		room = le->window - p->inflight;
		if (room > LINKEM_CHUNK)
			room = LINKEM_CHUNK;
		if ((ch = malloc(sizeof(*ch) + room)) == NULL) {
			linkem_conn_kill(c, 1);
			return;
		}
		n = recv(c->fd[p->from], ch->data, room, 0);
		if (n == -1) {
			free(ch);
			if (errno != EAGAIN && errno != EINTR)
				linkem_conn_kill(c, 1);
			return;
		}
		ch->len = (size_t)n;
		ch->off = 0;
		ch->eof = n == 0;
		if (n == 0) {
			/* The FIN follows the last byte, one delay later at
			 * the soonest. */
			p->eof_read = 1;
			ch->due = linkem_now() + le->delay;
			tail = TAILQ_LAST(&p->q, linkem_chunks);
			if (tail != NULL && tail->due > ch->due)
				ch->due = tail->due;
		} else {
			ch->due = linkem_link_due(le, p->link, ch->len,
			    linkem_now());
			p->inflight += ch->len;
			if (ch->len < room) {
				/* Only shrink what is worth it: a small
				 * read would otherwise pin 64 KiB. */
				struct linkem_chunk *s;

				if (ch->len < room / 2 && (s = realloc(ch,
				    sizeof(*ch) + ch->len)) != NULL)
					ch = s;
			}
		}
		TAILQ_INSERT_TAIL(&p->q, ch, entry);
		if (n == 0 || (size_t)n < room)
			return;		/* drained for now */
	}
}

/* Hands the due bytes to the receiver; returns the acknowledgements. */
static void
linkem_pipe_deliver(struct linkem *le, struct linkem_conn *c,
    struct linkem_pipe *p, uint64_t now)
{
	struct linkem_chunk *ch;
	ssize_t n;

	while ((ch = TAILQ_FIRST(&p->acks)) != NULL && ch->due <= now) {
		TAILQ_REMOVE(&p->acks, ch, entry);
		p->inflight -= ch->len;
		free(ch);
	}
	while (!p->blocked && (ch = TAILQ_FIRST(&p->q)) != NULL &&
	    ch->due <= now) {
		if (ch->eof) {
			TAILQ_REMOVE(&p->q, ch, entry);
			free(ch);
			(void)shutdown(c->fd[p->to], SHUT_WR);
			p->shut = 1;
			continue;
		}
		n = send(c->fd[p->to], ch->data + ch->off, ch->len - ch->off,
		    MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EAGAIN)
				p->blocked = 1;
			else if (errno != EINTR)
				linkem_conn_kill(c, 1);
			return;
		}
		ch->off += (size_t)n;
		if (ch->off < ch->len) {
			p->blocked = 1;
			return;
		}
		/* The receiver has it: the acknowledgement takes the way
		 * back, one delay. */
		TAILQ_REMOVE(&p->q, ch, entry);
		ch->due = now + le->delay;
		TAILQ_INSERT_TAIL(&p->acks, ch, entry);
	}
}

static void
linkem_end_event(struct linkem *le, struct linkem_conn *c, int side,
    uint32_t ev)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (c->dead)
		return;
	if (c->connecting && side == 1) {
		if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err,
		    &len) == -1 || err != 0) {
			fprintf(stderr, "linkem: connect: %s\n",
			    strerror(err ? err : errno));
			linkem_conn_kill(c, 1);
			return;
		}
		c->connecting = 0;
		return;
	}
	/* fd[side] is the source of pipe[side] and the sink of the other.
	 * An error is found by trying both. */
	if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
		c->pipe[1 - side].blocked = 0;
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
		linkem_pipe_read(le, c, &c->pipe[side]);
}

/* Delivers what is due, sets the epoll interest and returns the next time
 * this connection needs the clock (0: none). */
static uint64_t
linkem_conn_service(struct linkem *le, struct linkem_conn *c, uint64_t now)
{
	struct linkem_pipe *p;
	struct linkem_chunk *ch;
	uint64_t next = 0, t;
	uint32_t want[2] = { 0, 0 };
	int i;

	if (c->dead || c->connecting)
		return 0;
	for (i = 0; i < 2; i++) {
		p = &c->pipe[i];
		linkem_pipe_deliver(le, c, p, now);
		if (c->dead)
			return 0;
		if (!p->eof_read && !p->link->full && p->inflight < le->window)
			want[p->from] |= EPOLLIN;
		if (p->blocked)
			want[p->to] |= EPOLLOUT;
		t = 0;
		if ((ch = TAILQ_FIRST(&p->q)) != NULL && !p->blocked)
			t = ch->due;
		if ((ch = TAILQ_FIRST(&p->acks)) != NULL &&
		    (t == 0 || ch->due < t))
			t = ch->due;
		if (t != 0 && (next == 0 || t < next))
			next = t;
	}
	if (c->pipe[0].shut && c->pipe[1].shut) {
		linkem_conn_kill(c, 0);	/* both FINs passed on: done */
		return 0;
	}
	for (i = 0; i < 2; i++)
		linkem_want(le, c, i, want[i]);
	return next;
}

static void
linkem_arm(struct linkem *le, uint64_t at)
{
	struct itimerspec its;

	if (at == le->armed)
		return;
	memset(&its, 0, sizeof(its));
	if (at != 0) {
		its.it_value.tv_sec = (time_t)(at / LINKEM_NS);
		its.it_value.tv_nsec = (long)(at % LINKEM_NS);
	}
	if (timerfd_settime(le->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		le->armed = at;
}

/* One pass over every connection after the events: deliveries, interest,
 * and the freeing of connections killed meanwhile.  Returns when the clock
 * next matters (0: never). */
static uint64_t
linkem_service(struct linkem *le, uint64_t deadline)
{
	struct linkem_conn *c, *tmp;
	uint64_t now, next = deadline, t;
	int i;

	now = linkem_now();
	for (i = 0; i < 2 && le->rate != 0; i++) {
		struct linkem_link *l = &le->link[i];

		/* Reading resumes once the queue has drained below its
		 * size, at t_free - queue_ns. */
		l->full = l->t_free > now && l->t_free - now >= le->queue_ns;
		if (l->full && (next == 0 || l->t_free - le->queue_ns < next))
			next = l->t_free - le->queue_ns;
	}
	LIST_FOREACH(c, &le->conns, entry) {
		t = linkem_conn_service(le, c, now);
		if (t != 0 && (next == 0 || t < next))
			next = t;
	}
	for (c = LIST_FIRST(&le->conns); c != NULL; c = tmp) {
		tmp = LIST_NEXT(c, entry);
		if (!c->dead)
			continue;
		LIST_REMOVE(c, entry);
		linkem_conn_free(le, c);
	}
	return next;
}

static int
linkem_setup(struct linkem *le)
{
	struct sockaddr_storage ss;
	struct epoll_event e;
	socklen_t len;
	sigset_t set;
	int one = 1, r = -1;

	if (linkem_parse_addr(le->listen_spec, &ss, &len) == -1 ||
	    linkem_parse_addr(le->to_spec, &le->to, &le->to_len) == -1)
		goto out;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((le->ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (le->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1 ||
	    (le->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1 ||
	    (le->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		perror("linkem: setup");
		goto out;
	}
	(void)setsockopt(le->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	linkem_small_rcvbuf(le->lfd);	/* inherited by accepted sockets */
	if (bind(le->lfd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(le->lfd, 128) == -1) {
		fprintf(stderr, "linkem: listen on %s: %s\n", le->listen_spec,
		    strerror(errno));
		goto out;
	}
	le->ltag.kind = LINKEM_LISTENER;
	le->ttag.kind = LINKEM_TIMER;
	le->stag.kind = LINKEM_SIGNAL;
	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN;
	e.data.ptr = &le->ltag;
	if (epoll_ctl(le->ep, EPOLL_CTL_ADD, le->lfd, &e) == -1)
		goto out;
	e.data.ptr = &le->ttag;
	if (epoll_ctl(le->ep, EPOLL_CTL_ADD, le->tfd, &e) == -1)
		goto out;
	e.data.ptr = &le->stag;
	if (epoll_ctl(le->ep, EPOLL_CTL_ADD, le->sfd, &e) == -1)
		goto out;
	linkem_print_addr("listening on", le->lfd);
	r = 0;
out:
	return r;
}

static void
linkem_loop(struct linkem *le)
{
	struct epoll_event ev[LINKEM_EVENTS];
	struct linkem_tag *tag;
	uint64_t deadline = 0, next, buf;
	struct signalfd_siginfo si;
	int i, n, timeout = -1;

	if (le->duration > 0)
		deadline = linkem_now() + (uint64_t)(le->duration * 1e9);
	linkem_arm(le, deadline);
	while (!le->stop) {
		n = epoll_wait(le->ep, ev, LINKEM_EVENTS, timeout);
		if (n == -1 && errno != EINTR) {
			perror("linkem: epoll_wait");
			break;
		}
		for (i = 0; i < n; i++) {
			tag = ev[i].data.ptr;
			switch (tag->kind) {
			case LINKEM_LISTENER:
				linkem_accept(le);
				break;
			case LINKEM_TIMER:
				/* Expired (or a stale wake-up): either way
				 * nothing is armed any more. */
				if (read(le->tfd, &buf, sizeof(buf)) == -1 &&
				    errno != EAGAIN)
					perror("linkem: timerfd");
				le->armed = 0;
				break;
			case LINKEM_SIGNAL:
				if (read(le->sfd, &si, sizeof(si)) > 0)
					le->stop = 1;
				break;
			case LINKEM_END:
				linkem_end_event(le, tag->conn, tag->side,
				    ev[i].events);
				break;
			}
		}
		if (deadline != 0 && linkem_now() >= deadline)
			le->stop = 1;
		/* Something already due (an acknowledgement with no delay)
		 * costs no timer round trip: just poll again. */
		next = linkem_service(le, deadline);
		timeout = -1;
		if (next != 0 && next <= linkem_now())
			timeout = 0;
		else
			linkem_arm(le, next);
	}
}

static void
linkem_teardown(struct linkem *le)
{
	struct linkem_conn *c;

	while ((c = LIST_FIRST(&le->conns)) != NULL) {
		LIST_REMOVE(c, entry);
		linkem_conn_free(le, c);
	}
	if (le->lfd != -1)
		close(le->lfd);
	if (le->tfd != -1)
		close(le->tfd);
	if (le->sfd != -1)
		close(le->sfd);
	if (le->ep != -1)
		close(le->ep);
}

/* A non-negative number, the whole argument. */
static int
linkem_number(const char *s, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0) || v > max)
		return -1;
	*out = v;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "to", required_argument, NULL, 't' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "rate-mbit", required_argument, NULL, 'r' },
		{ "queue-bytes", required_argument, NULL, 'q' },
		{ "window-bytes", required_argument, NULL, 'w' },
		{ "duration", required_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 }
	};
	struct linkem le;
	double v;
	int ch, r = 1;

	memset(&le, 0, sizeof(le));
	le.ep = le.lfd = le.tfd = le.sfd = -1;
	le.queue = 1024 * 1024;
	le.window = LINKEM_DEFAULT_WINDOW;
	LIST_INIT(&le.conns);
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'l' || ch == 't') {
			*(ch == 'l' ? &le.listen_spec : &le.to_spec) = optarg;
			continue;
		}
		if (ch == '?' || linkem_number(optarg, 1e12, &v) == -1) {
			if (ch != '?')
				fprintf(stderr, "linkem: bad number \"%s\"\n",
				    optarg);
			linkem_usage();
		}
		switch (ch) {
		case 'd': le.delay = (uint64_t)(v * 1e6); break;
		case 'r': le.rate = (uint64_t)(v * 1e6); break;
		case 'q': le.queue = (uint64_t)v; break;
		case 'w': le.window = (uint64_t)v; break;
		case 'D': le.duration = v; break;
		}
	}
	/* The window must hold at least one read, the queue one byte. */
	if (le.listen_spec == NULL || le.to_spec == NULL || optind != argc ||
	    le.window < LINKEM_CHUNK || le.queue == 0)
		linkem_usage();
	/* Chunks of 64 KiB come and go thousands of times a second: without
	 * this, glibc gives the heap's top back and takes it again with brk(2)
	 * (and fresh zeroed pages) each time, which halved the forwarding
	 * rate. */
	(void)mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
	(void)mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
	if (le.rate != 0)
		le.queue_ns = (uint64_t)((long double)le.queue * 8e9L /
		    (long double)le.rate);
	if (linkem_setup(&le) == 0) {
		linkem_loop(&le);
		printf("linkem: conns=%llu bytes_fwd=%llu bytes_back=%llu\n",
		    (unsigned long long)le.nconns,
		    (unsigned long long)le.link[0].bytes,
		    (unsigned long long)le.link[1].bytes);
		r = 0;
	}
	linkem_teardown(&le);
	return r;
}
