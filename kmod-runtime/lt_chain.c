// SPDX-License-Identifier: GPL-2.0
/*
 * The rules of chain trackers, in the order of the replay reference
 * (src/replay/chain.ts, grammar/README.md "Chains"): the event's scope
 * opens (closing stale ones), a softirq takes its raise, a tasklet its
 * softirq's token, a context switch marks the tasks switched out and in,
 * the origin starts a chain, a step is reached, then what the context's
 * token does (cancel, raise, waking), and the scope closes. A user-space
 * probe (uprobe, uretprobe, USDT) is an event of its task like any other
 * step. Holders and ending contexts: lt_chain_context.c; storage and ends:
 * lt_chain_store.c; creation and the sweep: lt_chain_life.c; the locking:
 * lt_chain_internal.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <linux/irqflags.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include "lt_chain_internal.h"

#define LT_IRQ_WAKE_THREAD	2	/* irqreturn_t: the handler wakes its thread */

static const u8 lt_scope_of[] = {
	[LT_CHAIN_EV_IRQ_ENTRY] = LT_SCOPE_IRQ,
	[LT_CHAIN_EV_IRQ_EXIT] = LT_SCOPE_IRQ,
	[LT_CHAIN_EV_SOFTIRQ_ENTRY] = LT_SCOPE_SOFTIRQ,
	[LT_CHAIN_EV_SOFTIRQ_EXIT] = LT_SCOPE_SOFTIRQ,
	[LT_CHAIN_EV_TASKLET_ENTRY] = LT_SCOPE_TASKLET,
	[LT_CHAIN_EV_TASKLET_EXIT] = LT_SCOPE_TASKLET,
	[LT_CHAIN_EV_HRTIMER_ENTRY] = LT_SCOPE_HRTIMER,
	[LT_CHAIN_EV_HRTIMER_EXIT] = LT_SCOPE_HRTIMER,
	[LT_CHAIN_EV_TIMER_ENTRY] = LT_SCOPE_TIMER,
	[LT_CHAIN_EV_TIMER_EXIT] = LT_SCOPE_TIMER,
	[LT_CHAIN_EV_VECTOR_ENTRY] = LT_SCOPE_VECTOR,
	[LT_CHAIN_EV_VECTOR_EXIT] = LT_SCOPE_VECTOR,
};

/* Scope entries are odd and exits even in enum lt_chain_event_kind. */
static inline bool lt_is_entry(u32 kind)
{
	return kind <= LT_CHAIN_EV_VECTOR_EXIT && kind % 2 == 1;
}

static inline bool lt_is_exit(u32 kind)
{
	return kind <= LT_CHAIN_EV_VECTOR_EXIT && kind && kind % 2 == 0;
}

static void lt_stage(struct lt_chain_stage *st, const struct lt_chain_now *e,
		     u32 kind, u32 step, u32 detail)
{
	st->ts_ns = e->ts;
	st->pid_tgid = (u64)(u32)current->tgid << 32 | (u32)current->pid;
	st->cpu = e->cpu;
	st->info = kind << 24 | step << 16 | (detail & 0xffff);
	memcpy(st->comm, current->comm, LT_COMM_LEN);
}

/* A stage of another task than the current one (woken, switched in). */
static void lt_task_stage(struct lt_chain_token *tok,
			  const struct lt_chain_now *e, u32 kind, s32 tid,
			  u32 cpu)
{
	struct lt_chain_stage *st = lt_chain_next_stage(tok);

	st->ts_ns = e->ts;
	st->pid_tgid = (u32)tid;
	st->cpu = cpu;
	st->info = kind << 24;
	memset(st->comm, 0, LT_COMM_LEN);
	if (e->ev->comm)
		strscpy(st->comm, e->ev->comm, LT_COMM_LEN);
}

static void lt_add_stage(struct lt_chain_token *tok,
			 const struct lt_chain_now *e, u32 kind, u32 step,
			 u32 detail)
{
	lt_stage(lt_chain_next_stage(tok), e, kind, step, detail);
}

/* Step tok->step is reached at @ts; the last one ends the chain (or waits). */
static void lt_reach(struct lt_chain *c, struct lt_chain_slot *s, u64 ts,
		     bool in_task)
{
	struct lt_chain_token *tok = &s->tok;

	tok->step_ns[tok->step] = ts;
	tok->step++;
	if (tok->step < c->cfg.nr_steps)
		return;
	if (c->cfg.until_block && in_task) {
		tok->flags |= LT_CHAIN_AT_TARGET;
		return;
	}
	lt_chain_pair(c, s);
}

