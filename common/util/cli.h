/*
 * cli.h — the command line both daemons share: -c FILE (--config FILE),
 * -t, -h (--help), --version, the status subcommand; and the process
 * settings every daemon makes before its loop starts.
 */
#ifndef ATLAX_CLI_H
#define ATLAX_CLI_H

struct cli {
	const char	*prog;		/* "atlax-relay" */
	const char	*path;		/* in: the default; out: -c */
	int		 test;		/* -t given */
};

/* Parse argv into c (prog and the default path set by the caller).
 * Returns -1 to go on, or the exit status when main is done: 0 after
 * --help or --version, 2 after a usage error (usage printed). */
int	cli_parse(struct cli *c, int argc, char **argv);

/* `PROG status [-c FILE] [--json]`, argv from "status" on.  Returns -1 to
 * go on (c->path and *json set), or the exit status as cli_parse does. */
int	cli_parse_status(struct cli *c, int argc, char **argv, int *json);

/* SIGUSR1 and SIGUSR2 terminate by default: a stray `kill -USR1` or a log
 * rotator's signal must not take the service down.  Ignored from here on
 * (the daemon's loop gives SIGUSR1 its status line), then notify_init(). */
void	cli_daemon_signals(void);

#endif
