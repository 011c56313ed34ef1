/*
 * notify.c — sd_notify(3) for systemd's Type=notify, in libc only.
 *
 * The protocol is a datagram of "KEY=VALUE" lines on the socket named by
 * NOTIFY_SOCKET; libsystemd would be a dependency for forty lines of code.
 */
#include "notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Set by notify_init() before any thread starts, read-only afterwards. */
static struct {
	int			enabled;
	struct sockaddr_un	sun;
	socklen_t		len;
	uint64_t		watchdog_usec;
} notify;

int
notify_addr(const char *value, struct sockaddr_un *sun, socklen_t *len)
{
	size_t n;

	if (value == NULL || (value[0] != '/' && value[0] != '@'))
		return -1;
	n = strlen(value);
	/* A path needs its NUL; an abstract name is its bytes after the
	 * leading NUL that stands for the '@'. */
	if (n < 2 || n >= sizeof(sun->sun_path) + (value[0] == '@'))
		return -1;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, value, n);
	if (value[0] == '@')
		sun->sun_path[0] = '\0';
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (value[0] == '/'));
	return 0;
}

/* A positive decimal number that fits in 64 bits, or 0. */
static uint64_t
notify_parse_u64(const char *s)
{
	unsigned long long v;
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return 0;
	return (uint64_t)v;
}

uint64_t
notify_watchdog_parse(const char *usec, const char *pid, pid_t self)
{
	uint64_t v, p;

	if ((v = notify_parse_u64(usec)) == 0)
		return 0;
	/* WATCHDOG_PID names the process systemd watches: a child that
	 * inherited the environment must not ping in its parent's name. */
	if (pid != NULL && ((p = notify_parse_u64(pid)) == 0 ||
	    p != (uint64_t)self))
		return 0;
	return v;
}

int
notify_reloading_msg(char *buf, size_t len, uint64_t mono_usec)
{
	return snprintf(buf, len, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)mono_usec);
}

void
notify_init(void)
{
	const char *v;

	memset(&notify, 0, sizeof(notify));
	if ((v = getenv("NOTIFY_SOCKET")) == NULL)
		return;
	if (notify_addr(v, &notify.sun, &notify.len) != 0) {
		log_debug("notify", "NOTIFY_SOCKET: not an absolute path or "
		    "@name, or too long; not notifying");
		return;
	}
	notify.enabled = 1;
	notify.watchdog_usec = notify_watchdog_parse(getenv("WATCHDOG_USEC"),
	    getenv("WATCHDOG_PID"), getpid());
	log_debug("notify", "notifying %s, watchdog %llu us", v,
	    (unsigned long long)notify.watchdog_usec);
}

int
notify_enabled(void)
{
	return notify.enabled;
}

uint64_t
notify_watchdog_usec(void)
{
	return notify.enabled ? notify.watchdog_usec : 0;
}

int
notify_send(const char *state)
{
	int fd = -1, r = -1;

	if (!notify.enabled)
		return 1;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_debug("notify", "socket: %s", strerror(errno));
		goto out;
	}
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (const struct sockaddr *)&notify.sun, notify.len) == -1) {
		log_debug("notify", "send: %s", strerror(errno));
		goto out;
	}
	r = 0;
out:
	if (fd != -1)
		close(fd);
	return r;
}

int
notify_ready(void)
{
	return notify_send("READY=1");
}

int
notify_reloading(void)
{
	struct timespec ts;
	char buf[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	notify_reloading_msg(buf, sizeof(buf), (uint64_t)ts.tv_sec * 1000000 +
	    (uint64_t)ts.tv_nsec / 1000);
	return notify_send(buf);
}

int
notify_stopping(void)
{
	return notify_send("STOPPING=1");
}

int
notify_watchdog(void)
{
	return notify_send("WATCHDOG=1");
}

int
notify_status(const char *text)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "STATUS=%.*s", (int)strcspn(text, "\n"),
	    text);
	return notify_send(buf);
}
