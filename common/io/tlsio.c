/*
 * tlsio.c — see tlsio.h.
 *
 * States: HANDSHAKE -> UP -> (close_notify sent) -> DOWN.  Events: rev
 * (EV_READ, on from start to stop), wev (EV_WRITE, on only while the kernel
 * refuses bytes), kick (no fd: work left for later in the same loop turn:
 * records OpenSSL already holds after a read budget ran out, and the drained
 * and down callbacks, which must not run inside a tlsio_*() call).
 *
 * Any flush may be the one that drains a queue the kernel had refused (the
 * read path flushes too, for alerts and key updates), so every flush that
 * ends a refusal below high / 2 owes the caller a drained callback;
 * otherwise the mux would wait for it forever.
 */
#include "tlsio.h"

#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "sockread.h"
#include "tls.h"

/* Plaintext space reserved per fill of the input: fits a 64 KiB chain. */
#define TLSIO_RESERVE	(60 * 1024)

enum tlsio_state {
	TLSIO_HANDSHAKE,
	TLSIO_UP,
	TLSIO_DOWN,		/* down reported or stopped: no more I/O */
};

struct tlsio {
	SSL			*ssl;
	int			 fd;
	enum tlsio_state	 state;
	struct event		*rev;
	struct event		*wev;
	struct event		*kick;
	struct evbuffer		*rin;	/* ciphertext read, for OpenSSL */
	int			 rin_eof;	/* the socket said EOF */
	int			 rin_err;	/* or failed: errno */
	struct sockread		 rd;	/* the socket's read size */
	struct evbuffer		*in;	/* plaintext for the caller */
	struct evbuffer		*out;	/* ciphertext for the socket */
	size_t			 high;
	size_t			 read_max;
	int			 shut_wr;	/* FIN once out is empty */
	int			 down_what;	/* down to report from kick */
	int			 blocked;	/* the kernel refused bytes */
	int			 drain_due;	/* drained owed to the caller */
	unsigned long		 ssl_err;
	int			 sys_err;
	const struct tlsio_callbacks *cb;
	void			*arg;
};

static void	tlsio_read_cb(evutil_socket_t, short, void *);
static void	tlsio_write_cb(evutil_socket_t, short, void *);
static void	tlsio_kick_cb(evutil_socket_t, short, void *);

/* Our BIO, both ways.  Reading serves OpenSSL from t->rin, which
 * tlsio_fill() reads from the socket in one large bite: OpenSSL's own
 * read-ahead would do that too, but it moves what is left of its buffer to
 * the front before each record (about four extra copies of every byte with
 * a 128 KiB buffer, callgrind showed).  Writing queues records in t->out,
 * never blocking. */
static int
tlsio_bio_read(BIO *b, char *buf, int len)
{
	struct tlsio *t = BIO_get_data(b);
	int n;

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	if ((n = evbuffer_remove(t->rin, buf, (size_t)len)) > 0)
		return n;
	if (t->rin_eof)
		return 0;
	if (t->rin_err != 0) {
		errno = t->rin_err;
		return -1;
	}
	BIO_set_retry_read(b);
	return -1;
}

static int
tlsio_bio_write(BIO *b, const char *data, int len)
{
	struct tlsio *t = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	if (evbuffer_add(t->out, data, (size_t)len) != 0)
		return -1;
	return len;
}

static long
tlsio_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct tlsio *t = BIO_get_data(b);

	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;	/* flushing is ours (tlsio_flush) */
	case BIO_CTRL_PENDING:
		return t != NULL ? (long)evbuffer_get_length(t->rin) : 0;
	case BIO_CTRL_EOF:
		return t != NULL && t->rin_eof &&
		    evbuffer_get_length(t->rin) == 0;
	default:
		return 0;
	}
}

static int
tlsio_bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

/* The method table, made once per process: BIO_get_new_index() hands out
 * type numbers from a byte's range (beyond it they run into the type's flag
 * bits), so not one per connection.  Never changed after tlsio_bio_init(),
 * never freed. */
static BIO_METHOD *tlsio_bio_method;
static pthread_once_t tlsio_bio_once = PTHREAD_ONCE_INIT;

