/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the user-space tests of the runtime: failure reporting,
 * a small deterministic PRNG, contexts with chosen timestamps.
 */
#ifndef LT_TEST_H
#define LT_TEST_H

#include "../lt_internal.h"
#include "../shim/lt_output_user.h"

extern int lt_test_failures;

#define EXPECT(cond) lt_test_expect((cond), #cond, __FILE__, __LINE__)
#define EXPECT_EQ(a, b) lt_test_expect_eq((u64)(a), (u64)(b), #a, #b, \
					  __FILE__, __LINE__)

static inline bool lt_test_expect(bool ok, const char *what,
				  const char *file, int line)
{
	if (!ok) {
		lt_test_failures++;
		fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, what);
	}
	return ok;
}

static inline bool lt_test_expect_eq(u64 a, u64 b, const char *sa,
				     const char *sb, const char *file, int line)
{
	if (a != b) {
		lt_test_failures++;
		fprintf(stderr, "%s:%d: FAILED: %s == %s (%llu != %llu)\n",
			file, line, sa, sb, (unsigned long long)a,
			(unsigned long long)b);
	}
	return a == b;
}

/* xorshift64*: deterministic per seed */
static inline u64 lt_rand(u64 *state)
{
	u64 x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static inline struct lt_ctx lt_test_ctx(u64 ts, u16 probe)
{
	struct lt_ctx ctx;

	lt_ctx_fill(&ctx, probe);
	ctx.ts_ns = ts;
	return ctx;
}

static inline int lt_test_result(const char *name)
{
	if (lt_test_failures) {
		fprintf(stderr, "%s: %d failure(s)\n", name, lt_test_failures);
		return 1;
	}
	printf("%s: ok\n", name);
	return 0;
}

#endif /* LT_TEST_H */
