/*
 * loadgen.c — the benchmark's own service and clients (tests/bench/bench.sh).
 *
 *   loadgen serve -p PORT              echo service; a connection whose first
 *                                      byte is 'B' becomes a bulk source instead
 *   loadgen rtt   -p PORT -n N [-t S]  1-byte round trips: p50/p99 in µs
 *   loadgen conn  -p PORT -T THREADS -d S
 *                                      connect, 1-byte echo, close, as fast as
 *                                      possible: connections per second
 *   loadgen bulk  -p PORT -d S         read the bulk source for S seconds
 *   loadgen hold  -p PORT -n N [-c C] [-t S]
 *                                      open N streams, prove each with a 1-byte
 *                                      echo, print "ready", keep them idle for
 *                                      at most S seconds (or until SIGTERM)
 *   loadgen cpu   PID...               CPU seconds of the process trees
 *   loadgen rss   PID...               resident bytes of the process trees
 *
 * Every client is bounded in time, talks only to 127.0.0.1 and prints one line
 * of key=value pairs that bench.sh parses.  Results go to stdout, problems to
 * stderr; the exit status is 0 only when the measurement is valid.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOADGEN_BUFSZ		4096
#define LOADGEN_SOURCE_CHUNK	(64 * 1024)
#define LOADGEN_WARMUP		200
#define LOADGEN_MAXPROC		65536

struct loadgen_opts {
	int		 port;
	long		 count;
	int		 threads;
	int		 concurrency;
	double		 seconds;
};

/* One connection of the echo service. */
enum loadgen_mode { LOADGEN_NEW, LOADGEN_ECHO, LOADGEN_SOURCE };
struct loadgen_conn {
	int		 fd;
	enum loadgen_mode mode;
	size_t		 off;		/* pending echo bytes are buf[off..len) */
	size_t		 len;
	char		 buf[LOADGEN_BUFSZ];
};

static volatile sig_atomic_t loadgen_stop;

static void
loadgen_on_signal(int sig)
{
	(void)sig;
	loadgen_stop = 1;
}