/* A holder on its CPU: does its switch-in (filters in @steps) reach a step? */
static void lt_reach_switch(struct lt_chain *c, struct lt_chain_slot *s,
			    u32 steps, u64 ts)
{
	u32 k = s->tok.step;

	if (k >= c->cfg.nr_steps || !(c->cfg.switch_steps & BIT(k)) ||
	    (s->tok.flags & LT_CHAIN_AT_TARGET) || !(steps & BIT(k)))
		return;
	lt_reach(c, s, ts, true);
}

static void lt_enter_softirq(struct lt_chain *c, struct lt_chain_now *e)
{
	struct lt_chain_slot *s;
	struct lt_key k;

	lt_raise_key(&k, e->cpu, e->ev->arg);
	s = lt_chain_held(c, &k, e->ts);
	if (!s)
		return;
	lt_add_stage(&s->tok, e, LT_STAGE_SOFTIRQ, 0, e->ev->arg);
	lt_chain_move(c, s, &e->holder, e->ts);
}

static void lt_enter_tasklet(struct lt_chain *c, struct lt_chain_now *e)
{
	struct lt_cpu_scopes *cs = &this_cpu_ptr(c->cpu)->scopes;
	struct lt_chain_slot *s;
	struct lt_key k;

	if (cs->depth < 2)
		return;
	lt_scope_key(&k, e->cpu, &cs->open[cs->depth - 2]);
	s = lt_chain_held(c, &k, e->ts);
	if (s)
		lt_chain_copy(c, s, &e->holder, false, e->ts);
}

static void lt_context_switch(struct lt_chain *c, struct lt_chain_now *e)
{
	const struct lt_chain_event *ev = e->ev;
	struct lt_chain_slot *s;
	struct lt_key k;

	lt_task_key(&k, ev->prev_pid, e->cpu);
	s = lt_chain_held(c, &k, e->ts);
	if (s && (ev->prev_state & 0xff) == 0) {
		lt_add_stage(&s->tok, e, LT_STAGE_PREEMPTED, 0, 0);
	} else if (s && (s->tok.flags & LT_CHAIN_AT_TARGET)) {
		lt_add_stage(&s->tok, e, LT_STAGE_BLOCK, 0, 0);
		s->tok.step_ns[c->cfg.nr_steps] = e->ts;
		lt_chain_pair(c, s);
	} else if (s) {
		lt_chain_detach(c, s);
	}
	lt_task_key(&k, ev->arg, e->cpu);
	s = lt_chain_held(c, &k, e->ts);
	if (!s)
		return;
	lt_task_stage(&s->tok, e, LT_STAGE_RUN, ev->arg, e->cpu);
	lt_reach_switch(c, s, ev->steps, e->ts);
}

static void lt_origin(struct lt_chain *c, struct lt_chain_now *e)
{
	u32 kind = e->ev->kind, detail = 0;
	struct lt_chain_stage origin;
	struct lt_chain_slot *s;
	struct lt_key key;

	if (kind == LT_CHAIN_EV_IRQ_ENTRY ||
	    kind == LT_CHAIN_EV_SOFTIRQ_ENTRY ||
	    kind == LT_CHAIN_EV_SOFTIRQ_EXIT ||
	    kind == LT_CHAIN_EV_SOFTIRQ_RAISE)
		detail = e->ev->arg;
	lt_stage(&origin, e, LT_STAGE_ORIGIN, 0, detail);
	if (!(c->cfg.key_steps & BIT(1))) {
		lt_chain_new(c, &e->holder, e->ts, &origin);
		return;
	}
	/* `ORIGIN(k) -> STEP(k)`: the token leaves for its key at once */
	lt_chain_holder_key(&key, LT_HOLD_KEY, 1, 0, e->ev->keys[0]);
	s = lt_chain_new(c, &key, e->ts, &origin);
	if (s)
		c->recs[s->rec].moved = true;
}

