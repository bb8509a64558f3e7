// SPDX-License-Identifier: GPL-2.0
/*
 * lt_scope: the per-CPU scope stacks of chain trackers, rule by rule as the
 * replay reference applies them (src/replay/contexts.ts): nesting, the
 * stale scopes a softirq entry, a re-entered IRQ, an outer exit and a
 * context switch close, an exit with nothing open, and nesting deeper than
 * LT_SCOPE_DEPTH.
 */
#include "lt_test.h"
#include "../lt_scope.h"

int lt_test_failures;

static struct lt_scope closed[LT_SCOPE_DEPTH];

static u32 current_kind(const struct lt_cpu_scopes *c)
{
	const struct lt_scope *s = lt_scope_current(c);

	return s ? s->kind : 0;
}

static void nesting(void)
{
	struct lt_cpu_scopes c = { 0 };
	u64 softirq_seq;

	EXPECT(!lt_scope_current(&c));	/* the task's context */
	EXPECT_EQ(lt_scope_enter(&c, LT_SCOPE_SOFTIRQ, 3, closed), 0);
	softirq_seq = lt_scope_current(&c)->seq;
	EXPECT_EQ(lt_scope_enter(&c, LT_SCOPE_IRQ, 24, closed), 0);
	EXPECT_EQ(current_kind(&c), LT_SCOPE_IRQ);
	EXPECT_EQ(lt_scope_current(&c)->id, 24);
	EXPECT_EQ(lt_scope_exit(&c, LT_SCOPE_IRQ, closed), 1);
	EXPECT_EQ(closed[0].id, 24);
	/* back in the softirq the IRQ interrupted, the same instance */
	EXPECT_EQ(lt_scope_current(&c)->seq, softirq_seq);
	EXPECT_EQ(lt_scope_exit(&c, LT_SCOPE_SOFTIRQ, closed), 1);
	EXPECT(!lt_scope_current(&c));
	EXPECT_EQ(c.stale, 0);
}

static void stale_rules(void)
{
	struct lt_cpu_scopes c = { 0 };

	/* a softirq never runs inside another scope: the IRQ missed its exit */
	lt_scope_enter(&c, LT_SCOPE_IRQ, 24, closed);
	EXPECT_EQ(lt_scope_enter(&c, LT_SCOPE_SOFTIRQ, 3, closed), 1);
	EXPECT_EQ(closed[0].kind, LT_SCOPE_IRQ);
	EXPECT_EQ(c.stale, 1);
	EXPECT_EQ(c.depth, 1);
	/* an IRQ does not nest in itself; another IRQ does */
	lt_scope_enter(&c, LT_SCOPE_IRQ, 24, closed);
	EXPECT_EQ(lt_scope_enter(&c, LT_SCOPE_IRQ, 30, closed), 0);
	EXPECT_EQ(lt_scope_enter(&c, LT_SCOPE_IRQ, 24, closed), 2);
	EXPECT_EQ(closed[0].id, 24);
	EXPECT_EQ(closed[1].id, 30);
	EXPECT_EQ(c.stale, 3);
	EXPECT_EQ(c.depth, 2);	/* the softirq, the new IRQ 24 */
	/* the softirq's exit closes the IRQ left open inside it: one stale */
	EXPECT_EQ(lt_scope_exit(&c, LT_SCOPE_SOFTIRQ, closed), 2);
	EXPECT_EQ(c.stale, 4);
	/* an exit with nothing open: tracking began inside it */
	EXPECT_EQ(lt_scope_exit(&c, LT_SCOPE_HRTIMER, closed), 0);
	EXPECT_EQ(c.stale, 4);
	/* a context switch closes whatever is open */
	lt_scope_enter(&c, LT_SCOPE_HRTIMER, -1, closed);
	lt_scope_enter(&c, LT_SCOPE_VECTOR, -1, closed);
	EXPECT_EQ(lt_scope_switch(&c, closed), 2);
	EXPECT_EQ(c.stale, 6);
	EXPECT(!lt_scope_current(&c));
}

static void unique_instances(void)
{
	struct lt_cpu_scopes c = { 0 };
	u64 first;

	lt_scope_enter(&c, LT_SCOPE_IRQ, 24, closed);
	first = lt_scope_current(&c)->seq;
	lt_scope_exit(&c, LT_SCOPE_IRQ, closed);
	lt_scope_enter(&c, LT_SCOPE_IRQ, 24, closed);
	EXPECT(first != 0);
	EXPECT(lt_scope_current(&c)->seq != first);
}

static void too_deep(void)
{
	struct lt_cpu_scopes c = { 0 };
	int i;

	for (i = 0; i < LT_SCOPE_DEPTH + 2; i++)
		lt_scope_enter(&c, LT_SCOPE_IRQ, 100 + i, closed);
	EXPECT_EQ(c.depth, LT_SCOPE_DEPTH);
	EXPECT_EQ(c.overflow, 2);
	/* the two untracked exits do not close tracked scopes */
	EXPECT_EQ(lt_scope_exit(&c, LT_SCOPE_IRQ, closed), 0);
	EXPECT_EQ(lt_scope_exit(&c, LT_SCOPE_IRQ, closed), 0);
	EXPECT_EQ(lt_scope_current(&c)->id, 100 + LT_SCOPE_DEPTH - 1);
	EXPECT_EQ(lt_scope_exit(&c, LT_SCOPE_IRQ, closed), 1);
	EXPECT_EQ(c.depth, LT_SCOPE_DEPTH - 1);
	EXPECT_EQ(c.stale, 0);
}

int main(void)
{
	nesting();
	stale_rules();
	unique_instances();
	too_deep();
	if (lt_test_failures)
		return 1;
	printf("scope: ok\n");
	return 0;
}
