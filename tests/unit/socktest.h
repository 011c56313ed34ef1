/*
 * socktest.h — sockets the suites that drive real pumps share (header only).
 */
#ifndef ATLAX_SOCKTEST_H
#define ATLAX_SOCKTEST_H

#include <sys/socket.h>

#include <netinet/in.h>
#include <check.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* A connected pair of non-blocking loopback TCP sockets (real TCP: the
 * pumps set TCP options and a reset must look like one). */
static __attribute__((unused)) void
socktest_tcp_pair(int *a, int *b)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int l;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(l = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	ck_assert_int_ge(*a = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(connect(*a, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	ck_assert_int_ge(*b = accept(l, NULL, NULL), 0);
	close(l);
	ck_assert_int_eq(fcntl(*a, F_SETFL, fcntl(*a, F_GETFL) | O_NONBLOCK),
	    0);
	ck_assert_int_eq(fcntl(*b, F_SETFL, fcntl(*b, F_GETFL) | O_NONBLOCK),
	    0);
}

#endif