/* Step @k by key (`->`): the token handed off under this event's key. */
static bool lt_step_by_key(struct lt_chain *c, struct lt_chain_now *e, u32 k)
{
	struct lt_chain_slot *s;
	struct lt_key key;
	u32 kind = k == c->cfg.nr_steps - 1 ? LT_STAGE_TARGET :
					       LT_STAGE_WAYPOINT;

	lt_chain_holder_key(&key, LT_HOLD_KEY, k, 0, e->ev->keys[k]);
	s = lt_chain_held(c, &key, e->ts);
	if (!s || s->tok.step != k || !lt_chain_move(c, s, &e->holder, e->ts))
		return false;
	lt_add_stage(&s->tok, e, kind, k, 0);
	lt_reach(c, s, e->ts, !e->in_scope);
	return true;
}

/* Step @k in a context holding the token; a `->` next hands it off. */
static bool lt_step_here(struct lt_chain *c, struct lt_chain_now *e, u32 k)
{
	u32 kind = k == c->cfg.nr_steps - 1 ? LT_STAGE_TARGET :
					       LT_STAGE_WAYPOINT;
	struct lt_chain_slot *s = lt_chain_held(c, &e->holder, e->ts);
	struct lt_chain_token *tok;
	struct lt_key key;

	if (!s || s->tok.step != k)
		return false;
	tok = &s->tok;
	/* the event that moved the token here (a softirq entry) is no new stage */
	if (tok->stages[tok->nr_stages - 1].ts_ns != e->ts)
		lt_add_stage(tok, e, kind, k, 0);
	lt_reach(c, s, e->ts, !e->in_scope);
	if (k + 1 < c->cfg.nr_steps && (c->cfg.key_steps & BIT(k + 1))) {
		lt_chain_holder_key(&key, LT_HOLD_KEY, k + 1, 0,
				    e->ev->keys[k]);
		lt_chain_move(c, s, &key, e->ts);
	}
	return true;
}

/* Waypoints and targets (not sched_switch ones): one step per event. */
static void lt_steps(struct lt_chain *c, struct lt_chain_now *e)
{
	u32 k;

	for (k = 1; k < c->cfg.nr_steps; k++) {
		if (!(e->ev->steps & BIT(k)) || (c->cfg.switch_steps & BIT(k)))
			continue;
		if (c->cfg.key_steps & BIT(k) ? lt_step_by_key(c, e, k) :
						lt_step_here(c, e, k))
			return;
	}
}

/* The CPU @tid runs on, as the chain's events last saw it, or -1. */
static int lt_running_on(struct lt_chain *c, s32 tid)
{
	int cpu;

	for_each_possible_cpu(cpu)
		if (READ_ONCE(per_cpu_ptr(c->cpu, cpu)->running) == tid)
			return cpu;
	return -1;
}

static void lt_waking(struct lt_chain *c, struct lt_chain_now *e,
		      struct lt_chain_slot *s)
{
	s32 pid = e->ev->arg;
	struct lt_chain_slot *copy;
	struct lt_key k;
	int cpu;

	if (!pid)
		return;
	cpu = lt_running_on(c, pid);
	lt_task_key(&k, pid, e->cpu);
	copy = lt_chain_copy(c, s, &k, false, e->ts);
	if (!copy)
		return;
	lt_task_stage(&copy->tok, e, LT_STAGE_WAKING, pid, e->cpu);
	if (cpu < 0)
		return;
	/* already running: a holder at once, since the switch that put it there */
	lt_task_stage(&copy->tok, e, LT_STAGE_RUN, pid, cpu);
	lt_reach_switch(c, copy, READ_ONCE(per_cpu_ptr(c->cpu, cpu)->switch_steps),
			e->ts);
}

static void lt_handle(struct lt_chain *c, struct lt_chain_now *e)
{
	const struct lt_chain_event *ev = e->ev;
	struct lt_chain_slot *s, *copy;
	struct lt_key k;

	if (ev->kind == LT_CHAIN_EV_SOFTIRQ_ENTRY)
		lt_enter_softirq(c, e);
	if (ev->kind == LT_CHAIN_EV_TASKLET_ENTRY)
		lt_enter_tasklet(c, e);
	if (ev->kind == LT_CHAIN_EV_SWITCH)
		lt_context_switch(c, e);
	if (ev->steps & BIT(0))
		lt_origin(c, e);
	lt_steps(c, e);
	if (ev->kind == LT_CHAIN_EV_WAKING) {
		lt_tail_key(&k, e->cpu);
		s = lt_chain_held(c, &k, e->ts);
		if (s)
			lt_waking(c, e, s);
	}
	s = lt_chain_held(c, &e->holder, e->ts);
	if (!s)
		return;
	if (ev->cancel) {
		lt_chain_cancel(c, s);
		return;
	}
	if (ev->kind == LT_CHAIN_EV_SOFTIRQ_RAISE) {
		lt_raise_key(&k, e->cpu, ev->arg);
		copy = lt_chain_copy(c, s, &k, true, e->ts);
		if (copy)
			lt_add_stage(&copy->tok, e, LT_STAGE_RAISE, 0, ev->arg);
	}
	if (ev->kind == LT_CHAIN_EV_WAKING)
		lt_waking(c, e, s);
}

