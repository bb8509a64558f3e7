/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Structures shared by lt_chain.c (the rules) and lt_chain_store.c (tokens,
 * chains and hits); not for modules.
 *
 * One rule may touch several holders at once (a waking copies a token to
 * another task, a pair withdraws every branch of its chain), so the rules
 * run under a per-chain raw spinlock with interrupts off. Only events that
 * move a chain take it: whether an event does is decided first with the
 * table's lock-free lookups (most events meet no token). Tokens live in a
 * lt_pool of the tracker's capacity and are found by holder in a lt_table,
 * the runtime's lock-free structures; under the lock their owner is
 * whoever holds it.
 */
#ifndef LT_CHAIN_INTERNAL_H
#define LT_CHAIN_INTERNAL_H

#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include "lt_chain.h"
#include "lt_internal.h"
#include "lt_scope.h"

/* Holder kinds, in the top byte of a holder key's first word. */
#define LT_HOLD_TASK	1ULL	/* | tid */
#define LT_HOLD_IDLE	2ULL	/* | cpu: the idle task of a CPU */
#define LT_HOLD_SCOPE	3ULL	/* | cpu, then the scope's sequence */
#define LT_HOLD_RAISE	4ULL	/* | cpu << 16 | vector */
#define LT_HOLD_KEY	5ULL	/* | step, then the `->` key's bytes */
#define LT_HOLD_TAIL	6ULL	/* | cpu: the IRQ tail (an IRQ_WAKE_THREAD exit's token) */
#define LT_HOLD_SHIFT	56

/* One token copy, beside the pool event that holds its place in the table. */
struct lt_chain_slot {
	struct lt_key key;	/* its holder, when placed */
	bool placed;
	u32 rec;		/* its chain */
	u32 prev;		/* the chain's branches: slot index + 1 */
	u32 next;
	struct lt_chain_token tok;
};

/* One live chain: its branches, and whether it left its origin's context. */
struct lt_chain_rec {
	u64 origin_ns;
	u32 branches;
	u32 first;		/* slot index + 1 */
	u32 older;		/* live chains in creation order: index + 1 */
	u32 newer;
	u32 next_free;
	bool moved;
	bool live;
};

/* A CPU's scopes and the task running there (read from other CPUs). */
struct lt_chain_cpu {
	struct lt_cpu_scopes scopes;
	s32 running;		/* tid; -1 before the first event */
	u32 switch_steps;	/* ev->steps of the switch that put it there */
	bool tail;		/* the IRQ tail may hold a token (this CPU only) */
};

struct lt_chain {
	struct lt_chain_config cfg;
	struct lt_tracker *t;
	struct lt_tracker *segments[LT_CHAIN_STEPS_MAX];
	u32 nr_segments;
	raw_spinlock_t lock;
	struct lt_pool pool;
	struct lt_table table;
	struct lt_chain_slot *slots;
	struct lt_chain_rec *recs;
	u32 free_rec;		/* index + 1 */
	u32 oldest;		/* index + 1 */
	u32 newest;
	u64 next_id;
	struct lt_chain_cpu __percpu *cpu;
	struct delayed_work sweep;
	struct lt_hit scratch[1 + LT_CHAIN_PARTS];	/* under the lock */
};

/* The event being handled, under the lock. */
struct lt_chain_now {
	const struct lt_chain_event *ev;
	u64 ts;
	u32 cpu;
	struct lt_key holder;
	bool in_scope;
};

/* lt_chain_context.c; with interrupts off, not holding c->lock */
void lt_chain_current_holder(struct lt_chain *c, struct lt_chain_now *e);
void lt_chain_drop_scopes(struct lt_chain *c, struct lt_chain_now *e,
			  const struct lt_scope *closed, u32 n);
void lt_chain_to_tail(struct lt_chain *c, struct lt_chain_now *e,
		      const struct lt_scope *irq);
void lt_chain_drop_tail(struct lt_chain *c, struct lt_chain_now *e,
			struct lt_chain_cpu *cpu);

/* lt_chain_store.c; callers hold c->lock */
void lt_chain_holder_key(struct lt_key *k, u64 kind, u64 value, u64 word1,
			 const void *bytes);
struct lt_chain_slot *lt_chain_held(struct lt_chain *c,
				    const struct lt_key *k, u64 now);
struct lt_chain_slot *lt_chain_new(struct lt_chain *c, const struct lt_key *k,
				   u64 now, struct lt_chain_stage *origin);
struct lt_chain_slot *lt_chain_copy(struct lt_chain *c,
				    struct lt_chain_slot *src,
				    const struct lt_key *k, bool oldest_wins,
				    u64 now);
bool lt_chain_move(struct lt_chain *c, struct lt_chain_slot *s,
		   const struct lt_key *k, u64 now);
void lt_chain_detach(struct lt_chain *c, struct lt_chain_slot *s);
void lt_chain_cancel(struct lt_chain *c, struct lt_chain_slot *s);
void lt_chain_pair(struct lt_chain *c, struct lt_chain_slot *s);
void lt_chain_timeout(struct lt_chain *c, u32 rec, u64 now);
bool lt_chain_expired(struct lt_chain *c, u32 rec, u64 now);
int lt_chain_store_init(struct lt_chain *c, u32 capacity);
void lt_chain_store_fini(struct lt_chain *c);

/* The holder of a task on @cpu: the idle task is one per CPU. */
static inline void lt_task_key(struct lt_key *k, s32 tid, u32 cpu)
{
	if (tid)
		lt_chain_holder_key(k, LT_HOLD_TASK, (u32)tid, 0, NULL);
	else
		lt_chain_holder_key(k, LT_HOLD_IDLE, cpu, 0, NULL);
}

static inline void lt_scope_key(struct lt_key *k, u32 cpu, const struct lt_scope *s)
{
	lt_chain_holder_key(k, LT_HOLD_SCOPE, cpu, s->seq, NULL);
}

static inline void lt_raise_key(struct lt_key *k, u32 cpu, u32 vec)
{
	lt_chain_holder_key(k, LT_HOLD_RAISE, (u64)cpu << 16 | (vec & 0xffff),
			    0, NULL);
}

/* The CPU's IRQ tail: a token waiting for the waking of its IRQ's thread. */
static inline void lt_tail_key(struct lt_key *k, u32 cpu)
{
	lt_chain_holder_key(k, LT_HOLD_TAIL, cpu, 0, NULL);
}

/* The stage slot to write next: past LT_CHAIN_STAGES the last is replaced. */
static inline struct lt_chain_stage *
lt_chain_next_stage(struct lt_chain_token *tok)
{
	if (tok->nr_stages < LT_CHAIN_STAGES)
		return &tok->stages[tok->nr_stages++];
	return &tok->stages[LT_CHAIN_STAGES - 1];
}

#endif /* LT_CHAIN_INTERNAL_H */