static double
loadgen_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t
loadgen_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
loadgen_addr(struct sockaddr_in *sin, int port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

static void
loadgen_nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* A blocking client socket connected to 127.0.0.1:port, with I/O timeouts so
 * that a stuck path costs one error, not the run.  -1 on failure. */
static int
loadgen_dial(int port, double timeout)
{
	struct sockaddr_in sin;
	struct timeval tv;
	int fd = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	tv.tv_sec = (time_t)timeout;
	tv.tv_usec = (suseconds_t)((timeout - (double)tv.tv_sec) * 1e6);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	loadgen_nodelay(fd);
	loadgen_addr(&sin, port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		goto fail;
	return fd;
fail:
	if (fd != -1)
		close(fd);
	return -1;
}

/* Write one byte and read one byte back.  0 or -1. */
static int
loadgen_ping(int fd)
{
	char c = 'x';
	ssize_t n;

	do
		n = write(fd, &c, 1);
	while (n == -1 && errno == EINTR);
	if (n != 1)
		return -1;
	do
		n = read(fd, &c, 1);
	while (n == -1 && errno == EINTR);
	return n == 1 ? 0 : -1;
}

/* ---- serve ---- */

static void
loadgen_conn_close(int ep, struct loadgen_conn *c)
{
	if (c == NULL)
		return;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

static void
loadgen_conn_want(int ep, struct loadgen_conn *c, uint32_t events)
{
	struct epoll_event ev;

	ev.events = events;
	ev.data.ptr = c;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Returns -1 when the connection is finished and must be closed. */
static int
loadgen_conn_io(int ep, struct loadgen_conn *c, uint32_t events)
{
	static char source[LOADGEN_SOURCE_CHUNK];
	ssize_t n;

	if (c->mode == LOADGEN_SOURCE) {
		if (events & EPOLLIN) {
			n = read(c->fd, c->buf, sizeof(c->buf));
			if (n == 0 || (n == -1 && errno != EAGAIN))
				return -1;
		}
		if (events & EPOLLOUT) {
			n = write(c->fd, source, sizeof(source));
			if (n == -1 && errno != EAGAIN)
				return -1;
		}
		return (events & (EPOLLERR | EPOLLHUP)) ? -1 : 0;
	}
	if (c->len > c->off) {			/* flush the pending echo */
		n = write(c->fd, c->buf + c->off, c->len - c->off);
		if (n == -1 && errno != EAGAIN)
			return -1;
		if (n > 0)
			c->off += (size_t)n;
		if (c->off < c->len)
			return 0;
		c->off = c->len = 0;
		loadgen_conn_want(ep, c, EPOLLIN);
		return 0;
	}
	n = read(c->fd, c->buf, sizeof(c->buf));
	if (n == 0 || (n == -1 && errno != EAGAIN))
		return -1;
	if (n == -1)
		return 0;
	if (c->mode == LOADGEN_NEW && c->buf[0] == 'B') {
		c->mode = LOADGEN_SOURCE;
		loadgen_conn_want(ep, c, EPOLLIN | EPOLLOUT);
		return 0;
	}
	c->mode = LOADGEN_ECHO;
	c->len = (size_t)n;
	n = write(c->fd, c->buf, c->len);
	if (n == -1 && errno != EAGAIN)
		return -1;
	c->off = n > 0 ? (size_t)n : 0;
	if (c->off == c->len)
		c->off = c->len = 0;
	else
		loadgen_conn_want(ep, c, EPOLLOUT);
	return 0;
}

static int
loadgen_serve(const struct loadgen_opts *o)
{
	struct epoll_event ev, evs[256];
	struct sockaddr_in sin;
	struct loadgen_conn *c;
	int ep = -1, lfd = -1, fd, one = 1, i, n, r = 1;

	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		goto out;
	loadgen_addr(&sin, o->port);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 4096) == -1) {
		perror("loadgen: serve: bind/listen");
		goto out;
	}
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		goto out;
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;		/* NULL marks the listener */
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	printf("listening port=%d\n", o->port);
	fflush(stdout);
	while (!loadgen_stop) {
		if ((n = epoll_wait(ep, evs, 256, 500)) == -1 && errno != EINTR)
			goto out;
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr != NULL) {
				c = evs[i].data.ptr;
				if (loadgen_conn_io(ep, c, evs[i].events) == -1)
					loadgen_conn_close(ep, c);
				continue;
			}
			while ((fd = accept4(lfd, NULL, NULL,
			    SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
				if ((c = calloc(1, sizeof(*c))) == NULL) {
					close(fd);
					continue;
				}
				c->fd = fd;
				loadgen_nodelay(fd);
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
			}
		}
	}
	r = 0;
out:
	/* Connections still open die with the process. */
	if (lfd != -1)
		close(lfd);
	if (ep != -1)
		close(ep);
	return r;
}

/* ---- rtt ---- */

static int
loadgen_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
loadgen_rtt(const struct loadgen_opts *o)
{
	uint64_t *lat = NULL, t0;
	double deadline;
	long i, n = 0;
	int fd = -1, r = 1;

	if ((lat = calloc((size_t)o->count, sizeof(*lat))) == NULL)
		goto out;
	if ((fd = loadgen_dial(o->port, 5.0)) == -1) {
		perror("loadgen: rtt: connect");
		goto out;
	}
	/* Warm up for 200 round trips or a fifth of the time, whichever ends
	 * first: on a loaded path a round trip can take milliseconds. */
	deadline = loadgen_now() + o->seconds / 5;
	for (i = 0; i < LOADGEN_WARMUP && loadgen_now() < deadline; i++)
		if (loadgen_ping(fd) == -1)
			goto broken;
	deadline = loadgen_now() + o->seconds;
	while (n < o->count && loadgen_now() < deadline && !loadgen_stop) {
		t0 = loadgen_now_ns();
		if (loadgen_ping(fd) == -1)
			goto broken;
		lat[n++] = loadgen_now_ns() - t0;
	}
	if (n < 20) {
		fprintf(stderr, "loadgen: rtt: only %ld round trips\n", n);
		goto out;
	}
	qsort(lat, (size_t)n, sizeof(*lat), loadgen_cmp_u64);
	printf("rtt n=%ld p50_us=%.1f p99_us=%.1f max_us=%.1f\n", n,
	    lat[n / 2] / 1e3, lat[(n * 99) / 100] / 1e3, lat[n - 1] / 1e3);
	r = 0;
	goto out;
broken:
	fprintf(stderr, "loadgen: rtt: echo failed after %ld round trips\n", n);
out:
	if (fd != -1)
		close(fd);
	free(lat);
	return r;
}

/* ---- conn ---- */

struct loadgen_worker {
	pthread_t	 thread;
	int		 port;
	double		 deadline;
	long		 ok;
	long		 err;
};

static void *
loadgen_conn_worker(void *arg)
{
	struct loadgen_worker *w = arg;
	int fd;

	while (loadgen_now() < w->deadline && !loadgen_stop) {
		if ((fd = loadgen_dial(w->port, 2.0)) == -1) {
			w->err++;
			usleep(1000);	/* a refusing path must not spin */
			continue;
		}
		if (loadgen_ping(fd) == 0)
			w->ok++;
		else
			w->err++;
		close(fd);
	}
	return NULL;
}

static int
loadgen_conn(const struct loadgen_opts *o)
{
	struct loadgen_worker *w = NULL;
	double t0, el;
	long ok = 0, err = 0;
	int i, started = 0, r = 1;

	if ((w = calloc((size_t)o->threads, sizeof(*w))) == NULL)
		goto out;
	t0 = loadgen_now();
	for (i = 0; i < o->threads; i++) {
		w[i].port = o->port;
		w[i].deadline = t0 + o->seconds;
		if (pthread_create(&w[i].thread, NULL, loadgen_conn_worker,
		    &w[i]) != 0)
			break;
		started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(w[i].thread, NULL);
		ok += w[i].ok;
		err += w[i].err;
	}
	el = loadgen_now() - t0;
	printf("conn threads=%d ok=%ld err=%ld secs=%.3f rate=%.1f\n",
	    started, ok, err, el, ok / el);
	r = (started == o->threads && ok > 0) ? 0 : 1;
out:
	free(w);
	return r;
}

/* ---- bulk ---- */

static int
loadgen_bulk(const struct loadgen_opts *o)
{
	static char buf[256 * 1024];
	double t0, deadline;
	long long total = 0;
	ssize_t n;
	int fd = -1, r = 1;

	if ((fd = loadgen_dial(o->port, 1.0)) == -1) {
		perror("loadgen: bulk: connect");
		goto out;
	}
	if (write(fd, "B", 1) != 1)
		goto out;
	t0 = loadgen_now();
	deadline = t0 + o->seconds;
	while (loadgen_now() < deadline && !loadgen_stop) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0)
			total += n;
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			break;
	}
	printf("bulk bytes=%lld gbit=%.3f\n", total,
	    total * 8 / 1e9 / (loadgen_now() - t0));
	r = total > 0 ? 0 : 1;
out:
	if (fd != -1)
		close(fd);
	return r;
}