/* Does this event move a chain? Lock-free lookups: most events meet none. */
static bool lt_moves(struct lt_chain *c, struct lt_chain_now *e)
{
	const struct lt_chain_event *ev = e->ev;
	struct lt_cpu_scopes *cs;
	struct lt_key k;

	if (ev->steps || ev->cancel)
		return true;
	switch (ev->kind) {
	case LT_CHAIN_EV_SOFTIRQ_ENTRY:
		lt_raise_key(&k, e->cpu, ev->arg);
		return lt_table_contains(&c->table, &k);
	case LT_CHAIN_EV_TASKLET_ENTRY:
		cs = &this_cpu_ptr(c->cpu)->scopes;
		if (cs->depth < 2)
			return false;
		lt_scope_key(&k, e->cpu, &cs->open[cs->depth - 2]);
		return lt_table_contains(&c->table, &k);
	case LT_CHAIN_EV_SWITCH:
		lt_task_key(&k, ev->prev_pid, e->cpu);
		if (lt_table_contains(&c->table, &k))
			return true;
		lt_task_key(&k, ev->arg, e->cpu);
		return lt_table_contains(&c->table, &k);
	case LT_CHAIN_EV_WAKING:
		if (this_cpu_ptr(c->cpu)->tail)
			return true;
		return lt_table_contains(&c->table, &e->holder);
	case LT_CHAIN_EV_SOFTIRQ_RAISE:
		return lt_table_contains(&c->table, &e->holder);
	}
	return false;
}

void lt_chain_event(struct lt_chain *c, const struct lt_chain_event *ev)
{
	struct lt_scope closed[LT_SCOPE_DEPTH];
	struct lt_chain_now e = { .ev = ev };
	struct lt_chain_cpu *cpu;
	unsigned long flags;
	u32 n = 0;

	local_irq_save(flags);
	cpu = this_cpu_ptr(c->cpu);
	e.cpu = raw_smp_processor_id();
	e.ts = ev->ts_ns ? ev->ts_ns : ktime_get_mono_fast_ns();
	/* the IRQ tail lasts until the CPU's next scope event or switch */
	if (ev->kind == LT_CHAIN_EV_SWITCH || lt_is_entry(ev->kind) ||
	    lt_is_exit(ev->kind))
		lt_chain_drop_tail(c, &e, cpu);
	if (ev->kind == LT_CHAIN_EV_SWITCH) {
		n = lt_scope_switch(&cpu->scopes, closed);
		WRITE_ONCE(cpu->running, ev->arg);
		WRITE_ONCE(cpu->switch_steps, ev->steps);
	} else {
		WRITE_ONCE(cpu->running, current->pid);
		if (lt_is_entry(ev->kind))
			n = lt_scope_enter(&cpu->scopes, lt_scope_of[ev->kind],
					   ev->arg, closed);
	}
	lt_chain_drop_scopes(c, &e, closed, n);
	lt_chain_current_holder(c, &e);
	if (lt_moves(c, &e)) {
		raw_spin_lock(&c->lock);
		lt_handle(c, &e);
		raw_spin_unlock(&c->lock);
	}
	if (ev->kind == LT_CHAIN_EV_WAKING)
		lt_chain_drop_tail(c, &e, cpu);
	if (lt_is_exit(ev->kind)) {
		n = lt_scope_exit(&cpu->scopes, lt_scope_of[ev->kind], closed);
		if (n && ev->kind == LT_CHAIN_EV_IRQ_EXIT &&
		    ev->ret == LT_IRQ_WAKE_THREAD)
			lt_chain_to_tail(c, &e, &closed[0]);
		lt_chain_drop_scopes(c, &e, closed, n);
	}
	local_irq_restore(flags);
}
