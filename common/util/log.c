/*
 * log.c — see log.h.  The only globals are the level, the program name, the
 * output descriptor and the journal flag, all set from main() (level also on
 * reload), hence atomics.
 */
#include "log.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#define LOG_LINE_MAX 2048

static const char *log_progname = "atlax";
static atomic_int log_level = LOG_LEVEL_INFO;
static atomic_int log_fd = -1;
static atomic_int log_journal;	/* stderr is systemd's journal stream */

static const char *const log_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void
log_init(const char *progname, enum log_level level)
{
	if (progname != NULL)
		log_progname = progname;
	log_set_level(level);
	atomic_store(&log_journal, log_journal_detect());
}

/*
 * systemd sets JOURNAL_STREAM to the device and inode of the stream it
 * connected to stdout/stderr.  Matching it against stderr's own fstat tells
 * the journal apart from a terminal or a file that merely inherited the
 * variable (a shell started from a unit, `atlax-relay ... 2>file`).
 */
int
log_journal_detect(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int n = 0;

	if (v == NULL || sscanf(v, "%llu:%llu%n", &dev, &ino, &n) != 2 ||
	    v[n] != '\0')
		return 0;
	if (fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

int
log_is_journal(void)
{
	return atomic_load(&log_journal);
}

void
log_set_level(enum log_level level)
{
	atomic_store(&log_level, (int)level);
}

enum log_level
log_get_level(void)
{
	return (enum log_level)atomic_load(&log_level);
}

void
log_set_fd(int fd)
{
	atomic_store(&log_fd, fd);
}

int
log_enabled(enum log_level level)
{
	return (int)level <= atomic_load(&log_level);
}

int
log_level_parse(const char *name, enum log_level *out)
{
	size_t i;

	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (strcmp(name, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	if ((unsigned)level >= sizeof(log_names) / sizeof(log_names[0]))
		return "?";
	return log_names[level];
}

int
log_syslog_priority(enum log_level level)
{
	static const int prio[] = {
		[LOG_LEVEL_ERROR] = 3,	/* LOG_ERR */
		[LOG_LEVEL_WARN] = 4,	/* LOG_WARNING */
		[LOG_LEVEL_INFO] = 6,	/* LOG_INFO */
		[LOG_LEVEL_DEBUG] = 7,	/* LOG_DEBUG */
	};

	if ((unsigned)level >= sizeof(prio) / sizeof(prio[0]))
		return 7;
	return prio[level];
}

char *
log_sanitize(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t i;

	if (dstlen == 0)
		return dst;
	for (i = 0; i < srclen && i + 1 < dstlen && src[i] != '\0'; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[i] = '\0';
	return dst;
}

char *
log_ssl_errors(char *buf, size_t len)
{
	unsigned long e;
	size_t off = 0;
	char one[256];
	int n;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, one, sizeof(one));
		n = snprintf(buf + off, len - off, "%s%s", off ? "; " : "", one);
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	ERR_clear_error();
	return buf;
}

static size_t
log_stamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n == 0)
		return 0;
	n += (size_t)snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
	return n < len ? n : len - 1;
}

void
log_vwrite(enum log_level level, const char *sub, const char *suffix,
    const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t off, room;
	int n, fd;

	if (!log_enabled(level))
		return;
	if (atomic_load(&log_journal)) {
		/* The journal stamps the time, the program and its pid
		 * itself; a "<N>" prefix gives it the priority. */
		off = 0;
		n = snprintf(line, sizeof(line), "<%d>%s: ",
		    log_syslog_priority(level), sub != NULL ? sub : "-");
	} else {
		off = log_stamp(line, sizeof(line));
		n = snprintf(line + off, sizeof(line) - off, " %s[%ld] %s %s: ",
		    log_progname, (long)getpid(), log_level_name(level),
		    sub != NULL ? sub : "-");
	}
	if (n > 0)
		off += (size_t)n < sizeof(line) - off ? (size_t)n : 0;
	room = sizeof(line) - off;
	n = vsnprintf(line + off, room, fmt, ap);
	if (n > 0)
		off += (size_t)n < room ? (size_t)n : room - 1;
	if (suffix != NULL && *suffix != '\0' && off < sizeof(line) - 1) {
		n = snprintf(line + off, sizeof(line) - off, ": %s", suffix);
		if (n > 0)
			off += (size_t)n < sizeof(line) - off ?
			    (size_t)n : sizeof(line) - off - 1;
	}
	/* Leave room for the newline even when the message was cut. */
	if (off > sizeof(line) - 2)
		off = sizeof(line) - 2;
	line[off++] = '\n';
	fd = atomic_load(&log_fd);
	if (fd < 0)
		fd = STDERR_FILENO;
	/* One write per line, so threads never interleave within a line. */
	while (write(fd, line, off) < 0 && errno == EINTR)
		;
}

#define LOG_BODY(level, suffix) do {				\
	va_list ap;						\
	va_start(ap, fmt);					\
	log_vwrite((level), sub, (suffix), fmt, ap);		\
	va_end(ap);						\
} while (0)

/* strerror() may format into a buffer shared by every thread (for an errno
 * it does not know); the relay logs from its workers. */
const char *
log_strerror(int err, char *buf, size_t len)
{
	return strerror_r(err, buf, len);	/* the GNU variant */
}

void
log_error(const char *sub, const char *fmt, ...)
{
	char eb[128];
	const char *e = log_strerror(errno, eb, sizeof(eb));

	LOG_BODY(LOG_LEVEL_ERROR, e);
}

void
log_errorx(const char *sub, const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, NULL);
}

void
log_warn(const char *sub, const char *fmt, ...)
{
	char eb[128];
	const char *e = log_strerror(errno, eb, sizeof(eb));

	LOG_BODY(LOG_LEVEL_WARN, e);
}

void
log_warnx(const char *sub, const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, NULL);
}

void
log_info(const char *sub, const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, NULL);
}

void
log_debug(const char *sub, const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, NULL);
}

void
log_ssl(enum log_level level, const char *sub, const char *fmt, ...)
{
	char errs[512];

	log_ssl_errors(errs, sizeof(errs));
	LOG_BODY(level, errs);
}

void
fatal(const char *sub, const char *fmt, ...)
{
	char eb[128];
	const char *e = log_strerror(errno, eb, sizeof(eb));

	LOG_BODY(LOG_LEVEL_ERROR, e);
	exit(1);
}

void
fatalx(const char *sub, const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, NULL);
	exit(1);
}