static void
tlsio_bio_init(void)
{
	BIO_METHOD *m;

	if ((m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
	    "atlax tlsio")) == NULL)
		return;
	if (!BIO_meth_set_write(m, tlsio_bio_write) ||
	    !BIO_meth_set_read(m, tlsio_bio_read) ||
	    !BIO_meth_set_ctrl(m, tlsio_bio_ctrl) ||
	    !BIO_meth_set_create(m, tlsio_bio_create)) {
		BIO_meth_free(m);
		return;
	}
	tlsio_bio_method = m;
}

static BIO *
tlsio_bio_new(struct tlsio *t)
{
	BIO *b;

	if (pthread_once(&tlsio_bio_once, tlsio_bio_init) != 0 ||
	    tlsio_bio_method == NULL ||
	    (b = BIO_new(tlsio_bio_method)) == NULL)
		return NULL;
	BIO_set_data(b, t);
	return b;
}

/* Keep the first error of a failure: the rest of the queue repeats it. */
static void
tlsio_note_error(struct tlsio *t)
{
	unsigned long e;

	while ((e = ERR_get_error()) != 0)
		if (t->ssl_err == 0 && ERR_GET_LIB(e) != 0)
			t->ssl_err = e;
}

/* The connection is over: stop, and report it from the kick event. */
static void
tlsio_fail(struct tlsio *t, int what)
{
	if (t->state == TLSIO_DOWN)
		return;
	tlsio_note_error(t);
	t->state = TLSIO_DOWN;
	t->down_what = what;
	event_del(t->rev);
	event_del(t->wev);
	event_active(t->kick, EV_TIMEOUT, 0);
}

static void
tlsio_owe_drained(struct tlsio *t)
{
	t->drain_due = 1;
	event_active(t->kick, EV_WRITE, 0);
}

/* Write the queue as far as the kernel takes it.  -1 when the socket
 * failed (reported through tlsio_fail). */
static int
tlsio_flush(struct tlsio *t)
{
	int n, was_blocked = t->blocked;

	while (evbuffer_get_length(t->out) > 0) {
		n = evbuffer_write_atmost(t->out, t->fd, -1);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR)) {
			if (errno == EINTR)
				continue;
			if (!t->blocked) {
				/* Without write interest the queue would
				 * never drain: fail rather than stall. */
				if (event_add(t->wev, NULL) != 0) {
					t->sys_err = ENOMEM;
					tlsio_fail(t, TLSIO_ERROR);
					return -1;
				}
				t->blocked = 1;
			}
			if (was_blocked &&
			    evbuffer_get_length(t->out) < t->high / 2)
				tlsio_owe_drained(t);
			return 0;
		}
		t->sys_err = n < 0 ? errno : EPIPE;
		tlsio_fail(t, TLSIO_ERROR);
		return -1;
	}
	if (t->blocked) {
		t->blocked = 0;
		event_del(t->wev);
	}
	if (was_blocked)
		tlsio_owe_drained(t);
	if (t->shut_wr == 1) {
		t->shut_wr = 2;
		(void)shutdown(t->fd, SHUT_WR);
	}
	return 0;
}

/* What SSL_get_error() said of a failed call: 0 to wait for the socket,
 * else the connection is over. */
static int
tlsio_ssl_failed(struct tlsio *t, int ret)
{
	int e = SSL_get_error(t->ssl, ret);

	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		tlsio_fail(t, TLSIO_EOF);
		break;
	case SSL_ERROR_SYSCALL:
		/* errno 0 and no library error: EOF without close_notify,
		 * which the mux's own framing makes harmless. */
		t->sys_err = errno;
		tlsio_note_error(t);
		tlsio_fail(t, t->sys_err == 0 && t->ssl_err == 0 ? TLSIO_EOF :
		    TLSIO_ERROR);
		break;
	default:
		tlsio_fail(t, TLSIO_ERROR);
		break;
	}
	return -1;
}

/* One read(2) of what the socket holds (up to read_max) into t->rin; EOF
 * and errors are kept for the BIO to report once rin is empty. */