/* ---- hold ---- */

enum loadgen_hstate { LOADGEN_H_IDLE, LOADGEN_H_CONNECTING, LOADGEN_H_WAITING,
    LOADGEN_H_HELD, LOADGEN_H_FAILED };

static int
loadgen_hold_start(int ep, int port, int idx, int *fds)
{
	struct epoll_event ev;
	struct sockaddr_in sin;
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	loadgen_nodelay(fd);
	loadgen_addr(&sin, port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	ev.events = EPOLLOUT;
	ev.data.u32 = (uint32_t)idx;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	fds[idx] = fd;
	return 0;
}

/* A held stream has echoed its byte: it exists end to end. */
static void
loadgen_hold_event(int ep, int *fds, unsigned char *st, int idx, uint32_t events)
{
	struct epoll_event ev;
	int err = 0;
	socklen_t len = sizeof(err);
	char c = 'x';

	if (st[idx] == LOADGEN_H_CONNECTING) {
		if (getsockopt(fds[idx], SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
		    err != 0 || write(fds[idx], &c, 1) != 1)
			goto failed;
		st[idx] = LOADGEN_H_WAITING;
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)idx;
		epoll_ctl(ep, EPOLL_CTL_MOD, fds[idx], &ev);
		return;
	}
	if ((events & EPOLLIN) && read(fds[idx], &c, 1) == 1) {
		st[idx] = LOADGEN_H_HELD;
		epoll_ctl(ep, EPOLL_CTL_DEL, fds[idx], NULL);
		return;
	}
failed:
	st[idx] = LOADGEN_H_FAILED;
	epoll_ctl(ep, EPOLL_CTL_DEL, fds[idx], NULL);
	close(fds[idx]);
	fds[idx] = -1;
}

static int
loadgen_hold(const struct loadgen_opts *o)
{
	struct epoll_event evs[256];
	unsigned char *st = NULL;
	int *fds = NULL, ep = -1, i, n, next = 0, inflight = 0, r = 1;
	long held = 0, failed = 0;
	double deadline, t0;

	st = calloc((size_t)o->count, 1);
	fds = malloc((size_t)o->count * sizeof(*fds));
	if (st == NULL || fds == NULL || (ep = epoll_create1(0)) == -1)
		goto out;
	for (i = 0; i < o->count; i++)
		fds[i] = -1;
	t0 = loadgen_now();
	deadline = t0 + o->seconds;
	while (held + failed < o->count && loadgen_now() < deadline &&
	    !loadgen_stop) {
		while (inflight < o->concurrency && next < o->count) {
			if (loadgen_hold_start(ep, o->port, next, fds) == 0) {
				st[next] = LOADGEN_H_CONNECTING;
				inflight++;
			} else {
				st[next] = LOADGEN_H_FAILED;
				failed++;
			}
			next++;
		}
		if ((n = epoll_wait(ep, evs, 256, 200)) == -1 && errno != EINTR)
			goto out;
		for (i = 0; i < n; i++) {
			int idx = (int)evs[i].data.u32;

			loadgen_hold_event(ep, fds, st, idx, evs[i].events);
			if (st[idx] == LOADGEN_H_HELD)
				held++;
			else if (st[idx] == LOADGEN_H_FAILED)
				failed++;
			else
				continue;
			inflight--;
		}
	}
	printf("ready held=%ld failed=%ld secs=%.2f\n", held, failed,
	    loadgen_now() - t0);
	fflush(stdout);
	r = held == o->count ? 0 : 1;
	/* Idle until told to stop, never longer than the time bound. */
	while (!loadgen_stop && loadgen_now() < deadline)
		usleep(50000);
out:
	/* The held sockets close with the process. */
	if (ep != -1)
		close(ep);
	free(fds);
	free(st);
	return r;
}

/* ---- cpu / rss of process trees ---- */

struct loadgen_proc {
	int		 pid;
	int		 ppid;
	double		 cpu;		/* utime+stime+cutime+cstime, seconds */
	long long	 rss;		/* bytes */
};

static int
loadgen_proc_read(int pid, struct loadgen_proc *p)
{
	char path[64], buf[1024], *s;
	unsigned long ut, st;
	long cut, cst, pages;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = (int)fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n > 0 ? n : 0] = '\0';
	/* comm may hold spaces and parentheses: parse after the last ')'. */
	if ((s = strrchr(buf, ')')) == NULL)
		return -1;
	/* fields 3.. : state ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime stime cutime cstime prio nice
	 * threads itreal start vsize rss */
	if (sscanf(s + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%lu %lu %ld %ld %*d %*d %*d %*d %*u %*u %ld",
	    &p->ppid, &ut, &st, &cut, &cst, &pages) != 6)
		return -1;
	p->pid = pid;
	p->cpu = (double)(ut + st + (unsigned long)cut + (unsigned long)cst) /
	    (double)sysconf(_SC_CLK_TCK);
	p->rss = (long long)pages * sysconf(_SC_PAGESIZE);
	return 0;
}

