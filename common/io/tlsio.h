/*
 * tlsio.h — a tunnel's TLS connection, driven by our own events.
 *
 * OpenSSL reads and writes through a BIO of ours: one readv(2) brings what
 * the socket holds (many records) into an input queue that OpenSSL decrypts
 * record by record, and its records go into an output queue that leaves in
 * one writev(2) in the same loop turn; write interest is on only while the
 * kernel refuses bytes.  So a busy tunnel costs one read and one write per
 * bite, not a loop turn and two epoll_ctl() per write as libevent 2.1's
 * bufferevent_openssl does.
 *
 * The caller queues plaintext with tlsio_write() and keeps the ciphertext
 * queue short itself (tlsio_queued(); the drained callback says when to
 * refill), so the mux's scheduler decides what goes next.  With
 * TCP_NOTSENT_LOWAT on the socket (tls_sock_tune()) the kernel holds little
 * unsent data either.
 *
 * Callbacks, each with the arg given to tlsio_new():
 *   up       the handshake is done; decrypted bytes follow in input.
 *   input    plaintext arrived, in the evbuffer (take what you can; the rest
 *            stays for the next call).
 *   drained  the ciphertext queue went below half its high mark after the
 *            socket had refused bytes: refill it.
 *   down     the connection ended: TLSIO_EOF (close_notify or EOF) or
 *            TLSIO_ERROR (tlsio_ssl_error(), tlsio_sys_error() say why).
 *            No callback follows; the caller stops or frees the tlsio.
 * No callback runs inside a tlsio_*() call; a callback may call any of
 * them except tlsio_free().
 *
 * Ownership: the tlsio owns the SSL and the socket (closed by tlsio_free()).
 */
#ifndef ATLAX_TLSIO_H
#define ATLAX_TLSIO_H

#include <stddef.h>

#include <openssl/ssl.h>

struct event_base;
struct evbuffer;
struct tlsio;

#define TLSIO_EOF	1
#define TLSIO_ERROR	2

struct tlsio_callbacks {
	void	(*up)(void *arg);
	void	(*input)(struct evbuffer *in, void *arg);
	void	(*drained)(void *arg);
	void	(*down)(int what, void *arg);
};

/* A TLS connection on the connected, non-blocking socket fd; server 1 for
 * the accepting side.  The handshake starts at once.  Takes ssl and fd in
 * every case (freed and closed on failure); NULL when out of memory.
 * high: the ciphertext queue size the caller aims for (drained fires below
 * high / 2).  read_max: plaintext per read callback before other events get
 * a turn. */
struct tlsio *tlsio_new(struct event_base *base, int fd, SSL *ssl, int server,
	    size_t high, size_t read_max, const struct tlsio_callbacks *cb,
	    void *arg);
/* Closes the socket and frees everything.  NULL is fine.  Never from inside
 * one of the tlsio's own callbacks. */
void	 tlsio_free(struct tlsio *t);

/* Encrypt all of plain (drained from it) and start writing it.  0, or -1
 * when the connection is over or failed (down follows from the loop). */
int	 tlsio_write(struct tlsio *t, struct evbuffer *plain);
/* Ciphertext bytes not yet taken by the kernel. */
size_t	 tlsio_queued(const struct tlsio *t);
/* Send close_notify after everything queued, then FIN; keep reading until
 * the peer's close_notify or EOF (down with TLSIO_EOF). */
void	 tlsio_close_notify(struct tlsio *t);
/* No more I/O: write what is queued (e.g. an alert after a failed
 * handshake) as far as the kernel takes it without blocking, then stop.  No
 * callback follows.  The socket stays open until tlsio_free(). */
void	 tlsio_stop(struct tlsio *t);

SSL	*tlsio_ssl(const struct tlsio *t);
int	 tlsio_fd(const struct tlsio *t);
/* The first OpenSSL library error of a failure, or 0. */
unsigned long tlsio_ssl_error(const struct tlsio *t);
/* The errno of a failed read or write, or 0. */
int	 tlsio_sys_error(const struct tlsio *t);
/* Is the handshake done? */
int	 tlsio_is_up(const struct tlsio *t);

#endif