static void
tlsio_fill(struct tlsio *t)
{
	ssize_t n;

	if (t->rin_eof || t->rin_err != 0)
		return;
	n = sockread_fill(t->rin, t->fd, t->read_max, &t->rd);
	if (n == 0)
		t->rin_eof = 1;
	else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR)
		t->rin_err = errno;
}

static void
tlsio_handshake(struct tlsio *t)
{
	int r;

	ERR_clear_error();
	errno = 0;	/* SSL_ERROR_SYSCALL reads it */
	r = SSL_do_handshake(t->ssl);
	if (tlsio_flush(t) != 0)
		return;
	if (r != 1) {
		(void)tlsio_ssl_failed(t, r);
		return;
	}
	t->state = TLSIO_UP;
	t->cb->up(t->arg);
	/* Records that came with the last flight are in OpenSSL already. */
	if (t->state == TLSIO_UP)
		event_active(t->kick, EV_READ, 0);
}

/* Decrypt what the socket has, up to read_max, into t->in.  Every record in
 * t->rin is decrypted here, so no system call is made to learn that there
 * is no more. */
static void
tlsio_read(struct tlsio *t)
{
	struct evbuffer_iovec v;
	size_t got = 0, used, n;
	int r, done = 0;

	while (!done && got < t->read_max) {
		if (evbuffer_reserve_space(t->in, TLSIO_RESERVE, &v, 1) != 1) {
			t->sys_err = ENOMEM;
			tlsio_fail(t, TLSIO_ERROR);
			break;
		}
		used = 0;
		while (used < v.iov_len) {
			ERR_clear_error();
			errno = 0;
			r = SSL_read_ex(t->ssl, (char *)v.iov_base + used,
			    v.iov_len - used, &n);
			if (r == 1) {
				used += n;
				continue;
			}
			(void)tlsio_ssl_failed(t, 0);
			done = 1;
			break;
		}
		v.iov_len = used;
		(void)evbuffer_commit_space(t->in, &v, 1);
		got += used;
	}
	/* A key update or an alert may have been queued. */
	(void)tlsio_flush(t);
	/* Also when the connection just ended: the peer's last records (a
	 * GOAWAY) came before its close_notify or alert. */
	if (got > 0)
		t->cb->input(t->in, t->arg);
	/* Budget spent: what rin and OpenSSL hold is not the socket's to
	 * signal. */
	if (!done && t->state == TLSIO_UP &&
	    (evbuffer_get_length(t->rin) > 0 || SSL_has_pending(t->ssl)))
		event_active(t->kick, EV_READ, 0);
}

static void
tlsio_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tlsio *t = arg;

	(void)fd;
	(void)what;
	if (t->state == TLSIO_DOWN)
		return;
	tlsio_fill(t);
	if (t->state == TLSIO_HANDSHAKE)
		tlsio_handshake(t);
	else
		tlsio_read(t);
}

static void
tlsio_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tlsio *t = arg;

	(void)fd;
	(void)what;
	if (t->state == TLSIO_HANDSHAKE) {
		tlsio_handshake(t);
		return;
	}
	(void)tlsio_flush(t);	/* owes drained when it should */
}

static void
tlsio_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tlsio *t = arg;
	int down;

	(void)fd;
	if (t->state == TLSIO_UP && (what & EV_READ))
		tlsio_read(t);
	if (t->state == TLSIO_UP && t->drain_due) {
		t->drain_due = 0;
		t->cb->drained(t->arg);
	}
	if (t->state != TLSIO_DOWN || t->down_what == 0)
		return;
	down = t->down_what;
	t->down_what = 0;
	t->cb->down(down, t->arg);
}

