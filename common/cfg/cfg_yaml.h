/*
 * cfg_yaml.h — the strict YAML reader under relay.yaml and agent.yaml.
 *
 * cfg_yaml_load() reads a whole file (regular, at most CFG_FILE_MAX bytes)
 * with libyaml's event parser into a tree of nodes that keep their position.
 * Anchors, aliases, tags, several documents and non-scalar mapping keys are
 * refused, so a file cannot expand beyond its own size (no billion laughs).
 *
 * cfg_walk.h reads the tree against a table of keys.
 */
#ifndef ATLAX_CFG_YAML_H
#define ATLAX_CFG_YAML_H

#include <stddef.h>
#include <stdint.h>

#define CFG_FILE_MAX	(1024 * 1024)	/* bytes */
#define CFG_DEPTH_MAX	32		/* nested collections */
#define CFG_MAP_MAX	4096		/* entries in one mapping */

enum cfg_node_type {
	CFG_NODE_SCALAR,
	CFG_NODE_MAP,
	CFG_NODE_SEQ,
};

struct cfg_node {
	enum cfg_node_type type;
	unsigned	 line, col;	/* 1-based start mark */
	char		*str;		/* scalar text, NUL-terminated */
	int		 plain;		/* scalar was not quoted */
	/* map: key, value, key, value...; seq: items.  Owned. */
	struct cfg_node	**kids;
	size_t		 nkids;
	size_t		 cap;
	struct cfg_node	*parent;	/* not owned */
};

/*
 * Read and parse path.  On success *root is the top-level mapping (the
 * caller frees it with cfg_node_free()); on failure -1 and one line in err
 * ("FILE:LINE:COLUMN: problem" or "FILE: problem" for I/O errors).
 */
int	cfg_yaml_load(const char *path, struct cfg_node **root, char *err,
	    size_t errlen);
/* Same, from memory (name is used in messages).  For tests and fuzzing. */
int	cfg_yaml_parse(const char *name, const char *buf, size_t len,
	    struct cfg_node **root, char *err, size_t errlen);
void	cfg_node_free(struct cfg_node *n);	/* accepts NULL */
/* Value of key in map, or NULL (also when map is NULL or not a map). */
const struct cfg_node *cfg_node_get(const struct cfg_node *map,
	    const char *key);
/* Plain "", "~", "null", "Null", "NULL": YAML's null. */
int	cfg_node_is_null(const struct cfg_node *n);
const char *cfg_node_type_name(const struct cfg_node *n);

#endif
