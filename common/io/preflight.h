/*
 * preflight.h — what `-t` checks beyond the file's syntax, and the expiry
 * guard the daemons run at start, on reload and once a day.
 *
 * Both report through a callback, one finding per call, so `-t` can print
 * them to the terminal and a daemon can log them:
 *
 *   error    tls.key /etc/atlax/home.key: permissions 0644 are too open ...
 *   warning  relay certificate /etc/atlax/relay.crt expires in 9 days
 *            (2026-12-13)
 *
 * The files are opened as the calling user, so `-t` run as the service's
 * user finds what the daemon would find.  Nothing here logs or exits.
 */
#ifndef ATLAX_PREFLIGHT_H
#define ATLAX_PREFLIGHT_H

#include <stddef.h>
#include <time.h>

#include "tls.h"

/* Warn this long before a certificate or CRL runs out. */
#define PREFLIGHT_WARN_DAYS	14

enum preflight_level {
	PREFLIGHT_WARNING,	/* works now, will not for long */
	PREFLIGHT_ERROR,	/* would not work (or does not any more) */
};

/* One finding; msg is only valid during the call. */
typedef void (*preflight_say_cb)(enum preflight_level level, const char *msg,
    void *arg);

/* A preflight_say_cb for a daemon: an error is logged at level error, a
 * warning at warn, under the subsystem arg (a const char *). */
void	preflight_log_cb(enum preflight_level level, const char *msg,
	    void *arg);

/*
 * The expiry guard: for the daemon's own certificate (f->cert, named after
 * role), every certificate in f->ca and the CRL f->crl (when not NULL),
 * report each that expires within PREFLIGHT_WARN_DAYS of now (a warning)
 * or has expired (an error).  Files that cannot be read are skipped here:
 * loading them is the context's business.  Returns how many were reported.
 */
int	preflight_expiry(enum tls_role role, const struct tls_files *f,
	    time_t now, preflight_say_cb say, void *arg);

/*
 * Everything a start would check, without starting: each file opens and
 * parses (the reason is the system's, "No such file or directory" or
 * "Permission denied", with the key and the path); the key's mode is 0600
 * or stricter; the key belongs to the certificate; the certificate's
 * extended key usage fits role (serverAuth for a relay, clientAuth for an
 * agent); the expiry guard (an expired certificate or CRL is an error);
 * when id is not NULL, it must equal the certificate's CN.  A NULL cert and
 * key (an agent with a token only) skips those checks.  Then, with no error
 * so far, the TLS context is built as the daemon would.  Returns the number
 * of errors (warnings do not count).
 */
int	preflight_tls(enum tls_role role, const struct tls_files *f,
	    const char *id, time_t now, preflight_say_cb say, void *arg);

/*
 * An agent that dials an IP address with no tls.server_name: the relay's
 * certificate must carry that IP as a SAN.  Says so as a warning when host
 * is an IP literal and server_name is NULL or the same (its default);
 * returns 1 if it warned.
 */
int	preflight_server_name(const char *host, const char *server_name,
	    preflight_say_cb say, void *arg);

#endif
