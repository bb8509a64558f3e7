/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the self-test module's files: counting checks and failures.
 */
#ifndef LT_SELFTEST_H
#define LT_SELFTEST_H

struct lt_selftest_checks {
	unsigned int checks;
	unsigned int failures;
};

#define LT_SELFTEST_CHECK(c, cond) \
	lt_selftest_check((c), (cond), #cond, __FILE__, __LINE__)

static inline void lt_selftest_check(struct lt_selftest_checks *c, bool ok,
				     const char *what, const char *file,
				     int line)
{
	c->checks++;
	if (ok)
		return;
	c->failures++;
	pr_err("FAIL %s:%d: %s\n", file, line, what);
}

int lt_selftest_stress(struct lt_output *out, unsigned int ms,
		       struct lt_selftest_checks *c);
void lt_selftest_stress_exit(void);

#endif /* LT_SELFTEST_H */
