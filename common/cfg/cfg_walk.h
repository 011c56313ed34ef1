/*
 * cfg_walk.h — the table-driven walk over a node tree from cfg_yaml.h.
 *
 * A table of struct cfg_key drives the walk over a mapping, in the manner of
 * tmux's options-table.c: each key names its type, whether it is required,
 * its default (as text, parsed by the same converter after the walk), its
 * bounds and where it is stored (an offset into the object being filled).
 * The first error stops the walk and is written as one line:
 *
 *	FILE:LINE:COLUMN: KEY: problem
 *
 * LINE and COLUMN are 1-based; KEY is the dotted path ("services[1].name").
 * Functions returning int give 0, or -1 with the message in the walk's err.
 */
#ifndef ATLAX_CFG_WALK_H
#define ATLAX_CFG_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "cfg_yaml.h"

#define CFG_PATH_MAX	512		/* dotted key path in messages */

/* The walk over a document. */
struct cfg_walk {
	const char	*file;		/* name in messages */
	const char	*dir;		/* folder for relative paths */
	char		 path[CFG_PATH_MAX];	/* dotted key being read */
	size_t		 pathlen;
	char		*err;
	size_t		 errlen;
};

enum cfg_type {
	CFG_T_STRING,		/* char *, any non-empty text */
	CFG_T_PATH,		/* char *, made absolute */
	CFG_T_HOST,		/* char *, host name or IP */
	CFG_T_IP,		/* char *, numeric IP address */
	CFG_T_ID,		/* char[CFG_ID_MAX + 1], identity syntax */
	CFG_T_NAME,		/* char[CFG_NAME_MAX + 1], identity syntax */
	CFG_T_ADDR,		/* struct cfg_addr, port 1..65535 */
	CFG_T_PORT,		/* uint16_t, min..max */
	CFG_T_UINT,		/* uint32_t, min..max */
	CFG_T_SIZE,		/* uint32_t bytes, min..max */
	CFG_T_DURATION,		/* uint64_t milliseconds, min..max */
	CFG_T_LOGLEVEL,		/* enum log_level */
	CFG_T_WORKERS,		/* int, "auto" (0) or min..max */
	CFG_T_MAP,		/* a section: sub is its table */
	CFG_T_FUNC,		/* fn reads the node itself */
};

#define CFG_REQUIRED	0x1

struct cfg_key {
	const char	*name;
	enum cfg_type	 type;
	int		 flags;
	const char	*def;		/* default as text, or NULL */
	uint64_t	 min, max;
	size_t		 off;		/* offset of the field in obj */
	const struct cfg_key *sub;	/* CFG_T_MAP */
	/* CFG_T_FUNC: read node (never NULL) into obj; 0 or -1 (error set). */
	int		(*fn)(struct cfg_walk *, const struct cfg_key *,
			    const struct cfg_node *, void *);
};

void	cfg_walk_init(struct cfg_walk *w, const char *file, const char *dir,
	    char *err, size_t errlen);
/* Append ".name" (or "name" at the top) / "[i]" to the path; pop restores. */
size_t	cfg_walk_push(struct cfg_walk *w, const char *name);
size_t	cfg_walk_push_index(struct cfg_walk *w, size_t i);
void	cfg_walk_pop(struct cfg_walk *w, size_t saved);
/* Write "FILE:LINE:COLUMN: PATH: problem" for node n; returns -1. */
int	cfg_walk_error(struct cfg_walk *w, const struct cfg_node *n,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * Walk map (NULL: the section is absent) against table, storing into obj.
 * where marks the "missing required key" errors when map is NULL.  Unknown
 * and duplicate keys are errors; absent keys get their defaults.
 */
int	cfg_walk_map(struct cfg_walk *w, const struct cfg_node *map,
	    const struct cfg_node *where, const struct cfg_key *table,
	    void *obj);
/* The node's text when it is a non-empty scalar; else an error naming what. */
int	cfg_walk_scalar(struct cfg_walk *w, const struct cfg_node *n,
	    const char *what, const char **text);
/* Check that n is a mapping (or a sequence); null counts as empty. */
int	cfg_walk_expect(struct cfg_walk *w, const struct cfg_node *n,
	    enum cfg_node_type type);
/* How cfg_walk_order() writes a value the file does not set (a default). */
enum cfg_order_kind {
	CFG_ORDER_DURATION,	/* "10s" */
	CFG_ORDER_SIZE,		/* "1MiB" */
	CFG_ORDER_UINT,		/* "4096" */
};

/*
 * Check sec.lokey <= sec.hikey (values lo and hi, of kind) once both have
 * their values.  The error marks the key the file sets (hikey first when
 * mark_hi, else lokey) and quotes the values as written:
 * "limits.tunnel_window: 64KiB is smaller than limits.stream_window 256KiB".
 * section is the section's node (NULL when absent).
 */
int	cfg_walk_order(struct cfg_walk *w, const struct cfg_node *section,
	    const char *sec, const char *lokey, uint64_t lo, const char *hikey,
	    uint64_t hi, enum cfg_order_kind kind, int mark_hi);
/* An error when map's key at index i (even) repeats an earlier key. */
int	cfg_walk_dup(struct cfg_walk *w, const struct cfg_node *map, size_t i);
/* The folder of path, absolute, into dir ("." when path has none). */
int	cfg_walk_dirname(const char *path, char *dir, size_t len);

#endif
