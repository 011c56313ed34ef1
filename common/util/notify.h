/*
 * notify.h — systemd's readiness protocol (sd_notify) without libsystemd.
 *
 * When the service manager sets NOTIFY_SOCKET (an absolute path, or "@name"
 * for a socket in the abstract namespace), each state change goes to that
 * socket as one AF_UNIX datagram of "KEY=VALUE" lines:
 *
 *   READY=1                        the daemon serves (after start, reload)
 *   RELOADING=1 MONOTONIC_USEC=N   a SIGHUP reload begins
 *   STOPPING=1                     shutdown begins
 *   WATCHDOG=1                     still alive (every watchdog interval / 2)
 *   STATUS=text                    one human line for `systemctl status`
 *
 * Without NOTIFY_SOCKET every call does nothing.  Nothing here can fail the
 * daemon: a send that fails is logged at debug level and forgotten, since a
 * service manager that cannot hear us is no reason to stop serving.
 *
 * State: notify_init() reads the environment once, at start-up, before any
 * thread starts; after that the state is only read, so any thread may call
 * notify_send().  Each send opens, uses and closes its own socket, so there
 * is no descriptor to inherit, leak or share.
 */
#ifndef ATLAX_NOTIFY_H
#define ATLAX_NOTIFY_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <stddef.h>
#include <stdint.h>

/*
 * Read NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID.  A malformed value
 * disables that part (logged at debug).  May be called again (tests) to
 * re-read the environment; not while another thread sends.
 */
void	notify_init(void);
/* Whether NOTIFY_SOCKET named a usable socket. */
int	notify_enabled(void);
/* The watchdog interval in microseconds, or 0 when systemd asked for no
 * watchdog (or for one on another process).  Ping every half of it. */
uint64_t notify_watchdog_usec(void);

/*
 * Send state (one or more "KEY=VALUE" lines, '\n' between them) as one
 * datagram.  0 sent, 1 notification is off, -1 the send failed (logged at
 * debug).
 */
int	notify_send(const char *state);
int	notify_ready(void);
/* RELOADING=1 with MONOTONIC_USEC, the time systemd compares with its own. */
int	notify_reloading(void);
int	notify_stopping(void);
int	notify_watchdog(void);
/* STATUS=text; text is cut at the first newline, so it stays one line. */
int	notify_status(const char *text);

/*
 * Pure helpers, exported for the unit tests.
 *
 * notify_addr: NOTIFY_SOCKET's value into *sun and *len (the length to pass
 * to sendto, which for an abstract name counts only the bytes used).  0, or
 * -1 when the value is empty, relative, or too long for sun_path.
 *
 * notify_watchdog_parse: WATCHDOG_USEC and WATCHDOG_PID (either may be
 * NULL) for process self: the interval, or 0 when unset, not a positive
 * decimal number, or meant for another pid.
 *
 * notify_reloading_msg: "RELOADING=1\nMONOTONIC_USEC=<usec>" into buf.
 * The length written (as snprintf), never more than len - 1 bytes.
 */
int	notify_addr(const char *value, struct sockaddr_un *sun, socklen_t *len);
uint64_t notify_watchdog_parse(const char *usec, const char *pid, pid_t self);
int	notify_reloading_msg(char *buf, size_t len, uint64_t mono_usec);

#endif
