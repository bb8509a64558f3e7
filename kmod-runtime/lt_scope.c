// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU scope stacks for chain trackers; the rules are in lt_scope.h.
 */
#include <linux/string.h>
#include "lt_scope.h"

/* Closes the scopes from @from to the top; returns how many. */
static u32 lt_scope_close_from(struct lt_cpu_scopes *c, u32 from,
			       struct lt_scope *closed)
{
	u32 n = c->depth - from;

	memcpy(closed, &c->open[from], n * sizeof(*closed));
	c->depth = from;
	return n;
}

u32 lt_scope_enter(struct lt_cpu_scopes *c, u32 kind, s32 id,
		   struct lt_scope *closed)
{
	u32 n = 0, at;

	if (kind == LT_SCOPE_SOFTIRQ) {
		n = lt_scope_close_from(c, 0, closed);
		c->untracked = 0;
	} else if (kind == LT_SCOPE_IRQ) {
		for (at = 0; at < c->depth; at++) {
			if (c->open[at].kind == LT_SCOPE_IRQ &&
			    c->open[at].id == id) {
				n = lt_scope_close_from(c, at, closed);
				break;
			}
		}
	}
	c->stale += n;
	if (c->depth == LT_SCOPE_DEPTH || c->untracked) {
		/* nested deeper than we follow: its exit must not close ours */
		c->overflow++;
		c->untracked++;
		return n;
	}
	c->open[c->depth].kind = kind;
	c->open[c->depth].id = id;
	c->open[c->depth].seq = ++c->next_seq;
	c->depth++;
	return n;
}

u32 lt_scope_exit(struct lt_cpu_scopes *c, u32 kind, struct lt_scope *closed)
{
	u32 n;
	int at;

	if (c->untracked) {
		c->untracked--;
		return 0;
	}
	for (at = (int)c->depth - 1; at >= 0; at--)
		if (c->open[at].kind == kind)
			break;
	if (at < 0)
		return 0;
	n = lt_scope_close_from(c, at, closed);
	c->stale += n - 1;
	return n;
}

u32 lt_scope_switch(struct lt_cpu_scopes *c, struct lt_scope *closed)
{
	u32 n = lt_scope_close_from(c, 0, closed);

	c->stale += n;
	c->untracked = 0;
	return n;
}