/* Sum over every process whose ancestry reaches one of the roots.  Children
 * already reaped are in their parent's cutime/cstime; zombies still count. */
static int
loadgen_tree(int argc, char **argv, int want_rss)
{
	struct loadgen_proc *ps = NULL;
	unsigned char *in = NULL;
	struct dirent *de;
	DIR *d = NULL;
	double cpu = 0;
	long long rss = 0;
	int np = 0, i, j, changed, found = 0, r = 1;

	ps = calloc(LOADGEN_MAXPROC, sizeof(*ps));
	in = calloc(LOADGEN_MAXPROC, 1);
	if (ps == NULL || in == NULL || (d = opendir("/proc")) == NULL)
		goto out;
	while ((de = readdir(d)) != NULL && np < LOADGEN_MAXPROC) {
		int pid = atoi(de->d_name);

		if (pid > 0 && loadgen_proc_read(pid, &ps[np]) == 0)
			np++;
	}
	for (i = 0; i < np; i++)
		for (j = 0; j < argc; j++)
			if (ps[i].pid == atoi(argv[j])) {
				in[i] = 1;
				found++;
			}
	do {
		changed = 0;
		for (i = 0; i < np; i++) {
			if (in[i])
				continue;
			for (j = 0; j < np; j++)
				if (in[j] && ps[j].pid == ps[i].ppid) {
					in[i] = changed = 1;
					break;
				}
		}
	} while (changed);
	for (i = 0; i < np; i++)
		if (in[i]) {
			cpu += ps[i].cpu;
			rss += ps[i].rss;
		}
	if (want_rss)
		printf("%lld\n", rss);
	else
		printf("%.2f\n", cpu);
	r = found == argc ? 0 : 1;
	if (r)
		fprintf(stderr, "loadgen: %d of %d processes gone\n",
		    argc - found, argc);
out:
	if (d != NULL)
		closedir(d);
	free(in);
	free(ps);
	return r;
}

