/*
 * nodelay.c — LD_PRELOAD shim that forces TCP_NODELAY on every TCP socket a
 * program connects or accepts (tests/bench/bench.sh runs ssh and sshd under
 * it for the "ssh -R + nodelay" path).
 *
 * OpenSSH only sets TCP_NODELAY for interactive sessions, so `ssh -N -R`
 * leaves Nagle on for the transport and for every forwarded socket; the
 * benchmark shows both the program as users run it and what it could do.
 *
 *   cc -shared -fPIC -O2 -o nodelay.so nodelay.c -ldl
 *   LD_PRELOAD=$PWD/nodelay.so ssh ...
 *
 * setsockopt() fails harmlessly (ENOPROTOOPT, EOPNOTSUPP) on sockets that are
 * not TCP; errno is preserved so the program sees exactly what the real call
 * did.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>

int	connect(int, const struct sockaddr *, socklen_t);
int	accept(int, struct sockaddr *, socklen_t *);
int	accept4(int, struct sockaddr *, socklen_t *, int);

static void
nodelay_set(int fd)
{
	int one = 1, saved = errno;

	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	errno = saved;
}

int
connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	static int (*real)(int, const struct sockaddr *, socklen_t);

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "connect");
	if (sa != NULL && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6))
		nodelay_set(fd);
	return real(fd, sa, len);
}

int
accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	static int (*real)(int, struct sockaddr *, socklen_t *);
	int r;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "accept");
	r = real(fd, sa, len);
	nodelay_set(r);
	return r;
}

int
accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	static int (*real)(int, struct sockaddr *, socklen_t *, int);
	int r;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "accept4");
	r = real(fd, sa, len, flags);
	nodelay_set(r);
	return r;
}
