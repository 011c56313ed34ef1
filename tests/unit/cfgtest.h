/*
 * cfgtest.h — helpers shared by the configuration suites (header only):
 * a temporary folder per test, files written into it, and the way to the
 * shipped examples in config/.
 */
#ifndef ATLAX_CFGTEST_H
#define ATLAX_CFGTEST_H

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CFGTEST_UNUSED __attribute__((unused))

static char cfgtest_dir[PATH_MAX];	/* absolute, symlinks resolved */
static char cfgtest_path[PATH_MAX + 64];	/* the last file written */

static CFGTEST_UNUSED void
cfgtest_setup(void)
{
	char tmpl[] = "/tmp/atlax-cfgtest.XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	ck_assert_ptr_nonnull(realpath(tmpl, cfgtest_dir));
}

static CFGTEST_UNUSED void
cfgtest_teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cfgtest_dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Write text to cfgtest_dir/name; cfgtest_path names it. */
static CFGTEST_UNUSED void
cfgtest_write(const char *name, const char *text)
{
	FILE *f;

	snprintf(cfgtest_path, sizeof(cfgtest_path), "%s/%s", cfgtest_dir,
	    name);
	f = fopen(cfgtest_path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	ck_assert_int_eq(fclose(f), 0);
}

/* A file of size bytes of comments. */
static CFGTEST_UNUSED void
cfgtest_write_big(const char *name, size_t size)
{
	FILE *f;
	size_t i;

	snprintf(cfgtest_path, sizeof(cfgtest_path), "%s/%s", cfgtest_dir,
	    name);
	f = fopen(cfgtest_path, "w");
	ck_assert_ptr_nonnull(f);
	for (i = 0; i < size; i++)
		fputc(i % 64 == 63 ? '\n' : '#', f);
	ck_assert_int_eq(fclose(f), 0);
}

/*
 * The shipped example config/<name>: $ATLAX_TOP/config/<name> when set, else
 * found walking up from the test binary (build/tests or build/asan/tests).
 */
static CFGTEST_UNUSED void
cfgtest_example(const char *name, char *path, size_t len)
{
	char dir[PATH_MAX], *slash;
	const char *top;
	int i;

	if ((top = getenv("ATLAX_TOP")) != NULL) {
		snprintf(path, len, "%s/config/%s", top, name);
		return;
	}
	ck_assert_ptr_nonnull(realpath("/proc/self/exe", dir));
	for (i = 0; i < 8; i++) {
		if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
			break;
		*slash = '\0';
		snprintf(path, len, "%s/config/%s", dir, name);
		if (access(path, R_OK) == 0)
			return;
	}
	ck_abort_msg("config/%s not found above the test binary", name);
}

#endif
