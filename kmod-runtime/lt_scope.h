/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-CPU execution contexts for chain trackers (issue #10): the stack of
 * scopes open on each CPU (hard IRQ, softirq, tasklet, timer callbacks, x86
 * vectors). An event's context is the innermost open scope of its CPU, or
 * else the task running there. The rules are those of the replay reference,
 * src/replay/contexts.ts (grammar/README.md "Chains"):
 *  - a softirq entry, and a context switch, close every scope still open on
 *    the CPU: neither happens inside another scope, so those missed their
 *    exits;
 *  - an IRQ entry for an IRQ already open on the CPU closes it and what is
 *    inside it (a handler does not nest in itself);
 *  - an exit closes the innermost scope of its kind and those inside it; an
 *    exit with none open (tracking began inside it) closes nothing.
 * Scopes closed without their own exit are "stale" and counted. Each open
 * scope has a sequence number unique on its CPU, so that a token held by a
 * closed scope is never taken for one held by a later scope of the same kind.
 *
 * Used by lt_chain.c (chain trackers).
 */
#ifndef LT_SCOPE_H
#define LT_SCOPE_H

#include <linux/types.h>

#define LT_SCOPE_DEPTH	8	/* scopes open at once on one CPU */

enum lt_scope_kind {
	LT_SCOPE_IRQ = 1,
	LT_SCOPE_SOFTIRQ,
	LT_SCOPE_TASKLET,
	LT_SCOPE_HRTIMER,
	LT_SCOPE_TIMER,
	LT_SCOPE_VECTOR,
};

/**
 * struct lt_scope - one open scope
 * @kind: enum lt_scope_kind
 * @id: IRQ number, softirq vector, or -1 (timers, vectors, tasklets)
 * @seq: unique among the scopes opened on this CPU (never 0)
 */
struct lt_scope {
	u32 kind;
	s32 id;
	u64 seq;
};

/**
 * struct lt_cpu_scopes - the scopes of one CPU
 * @depth: scopes open, innermost at @open[@depth - 1]
 * @next_seq: the next scope's sequence number
 * @stale: scopes closed without their exit
 * @overflow: entries not tracked because @depth was LT_SCOPE_DEPTH
 * @untracked: of those, still open (their exits are not ours)
 * @open: the open scopes
 */
struct lt_cpu_scopes {
	u32 depth;
	u32 untracked;
	u64 next_seq;
	u64 stale;
	u64 overflow;
	struct lt_scope open[LT_SCOPE_DEPTH];
};

/*
 * Callers pass the CPU's own state (this_cpu_ptr), from tracepoint probes of
 * that CPU with interrupts disabled around the call: a hard IRQ must not
 * enter in the middle of a softirq probe's update. The closed scopes are
 * written to @closed (up to LT_SCOPE_DEPTH), innermost last, so the caller
 * can drop the tokens they held; the return value is how many.
 */
u32 lt_scope_enter(struct lt_cpu_scopes *c, u32 kind, s32 id,
		   struct lt_scope *closed);
u32 lt_scope_exit(struct lt_cpu_scopes *c, u32 kind,
		  struct lt_scope *closed);
u32 lt_scope_switch(struct lt_cpu_scopes *c, struct lt_scope *closed);

/* The innermost open scope, or NULL: the context is the running task. */
static inline const struct lt_scope *
lt_scope_current(const struct lt_cpu_scopes *c)
{
	return c->depth ? &c->open[c->depth - 1] : NULL;
}

#endif /* LT_SCOPE_H */