/* ---- main ---- */

static void
loadgen_usage(void)
{
	fprintf(stderr, "usage: loadgen serve|rtt|conn|bulk|hold -p PORT "
	    "[-n N] [-T THREADS] [-c CONCURRENCY] [-d|-t SECONDS]\n"
	    "       loadgen cpu|rss PID...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct loadgen_opts o = { 0, 20000, 1, 100, 10.0 };
	struct sigaction sa;
	const char *cmd;
	int ch;

	if (argc < 2)
		loadgen_usage();
	cmd = argv[1];
	if (strcmp(cmd, "cpu") == 0 || strcmp(cmd, "rss") == 0)
		return loadgen_tree(argc - 2, argv + 2, cmd[0] == 'r');
	optind = 2;
	while ((ch = getopt(argc, argv, "p:n:T:c:d:t:")) != -1) {
		switch (ch) {
		case 'p': o.port = atoi(optarg); break;
		case 'n': o.count = atol(optarg); break;
		case 'T': o.threads = atoi(optarg); break;
		case 'c': o.concurrency = atoi(optarg); break;
		case 'd':
		case 't': o.seconds = atof(optarg); break;
		default: loadgen_usage();
		}
	}
	if (o.port <= 0 || o.port > 65535 || o.count <= 0 || o.threads <= 0 ||
	    o.concurrency <= 0 || o.seconds <= 0)
		loadgen_usage();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = loadgen_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(cmd, "serve") == 0)
		return loadgen_serve(&o);
	if (strcmp(cmd, "rtt") == 0)
		return loadgen_rtt(&o);
	if (strcmp(cmd, "conn") == 0)
		return loadgen_conn(&o);
	if (strcmp(cmd, "bulk") == 0)
		return loadgen_bulk(&o);
	if (strcmp(cmd, "hold") == 0)
		return loadgen_hold(&o);
	loadgen_usage();
	return 2;
}
