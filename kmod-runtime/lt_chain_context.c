// SPDX-License-Identifier: GPL-2.0
/*
 * The execution contexts of chain trackers as holders (lt_chain_internal.h):
 * which one an event happens in, and what happens to the tokens of the ones
 * that end, a scope closed without its exit (dropped) or an IRQ handing its
 * thread the chain (the IRQ tail). The rules that use them: lt_chain.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/sched.h>
#include <linux/smp.h>
#include "lt_chain_internal.h"

/* Drops the token at @k, if any (broken when it was its chain's last copy). */
static void lt_drop_at(struct lt_chain *c, struct lt_chain_now *e,
		       const struct lt_key *k)
{
	struct lt_chain_slot *s;

	if (!lt_table_contains(&c->table, k))
		return;
	raw_spin_lock(&c->lock);
	s = lt_chain_held(c, k, e->ts);
	if (s)
		lt_chain_detach(c, s);
	raw_spin_unlock(&c->lock);
}

/* Scopes closed without their exit: the tokens they held are dropped. */
void lt_chain_drop_scopes(struct lt_chain *c, struct lt_chain_now *e,
			  const struct lt_scope *closed, u32 n)
{
	struct lt_key k;
	u32 i;

	for (i = 0; i < n; i++) {
		lt_scope_key(&k, e->cpu, &closed[i]);
		lt_drop_at(c, e, &k);
	}
}

/*
 * An IRQ exit returning IRQ_WAKE_THREAD: the kernel wakes the IRQ's thread
 * right after it, outside the scope, so the scope's token moves to the CPU's
 * IRQ tail, which the next waking there propagates.
 */
void lt_chain_to_tail(struct lt_chain *c, struct lt_chain_now *e,
		      const struct lt_scope *irq)
{
	struct lt_chain_slot *s;
	struct lt_key k, tail;

	lt_scope_key(&k, e->cpu, irq);
	if (!lt_table_contains(&c->table, &k))
		return;
	lt_tail_key(&tail, e->cpu);
	raw_spin_lock(&c->lock);
	s = lt_chain_held(c, &k, e->ts);
	if (s && lt_chain_move(c, s, &tail, e->ts))
		this_cpu_ptr(c->cpu)->tail = true;
	raw_spin_unlock(&c->lock);
}

/* The CPU's IRQ tail ends: its token, if any, is dropped. */
void lt_chain_drop_tail(struct lt_chain *c, struct lt_chain_now *e,
			struct lt_chain_cpu *cpu)
{
	struct lt_key tail;

	if (!cpu->tail)
		return;
	cpu->tail = false;
	lt_tail_key(&tail, e->cpu);
	lt_drop_at(c, e, &tail);
}

/*
 * The event's context: the innermost open scope of its CPU, else the task
 * running (current: at a uprobe or uretprobe, the probed task, whose trap
 * opens no scope).
 */
void lt_chain_current_holder(struct lt_chain *c, struct lt_chain_now *e)
{
	const struct lt_scope *top;

	top = lt_scope_current(&this_cpu_ptr(c->cpu)->scopes);
	e->in_scope = top != NULL;
	if (top)
		lt_scope_key(&e->holder, e->cpu, top);
	else
		lt_task_key(&e->holder, current->pid, e->cpu);
}
