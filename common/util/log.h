/*
 * log.h — one line per event on stderr: timestamp, program, level, subsystem,
 * message.  systemd's journal takes it from there.
 *
 *   2026-11-23T13:30:00.123Z atlax-relay[812] info tunnel: home-nas: ready
 *
 * Under systemd (JOURNAL_STREAM names stderr) the line is instead
 *
 *   <6>tunnel: home-nas: ready
 *
 * a syslog priority prefix the journal turns into the entry's priority, no
 * timestamp, program or pid (the journal records them).
 *
 * Thread-safe: each line is formatted into a local buffer and written with a
 * single write(2).  The level is the only mutable global (set at start-up and
 * on reload).  Messages start with their object ("tunnel home-nas: ...");
 * strings that a peer controls go through log_sanitize() first.  Keys, tokens
 * and passwords are never passed to these functions.
 */
#ifndef ATLAX_LOG_H
#define ATLAX_LOG_H

#include <stddef.h>
#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Set the program name shown on each line (not copied: keep it alive), and
 * choose the journal format when log_journal_detect() says so. */
void	log_init(const char *progname, enum log_level level);
/* 1 when JOURNAL_STREAM is "DEV:INO" of the file open as stderr. */
int	log_journal_detect(void);
/* Whether lines are in the journal format (decided by log_init). */
int	log_is_journal(void);
/* The syslog priority of a level: error 3, warn 4, info 6, debug 7. */
int	log_syslog_priority(enum log_level level);
void	log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Send lines to fd instead of stderr (tests).  -1 restores stderr. */
void	log_set_fd(int fd);
int	log_enabled(enum log_level level);

/* "error", "warn", "info", "debug" <-> level.  parse returns 0 or -1. */
int	log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* log_warn/log_error append ": strerror(errno)"; the x variants do not. */
void	log_error(const char *sub, const char *fmt, ...) LOG_PRINTF(2, 3);
void	log_errorx(const char *sub, const char *fmt, ...) LOG_PRINTF(2, 3);
void	log_warn(const char *sub, const char *fmt, ...) LOG_PRINTF(2, 3);
void	log_warnx(const char *sub, const char *fmt, ...) LOG_PRINTF(2, 3);
void	log_info(const char *sub, const char *fmt, ...) LOG_PRINTF(2, 3);
void	log_debug(const char *sub, const char *fmt, ...) LOG_PRINTF(2, 3);
/* Like log_warnx at the given level, with the OpenSSL error queue drained and
 * appended ("...: error:0A000086:SSL routines::certificate verify failed"). */
void	log_ssl(enum log_level level, const char *sub, const char *fmt, ...)
	    LOG_PRINTF(3, 4);
void	log_vwrite(enum log_level level, const char *sub, const char *suffix,
	    const char *fmt, va_list ap) LOG_PRINTF(4, 0);

/* Only main() may die, at start-up or on an impossible state. */
_Noreturn void fatal(const char *sub, const char *fmt, ...) LOG_PRINTF(2, 3);
_Noreturn void fatalx(const char *sub, const char *fmt, ...) LOG_PRINTF(2, 3);

/* The text of errno value err, thread-safe (buf may or may not be used). */
const char *log_strerror(int err, char *buf, size_t len);

/*
 * Copy at most srclen bytes of a peer-controlled string into dst (always
 * NUL-terminated), replacing anything that is not printable ASCII with '?'.
 * Returns dst.
 */
char	*log_sanitize(char *dst, size_t dstlen, const char *src, size_t srclen);

/*
 * Drain the OpenSSL error queue into buf as "lib:reason; lib:reason" (empty
 * string when the queue is empty).  Returns buf.
 */
char	*log_ssl_errors(char *buf, size_t len);

#endif