struct tlsio *
tlsio_new(struct event_base *base, int fd, SSL *ssl, int server, size_t high,
    size_t read_max, const struct tlsio_callbacks *cb, void *arg)
{
	struct tlsio *t;
	BIO *b = NULL;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		goto fail;
	t->fd = fd;
	t->high = high;
	t->read_max = read_max > 0 ? read_max : TLS_RECORD_MAX;
	t->cb = cb;
	t->arg = arg;
	if ((t->rin = evbuffer_new()) == NULL ||
	    (t->in = evbuffer_new()) == NULL ||
	    (t->out = evbuffer_new()) == NULL ||
	    (t->rev = event_new(base, fd, EV_READ | EV_PERSIST, tlsio_read_cb,
	    t)) == NULL ||
	    (t->wev = event_new(base, fd, EV_WRITE | EV_PERSIST,
	    tlsio_write_cb, t)) == NULL ||
	    (t->kick = event_new(base, -1, 0, tlsio_kick_cb, t)) == NULL ||
	    (b = tlsio_bio_new(t)) == NULL)
		goto fail;
	SSL_set_bio(ssl, b, b);	/* takes the one reference */
	b = NULL;
	t->ssl = ssl;
	ssl = NULL;
	SSL_set_options(t->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (server)
		SSL_set_accept_state(t->ssl);
	else
		SSL_set_connect_state(t->ssl);
	if (event_add(t->rev, NULL) != 0)
		goto fail;
	/* A client speaks first. */
	if (!server)
		event_active(t->wev, EV_WRITE, 0);
	return t;
fail:
	BIO_free(b);
	SSL_free(ssl);
	if (t == NULL) {
		close(fd);
		return NULL;
	}
	tlsio_free(t);
	return NULL;
}

void
tlsio_free(struct tlsio *t)
{
	if (t == NULL)
		return;
	if (t->rev != NULL)
		event_free(t->rev);
	if (t->wev != NULL)
		event_free(t->wev);
	if (t->kick != NULL)
		event_free(t->kick);
	SSL_free(t->ssl);	/* and both BIOs */
	if (t->rin != NULL)
		evbuffer_free(t->rin);
	if (t->in != NULL)
		evbuffer_free(t->in);
	if (t->out != NULL)
		evbuffer_free(t->out);
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

int
tlsio_write(struct tlsio *t, struct evbuffer *plain)
{
	unsigned char *p;
	size_t n, w;

	if (t->state != TLSIO_UP || t->shut_wr)
		return -1;
	while ((n = evbuffer_get_length(plain)) > 0) {
		if (n > TLS_RECORD_MAX)
			n = TLS_RECORD_MAX;
		/* One record's worth in one piece: a copy only when it spans
		 * chains (a frame header and its payload). */
		if ((p = evbuffer_pullup(plain, (ev_ssize_t)n)) == NULL) {
			t->sys_err = ENOMEM;
			tlsio_fail(t, TLSIO_ERROR);
			return -1;
		}
		ERR_clear_error();
		errno = 0;
		if (SSL_write_ex(t->ssl, p, n, &w) != 1) {
			(void)tlsio_ssl_failed(t, 0);
			return -1;
		}
		evbuffer_drain(plain, w);
	}
	return tlsio_flush(t);
}

size_t
tlsio_queued(const struct tlsio *t)
{
	return evbuffer_get_length(t->out);
}

void
tlsio_close_notify(struct tlsio *t)
{
	if (t->state != TLSIO_UP || t->shut_wr)
		return;
	ERR_clear_error();
	(void)SSL_shutdown(t->ssl);
	ERR_clear_error();
	t->shut_wr = 1;
	(void)tlsio_flush(t);
}

void
tlsio_stop(struct tlsio *t)
{
	if (t->fd >= 0 && evbuffer_get_length(t->out) > 0)
		(void)evbuffer_write_atmost(t->out, t->fd, -1);
	t->state = TLSIO_DOWN;
	t->down_what = 0;
	event_del(t->rev);
	event_del(t->wev);
	event_del(t->kick);
}

SSL *
tlsio_ssl(const struct tlsio *t)
{
	return t->ssl;
}

int
tlsio_fd(const struct tlsio *t)
{
	return t->fd;
}

unsigned long
tlsio_ssl_error(const struct tlsio *t)
{
	return t->ssl_err;
}

int
tlsio_sys_error(const struct tlsio *t)
{
	return t->sys_err;
}

int
tlsio_is_up(const struct tlsio *t)
{
	return t->state == TLSIO_UP;
}
